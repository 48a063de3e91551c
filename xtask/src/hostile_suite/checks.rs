//! The checks on one request: what the client got, and the filter's log lines for its stream.
//!
//! A request either reached the filter (its stream is in the log: then the client must get
//! httpbin's answer through the filter, never a 5xx, and every logged header must match what
//! Envoy passed on, escaped, redacted and cut as documented) or Envoy refused it (a 4xx of
//! Envoy's own, or a closed connection, and no log lines for it at all).
//!
//! The filter's lines for one stream must be: every request header Envoy passed on, in
//! order, escaped, redacted and cut as documented, plus exactly the headers Envoy and the
//! filter add; every response header the client got, and nothing else.
//!
//! The vocabulary of a checked request: what happened to it ([`Fate`]), each check that
//! failed ([`Problem`]), the whole [`Verdict`], and what the suite reports of a request and
//! its probe ([`Outcome`]).

use envoy_model::envoy_log::{Stream, streams_with};
use envoy_model::http::Response;
use envoy_model::plugin_settings::PluginSettings;
use filter_testing::hostile::case::{Case, HOST, ID_HEADER};
use filter_testing::hostile::reference::{escape, expected_logged, expected_target};
use filter_testing::hostile::{self, ALWAYS_REDACTED, ALWAYS_REDACTED_QUERY, URL_HEADERS};

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// The filter logged its stream; the client got this status.
    Reached(u16),
    /// Envoy refused it with this 4xx status, or closed the connection (`None`).
    Refused(Option<u16>),
    /// Neither: what happened (always with a failure), e.g. `503 without the filter's lines`.
    Other(String),
}

/// What happened to one case.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Reached the filter, or refused by Envoy.
    pub fate: Fate,
    /// The filter's `request header` lines for it (name, value as logged).
    pub request_lines: Vec<(String, String)>,
    /// The normal request after it passed.
    pub probe_passed: bool,
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What should have been.
    pub expected: String,
    /// What was.
    pub got: String,
    /// The log lines that show it.
    pub lines: Vec<String>,
}

/// A failed check: what should have been, what was, and the log lines that show it.
pub fn problem(expected: impl Into<String>, got: impl Into<String>, lines: &[String]) -> Problem {
    Problem {
        expected: expected.into(),
        got: got.into(),
        lines: lines.to_vec(),
    }
}

/// What the checks of one request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// Reached the filter or refused by Envoy.
    pub fate: Fate,
    /// The checks that failed.
    pub problems: Vec<Problem>,
    /// Logged header values compared with what they should be.
    pub values_checked: usize,
    /// The lines of the request's stream in the log (none when it has none).
    pub lines: &'a [String],
}

impl<'a> Verdict<'a> {
    /// No check failed yet.
    pub fn new(fate: Fate, lines: &'a [String]) -> Verdict<'a> {
        Verdict {
            fate,
            problems: Vec::new(),
            values_checked: 0,
            lines,
        }
    }

    /// Records a failed check with the stream's lines, which show it (a passing request
    /// copies none).
    pub fn fail(&mut self, expected: impl Into<String>, got: impl Into<String>) {
        self.problems.push(problem(expected, got, self.lines));
    }
}

/// Checks request `case`, tagged `id`, given what the client got (`Err`: no answer) and the
/// streams the filter logged meanwhile.
pub fn check_request<'a>(
    expect: &PluginSettings,
    case: &Case,
    id: &str,
    response: &Result<Response, String>,
    streams: &'a [Stream],
) -> Verdict<'a> {
    let tagged = streams_with(streams, ID_HEADER, id);
    let (stream, response) = match (tagged.first(), response) {
        (None, _) => return refused(expect, response),
        (Some(stream), Ok(response)) => (stream, response),
        (Some(stream), Err(err)) => {
            let fate = Fate::Other(format!("no answer after the filter: {err}"));
            let mut verdict = Verdict::new(fate, &stream.lines);
            let expected = "httpbin's answer (the request reached the filter)";
            verdict.fail(expected, format!("no answer: {err}"));
            return verdict;
        }
    };
    let status = response.status;
    let mut verdict = Verdict::new(Fate::Reached(status), &stream.lines);
    if tagged.len() > 1 {
        let got = format!("{} streams tagged {ID_HEADER}: {id}", tagged.len());
        verdict.fail("one stream in the log per request", got);
    }
    if status >= 500 {
        verdict.fail("httpbin's answer, never a 5xx", brief(response));
    }
    for (name, value) in &expect.add_response_headers {
        let got = response.header(name);
        if got.as_deref() != Some(value.as_str()) {
            let expected = format!("the response header the filter adds: {name}: {value}");
            verdict.fail(expected, format!("{name}: {got:?}"));
        }
    }
    if stream.finished.len() != 1 {
        let got = format!("{:?}", stream.finished);
        verdict.fail("exactly one `<id> finished` line", got);
    }
    if case.expects_secret_cookie && status < 400 && response.header("set-cookie").is_none() {
        verdict.fail(
            "httpbin's set-cookie (holding the secret) in the response",
            "no set-cookie: the secret never went through the filter, the case proves nothing",
        );
    }
    // Every `request header -->` line: the headers sent (normalised by Envoy, escaped,
    // redacted, cut), in order, plus exactly the ones Envoy and the filter add.
    // Logged once each, with this value (`None`: any value).
    let mut singles: Vec<(&str, Option<String>)> = vec![
        (":authority", Some(HOST.into())),
        (":path", Some(as_logged(expect, ":path", &case.path))),
        (":method", Some("GET".into())),
        (":scheme", Some("http".into())),
        (ID_HEADER, Some(id.into())),
    ];
    singles.extend(ENVOY_ADDED.map(|n| (n, None)));
    for (n, v) in &expect.set_request_headers {
        singles.push((n, Some(as_logged(expect, n, v.as_bytes()))));
    }
    for (name, value) in &singles {
        verdict.values_checked += 1;
        let logged: Vec<&str> = stream.request_values(name).collect();
        if logged.len() != 1 || value.as_ref().is_some_and(|v| v != logged[0]) {
            let want = value.as_deref().unwrap_or("(any value)");
            let expected = format!("request header --> {name}: {want} (once)");
            verdict.fail(expected, format!("{logged:?}"));
        }
    }
    let mut sent = case.expected_headers();
    sent.retain(|(n, _)| !expect.set_request_headers.iter().any(|(s, _)| s == n));
    let not_single = |(n, _): &&(String, String)| !singles.iter().any(|(s, _)| s == n);
    let logged: Vec<_> = stream.request_headers.iter().filter(not_single).collect();
    for (at, (name, value)) in sent.iter().enumerate() {
        verdict.values_checked += 1;
        let want = format!("{name}: {}", as_logged(expect, name, value));
        let Some((got_name, got_value)) = logged.get(at) else {
            let (shown, total) = (logged.len(), sent.len());
            let got = format!("no line (only {shown} of {total} headers logged)");
            verdict.fail(format!("request header --> {want}"), got);
            break;
        };
        let got = format!("{got_name}: {got_value}");
        if got != want {
            let passed_on = escape(value);
            let expected = format!("request header --> {want}   (Envoy passes on: {passed_on})");
            verdict.fail(expected, format!("request header --> {got}"));
        }
    }
    for (name, value) in logged.iter().skip(sent.len()) {
        let got = format!("request header --> {name}: {value}");
        verdict.fail("no request header line the request did not send", got);
    }
    // `:status`, then every response header the client got (but those Envoy rewrites after
    // the filter) logged in order, escaped and redacted; and no line for a header nobody sent.
    let status: Vec<&str> = stream.response_values(":status").collect();
    if status != [response.status.to_string()] {
        let expected = format!("response header <-- :status: {} (once)", response.status);
        verdict.fail(expected, format!("{status:?}"));
    }
    let compared = |name: &str| !REWRITTEN_AFTER_FILTER.contains(&name) && name != ":status";
    // Each name once, where it first appears.
    for (at, (name, _)) in response.headers.iter().enumerate() {
        if !compared(name) || response.headers[..at].iter().any(|(n, _)| n == name) {
            continue;
        }
        verdict.values_checked += 1;
        let values = response.headers.iter().filter(|(n, _)| n == name);
        let want: Vec<String> = values.map(|(_, v)| as_logged(expect, name, v)).collect();
        let got: Vec<&str> = stream.response_values(name).collect();
        if got != want {
            let expected = format!("response header <-- {name}: {want:?}");
            verdict.fail(expected, format!("{got:?}"));
        }
    }
    for (name, value) in &stream.response_headers {
        if compared(name) && !response.headers.iter().any(|(n, _)| n == name) {
            verdict.fail(
                "no response header line for a header the client did not get",
                format!("response header <-- {name}: {value}"),
            );
        }
    }
    verdict
}

/// No stream in the log: Envoy must have refused the request itself.
fn refused(expect: &PluginSettings, response: &Result<Response, String>) -> Verdict<'static> {
    let Ok(response) = response else {
        return Verdict::new(Fate::Refused(None), &[]);
    };
    let status = response.status;
    let filtered = !expect.add_response_headers.is_empty() && through_filter(expect, response);
    let answer = || "httpbin's answer through the filter, or Envoy's own 4xx".to_string();
    let (expected, got) = match status {
        _ if filtered => (
            format!("log lines tagged {ID_HEADER} (the response went through the filter)"),
            format!("{status} with the filter's response header but no stream in the log"),
        ),
        400..500 => return Verdict::new(Fate::Refused(Some(status)), &[]),
        500.. => (answer(), brief(response)),
        _ => (answer(), format!("{status} without the filter's lines")),
    };
    let mut verdict = Verdict::new(Fate::Other(got.clone()), &[]);
    verdict.fail(expected, got);
    verdict
}

/// The status and the start of the body; what a 503 with an empty body means.
pub fn brief(response: &Response) -> String {
    if response.status == 503 && response.body.is_empty() {
        return "503 with an empty body: the filter trapped (FAIL_CLOSED)".into();
    }
    let text: String = response.text().chars().take(200).collect();
    format!("{}: {text}", response.status)
}

/// Request headers Envoy adds before the filter runs (the pseudo-headers come from the
/// request line and `host`).
const ENVOY_ADDED: [&str; 2] = ["x-forwarded-proto", "x-request-id"];
/// Response headers Envoy rewrites after the filter ran (the client sees Envoy's, the log
/// httpbin's): they are not compared.
const REWRITTEN_AFTER_FILTER: [&str; 5] = [
    "server",
    "date",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// What the checks expect of the filter: the plugin configuration it runs with, with the
/// always-redacted headers and query parameters and the URL headers added (README: whatever
/// the configuration says).
pub fn expectations(config: &PluginSettings) -> PluginSettings {
    let mut expect = config.clone();
    let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    expect.redact_headers.extend(owned(&ALWAYS_REDACTED));
    expect
        .redact_query_params
        .extend(owned(&ALWAYS_REDACTED_QUERY));
    expect.url_headers.extend(owned(&URL_HEADERS));
    expect
}

/// Whether `response` went through the filter: it carries the first header the filter adds
/// (with none configured: it is not a 4xx or 5xx).
pub fn through_filter(expect: &PluginSettings, response: &Response) -> bool {
    match expect.add_response_headers.first() {
        Some((name, _)) => response.header(name).is_some(),
        None => response.status < 400,
    }
}

/// How a value of header `name` must be logged, given the [`expectations`].
pub fn as_logged(expect: &PluginSettings, name: &str, value: &[u8]) -> String {
    let listed = |list: &[String]| list.iter().any(|r| r.eq_ignore_ascii_case(name));
    let max = expect.max_logged_value_bytes;
    let by_rule = hostile::redacted_by_default_rule(name) && !listed(&expect.unredacted_headers);
    if listed(&expect.redact_headers) || by_rule {
        "[redacted]".to_string()
    } else if listed(&expect.url_headers) {
        expected_target(value, max, &expect.redact_query_params)
    } else {
        expected_logged(value, max)
    }
}

#[cfg(test)]
mod tests;
