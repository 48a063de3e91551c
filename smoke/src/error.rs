//! Why a smoke run could not be carried out at all (as opposed to a check that failed).
//!
//! Every message says what to do next. Callers map any of these to exit code 2.

use envoy_model::figures::seconds;
use std::time::Duration;

/// A run that could not be carried out: nothing was proven either way. Each kind holds its
/// whole message, which is all it displays: the message already holds the cause, so there is
/// no `source()` (an anyhow `{:#}` chain would print it twice).
#[derive(Debug, thiserror::Error)]
pub enum SmokeError {
    /// Envoy's admin never answered `GET /ready` with `LIVE` in time.
    #[error("{0}")]
    EnvoyUnreachable(String),
    /// Envoy's admin is ready but the listener does not answer (wrong `--url`?).
    #[error("{0}")]
    ListenerUnreachable(String),
    /// Envoy answered before but stopped answering in the middle of the run.
    #[error("{0}")]
    EnvoyWentAway(String),
    /// The log source could not be read (a command failed or is missing, a file is missing).
    #[error("{0}")]
    LogSource(String),
    /// The plugin or Envoy configuration could not be read or parsed.
    #[error("{0}")]
    Config(String),
}

impl SmokeError {
    /// `admin/ready` did not answer `LIVE` within `waited`; `last_error` is the last answer.
    pub(crate) fn unreachable(admin: &str, waited: Duration, last_error: &str) -> Self {
        Self::EnvoyUnreachable(format!(
            "Envoy is not ready: {admin}/ready did not answer LIVE within {} (last: {last_error}). \
             Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`; \
             if it listens elsewhere, pass --admin and --url (or a longer --ready-timeout)",
            seconds(waited)
        ))
    }

    /// Envoy stopped answering `during` a request (e.g. `GET /headers (x-smoke-id: …-2)`).
    pub(crate) fn went_away(during: &str, error: &str) -> Self {
        Self::EnvoyWentAway(format!(
            "Envoy went away during {during}: {error}. It answered earlier in this run, so it \
             probably crashed or was stopped: look at its log (`docker compose logs envoy`, \
             or the terminal of `cargo xtask run`), start it again and rerun smoke"
        ))
    }

    /// Adds the last lines of Envoy's log to an [`SmokeError::EnvoyWentAway`].
    pub(crate) fn with_log_tail(self, tail: &[&str]) -> Self {
        match self {
            Self::EnvoyWentAway(message) if !tail.is_empty() => Self::EnvoyWentAway(format!(
                "{message}\nthe end of Envoy's log:\n  {}",
                tail.join("\n  ")
            )),
            other => other,
        }
    }
}

/// An error and its causes, `a: b: c`, for errors that hide their cause in `source()`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    for cause in std::iter::successors(error.source(), |e| e.source()) {
        let part = cause.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = SmokeError::unreachable(
            "http://127.0.0.1:9901",
            Duration::from_secs(30),
            "connection refused",
        );
        let text = e.to_string();
        assert!(
            text.contains("http://127.0.0.1:9901/ready did not answer LIVE within 30.00 s"),
            "{text}"
        );
        assert!(text.contains(
            "Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`"
        ));
        let e = SmokeError::went_away("GET /headers", "timed out")
            .with_log_tail(&["[critical][main] caught SIGSEGV"]);
        let text = e.to_string();
        assert!(
            text.starts_with("Envoy went away during GET /headers: timed out."),
            "{text}"
        );
        assert!(
            text.ends_with("the end of Envoy's log:\n  [critical][main] caught SIGSEGV"),
            "{text}"
        );
    }

    #[test]
    fn chains_causes_once() {
        let io = std::io::Error::other("refused");
        assert_eq!(chain(&io), "refused");
    }
}
