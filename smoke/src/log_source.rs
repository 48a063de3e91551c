//! Where Envoy's log comes from: `docker compose logs`, a file, any shell command, or nowhere.
//!
//! A source that fails (a command that exits non-zero or is missing, a missing file) is an
//! error that says what failed and how to get past it; it never counts as a passed check.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::str::FromStr;
use std::time::{Duration, Instant, UNIX_EPOCH};

use envoy_model::envoy_log;

use crate::SmokeError;

/// How much earlier than the run's start `docker compose logs --since` begins, to absorb a
/// clock difference between this host and Docker's (Docker Desktop runs a VM).
const COMPOSE_SINCE_MARGIN_SECS: u64 = 300;

/// The command `--logs cmd:` suggests when it is given none.
const COMMAND_EXAMPLE: &str = "'kubectl logs deploy/httpbin -c istio-proxy'";

/// Where to read Envoy's log from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// `docker compose logs --no-color --no-log-prefix <service>`, run in the current directory.
    /// Holds the compose service running Envoy (`envoy` in docker-compose.yml).
    Compose(String),
    /// A file Envoy writes its log to; read from where it ended when the run started.
    File(PathBuf),
    /// A shell command (`sh -c`) that prints the log, e.g. `kubectl logs deploy/httpbin -c istio-proxy`.
    Command(String),
    /// No log: the log checks are skipped.
    None,
}

/// Where the log stood when a run started, so that only newer output is read when possible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogMark {
    /// The file's length at the start (file sources).
    pub file_offset: u64,
    /// Unix seconds at the start (0, the epoch, if the clock reads earlier: then all of it).
    pub started_unix: u64,
}

/// A log source error: `message`, then how to get past it.
fn source_error(message: String) -> SmokeError {
    SmokeError::LogSource(format!(
        "{message}; choose another source with --logs file:PATH or --logs cmd:COMMAND, \
         or pass --logs none to skip the log checks"
    ))
}

fn file_error(path: &Path, error: std::io::Error) -> SmokeError {
    source_error(format!(
        "cannot read Envoy's log file {}: {error} (start Envoy with its stderr redirected \
         there, e.g. `envoy … 2> FILE`)",
        path.display()
    ))
}

impl FromStr for LogSource {
    type Err = String;

    /// `compose`, `compose:SERVICE`, `file:PATH`, `cmd:COMMAND` or `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, arg) = s.split_once(':').map_or((s, None), |(k, a)| (k, Some(a)));
        let (source, what, example) = match (kind, arg) {
            ("compose", None) => return Ok(Self::Compose("envoy".into())),
            ("none", None) => return Ok(Self::None),
            ("compose", Some(a)) => (Self::Compose(a.into()), "service name", "envoy"),
            ("file", Some(a)) => (Self::File(a.into()), "path", "envoy.log"),
            ("cmd", Some(a)) => (Self::Command(a.into()), "command", COMMAND_EXAMPLE),
            _ => {
                return Err(format!(
                    "unknown log source `{s}`: use compose, compose:SERVICE, file:PATH, \
                     cmd:COMMAND or none"
                ));
            }
        };
        if arg.is_some_and(|a| a.trim().is_empty()) {
            return Err(format!(
                "`{kind}:` needs a {what} after the colon, e.g. {kind}:{example}"
            ));
        }
        Ok(source)
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compose(service) => write!(f, "docker compose logs {service}"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Command(command) => write!(f, "command `{command}`"),
            Self::None => write!(f, "none (log checks skipped)"),
        }
    }
}

impl LogSource {
    /// How often to read it while waiting for lines: a file is cheap to read again (it gives
    /// the local loop its lines within 50 ms); a command starts a process each time.
    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_millis(if let Self::File(_) = self { 50 } else { 200 })
    }

    /// Records where the log stands now and proves the source can be read at all, so a broken
    /// source stops the run before any request is sent.
    pub(crate) fn mark(&self) -> Result<LogMark, SmokeError> {
        let started_unix = UNIX_EPOCH.elapsed().unwrap_or_default().as_secs();
        let file_offset = match self {
            Self::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
            _ => 0,
        };
        let mark = LogMark {
            file_offset,
            started_unix,
        };
        // A file is read from its end: nothing, but it must open (a missing one fails here).
        self.fetch_since(&mark)?;
        Ok(mark)
    }

    /// The log written since `mark` where the source allows it (file: from the recorded offset,
    /// or from the start if the file shrank; compose: `--since` a little before the mark),
    /// otherwise the whole log. Lossily decoded: invalid UTF-8 becomes U+FFFD.
    pub(crate) fn fetch_since(&self, mark: &LogMark) -> Result<String, SmokeError> {
        match self {
            Self::Compose(service) => {
                let since = mark.started_unix.saturating_sub(COMPOSE_SINCE_MARGIN_SECS);
                let since = since.to_string();
                let mut args = vec!["compose", "logs", "--no-color", "--no-log-prefix"];
                args.extend(["--since", &since, service]);
                let shown = format!("docker {}", args.join(" "));
                run(Command::new("docker").args(&args), &shown)
            }
            Self::Command(command) => run(Command::new("sh").args(["-c", command]), command),
            Self::File(path) => {
                let (offset, shown) = (mark.file_offset, path.display());
                let bytes = envoy_log::read_from(path, offset).map_err(|e| file_error(path, e))?;
                log::trace!("{shown}: {} bytes after offset {offset}", bytes.len());
                Ok(String::from_utf8_lossy(&bytes).into_owned())
            }
            Self::None => Ok(String::new()),
        }
    }
}

/// Runs a command; on success its stdout then its stderr (Envoy logs to stderr and `docker
/// compose logs` may pass a container's stderr through as its own).
fn run(command: &mut Command, shown: &str) -> Result<String, SmokeError> {
    let started = Instant::now();
    let output = command.output().map_err(|error| {
        let docker = shown.starts_with("docker ");
        let docker = docker.then_some(" (is Docker with the compose plugin installed?)");
        source_error(format!(
            "could not run `{shown}` to read Envoy's log: {error}{}",
            docker.unwrap_or_default()
        ))
    })?;
    let (status, took) = (output.status, started.elapsed().as_millis());
    let bytes = output.stdout.len() + output.stderr.len();
    log::debug!("`{shown}`: {status}, {bytes} bytes of output, after {took} ms");
    if !output.status.success() {
        return Err(failed(shown, &output));
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !text.is_empty() && !text.ends_with('\n') && !output.stderr.is_empty() {
        text.push('\n');
    }
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ok(text)
}

/// A command that ran and failed: its status and what it printed on stderr (the first two
/// lines and the last), with a hint for `docker compose`.
fn failed(command: &str, output: &Output) -> SmokeError {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let shown = match lines.as_slice() {
        [first, second, .., last] => vec![*first, *second, *last],
        all => all.to_vec(),
    };
    let status = output.status;
    let mut message = format!("`{command}` failed ({status}) while reading Envoy's log");
    if !shown.is_empty() {
        message += &format!(": {}", shown.join(" / "));
    }
    if command.starts_with("docker compose") {
        let missing =
            |l: &&str| l.contains("unknown flag") || l.contains("is not a docker command");
        if lines.iter().any(missing) {
            message += " (the Docker compose plugin seems missing: `docker compose version` \
                        should work)";
        }
        message += " (run smoke in the directory of docker-compose.yml, after `docker compose up`)";
    }
    source_error(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    impl Default for LogSource {
        fn default() -> Self {
            Self::Compose("envoy".into())
        }
    }

    impl LogSource {
        /// The whole log as the source shows it now (a file from its start).
        fn fetch(&self) -> Result<String, SmokeError> {
            self.fetch_since(&LogMark::default())
        }
    }

    #[test]
    fn parses_the_log_flag() {
        assert_eq!("compose".parse(), Ok(LogSource::Compose("envoy".into())));
        assert_eq!(
            "compose:proxy".parse(),
            Ok(LogSource::Compose("proxy".into()))
        );
        assert_eq!(
            "file:logs/envoy.log".parse(),
            Ok(LogSource::File("logs/envoy.log".into()))
        );
        assert_eq!(
            "cmd:kubectl logs deploy/httpbin -c istio-proxy".parse(),
            Ok(LogSource::Command(
                "kubectl logs deploy/httpbin -c istio-proxy".into()
            ))
        );
        assert_eq!(
            "file:C:\\x:y".parse(),
            Ok(LogSource::File("C:\\x:y".into()))
        );
        assert_eq!("none".parse(), Ok(LogSource::None));
        for bad in [
            "", "files:x", "file:", "cmd:  ", "compose:", "none:x", "docker",
        ] {
            assert!(bad.parse::<LogSource>().is_err(), "{bad}");
        }
    }

    #[test]
    fn command_output_and_failures() {
        let ok = LogSource::Command("echo out; echo err >&2".into());
        assert_eq!(ok.fetch().unwrap(), "out\nerr\n");
        let failing = LogSource::Command("echo nope >&2; exit 3".into());
        let err = failing.fetch().unwrap_err().to_string();
        assert!(
            err.contains("`echo nope >&2; exit 3` failed (exit status: 3)"),
            "{err}"
        );
        assert!(err.contains(": nope"), "{err}");
        assert!(
            err.ends_with("or pass --logs none to skip the log checks"),
            "{err}"
        );
        assert!(failing.mark().is_err());
    }

    #[test]
    fn missing_file_is_an_error() {
        let source = LogSource::File("no/such/dir/envoy.log".into());
        let err = source.mark().unwrap_err().to_string();
        assert!(
            err.starts_with("cannot read Envoy's log file no/such/dir/envoy.log"),
            "{err}"
        );
        assert!(source.fetch().is_err());
    }

    #[test]
    fn file_is_read_from_the_mark() {
        let path = std::env::temp_dir().join(format!("smoke-logs-test-{}.log", std::process::id()));
        std::fs::write(&path, "old line\n").unwrap();
        let source = LogSource::File(path.clone());
        let mark = source.mark().unwrap();
        assert_eq!(mark.file_offset, 9);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"new line \xff\n").unwrap();
        assert_eq!(source.fetch_since(&mark).unwrap(), "new line \u{FFFD}\n");
        assert!(source.fetch().unwrap().starts_with("old line\n"));
        std::fs::write(&path, "x\n").unwrap();
        assert_eq!(source.fetch_since(&mark).unwrap(), "x\n");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn none_reads_nothing_and_describes_itself() {
        assert_eq!(LogSource::None.fetch().unwrap(), "");
        assert_eq!(
            LogSource::default().to_string(),
            "docker compose logs envoy"
        );
    }
}
