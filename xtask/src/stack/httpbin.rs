//! The real httpbin (Python, served by gunicorn) on 127.0.0.1, as a guarded child process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use anyhow::Result;
use smoke::envoy::log as envoy_log;

use super::{loopback, port_taken_if, retry_on_port_race, wait_ready};
use crate::ports;
use crate::procs::Service;
use crate::tools::Tools;

/// The real httpbin (Python, served by gunicorn) on 127.0.0.1.
pub struct Httpbin {
    _service: Service,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Httpbin {
    /// Starts httpbin on `port` (0: a free one) and waits until it answers `/get`.
    /// `workers` gunicorn processes, 4 threads each.
    pub fn start(tools: &Tools, port: u16, dir: &Path, workers: u32) -> Result<Httpbin> {
        std::fs::create_dir_all(dir)?;
        let log = dir.join("httpbin.log");
        retry_on_port_race(port == 0, || {
            let addr = loopback(if port == 0 { ports::free()? } else { port });
            let _ = std::fs::remove_file(&log);
            let mut cmd = Command::new(&tools.gunicorn);
            cmd.current_dir(dir)
                .args([
                    "--bind",
                    &addr.to_string(),
                    "--workers",
                    &workers.to_string(),
                ])
                .args(["--threads", "4", "--worker-class", "gthread", "httpbin:app"]);
            let mut service = Service::spawn("httpbin", &mut cmd, &log, &log, libc::SIGINT)?;
            if let Err(err) = wait_ready(&mut service, addr, "/get") {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let message = format!(
                    "httpbin (gunicorn) did not start on {addr}: {err:#}; the end of {}:\n  {}",
                    log.display(),
                    envoy_log::last_lines(&text, 10).join("\n  ")
                );
                // gunicorn's words for a port another process holds.
                return Err(port_taken_if(text.contains("Connection in use"), message));
            }
            Ok(Httpbin {
                _service: service,
                addr,
            })
        })
    }
}
