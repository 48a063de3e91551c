//! The smoke checks: pure functions from what was sent, answered and logged to [`CheckResult`]s.
//!
//! No I/O here: `run` in lib.rs sends the requests and fetches the log, then calls these. What a
//! check reports (its name, status, result) is in `result`; the checks on HTTP answers are
//! below; the checks that read Envoy's log (complete streams per request, the escaped non-UTF-8
//! value, and redaction), where [`LogView`] is the fetched log, are in `log_lines`. The expected
//! log lines are built with the filter's own code (`filter_core::logline`), so escaping,
//! redaction and cutting are expected exactly as the filter does them.

mod log_lines;
mod result;

pub use log_lines::*;
pub use result::*;

use filter_core::config::PluginConfig;
use serde_json::Value;

use crate::client::{Exchange, TAG_HEADER, not_200};

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
            let got = Vec::from_iter(ex.header_values(name).map(String::from_utf8_lossy));
            let seen = match got.as_slice() {
                [] => "missing".to_string(),
                got if got.iter().any(|v| v == value) => continue,
                got => format!("{got:?}"),
            };
            let answered = format!("{} answered {}", ex.describe(), ex.status);
            problems.push(format!("{answered}: {name} {seen}"));
        }
    }
    let pairs = pairs_text(wanted);
    let n = exchanges.len();
    let expected = format!("{pairs} on each of {n} responses");
    let fine = format!("{pairs} on {n} of {n} responses");
    CheckResult::new(RESPONSE_HEADERS, expected, problems, fine, None)
}

/// The values httpbin echoed for `name`: python httpbin `{"headers": {"Test": "best"}}`,
/// go-httpbin `{"headers": {"Test": ["best"]}}`; names ASCII case-insensitive.
pub fn echoed_values(body: &[u8], name: &str) -> Result<Vec<String>, String> {
    let json: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let headers = json["headers"].as_object();
    let headers = headers.ok_or("the body has no \"headers\" object")?;
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
    let mut problems = not_200(&[echo]);
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
    let fine = format!("{pairs} echoed by httpbin");
    CheckResult::new(REQUEST_HEADERS, expected, problems, fine, None)
}

#[cfg(test)]
mod tests;
