//! The real Envoy as a guarded child process: its start (and why a start failed), its logs,
//! and `envoy --mode validate` (its options: `spec.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use envoy_model::bootstrap::{self, Native};
use envoy_model::{envoy_log, ready};

use super::port_race::{port_taken_if, retry_on_port_race};
use super::spec::{START_TIMEOUT, StackSpec};
use crate::envoy_versions::NoWasmRuntime;
use crate::ports::{self, loopback};
use crate::procs::Service;
use crate::tools::Tools;

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
        cmd.args(["--concurrency", &options.concurrency.to_string()])
            .arg("--disable-hot-restart");
        if let Some(format) = &options.log_format {
            cmd.args(["--log-format", format]);
        }
        let mut service = Service::spawn("envoy", &mut cmd, &access_log, &log, libc::SIGTERM)?;
        let gone = || {
            service
                .exited()
                .map(|status| format!("envoy exited during start-up ({status})"))
        };
        if let Err(not_ready) = ready::wait(admin, START_TIMEOUT, gone, |_| {}) {
            return Err(failure(tools, &log, &not_ready));
        }
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

    /// The config it runs (derived, with the module's absolute path), next to [`Envoy::log`]:
    /// `envoy.json`.
    pub fn config(&self) -> PathBuf {
        self.log().with_file_name(CONFIG_FILE)
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
    if let Some(no_runtime) = NoWasmRuntime::find(&text, tools) {
        return no_runtime.into();
    }
    let message = format!(
        "Envoy {}: {what}\n{}",
        tools.envoy_version(),
        envoy_log::explain_start_failure(&text, log)
    );
    let taken = matches!(envoy_log::cause(&text), envoy_log::Cause::PortTaken(_));
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
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
