//! httpbin and Envoy, started for real on loopback and stopped on every path.
//!
//! httpbin ([`Httpbin`]) and Envoy ([`envoy`]) are each a guarded child process; Envoy runs a
//! config derived from a [`StackSpec`]. They start together ([`Stack`]) or Envoy alone
//! ([`start_envoy`], [`start_direct`]).

mod envoy;
mod port_race;
mod spec;

pub use envoy::{Envoy, start_envoy, validate};
pub(crate) use spec::START_TIMEOUT;
pub use spec::{EnvoyOptions, StackSpec};

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use envoy_model::bootstrap;
use serde_json::Value;

use crate::ports;
use crate::procs::{Service, log_end, poll};
use crate::smoke_program;
use crate::tools::Tools;
use envoy_model::http;
use port_race::{port_taken_if, retry_on_port_race};

/// httpbin and Envoy, running; both stop when this is dropped (Envoy first). The stack owns
/// its spec and its tools: restarts and the diagnosis of a failure use them.
pub struct Stack {
    /// Envoy (declared first: dropped first).
    pub envoy: Envoy,
    /// httpbin.
    pub httpbin: Httpbin,
    tools: Tools,
}

impl Stack {
    /// Starts httpbin, derives the native config from `spec.bootstrap`, starts Envoy.
    pub fn start(tools: &Tools, spec: &StackSpec) -> Result<Stack> {
        Stack::around(Httpbin::start(tools, &spec.dir, 1)?, tools, spec)
    }

    /// Starts Envoy for `spec` in front of an httpbin that is already running.
    pub fn around(httpbin: Httpbin, tools: &Tools, spec: &StackSpec) -> Result<Stack> {
        let envoy = start_envoy(tools, spec, httpbin.addr.port())?;
        let tools = tools.clone();
        Ok(Stack {
            envoy,
            httpbin,
            tools,
        })
    }

    /// Why this stack's Envoy failed, from its log ([`envoy::failure`]).
    pub fn failure(&self, what: &dyn std::fmt::Display) -> anyhow::Error {
        envoy::failure(&self.tools, self.envoy.log(), what)
    }

    /// The smoke program against this stack: its listener and admin, Envoy's log file, the
    /// expectations from the config Envoy runs.
    pub fn smoke_target(&self) -> smoke_program::Target {
        smoke_program::Target {
            url: self.envoy.url(),
            admin: self.envoy.admin_url(),
            logs: smoke_program::Logs::File(self.envoy.log().to_path_buf()),
            envoy_config: self.envoy.config(),
            ready_timeout: Duration::from_secs(15),
            log_timeout: Duration::from_secs(10),
        }
    }

    /// Replaces Envoy with a new one for `spec` (same httpbin): the watch mode's restart.
    pub fn restart_envoy(&mut self, spec: &StackSpec) -> Result<()> {
        self.envoy.stop();
        self.envoy = start_envoy(&self.tools, spec, self.httpbin.addr.port())?;
        Ok(())
    }
}

/// The real httpbin (Python, served by gunicorn) on 127.0.0.1.
pub struct Httpbin {
    _service: Service,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Httpbin {
    /// Starts httpbin on a free port and waits until it answers `/get`. `workers` gunicorn
    /// processes, 4 threads each.
    pub fn start(tools: &Tools, dir: &Path, workers: u32) -> Result<Httpbin> {
        std::fs::create_dir_all(dir)?;
        let log = dir.join("httpbin.log");
        retry_on_port_race(true, || {
            let addr = ports::loopback(ports::free()?);
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new(&tools.gunicorn);
            cmd.current_dir(dir)
                .args(["--bind", &addr.to_string()])
                .args(["--workers", &workers.to_string(), "--threads", "4"])
                .args(["--worker-class", "gthread", "httpbin:app"]);
            // Killed at once: httpbin keeps no state, and gunicorn's quick stop (SIGINT) took
            // about 320 ms after every report (measured with `cargo xtask run -v`).
            let mut service = Service::spawn("httpbin", &mut cmd, &log, &log, libc::SIGKILL)?;
            if let Err(err) = wait_answering(&mut service, addr) {
                let message = format!(
                    "httpbin (gunicorn) did not start on {addr}: {err:#}; {}",
                    log_end(&log, 10)
                );
                // gunicorn's words for a port another process holds.
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(port_taken_if(text.contains("Connection in use"), message));
            }
            Ok(Httpbin {
                _service: service,
                addr,
            })
        })
    }
}

/// Envoy without an upstream: `doc`'s routes answer `200 ok` themselves
/// ([`bootstrap::direct_response`]), so that only Envoy and the filter work. `wasm`: the
/// module every wasm filter loads, `None` to remove the wasm filters. Config and log go to `dir`.
pub fn start_direct(
    tools: &Tools,
    doc: &Value,
    wasm: Option<&Path>,
    dir: &Path,
    options: &EnvoyOptions,
) -> Result<Envoy> {
    let doc = match wasm {
        Some(_) => bootstrap::direct_response(doc)?,
        None => bootstrap::direct_response(&bootstrap::without_wasm(doc)?)?,
    };
    let mut spec = StackSpec::new("direct", doc, wasm.map(Path::to_path_buf));
    spec.dir = dir.to_path_buf();
    spec.envoy = options.clone();
    start_envoy(tools, &spec, None)
}

/// Polls httpbin's `GET /get` on `addr` every 50 ms until it answers 200, it exits, or
/// [`START_TIMEOUT`] passes (Envoy's `/ready` is [`envoy_model::ready`]'s).
fn wait_answering(httpbin: &mut Service, addr: SocketAddr) -> Result<()> {
    let started = Instant::now();
    let answered = poll(START_TIMEOUT, Duration::from_millis(50), || {
        if let Some(status) = httpbin.exited() {
            bail!("httpbin exited during start-up ({status})");
        }
        Ok(http::get(addr, "/get", Duration::from_secs(2)).is_ok_and(|r| r.status == 200))
    })?;
    let timeout = START_TIMEOUT.as_secs();
    ensure!(answered, "httpbin was not ready after {timeout} s");
    log::debug!("httpbin ready after {} ms", started.elapsed().as_millis());
    Ok(())
}
