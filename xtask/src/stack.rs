//! httpbin and Envoy, started for real on loopback and stopped on every path.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bootstrap::{self, Native};
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
        let mut service = Service::spawn("httpbin", &mut cmd, &log, libc::SIGINT)?;
        let ready = wait_until(&mut service, START_TIMEOUT, || {
            http::get(addr, "/get", Duration::from_secs(2)).is_ok_and(|r| r.status == 200)
        });
        if let Err(err) = ready {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(10)..].join("\n  ");
            bail!(
                "httpbin (gunicorn) did not start on {addr}: {err:#}; the end of {}:\n  {tail}",
                log.display()
            );
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

/// The real Envoy 1.40.0, started with a derived config file.
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
    /// the error carries the lines of its log that say why.
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
        let mut service = Service::spawn_split("envoy", &mut cmd, &access_log, log, libc::SIGTERM)?;
        let ready = wait_until(&mut service, START_TIMEOUT, || {
            http::get(admin, "/ready", Duration::from_secs(2)).is_ok_and(|r| r.status == 200)
        });
        if let Err(err) = ready {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{err:#}\n{}", explain_failure(&text, log));
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
}

/// Where the access log of an Envoy logging to `log` goes: `envoy.log` → `envoy.access.log`.
pub fn access_log_of(log: &Path) -> PathBuf {
    log.with_extension("access.log")
}

/// `envoy --mode validate -c config`: loads the config and the wasm, runs the plugin's
/// `on_configure`, and exits. Returns whether it passed, and everything it printed.
pub fn validate(tools: &Tools, config: &Path) -> Result<(bool, String)> {
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

/// The lines of a failed Envoy's output that say why, most telling first: the filter's
/// own refusal of its configuration, a port it could not bind, then Envoy's errors.
pub fn explain_failure(log_text: &str, log: &Path) -> String {
    let mut out = Vec::new();
    if let Some(line) = log_text
        .lines()
        .find(|l| l.contains("invalid plugin configuration"))
    {
        let message = line
            .split_once("invalid plugin configuration")
            .map(|(_, m)| m)
            .unwrap_or(line);
        out.push(format!(
            "the filter refused its plugin configuration (the StringValue `configuration` of the wasm filter in envoy.yaml):\n  invalid plugin configuration{message}"
        ));
    }
    if let Some(line) = log_text.lines().find(|l| l.contains("cannot bind")) {
        out.push(format!(
            "Envoy could not open a port: {}\n  stop whatever holds it, or choose other ports (cargo xtask run --port <PORT> --admin-port <PORT>; 0 picks a free one)",
            line.trim()
        ));
    }
    let errors: Vec<&str> = log_text
        .lines()
        .filter(|l| l.contains("][critical][") || l.contains("][error]["))
        .collect();
    let shown: Vec<&str> = if errors.is_empty() {
        let all: Vec<&str> = log_text.lines().collect();
        all[all.len().saturating_sub(15)..].to_vec()
    } else {
        errors[errors.len().saturating_sub(10)..].to_vec()
    };
    out.push(format!(
        "Envoy's log ({}):\n  {}",
        log.display(),
        shown.join("\n  ")
    ));
    out.join("\n")
}

/// What to start: the bootstrap to derive from, the module, the ports.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// The scratch directory for configs and logs (`target/xtask/<name>` by default).
    pub dir: PathBuf,
    /// The bootstrap (usually `envoy.yaml`, perhaps a derived variant) before the native
    /// derivation is applied.
    pub bootstrap: Value,
    /// The wasm module.
    pub wasm: PathBuf,
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
    /// The repository's `envoy.yaml` and built module on free ports, named `name`.
    pub fn new(name: &str, bootstrap: Value, wasm: PathBuf) -> StackSpec {
        StackSpec {
            dir: crate::paths::work_dir(name),
            bootstrap,
            wasm,
            listener_port: 0,
            admin_port: 0,
            envoy: EnvoyOptions::default(),
            httpbin_workers: 1,
        }
    }

    /// The scratch directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.clone()
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
        let dir = spec.dir();
        let httpbin = Httpbin::start(tools, 0, &dir, spec.httpbin_workers)?;
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

/// Derives `<dir>/envoy.json` from the spec and starts Envoy with it.
pub fn start_envoy(tools: &Tools, spec: &StackSpec, httpbin_port: u16) -> Result<Envoy> {
    if smoke::envoy_config::find_wasm_filters(&spec.bootstrap, "").is_ok() {
        crate::wasm::check_module(&spec.wasm)?;
    }
    let free_ports = spec.listener_port == 0 || spec.admin_port == 0;
    retry_on_port_race(free_ports, || start_envoy_once(tools, spec, httpbin_port))
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

/// Whether a start-up error says a port was taken (Envoy's and gunicorn's wording).
fn is_port_taken(err: &anyhow::Error) -> bool {
    let text = format!("{err:#}");
    text.contains("Address already in use") || text.contains("Connection in use")
}

fn start_envoy_once(tools: &Tools, spec: &StackSpec, httpbin_port: u16) -> Result<Envoy> {
    let dir = spec.dir();
    let listener_port = ports::claim(spec.listener_port, "Envoy's listener", "--port")?;
    let admin_port = ports::claim(spec.admin_port, "Envoy's admin", "--admin-port")?;
    // Empty for a variant without a wasm filter.
    let wasm = match spec.wasm.as_os_str().is_empty() {
        true => PathBuf::new(),
        false => std::path::absolute(&spec.wasm)?,
    };
    let config = bootstrap::native(
        &spec.bootstrap,
        &Native {
            listener_port,
            admin_port,
            httpbin_port,
            wasm,
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
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = service.exited() {
            bail!("{} exited during start-up ({status})", service.name());
        }
        if ready() {
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
