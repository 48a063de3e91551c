//! What a check reports: the checks' names, [`CheckStatus`], [`CheckResult`], and the helpers
//! the checks share to write them.

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
    /// problem per line in `got`; `log_tail`: the log lines that show the problems, if any.
    pub(crate) fn new(
        name: &str,
        expected: String,
        problems: Vec<String>,
        got_if_fine: String,
        log_tail: Option<Vec<String>>,
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
            log_tail,
        }
    }

    /// A check that was not run, and why.
    pub(crate) fn skipped(name: &str, reason: &str) -> Self {
        Self {
            status: CheckStatus::Skip,
            detail: reason.into(),
            ..Self::new(name, String::new(), Vec::new(), String::new(), None)
        }
    }

    /// True unless it failed.
    pub fn passed(&self) -> bool {
        self.status != CheckStatus::Fail
    }
}

/// `a: b, c: d`.
pub(crate) fn pairs_text(pairs: &[(String, String)]) -> String {
    let pairs: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    pairs.join(", ")
}
