//! The filter's lines in Envoy's log (`wasm log …`), in Envoy's default format or Istio's, behind
//! an optional `docker compose` prefix (the forms are described in `envoy_log.rs`).

use super::lines::EnvoyLine;

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
