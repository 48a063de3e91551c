//! Where Envoy's log comes from: `docker compose logs`, a file, any shell command, or nowhere.
//!
//! A source that fails (a command that exits non-zero or is missing, a missing file) is an
//! error that says what failed and how to get past it; it never counts as a passed check.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// How much earlier than the run's start `docker compose logs --since` begins, to absorb a
/// clock difference between this host and Docker's (Docker Desktop runs a VM).
const COMPOSE_SINCE_MARGIN_SECS: u64 = 300;

/// The hint every log source error ends with.
const SKIP_HINT: &str = "choose another source with --logs file:PATH or --logs cmd:COMMAND, \
                         or pass --logs none to skip the log checks";

/// Where to read Envoy's log from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    /// `docker compose logs --no-color --no-log-prefix <service>`, run in the current directory.
    Compose {
        /// The compose service running Envoy (`envoy` in docker-compose.yml).
        service: String,
    },
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
    /// Unix seconds at the start; `None` for the log's very beginning ([`LogSource::fetch`]).
    pub started_unix: Option<u64>,
}

/// A log source that could not be read.
#[derive(Debug)]
pub enum LogSourceError {
    /// The command could not be started at all (not installed, not on PATH).
    Spawn {
        /// The command line as shown to the user.
        command: String,
        /// Why it could not start.
        error: std::io::Error,
    },
    /// The command ran and failed.
    Failed {
        /// The command line as shown to the user.
        command: String,
        /// Its exit status, e.g. `exit status: 1`.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The file could not be read.
    File {
        /// The log file.
        path: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
}

impl fmt::Display for LogSourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Spawn { command, error } => {
                write!(f, "could not run `{command}` to read Envoy's log: {error}")?;
                if command.starts_with("docker ") {
                    write!(f, " (is Docker with the compose plugin installed?)")?;
                }
            }
            Self::Failed {
                command,
                status,
                stderr,
            } => {
                write!(f, "`{command}` failed ({status}) while reading Envoy's log")?;
                let lines: Vec<&str> = stderr
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                let shown = match lines.as_slice() {
                    [first, second, .., last] if lines.len() > 3 => vec![*first, *second, *last],
                    all => all.to_vec(),
                };
                if !shown.is_empty() {
                    write!(f, ": {}", shown.join(" / "))?;
                }
                if command.starts_with("docker compose")
                    && lines.iter().any(|l| {
                        l.contains("unknown flag") || l.contains("is not a docker command")
                    })
                {
                    write!(
                        f,
                        " (the Docker compose plugin seems missing: `docker compose version` should work)"
                    )?;
                }
                if command.starts_with("docker compose") {
                    write!(
                        f,
                        " (run smoke in the directory of docker-compose.yml, after `docker compose up`)"
                    )?;
                }
            }
            Self::File { path, error } => {
                write!(
                    f,
                    "cannot read Envoy's log file {}: {error}",
                    path.display()
                )?;
                write!(
                    f,
                    " (start Envoy with its stderr redirected there, e.g. `envoy … 2> FILE`)"
                )?;
            }
        }
        write!(f, "; {SKIP_HINT}")
    }
}

/// The message already holds the cause, so there is no `source()` (an anyhow `{:#}` chain
/// would print it twice).
impl std::error::Error for LogSourceError {}

impl Default for LogSource {
    fn default() -> Self {
        Self::Compose {
            service: "envoy".into(),
        }
    }
}

impl FromStr for LogSource {
    type Err = String;

    /// `compose`, `compose:SERVICE`, `file:PATH`, `cmd:COMMAND` or `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, arg) = match s.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (s, None),
        };
        let nonempty = |what: &str| match arg {
            Some(a) if !a.trim().is_empty() => Ok(a.to_string()),
            _ => Err(format!(
                "`{kind}:` needs a {what} after the colon, e.g. {kind}:{}",
                example(kind)
            )),
        };
        match kind {
            "compose" if arg.is_none() => Ok(Self::default()),
            "compose" => Ok(Self::Compose {
                service: nonempty("service name")?,
            }),
            "file" => Ok(Self::File(PathBuf::from(nonempty("path")?))),
            "cmd" => Ok(Self::Command(nonempty("command")?)),
            "none" if arg.is_none() => Ok(Self::None),
            _ => Err(format!(
                "unknown log source `{s}`: use compose, compose:SERVICE, file:PATH, cmd:COMMAND or none"
            )),
        }
    }
}

fn example(kind: &str) -> &'static str {
    match kind {
        "file" => "envoy.log",
        "compose" => "envoy",
        _ => "'kubectl logs deploy/httpbin -c istio-proxy'",
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compose { service } => write!(f, "docker compose logs {service}"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Command(command) => write!(f, "command `{command}`"),
            Self::None => write!(f, "none (log checks skipped)"),
        }
    }
}

impl LogSource {
    /// True unless this is [`LogSource::None`].
    pub fn is_some(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// The whole log as the source shows it now (a file from its start).
    pub fn fetch(&self) -> Result<String, LogSourceError> {
        self.fetch_since(&LogMark::default())
    }

    /// Records where the log stands now and proves the source can be read at all, so a broken
    /// source stops the run before any request is sent.
    pub fn mark(&self) -> Result<LogMark, LogSourceError> {
        let started_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        let file_offset = match self {
            Self::File(path) => std::fs::metadata(path)
                .map_err(|error| LogSourceError::File {
                    path: path.clone(),
                    error,
                })?
                .len(),
            Self::Compose { .. } | Self::Command(_) => {
                self.fetch_since(&LogMark {
                    file_offset: 0,
                    started_unix,
                })?;
                0
            }
            Self::None => 0,
        };
        Ok(LogMark {
            file_offset,
            started_unix,
        })
    }

    /// The log written since `mark` where the source allows it (file: from the recorded offset,
    /// or from the start if the file shrank; compose: `--since` a little before the mark),
    /// otherwise the whole log. Lossily decoded: invalid UTF-8 becomes U+FFFD.
    pub fn fetch_since(&self, mark: &LogMark) -> Result<String, LogSourceError> {
        match self {
            Self::Compose { service } => {
                let mut args = vec!["compose", "logs", "--no-color", "--no-log-prefix"];
                let since = mark
                    .started_unix
                    .map(|s| s.saturating_sub(COMPOSE_SINCE_MARGIN_SECS).to_string());
                if let Some(since) = &since {
                    args.extend(["--since", since]);
                }
                args.push(service);
                run(
                    Command::new("docker").args(&args),
                    &format!("docker {}", args.join(" ")),
                )
            }
            Self::Command(command) => run(Command::new("sh").args(["-c", command]), command),
            Self::File(path) => read_file_from(path, mark.file_offset),
            Self::None => Ok(String::new()),
        }
    }
}

/// Runs a command; on success its stdout then its stderr (Envoy logs to stderr and `docker
/// compose logs` may pass a container's stderr through as its own).
fn run(command: &mut Command, shown: &str) -> Result<String, LogSourceError> {
    let started = std::time::Instant::now();
    let output = command.output().map_err(|error| LogSourceError::Spawn {
        command: shown.to_string(),
        error,
    })?;
    log::debug!(
        "`{shown}`: {}, {} bytes of output, after {} ms",
        output.status,
        output.stdout.len() + output.stderr.len(),
        started.elapsed().as_millis()
    );
    if !output.status.success() {
        return Err(LogSourceError::Failed {
            command: shown.to_string(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.stderr.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(&output.stderr));
    }
    Ok(text)
}

fn read_file_from(path: &PathBuf, offset: u64) -> Result<String, LogSourceError> {
    let error = |error| LogSourceError::File {
        path: path.clone(),
        error,
    };
    let mut file = std::fs::File::open(path).map_err(error)?;
    let len = file.metadata().map_err(error)?.len();
    // A file shorter than the mark was truncated or replaced: read it all.
    let start = if offset <= len { offset } else { 0 };
    file.seek(SeekFrom::Start(start)).map_err(error)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(error)?;
    log::trace!(
        "{}: {} bytes from offset {start}",
        path.display(),
        bytes.len()
    );
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn parses_the_log_flag() {
        assert_eq!(
            "compose".parse(),
            Ok(LogSource::Compose {
                service: "envoy".into()
            })
        );
        assert_eq!(
            "compose:proxy".parse(),
            Ok(LogSource::Compose {
                service: "proxy".into()
            })
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
        assert!(!LogSource::None.is_some());
        assert_eq!(
            LogSource::default().to_string(),
            "docker compose logs envoy"
        );
    }
}
