//! The smoke checks: pure functions from what was sent, answered and logged to [`CheckResult`]s.
//!
//! No I/O here: `run` in lib.rs sends the requests and fetches the log, then calls these. The
//! checks on HTTP answers are below, the ones that read Envoy's log in `checks/log.rs`; their
//! expected log lines are built with the filter's own code (`filter_core::logline`), so escaping,
//! redaction and cutting are expected exactly as the filter does them.

mod log_lines;

use filter_core::config::PluginConfig;
use serde_json::Value;

use crate::client::{Exchange, TAG_HEADER};
pub use log_lines::{
    LogEvidence, LogView, log_lines_complete, non_utf8_survived, secrets_redacted,
};

/// Check 1's name, as shown in reports: every response carries `add_response_headers`.
pub const RESPONSE_HEADERS: &str = "response headers added";
/// Check 2: httpbin's echo shows `set_request_headers`.
pub const REQUEST_HEADERS: &str = "request headers set (httpbin echo)";
/// Check 3: each request's stream is complete in the log.
pub const LOG_LINES: &str = "log lines for every request";
/// Check 4: a non-UTF-8 header value is answered normally and logged escaped.
pub const NON_UTF8: &str = "non-UTF-8 header value survived";
/// Check 5: redacted values (headers, query parameters) stay out of the log.
pub const REDACTION: &str = "secrets redacted (headers, query)";

/// How many wasm lines a failure shows when it has no stream of its own to show.
pub const TAIL_LINES: usize = 20;

/// Pass, fail, or not checked (`pass`, `fail`, `skip` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// The assertion held.
    Pass,
    /// It did not: the run fails (exit code 1).
    Fail,
    /// It could not be checked (no log source, nothing configured); does not fail a run.
    Skip,
}

/// The outcome of one named assertion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    /// One of the names above.
    pub name: String,
    /// Pass, fail or skip.
    pub status: CheckStatus,
    /// What the check wanted.
    pub expected: String,
    /// What it found.
    pub got: String,
    /// Why it was skipped, or a note.
    pub detail: String,
    /// Log lines that show the problem (a failing stream, or the last wasm lines).
    pub log_tail: Option<Vec<String>>,
}

impl CheckResult {
    /// Passes when `problems` is empty (then `got` is `got_if_fine`), else fails with one
    /// problem per line in `got`.
    pub(crate) fn new(
        name: &str,
        expected: String,
        problems: Vec<String>,
        got_if_fine: String,
    ) -> Self {
        let (status, got) = if problems.is_empty() {
            (CheckStatus::Pass, got_if_fine)
        } else {
            (CheckStatus::Fail, problems.join("\n"))
        };
        Self {
            name: name.into(),
            status,
            expected,
            got,
            detail: String::new(),
            log_tail: None,
        }
    }

    /// A check that was not run, and why.
    pub fn skipped(name: &str, reason: &str) -> Self {
        Self {
            status: CheckStatus::Skip,
            detail: reason.into(),
            ..Self::new(name, String::new(), Vec::new(), String::new())
        }
    }

    /// True unless it failed.
    pub fn passed(&self) -> bool {
        self.status != CheckStatus::Fail
    }
}

/// `a: b, c: d`.
pub(crate) fn pairs_text(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check 1: every response carries the configured `add_response_headers`.
pub fn response_headers_added(config: &PluginConfig, exchanges: &[Exchange]) -> CheckResult {
    let wanted = &config.add_response_headers;
    if wanted.is_empty() {
        let reason = "add_response_headers is empty in the plugin configuration";
        return CheckResult::skipped(RESPONSE_HEADERS, reason);
    }
    let mut problems = Vec::new();
    for ex in exchanges {
        for (name, value) in wanted {
            let got: Vec<_> = ex
                .header_values(name)
                .map(String::from_utf8_lossy)
                .collect();
            if got.iter().any(|v| v == value) {
                continue;
            }
            let seen = if got.is_empty() {
                "missing".into()
            } else {
                format!("{got:?}")
            };
            let answered = format!("{} answered {}", ex.describe(), ex.status);
            problems.push(format!("{answered}: {name} {seen}"));
        }
    }
    let pairs = pairs_text(wanted);
    let n = exchanges.len();
    let expected = format!("{pairs} on each of {n} responses");
    CheckResult::new(
        RESPONSE_HEADERS,
        expected,
        problems,
        format!("{pairs} on {n} of {n} responses"),
    )
}

/// The values httpbin echoed for `name`: python httpbin `{"headers": {"Test": "best"}}`,
/// go-httpbin `{"headers": {"Test": ["best"]}}`; names ASCII case-insensitive.
pub fn echoed_values(body: &[u8], name: &str) -> Result<Vec<String>, String> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let headers = json
        .get("headers")
        .and_then(Value::as_object)
        .ok_or("the body has no \"headers\" object")?;
    Ok(headers
        .iter()
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .flat_map(|(_, value)| match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            other => vec![other.to_string()],
        })
        .collect())
}

/// Check 2: httpbin's `/headers` echo shows every configured `set_request_headers` (and our tag).
pub fn request_headers_echoed(config: &PluginConfig, echo: &Exchange) -> CheckResult {
    let wanted = &config.set_request_headers;
    if wanted.is_empty() {
        let reason = "set_request_headers is empty in the plugin configuration";
        return CheckResult::skipped(REQUEST_HEADERS, reason);
    }
    let mut problems = Vec::new();
    if echo.status != 200 {
        problems.push(format!("{} answered {}", echo.describe(), echo.status));
    }
    let tag = (TAG_HEADER.to_string(), echo.tag.clone());
    for (name, value) in wanted.iter().chain([&tag]) {
        match echoed_values(&echo.body, name) {
            Ok(got) if got.contains(value) => {}
            Ok(got) if got.is_empty() => problems.push(format!("{name} not echoed")),
            Ok(got) => problems.push(format!("{name}: {got:?}")),
            Err(e) => {
                let body = String::from_utf8_lossy(&echo.body);
                let body: String = body.chars().take(200).collect();
                problems.push(format!("{e} from {}: {body}", echo.describe()));
                break;
            }
        }
    }
    let pairs = pairs_text(wanted);
    let expected = format!("{pairs} in the echo of {}", echo.describe());
    CheckResult::new(
        REQUEST_HEADERS,
        expected,
        problems,
        format!("{pairs} echoed by httpbin"),
    )
}

#[cfg(test)]
mod tests;
