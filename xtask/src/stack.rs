//! httpbin and Envoy, started for real on loopback and stopped on every path.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use smoke::envoy::bootstrap::{self, Native};
use smoke::envoy::log as envoy_log;

use crate::envoy_versions::NoWasmRuntime;
use crate::procs::Service;
use crate::tools::Tools;
use crate::{http, ports};

/// How long Envoy and httpbin may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The real httpbin (Python, served by gunicorn) on 127.0.0.1.
pub struct Httpbin {
    service: Service,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Httpbin {
    /// Starts httpbin on `port` (0: a free one) and waits until it answers `/get`.
    /// `workers` gunicorn processes, 4 threads each.
    pub fn start(tools: &Tools, port: u16, dir: &Path, workers: u32) -> Result<Httpbin> {
        retry_on_port_race(port == 0, || {
            Httpbin::start_on(
                tools,
                if port == 0 { ports::free()? } else { port },
                dir,
                workers,
            )
        })
    }

    fn start_on(tools: &Tools, port: u16, dir: &Path, workers: u32) -> Result<Httpbin> {
        let addr = loopback(port);
        std::fs::create_dir_all(dir)?;
        let log = dir.join("httpbin.log");
        let _ = std::fs::remove_file(&log);
        let mut cmd = Command::new(&tools.gunicorn);
        cmd.current_dir(dir).args([
            "--bind",
            &addr.to_string(),
            "--workers",
            &workers.to_string(),
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "httpbin:app",
        ]);
        let mut service = Service::spawn("httpbin", &mut cmd, &log, &log, libc::SIGINT)?;
        let ready = wait_until(&mut service, START_TIMEOUT, || {
            http::get(addr, "/get", Duration::from_secs(2)).is_ok_and(|r| r.status == 200)
        });
        if let Err(err) = ready {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let message = format!(
                "httpbin (gunicorn) did not start on {addr}: {err:#}; the end of {}:\n  {}",
                log.display(),
                envoy_log::last_lines(&text, 10).join("\n  ")
            );
            // gunicorn's words for a port another process holds.
            return Err(port_taken_if(text.contains("Connection in use"), message));
        }
        Ok(Httpbin { service, addr })
    }

    /// The gunicorn master's process id.
    pub fn pid(&self) -> u32 {
        self.service.pid()
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

impl Default for EnvoyOptions {
    fn default() -> Self {
        EnvoyOptions {
            wasm_log_level: "info".into(),
            concurrency: 1,
            log_format: None,
        }
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
    /// The config file it runs.
    pub config: PathBuf,
}

impl Envoy {
    /// Starts Envoy with `config` (whose listener and admin are at the given addresses),
    /// output to `log`, and waits until its admin says `/ready`. If Envoy exits first,
    /// the error carries the lines of its log that say why; for a build without a Wasm
    /// runtime it is a [`NoWasmRuntime`] (callers tell it apart with `downcast_ref`).
    pub fn start(
        tools: &Tools,
        config: &Path,
        listener: SocketAddr,
        admin: SocketAddr,
        log: &Path,
        options: &EnvoyOptions,
    ) -> Result<Envoy> {
        let access_log = access_log_of(log);
        let _ = std::fs::remove_file(log);
        let _ = std::fs::remove_file(&access_log);
        let mut cmd = Command::new(&tools.envoy);
        cmd.arg("--config-path")
            .arg(config)
            .args(["--concurrency", &options.concurrency.to_string()])
            .args(["--log-level", "warning"])
            .args([
                "--component-log-level",
                &format!("wasm:{}", options.wasm_log_level),
            ])
            .arg("--disable-hot-restart");
        if let Some(format) = &options.log_format {
            cmd.args(["--log-format", format]);
        }
        let mut service = Service::spawn("envoy", &mut cmd, &access_log, log, libc::SIGTERM)?;
        let ready = wait_until(&mut service, START_TIMEOUT, || {
            http::get(admin, "/ready", Duration::from_secs(2)).is_ok_and(|r| r.status == 200)
        });
        if let Err(err) = ready {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(no_runtime) = NoWasmRuntime::find(&text, tools) {
                return Err(no_runtime.into());
            }
            let message = format!(
                "Envoy {}: {err:#}\n{}",
                tools.envoy_version(),
                envoy_log::explain_start_failure(&text, log)
            );
            return Err(port_taken_if(
                envoy_log::bind_failure(&text).is_some(),
                message,
            ));
        }
        Ok(Envoy {
            service,
            listener,
            admin,
            config: config.to_path_buf(),
        })
    }

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

    /// The access log (Envoy's stdout), next to [`Envoy::log`].
    pub fn access_log(&self) -> PathBuf {
        access_log_of(self.service.log())
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
            std::fs::File::options()
                .write(true)
                .open(&log)
                .and_then(|f| f.set_len(0))
                .with_context(|| format!("truncating {}", log.display()))?;
        }
        Ok(())
    }
}

/// Where the access log of an Envoy logging to `log` goes: `envoy.log` → `envoy.access.log`.
pub fn access_log_of(log: &Path) -> PathBuf {
    log.with_extension("access.log")
}

/// `envoy --mode validate -c config`: loads the config and the wasm, runs the plugin's
/// `on_configure`, and exits. Returns whether it passed, and everything it printed.
pub fn validate(tools: &Tools, config: &Path) -> Result<(bool, String)> {
    log::debug!("envoy --mode validate --config-path {}", config.display());
    let out = Command::new(&tools.envoy)
        .args([
            "--mode",
            "validate",
            "--log-level",
            "warning",
            "--component-log-level",
            "wasm:info",
            "--config-path",
        ])
        .arg(config)
        .output()
        .with_context(|| format!("running {} --mode validate", tools.envoy.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

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
    /// gunicorn worker processes for httpbin.
    pub httpbin_workers: u32,
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
            httpbin_workers: 1,
        }
    }
}

/// httpbin and Envoy, running; both stop when this is dropped (Envoy first).
pub struct Stack {
    /// Envoy (declared first: dropped first).
    pub envoy: Envoy,
    /// httpbin.
    pub httpbin: Httpbin,
}

impl Stack {
    /// Starts httpbin, derives the native config from `spec.bootstrap`, starts Envoy.
    pub fn start(tools: &Tools, spec: &StackSpec) -> Result<Stack> {
        let httpbin = Httpbin::start(tools, 0, &spec.dir, spec.httpbin_workers)?;
        let envoy = start_envoy(tools, spec, httpbin.addr.port())?;
        Ok(Stack { envoy, httpbin })
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
    pub fn restart_envoy(&mut self, tools: &Tools, spec: &StackSpec) -> Result<()> {
        self.envoy.stop();
        self.envoy = start_envoy(tools, spec, self.httpbin.addr.port())?;
        Ok(())
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
    retry_on_port_race(free_ports, || start_envoy_once(tools, spec, upstream_port))
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
    let mut tries = 0;
    loop {
        tries += 1;
        match start() {
            Err(err) if picked && tries < 3 && is_port_taken(&err) => continue,
            other => return other,
        }
    }
}

/// Whether a start-up error is a port another process holds: an I/O error of kind
/// `AddrInUse` anywhere in its chain ([`ports::claim`] and [`port_taken_if`] make them).
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

fn start_envoy_once(tools: &Tools, spec: &StackSpec, upstream_port: Option<u16>) -> Result<Envoy> {
    let dir = &spec.dir;
    let listener_port = ports::claim(spec.listener_port, "Envoy's listener", "--port")?;
    let admin_port = ports::claim(spec.admin_port, "Envoy's admin", "--admin-port")?;
    let config = bootstrap::native(
        &spec.bootstrap,
        &Native {
            listener_port,
            admin_port,
            upstream_port,
            wasm: spec.wasm.clone(),
        },
    )?;
    let config_path = dir.join("envoy.json");
    bootstrap::write(&config, &config_path)?;
    Envoy::start(
        tools,
        &config_path,
        loopback(listener_port),
        loopback(admin_port),
        &dir.join("envoy.log"),
        &spec.envoy,
    )
}

/// `127.0.0.1:port`.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

/// Polls `ready` every 50 ms until it holds, the service exits, or `timeout` passes.
fn wait_until(
    service: &mut Service,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        if let Some(status) = service.exited() {
            bail!("{} exited during start-up ({status})", service.name());
        }
        if ready() {
            log::debug!(
                "{} ready after {} ms",
                service.name(),
                started.elapsed().as_millis()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} was not ready after {} s",
                service.name(),
                timeout.as_secs()
            );
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
