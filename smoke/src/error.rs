//! Why a smoke run could not be carried out at all (as opposed to a check that failed).
//!
//! Every message says what to do next. Callers map any of these to exit code 2.

use std::fmt;
use std::time::Duration;

use crate::logs::LogSourceError;

/// A run that could not be carried out: nothing was proven either way.
#[derive(Debug)]
pub enum SmokeError {
    /// Envoy's admin never answered `GET /ready` with `LIVE` in time.
    EnvoyUnreachable {
        /// The admin base URL that was polled.
        admin: String,
        /// How long smoke waited.
        waited: Duration,
        /// The last answer or connection error seen.
        last_error: String,
    },
    /// Envoy's admin is ready but the listener does not answer (wrong `--url`?).
    ListenerUnreachable {
        /// The listener base URL.
        url: String,
        /// The connection error.
        error: String,
    },
    /// Envoy answered before but stopped answering in the middle of the run.
    EnvoyWentAway {
        /// The request that failed, e.g. `GET /headers (x-smoke-id: …-2)`.
        during: String,
        /// The connection error or timeout.
        error: String,
        /// The last lines of Envoy's log, when the log source could still be read.
        log_tail: Vec<String>,
    },
    /// The log source could not be read.
    LogSource {
        /// What failed, with a hint.
        source: LogSourceError,
    },
    /// The plugin or Envoy configuration could not be read or parsed.
    Config {
        /// What is wrong and where.
        message: String,
    },
}

impl fmt::Display for SmokeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EnvoyUnreachable {
                admin,
                waited,
                last_error,
            } => write!(
                f,
                "Envoy is not ready: {admin}/ready did not answer LIVE within {} (last: {last_error}). \
                 Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`; \
                 if it listens elsewhere, pass --admin and --url (or a longer --ready-timeout)",
                secs(*waited)
            ),
            Self::ListenerUnreachable { url, error } => write!(
                f,
                "Envoy's admin is ready but its listener {url} does not answer ({error}); \
                 pass the listener's address with --url"
            ),
            Self::EnvoyWentAway {
                during,
                error,
                log_tail,
            } => {
                write!(
                    f,
                    "Envoy went away during {during}: {error}. It answered earlier in this run, so it \
                     probably crashed or was stopped: look at its log (`docker compose logs envoy`, \
                     or the terminal of `cargo xtask run`), start it again and rerun smoke"
                )?;
                if !log_tail.is_empty() {
                    write!(f, "\nthe end of Envoy's log:")?;
                    for line in log_tail {
                        write!(f, "\n  {line}")?;
                    }
                }
                Ok(())
            }
            Self::LogSource { source } => write!(f, "{source}"),
            Self::Config { message } => write!(f, "{message}"),
        }
    }
}

/// The message already holds the cause, so there is no `source()` (an anyhow `{:#}` chain
/// would print it twice).
impl std::error::Error for SmokeError {}

impl From<LogSourceError> for SmokeError {
    fn from(source: LogSourceError) -> Self {
        Self::LogSource { source }
    }
}

/// `1.5s`, `30s`, `250ms`.
pub(crate) fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        let text = format!("{:.1}s", d.as_secs_f64());
        text.replace(".0s", "s")
    }
}

/// An error and its causes, `a: b: c`, for errors that hide their cause in `source()`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let e = SmokeError::EnvoyUnreachable {
            admin: "http://127.0.0.1:9901".into(),
            waited: Duration::from_secs(30),
            last_error: "connection refused".into(),
        };
        let text = e.to_string();
        assert!(
            text.contains("http://127.0.0.1:9901/ready did not answer LIVE within 30s"),
            "{text}"
        );
        assert!(text.contains(
            "Is Envoy running? Start it with `docker compose up` or run `cargo xtask run`"
        ));
        let e = SmokeError::EnvoyWentAway {
            during: "GET /headers".into(),
            error: "timed out".into(),
            log_tail: vec!["[critical][main] caught SIGSEGV".into()],
        };
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
    fn durations_read_well() {
        assert_eq!(secs(Duration::from_millis(250)), "250ms");
        assert_eq!(secs(Duration::from_secs(10)), "10s");
        assert_eq!(secs(Duration::from_millis(1500)), "1.5s");
        assert_eq!(secs(Duration::from_millis(1003)), "1s");
    }

    #[test]
    fn chains_causes_once() {
        let io = std::io::Error::other("refused");
        assert_eq!(chain(&io), "refused");
    }
}
