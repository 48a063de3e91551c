//! Envoy's admin `/ready`: what its answer means, and the one bounded wait for it that the
//! smoke checks, the native stack and the Docker path share.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::http;

/// How often `/ready` is asked: a local Envoy is ready about 0.1 s after it starts, and the
/// edit loop waits for that moment, so the admin is asked often (it answers in microseconds).
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Why the wait ended without `LIVE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// The time was up: how long it waited and the last answer (or error).
    #[error("/ready did not answer 200 LIVE in time (last: {last})")]
    TimedOut { waited: Duration, last: String },
    /// The process stopped first: how, in the caller's words.
    #[error("{0}")]
    Gone(String),
}

/// The admin's socket address from its base URL (`http://127.0.0.1:9901` or `127.0.0.1:9901`).
pub fn admin_addr(admin_url: &str) -> Result<SocketAddr, String> {
    let (_, rest) = admin_url.split_once("://").unwrap_or(("", admin_url));
    let authority = rest.split('/').next().unwrap_or_default();
    authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority}: no address"))
}

/// One `GET <admin>/ready`: `Ok` on `200 LIVE`, otherwise what came back.
pub fn probe(admin: SocketAddr) -> Result<(), String> {
    let answer = http::get(admin, "/ready", Duration::from_secs(1)).map_err(|e| {
        let io = e.chain().find_map(|e| e.downcast_ref::<std::io::Error>());
        match io.map(std::io::Error::kind) {
            Some(ErrorKind::ConnectionRefused) => "connection refused".to_string(),
            Some(ErrorKind::TimedOut | ErrorKind::WouldBlock) => "timed out".to_string(),
            _ => format!("{e:#}"),
        }
    })?;
    match (answer.status, answer.text().trim()) {
        (200, "LIVE") => Ok(()),
        (status, body) => Err(format!("{status} {body}")),
    }
}

/// Asks `/ready` on `admin` until it answers `200 LIVE`, `gone()` says the process stopped,
/// or `timeout` passes; `waiting` hears the answer of each probe that failed. Returns how
/// long it waited.
pub fn wait(
    admin: SocketAddr,
    timeout: Duration,
    mut gone: impl FnMut() -> Option<String>,
    mut waiting: impl FnMut(&str),
) -> Result<Duration, NotReady> {
    let started = Instant::now();
    loop {
        if let Some(why) = gone() {
            return Err(NotReady::Gone(why));
        }
        let probed = probe(admin);
        let waited = started.elapsed();
        let Err(last) = probed else {
            log::debug!("{admin}/ready: LIVE after {} ms", waited.as_millis());
            return Ok(waited);
        };
        log::trace!("{admin}/ready: {last}");
        if waited >= timeout {
            return Err(NotReady::TimedOut { waited, last });
        }
        waiting(&last);
        std::thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_addresses_from_urls() {
        let addr = "127.0.0.1:9901".parse().unwrap();
        assert_eq!(admin_addr("http://127.0.0.1:9901"), Ok(addr));
        assert_eq!(admin_addr("http://127.0.0.1:9901/"), Ok(addr));
        assert_eq!(admin_addr("127.0.0.1:9901"), Ok(addr));
        assert!(admin_addr("http://127.0.0.1").is_err());
    }

    #[test]
    fn nothing_listening_times_out_and_a_stopped_process_ends_the_wait() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let admin = SocketAddr::from(([127, 0, 0, 1], port));
        let mut probes = 0;
        let waited = wait(admin, Duration::from_millis(250), || None, |_| probes += 1);
        assert!(
            matches!(waited, Err(NotReady::TimedOut { .. })),
            "{waited:?}"
        );
        assert!(probes >= 1);
        let gone = wait(
            admin,
            Duration::from_secs(5),
            || Some("exited".into()),
            |_| {},
        );
        assert_eq!(gone, Err(NotReady::Gone("exited".into())));
    }
}
