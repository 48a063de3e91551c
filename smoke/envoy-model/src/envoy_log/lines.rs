//! The wasm log lines ([`WasmLine`]), and Envoy's own lines and its access log lines
//! ([`EnvoyLine`]).
//!
//! Two line forms are understood, optionally behind a `docker compose` prefix (`envoy-1  | `):
//! - Envoy's default format:
//!   `[2026-11-23 19:38:37.359][13791][info][wasm] [source/…/context.cc:1151] wasm log a b c: MSG`
//! - Istio's: `2021-09-30T10:28:53.764921Z info envoy wasm wasm log: MSG`, also with a
//!   `…/context.cc:1192 wasm log a b c: MSG` tail.
//!
//! After `wasm log` Envoy writes the plugin name, root id and vm id, each only when non-empty,
//! then `: ` and the message; so the message starts after the first `: ` that follows.

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
    let split = line.rsplit_once("\tthread=");
    let split = split.and_then(|(before, id)| Some((before, Some(id.parse().ok()?))));
    let (line, thread) = split.unwrap_or((line, None));
    let (timestamp, rest) = next_token(line)?;
    let (level, rest) = next_token(rest)?;
    let (scope, rest) = next_token(rest)?;
    let (logger, rest) = next_token(rest)?;
    let dated = timestamp.starts_with(|c: char| c.is_ascii_digit()) && timestamp.contains('T');
    let located = next_token(rest).filter(|(location, _)| location.contains(".cc:"));
    let rest = located.map_or(rest, |(_, tail)| tail);
    let istio = dated && scope == "envoy" && logger == "wasm";
    istio.then(|| (level.to_string(), thread, rest))
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
    let rest = right
        .strip_prefix(' ')
        .or(right.is_empty().then_some(right));
    rest.filter(|_| looks_like_service).unwrap_or(line)
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
        let looks_like_envoy = date_time.len() == 23
            && date_time[..4].iter().all(u8::is_ascii_digit)
            && date_time[10] == b' '
            && thread.iter().all(u8::is_ascii_digit);
        let text = |f: &[u8]| String::from_utf8_lossy(f).into_owned();
        looks_like_envoy.then(|| EnvoyLine {
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
