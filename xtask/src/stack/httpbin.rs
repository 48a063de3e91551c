//! The real httpbin (Python, served by gunicorn) on 127.0.0.1, as a guarded child process.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::Result;
use smoke::envoy::log as envoy_log;

use super::{START_TIMEOUT, loopback, port_taken_if, retry_on_port_race, wait_until};
use crate::procs::Service;
use crate::tools::Tools;
use crate::{http, ports};

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
