//! httpbin and Envoy, started for real on loopback and stopped on every path.
//!
//! httpbin ([`Httpbin`]) and Envoy ([`envoy`]) are each a guarded child process; Envoy runs a
//! config derived from a [`StackSpec`]. They start together ([`Stack`]) or Envoy alone
//! ([`start_envoy`], [`start_direct`]).

mod envoy;

pub use envoy::{Envoy, EnvoyOptions, validate};

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use envoy_model::bootstrap;
use serde_json::Value;

use crate::ports;
use crate::procs::{Service, log_end};
use crate::tools::Tools;
use envoy_model::http;

/// How long Envoy and httpbin may take to become ready.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);

/// What to start: the bootstrap to derive from, the module, the ports.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The scratch directory for configs and logs (`target/xtask/<name>` by default).
    pub dir: PathBuf,
    /// The bootstrap (usually `envoy.yaml`, perhaps a derived variant) before the native
    /// derivation is applied.
    pub bootstrap: Value,
    /// The wasm module; `None` for a bootstrap without a wasm filter.
    pub wasm: Option<PathBuf>,
    /// The listener's port (0: a free one).
    pub listener_port: u16,
    /// The admin port (0: a free one).
    pub admin_port: u16,
    /// Envoy's options.
    pub envoy: EnvoyOptions,
}

impl StackSpec {
    /// `bootstrap` with the module `wasm` (or none) on free ports, named `name`.
    pub fn new(name: &str, bootstrap: Value, wasm: impl Into<Option<PathBuf>>) -> StackSpec {
        StackSpec {
            dir: crate::paths::work_dir(name),
            bootstrap,
            wasm: wasm.into(),
            listener_port: 0,
            admin_port: 0,
            envoy: EnvoyOptions::default(),
        }
    }
}

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
        let httpbin = Httpbin::start(tools, &spec.dir, 1)?;
        let envoy = start_envoy(tools, spec, httpbin.addr.port())?;
        let tools = tools.clone();
        Ok(Stack {
            envoy,
            httpbin,
            tools,
        })
    }

    /// The smoke checks against this stack ([`Stack::smoke_options`]), `config` as the
    /// expectations.
    pub fn smoke(
        &self,
        config: filter_core::config::PluginConfig,
        progress: bool,
    ) -> Result<smoke::Report, smoke::SmokeError> {
        smoke::run_blocking(&self.smoke_options(config, progress))
    }

    /// Why this stack's Envoy failed, from its log ([`envoy::failure`]).
    pub fn failure(&self, what: &dyn std::fmt::Display) -> anyhow::Error {
        envoy::failure(&self.tools, self.envoy.log(), what)
    }

    /// The smoke checks' options against this stack: its listener and admin, Envoy's log
    /// file as the log source, `config` as the expectations.
    pub fn smoke_options(
        &self,
        config: filter_core::config::PluginConfig,
        progress: bool,
    ) -> smoke::Options {
        smoke::Options {
            url: self.envoy.url(),
            admin: self.envoy.admin_url(),
            logs: smoke::LogSource::File(self.envoy.log().to_path_buf()),
            config,
            ready_timeout: Duration::from_secs(15),
            log_timeout: Duration::from_secs(10),
            progress,
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
            let addr = loopback(ports::free()?);
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new(&tools.gunicorn);
            cmd.current_dir(dir)
                .args(["--bind", &addr.to_string()])
                .args(["--workers", &workers.to_string(), "--threads", "4"])
                .args(["--worker-class", "gthread", "httpbin:app"]);
            let mut service = Service::spawn("httpbin", &mut cmd, &log, &log, libc::SIGINT)?;
            if let Err(err) = wait_answering(&mut service, addr, "/get") {
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

/// Derives `<dir>/envoy.json` from the spec and starts Envoy with it, its routes sent to the
/// local httpbin on `upstream_port` (`None`: the bootstrap has no upstream).
pub fn start_envoy(
    tools: &Tools,
    spec: &StackSpec,
    upstream_port: impl Into<Option<u16>>,
) -> Result<Envoy> {
    if let Some(wasm) = &spec.wasm
        && bootstrap::wasm_filters(&spec.bootstrap, "").is_ok()
    {
        crate::wasm::check_module(wasm)?;
    }
    let upstream_port = upstream_port.into();
    let free_ports = spec.listener_port == 0 || spec.admin_port == 0;
    retry_on_port_race(free_ports, || Envoy::start(tools, spec, upstream_port))
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

/// A port picked as free can be taken by another process before ours binds it (tests run
/// in parallel). When the ports were picked here (`picked`), a start that failed on a
/// taken port is tried again with new ones, up to three times.
fn retry_on_port_race<T>(picked: bool, mut start: impl FnMut() -> Result<T>) -> Result<T> {
    for _ in 1..3 {
        match start() {
            Err(err) if picked && is_port_taken(&err) => continue,
            done => return done,
        }
    }
    start()
}

/// Whether a start-up error is a port another process holds: an I/O error of kind
/// `AddrInUse` anywhere in its chain ([`crate::ports::claim`] and [`port_taken_if`] make them).
fn is_port_taken(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == ErrorKind::AddrInUse)
}

/// `message` as an error, of kind `AddrInUse` when `taken` (the log of the process that
/// failed said it could not bind its port: the only way to learn it from another process).
fn port_taken_if(taken: bool, message: String) -> anyhow::Error {
    if taken {
        anyhow::Error::new(std::io::Error::new(ErrorKind::AddrInUse, message))
    } else {
        anyhow::anyhow!(message)
    }
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Polls `GET path` on `addr` every 50 ms until it answers 200, the service exits, or
/// [`START_TIMEOUT`] passes (httpbin; Envoy's `/ready` is [`envoy_model::ready`]'s).
fn wait_answering(service: &mut Service, addr: SocketAddr, path: &str) -> Result<()> {
    let started = Instant::now();
    let name = service.name();
    loop {
        if let Some(status) = service.exited() {
            bail!("{name} exited during start-up ({status})");
        }
        if http::get(addr, path, Duration::from_secs(2)).is_ok_and(|r| r.status == 200) {
            log::debug!("{name} ready after {} ms", started.elapsed().as_millis());
            return Ok(());
        }
        if started.elapsed() > START_TIMEOUT {
            bail!("{name} was not ready after {} s", START_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port race is known by the error's kind, not by its words: an `AddrInUse` error in
    /// any language is retried, and a message that merely quotes the words is not.
    #[test]
    fn port_races_are_retried_by_error_kind() {
        let attempts = |err: fn() -> anyhow::Error| {
            let mut tries = 0;
            let _ = retry_on_port_race(true, || -> Result<()> {
                tries += 1;
                Err(err())
            });
            tries
        };
        let taken = || {
            anyhow::Error::new(std::io::Error::new(
                ErrorKind::AddrInUse,
                "Adresse bereits in Verwendung",
            ))
            .context("starting Envoy")
        };
        assert_eq!(attempts(taken), 3);
        let quoted = || {
            anyhow::anyhow!(
                "invalid plugin configuration: add_response_headers.x-a: \"Address already in use\""
            )
        };
        assert_eq!(attempts(quoted), 1);
        assert!(is_port_taken(&port_taken_if(true, "x".into())));
        assert!(!is_port_taken(&port_taken_if(false, "x".into())));
    }
}
