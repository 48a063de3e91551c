//! httpbin and Envoy, started for real on loopback and stopped on every path.
//!
//! httpbin ([`Httpbin`]) and Envoy ([`Envoy`]) are each a guarded child process; Envoy runs a
//! config derived from a [`StackSpec`] (its options: [`EnvoyOptions`]). They start together
//! ([`Stack`]) or Envoy alone ([`start_envoy`]); why an Envoy failed (to
//! start, or to run the filter) is [`failure`]'s, and `envoy --mode validate` is
//! [`validate`]'s. Ports picked as free and taken by another process before ours binds them are
//! retried ([`retry_on_port_race`]).

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use envoy_model::bootstrap::{self, Native};
use envoy_model::envoy_log::{self, Cause};
use envoy_model::{http, ready};
use serde_json::Value;

use crate::envoy_versions::NoWasmRuntime;
use crate::ports::{self, loopback};
use crate::procs::{Service, log_end, poll};
use crate::smoke_program;
use crate::tools::Tools;

/// httpbin and Envoy, running; both stop when this is dropped (Envoy first). The stack owns
/// its tools: the watch mode's restart and the diagnosis of a failure use them.
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
        Ok(Stack {
            envoy: start_envoy(tools, spec, httpbin.addr.port())?,
            httpbin,
            tools: tools.clone(),
        })
    }

    /// Why this stack's Envoy failed, from its log ([`failure`]).
    pub fn failure(&self, what: &dyn std::fmt::Display) -> anyhow::Error {
        failure(&self.tools, self.envoy.log(), what)
    }

    /// Replaces Envoy with a new one for `spec` (same httpbin): the watch mode's restart.
    pub fn restart_envoy(&mut self, spec: &StackSpec) -> Result<()> {
        self.envoy.stop(); // first: a new Envoy takes the same ports
        self.envoy = start_envoy(&self.tools, spec, self.httpbin.addr.port())?;
        Ok(())
    }

    /// The smoke program against this stack: its listener and admin, Envoy's log file, the
    /// expectations from the config Envoy runs.
    pub fn smoke_target(&self) -> smoke_program::Target {
        smoke_program::Target {
            url: self.envoy.url(),
            admin: self.envoy.admin_url(),
            logs: smoke_program::Logs::File(self.envoy.log().to_path_buf()),
            // The config it runs (derived, with the module's absolute path), next to its log.
            envoy_config: self.envoy.log().with_file_name(CONFIG_FILE),
            ready_timeout: Duration::from_secs(15),
            log_timeout: Duration::from_secs(10),
        }
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
                let end = log_end(&log, 10);
                let message = format!("httpbin (gunicorn) did not start on {addr}: {err:#}; {end}");
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

/// How long Envoy and httpbin may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// `bootstrap` with the module `wasm` (or none) on free ports, named `name`; Envoy with one
    /// worker, its `wasm` logger at info, in its own log format.
    pub fn new(name: &str, bootstrap: Value, wasm: impl Into<Option<PathBuf>>) -> StackSpec {
        StackSpec {
            dir: crate::paths::work_dir(name),
            bootstrap,
            wasm: wasm.into(),
            listener_port: 0,
            admin_port: 0,
            envoy: EnvoyOptions {
                wasm_log_level: "info".into(),
                concurrency: 1,
                log_format: None,
            },
        }
    }
}

/// Options for one Envoy process.
#[derive(Debug, Clone)]
pub struct EnvoyOptions {
    /// The level of Envoy's `wasm` logger: `info` shows the header lines, `warning` hides them.
    pub wasm_log_level: String,
    /// Worker threads.
    pub concurrency: u32,
    /// Envoy's `--log-format` (None: Envoy's default format).
    pub log_format: Option<String>,
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

/// The real Envoy (the pinned release, or the one `--envoy` chose), started with a derived
/// config file.
pub struct Envoy {
    service: Service,
    /// The HTTP listener.
    pub listener: SocketAddr,
    /// The admin listener (`/ready`, `/stats`).
    pub admin: SocketAddr,
}

/// The derived config Envoy runs, in the spec's directory next to its log.
const CONFIG_FILE: &str = "envoy.json";

/// Derives `<dir>/envoy.json` from `spec` (routes to httpbin on `upstream_port`, if any;
/// `None`: the bootstrap has no upstream), starts Envoy with it, output to `<dir>/envoy.log`,
/// and waits until its admin says `/ready`. If Envoy exits first, the error is [`failure`]'s;
/// a start that lost its free ports to another process is retried.
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
    retry_on_port_race(free_ports, || {
        let listener_port = ports::claim(spec.listener_port, "Envoy's listener", "--port")?;
        let admin_port = ports::claim(spec.admin_port, "Envoy's admin", "--admin-port")?;
        let (listener, admin) = (loopback(listener_port), loopback(admin_port));
        let native = Native {
            listener_port,
            admin_port,
            upstream_port,
            wasm: spec.wasm.clone(),
        };
        let config = spec.dir.join(CONFIG_FILE);
        bootstrap::write(&bootstrap::native(&spec.bootstrap, &native)?, &config)?;
        let log = spec.dir.join("envoy.log");
        let access_log = log.with_extension("access.log");
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&access_log);
        let options = &spec.envoy;
        let mut cmd = command(tools, &config, &options.wasm_log_level);
        let log_format = options.log_format.as_deref().map(|f| ["--log-format", f]);
        cmd.args(["--concurrency", &options.concurrency.to_string()])
            .arg("--disable-hot-restart")
            .args(log_format.into_iter().flatten());
        let mut service = Service::spawn("envoy", &mut cmd, &access_log, &log, libc::SIGTERM)?;
        let exited = |status| format!("envoy exited during start-up ({status})");
        let gone = || service.exited().map(exited);
        ready::wait(admin, START_TIMEOUT, gone, |_| {}).map_err(|e| failure(tools, &log, &e))?;
        Ok(Envoy {
            service,
            listener,
            admin,
        })
    })
}

impl Envoy {
    /// `http://<listener>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.listener)
    }

    /// `http://<admin>`.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.admin)
    }

    /// Envoy's log (its stderr): the filter's lines are there.
    pub fn log(&self) -> &Path {
        self.service.log()
    }

    /// The access log (Envoy's stdout), next to [`Envoy::log`]: `envoy.access.log`.
    pub fn access_log(&self) -> PathBuf {
        self.log().with_extension("access.log")
    }

    /// Envoy's process id.
    pub fn pid(&self) -> u32 {
        self.service.pid()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.service.exited().is_none()
    }

    /// Stops Envoy now (also done on drop).
    pub fn stop(&mut self) {
        self.service.stop();
    }

    /// Empties Envoy's log and its access log, which Envoy keeps open (it appends, so it goes
    /// on at the new end).
    pub fn truncate_logs(&self) -> Result<()> {
        for log in [self.log().to_path_buf(), self.access_log()] {
            std::fs::File::create(&log).with_context(|| format!("truncating {}", log.display()))?;
        }
        Ok(())
    }
}

/// Why an Envoy failed (to start, or to run the filter), as an error, from its log: the one
/// place a failure is mapped to its cause. A build without a Wasm runtime is a
/// [`NoWasmRuntime`] (callers tell it apart with `downcast_ref`), a taken port an error of
/// kind `AddrInUse` (retried with other ports), anything else the lines that explain it.
pub fn failure(tools: &Tools, log: &Path, what: &dyn std::fmt::Display) -> anyhow::Error {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let taken = match envoy_log::cause(&text) {
        Cause::NoWasmRuntime(line) => {
            let (version, envoy) = (tools.envoy_version().to_string(), tools.envoy.clone());
            return NoWasmRuntime {
                version,
                envoy,
                line: line.to_string(),
            }
            .into();
        }
        cause => matches!(cause, Cause::PortTaken(_)),
    };
    let message = format!(
        "Envoy {}: {what}\n{}",
        tools.envoy_version(),
        envoy_log::explain_start_failure(&text, log)
    );
    port_taken_if(taken, message)
}

/// `envoy --mode validate -c config`: loads the config and the wasm, runs the plugin's
/// `on_configure`, and exits. Returns whether it passed, and everything it printed.
pub fn validate(tools: &Tools, config: &Path) -> Result<(bool, String)> {
    let mut cmd = command(tools, config, "info");
    cmd.args(["--mode", "validate"]);
    log::debug!("{cmd:?}");
    let out = cmd
        .output()
        .with_context(|| format!("running {} --mode validate", tools.envoy.display()))?;
    let text = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    Ok((out.status.success(), text))
}

/// `envoy --config-path <config>` logging at warning, its `wasm` logger at `wasm_log_level`.
fn command(tools: &Tools, config: &Path, wasm_log_level: &str) -> Command {
    let mut cmd = Command::new(&tools.envoy);
    let wasm = format!("wasm:{wasm_log_level}");
    cmd.arg("--config-path").arg(config);
    cmd.args(["--log-level", "warning", "--component-log-level", &wasm]);
    cmd
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

    #[test]
    fn finds_the_missing_runtime() {
        // Envoy 1.38.3's log (the wheel on PyPI), trimmed.
        let text = "\
[2026-12-01 01:36:04.919][24865][warning][wasm] [source/extensions/common/wasm/wasm_vm.cc:102] Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime. Envoy was compiled without support for it
[2026-12-01 01:36:04.919][24865][error][wasm] [source/extensions/common/wasm/wasm.cc:103] Wasm VM failed Failed to load Wasm code
[2026-12-01 01:36:04.920][24865][critical][wasm] [source/extensions/common/wasm/wasm.cc:616] Plugin http-headers failed to load
";
        let dir = crate::paths::work_dir("test-stack-failure");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("envoy.log");
        let tools = Tools::for_test("/venv/envoy", "1.38.3");
        std::fs::write(&log, text).unwrap();
        let err = failure(&tools, &log, &"did not start");
        let found = err.downcast_ref::<NoWasmRuntime>().unwrap();
        assert_eq!(found.version, "1.38.3");
        assert_eq!(found.envoy, Path::new("/venv/envoy"));
        assert!(
            found
                .line
                .contains("Failed to create Wasm VM using envoy.wasm.runtime.v8")
        );
        std::fs::write(&log, "Failed to load Wasm code").unwrap();
        let err = failure(&tools, &log, &"did not start");
        assert!(!err.is::<NoWasmRuntime>(), "{err:#}");
    }
}
