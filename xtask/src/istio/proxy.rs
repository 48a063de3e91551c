//! Envoy started the way Istio's pilot-agent starts a sidecar's Envoy: its log format and two
//! worker threads, so that the smoke checks read the same line form as
//! `kubectl logs deploy/httpbin -c istio-proxy` prints.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::Value;

use crate::bootstrap::{self, Native};
use crate::procs::Service;
use crate::stack::loopback;
use crate::tools::Tools;
use crate::{http, ports, wasm};

/// pilot-agent's `--log-format` for Envoy (istio/istio `pkg/envoy/proxy.go`): lines like
/// `2026-11-23T20:38:42.932817Z<TAB>info<TAB>envoy wasm <file>:<line><TAB>wasm log …<TAB>thread=24`.
pub const ISTIO_LOG_FORMAT: &str = "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t";
/// Sidecars run two workers unless told otherwise.
pub const SIDECAR_CONCURRENCY: u32 = 2;
/// How long Envoy may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The real Envoy running a bootstrap as a sidecar runs it; stopped when dropped.
pub struct SidecarEnvoy {
    service: Service,
    /// The HTTP listener.
    pub listener: SocketAddr,
    /// The admin listener (`/ready`).
    pub admin: SocketAddr,
}

impl SidecarEnvoy {
    /// Derives the loopback copy of `doc` (free ports, httpbin at `httpbin_port`, every wasm
    /// filter loading `module`) into `dir`, starts Envoy with Istio's log format and waits for
    /// `/ready`. Its output goes to `<dir>/istio-proxy.log`.
    pub fn start(
        tools: &Tools,
        dir: &Path,
        doc: &Value,
        module: &Path,
        httpbin_port: u16,
    ) -> Result<SidecarEnvoy> {
        wasm::check_module(module)?;
        let native = Native {
            listener_port: ports::free()?,
            admin_port: ports::free()?,
            httpbin_port,
            wasm: std::path::absolute(module)?,
        };
        let config = dir.join("envoy.json");
        bootstrap::write(&bootstrap::native(doc, &native)?, &config)?;
        let log = dir.join("istio-proxy.log");
        let _ = std::fs::remove_file(&log);
        let mut cmd = Command::new(&tools.envoy);
        cmd.arg("--config-path")
            .arg(&config)
            .args(["--concurrency", &SIDECAR_CONCURRENCY.to_string()])
            .args([
                "--log-level",
                "warning",
                "--component-log-level",
                "wasm:info",
            ])
            .args(["--log-format", ISTIO_LOG_FORMAT])
            .arg("--disable-hot-restart");
        let mut service = Service::spawn("envoy", &mut cmd, &log, libc::SIGTERM)?;
        let admin = loopback(native.admin_port);
        wait_ready(&mut service, admin)?;
        Ok(SidecarEnvoy {
            service,
            listener: loopback(native.listener_port),
            admin,
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

    /// The file holding Envoy's output, in Istio's log format.
    pub fn log(&self) -> PathBuf {
        self.service.log().to_path_buf()
    }
}

/// Polls `/ready` every 50 ms until it answers 200; fails with Envoy's log if Envoy exits
/// first or is not ready in time.
fn wait_ready(service: &mut Service, admin: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    let path = service.log().to_path_buf();
    let log = || std::fs::read_to_string(&path).unwrap_or_default();
    loop {
        if let Some(status) = service.exited() {
            bail!("Envoy exited during start-up ({status}):\n{}", log());
        }
        if http::get(admin, "/ready", Duration::from_secs(2)).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "Envoy was not ready after {} s:\n{}",
                START_TIMEOUT.as_secs(),
                log()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
