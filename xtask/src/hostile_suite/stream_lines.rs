//! What the filter's lines for one stream must be: every request header Envoy passed on, in
//! order, escaped, redacted and cut as documented, plus exactly the headers Envoy and the
//! filter add; every response header the client got, and nothing else.

use envoy_model::envoy_log::Stream;
use envoy_model::plugin_settings::PluginSettings;

use super::verdict::Verdict;
use envoy_model::http::Response;
use filter_testing::hostile::case::{Case, HOST, ID_HEADER};
use filter_testing::hostile::reference::{escape, expected_logged, expected_target};
use filter_testing::hostile::{ALWAYS_REDACTED, ALWAYS_REDACTED_QUERY};
use filter_testing::hostile::{URL_HEADERS, redacted_by_default_rule};
/// What a redacted value is logged as.
pub const REDACTED: &str = "[redacted]";
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

/// What the plugin configuration makes the filter do, as the checks need it.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Set on every request (lower-case name, value).
    pub set_request: Vec<(String, String)>,
    /// Added to every response.
    pub add_response: Vec<(String, String)>,
    /// Lower-case names logged as `[redacted]`.
    pub redacted: Vec<String>,
    /// Names the default rule would redact that are configured in clear (`unredacted_headers`).
    pub unredacted: Vec<String>,
    /// Headers whose value is a URL, logged with secret parameters `[redacted]`.
    pub urls: Vec<String>,
    /// Query parameters whose values are `[redacted]` in a URL.
    pub redacted_query: Vec<String>,
    /// `max_logged_value_bytes`.
    pub max_value: usize,
}

impl Expectations {
    /// From the plugin configuration the filter runs with.
    pub fn from_config(config: &PluginSettings) -> Expectations {
        let mut redacted = ALWAYS_REDACTED.map(String::from).to_vec();
        redacted.extend(config.redact_headers.iter().map(|n| n.to_ascii_lowercase()));
        let mut redacted_query = ALWAYS_REDACTED_QUERY.map(String::from).to_vec();
        redacted_query.extend_from_slice(&config.redact_query_params);
        let mut urls = URL_HEADERS.map(String::from).to_vec();
        urls.extend(config.url_headers.iter().map(|n| n.to_ascii_lowercase()));
        Expectations {
            set_request: config.set_request_headers.clone(),
            add_response: config.add_response_headers.clone(),
            redacted,
            unredacted: config.unredacted_headers.clone(),
            urls,
            redacted_query,
            max_value: config.max_logged_value_bytes,
        }
    }

    fn is_redacted(&self, name: &str) -> bool {
        let listed = |list: &[String]| list.iter().any(|r| r.eq_ignore_ascii_case(name));
        listed(&self.redacted) || (redacted_by_default_rule(name) && !listed(&self.unredacted))
    }

    /// Whether `response` went through the filter: it carries the first header the filter
    /// adds (with none configured: it is not a 4xx or 5xx).
    pub fn through_filter(&self, response: &Response) -> bool {
        match self.add_response.first() {
            Some((name, _)) => response.header(name).is_some(),
            None => response.status < 400,
        }
    }

    /// How a value of header `name` must be logged.
    pub fn logged(&self, name: &str, value: &[u8]) -> String {
        if self.is_redacted(name) {
            REDACTED.to_string()
        } else if self.urls.iter().any(|t| t.eq_ignore_ascii_case(name)) {
            expected_target(value, self.max_value, &self.redacted_query)
        } else {
            expected_logged(value, self.max_value)
        }
    }
}

/// Every `request header -->` line: the headers sent (normalised by Envoy, escaped, redacted,
/// cut), in order, plus exactly the ones Envoy and the filter add.
pub(super) fn check_request_lines(
    expect: &Expectations,
    case: &Case,
    id: &str,
    stream: &Stream,
    verdict: &mut Verdict,
) {
    let lines = &stream.lines;
    // Logged once each, with this value (`None`: any value).
    let mut singles: Vec<(&str, Option<String>)> = vec![
        (":authority", Some(HOST.into())),
        (":path", Some(expect.logged(":path", &case.path))),
        (":method", Some("GET".into())),
        (":scheme", Some("http".into())),
        (ID_HEADER, Some(id.into())),
    ];
    singles.extend(ENVOY_ADDED.map(|n| (n, None)));
    for (n, v) in &expect.set_request {
        singles.push((n, Some(expect.logged(n, v.as_bytes()))));
    }
    for (name, value) in &singles {
        verdict.values_checked += 1;
        let logged: Vec<&str> = stream.request_values(name).collect();
        if logged.len() != 1 || value.as_ref().is_some_and(|v| v != logged[0]) {
            let want = value.as_deref().unwrap_or("(any value)");
            let expected = format!("request header --> {name}: {want} (once)");
            verdict.fail(expected, format!("{logged:?}"), lines);
        }
    }
    let mut sent = case.expected_headers();
    sent.retain(|(n, _)| !expect.set_request.iter().any(|(s, _)| s == n));
    let not_single = |(n, _): &&(String, String)| !singles.iter().any(|(s, _)| s == n);
    let logged: Vec<_> = stream.request_headers.iter().filter(not_single).collect();
    for (at, (name, value)) in sent.iter().enumerate() {
        verdict.values_checked += 1;
        let want = format!("{name}: {}", expect.logged(name, value));
        let Some((got_name, got_value)) = logged.get(at) else {
            let got = format!(
                "no line (only {} of {} headers logged)",
                logged.len(),
                sent.len()
            );
            verdict.fail(format!("request header --> {want}"), got, lines);
            break;
        };
        let got = format!("{got_name}: {got_value}");
        if got != want {
            let passed_on = escape(value);
            let expected = format!("request header --> {want}   (Envoy passes on: {passed_on})");
            verdict.fail(expected, format!("request header --> {got}"), lines);
            continue;
        }
    }
    for (name, value) in logged.iter().skip(sent.len()) {
        let got = format!("request header --> {name}: {value}");
        verdict.fail(
            "no request header line the request did not send",
            got,
            lines,
        );
    }
}

/// `:status`, then every response header the client got (but those Envoy rewrites after the
/// filter) logged in order, escaped and redacted; and no line for a header nobody sent.
pub(super) fn check_response_lines(
    expect: &Expectations,
    response: &Response,
    stream: &Stream,
    verdict: &mut Verdict,
) {
    let lines = &stream.lines;
    let status: Vec<&str> = stream.response_values(":status").collect();
    if status != [response.status.to_string()] {
        let expected = format!("response header <-- :status: {} (once)", response.status);
        verdict.fail(expected, format!("{status:?}"), lines);
    }
    let compared = |name: &str| !REWRITTEN_AFTER_FILTER.contains(&name) && name != ":status";
    // Each name once, where it first appears.
    for (at, (name, _)) in response.headers.iter().enumerate() {
        if !compared(name) || response.headers[..at].iter().any(|(n, _)| n == name) {
            continue;
        }
        verdict.values_checked += 1;
        let values = response.headers.iter().filter(|(n, _)| n == name);
        let want: Vec<String> = values.map(|(_, v)| expect.logged(name, v)).collect();
        let got: Vec<&str> = stream.response_values(name).collect();
        if got != want {
            let expected = format!("response header <-- {name}: {want:?}");
            verdict.fail(expected, format!("{got:?}"), lines);
        }
    }
    for (name, value) in &stream.response_headers {
        if compared(name) && !response.headers.iter().any(|(n, _)| n == name) {
            verdict.fail(
                "no response header line for a header the client did not get",
                format!("response header <-- {name}: {value}"),
                lines,
            );
        }
    }
}
