//! The checks that read Envoy's log: complete streams per request, the escaped non-UTF-8 value,
//! and redaction. [`LogView`] is the fetched log; expected lines come from `filter_core::logline`.

use filter_core::config::PluginConfig;
use filter_core::logline;

use super::{CheckResult, LOG_LINES, NON_UTF8, REDACTION, TAIL_LINES, pairs_text};
use crate::client::{Exchange, TAG_HEADER};
use crate::envoy::log::{
    Event, Stream, WasmLine, classify, group_streams, streams_with, wasm_lines,
};

/// Envoy's log as the checks see it: fetched, or skipped for a reason.
#[derive(Debug, Clone)]
pub enum LogEvidence {
    /// Not read, and why (`--logs none`, `log_headers: false`, …).
    Skipped {
        /// Shown as the skipped checks' detail.
        reason: String,
    },
    /// Read from the log source.
    Fetched(LogView),
}

/// Fetched log text with its wasm lines and streams.
#[derive(Debug, Clone, Default)]
pub struct LogView {
    /// The text read (since the run started, where the source allows it).
    pub text: String,
    /// Its wasm log lines, in order.
    pub lines: Vec<WasmLine>,
    /// Those lines grouped into streams.
    pub streams: Vec<Stream>,
    /// Set when smoke gave up waiting for the streams to complete, after this long.
    pub waited: Option<std::time::Duration>,
}

impl LogView {
    /// Parses fetched log text.
    pub fn new(text: String) -> Self {
        let lines = wasm_lines(&text);
        let streams = group_streams(&lines);
        Self {
            text,
            lines,
            streams,
            waited: None,
        }
    }

    /// Why the log can't show anything at all: it holds no wasm line.
    pub fn no_wasm_lines(&self) -> Option<String> {
        self.lines.is_empty().then(|| {
            format!(
                "no wasm log lines at all in the fetched log{}: is Envoy started with \
                 --component-log-level wasm:info, and is this its log?",
                self.waited_note()
            )
        })
    }

    fn waited_note(&self) -> String {
        self.waited.map_or_else(String::new, |w| {
            format!(" (waited {})", crate::error::secs(w))
        })
    }

    /// The one stream tagged `tag`, or why there is none.
    pub fn stream_of(&self, tag: &str) -> Result<&Stream, String> {
        if let Some(problem) = self.no_wasm_lines() {
            return Err(problem);
        }
        match streams_with(&self.streams, TAG_HEADER, tag).as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "no `{}{TAG_HEADER}: {tag}` line in the log{}",
                logline::REQUEST_PREFIX,
                self.waited_note()
            )),
            many => Err(format!(
                "{TAG_HEADER}: {tag} appears in {} streams, expected one",
                many.len()
            )),
        }
    }

    /// True when every tag has its stream with a `finished` line.
    pub fn all_finished(&self, tags: &[&str]) -> bool {
        tags.iter()
            .all(|tag| self.stream_of(tag).is_ok_and(|s| !s.finished.is_empty()))
    }

    /// The last `n` wasm lines.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let skip = self.lines.len().saturating_sub(n);
        self.lines[skip..].iter().map(|l| l.raw.clone()).collect()
    }
}

/// The `(name, value)` the filter logs for a request (or response) header.
pub fn logged_pair(
    config: &PluginConfig,
    request: bool,
    name: &[u8],
    value: &[u8],
) -> (String, String) {
    let mut line = String::new();
    if request {
        logline::request_header(&mut line, name, value, config);
    } else {
        logline::response_header(&mut line, name, value, config);
    }
    match classify(&line) {
        Event::RequestHeader { name, value } | Event::ResponseHeader { name, value } => {
            (name, value)
        }
        _ => (String::from_utf8_lossy(name).into_owned(), line),
    }
}

/// Why `stream` lacks what the filter must log for `ex`; empty when complete.
fn stream_problems(config: &PluginConfig, ex: &Exchange, stream: &Stream) -> Vec<String> {
    let mut wanted_requests = vec![
        logged_pair(config, true, b":method", ex.method.as_bytes()),
        logged_pair(config, true, b":path", ex.path.as_bytes()),
    ];
    for (name, value) in &ex.sent {
        wanted_requests.push(logged_pair(config, true, name.as_bytes(), value));
    }
    for (name, value) in &config.set_request_headers {
        wanted_requests.push(logged_pair(config, true, name.as_bytes(), value.as_bytes()));
    }
    let mut wanted_responses = vec![logged_pair(
        config,
        false,
        b":status",
        ex.status.to_string().as_bytes(),
    )];
    for (name, value) in &config.add_response_headers {
        wanted_responses.push(logged_pair(
            config,
            false,
            name.as_bytes(),
            value.as_bytes(),
        ));
    }
    let mut problems = Vec::new();
    let mut compare =
        |prefix: &str, wanted: &[(String, String)], got: &dyn Fn(&str) -> Vec<String>| {
            for (name, value) in wanted {
                let values = got(name);
                if values.is_empty() {
                    problems.push(format!("no `{prefix}{name}: …` line"));
                } else if !values.contains(value) {
                    problems.push(format!(
                        "`{prefix}{name}: {value}` expected, logged {values:?}"
                    ));
                }
            }
        };
    compare(logline::REQUEST_PREFIX, &wanted_requests, &|n| {
        stream.request_values(n).map(str::to_string).collect()
    });
    compare(logline::RESPONSE_PREFIX, &wanted_responses, &|n| {
        stream.response_values(n).map(str::to_string).collect()
    });
    match stream.finished.len() {
        1 => {}
        0 => problems.push("no `<id> finished` line".into()),
        n => problems.push(format!(
            "`finished` logged {n} times ({:?}), expected once",
            stream.finished
        )),
    }
    problems
}

/// Check 3: for each request, the log holds its request header lines (the headers smoke set, the
/// configured ones, `:method`, `:path`), its response header lines (`:status`, the configured
/// ones) and exactly one `finished` line.
pub fn log_lines_complete(
    config: &PluginConfig,
    exchanges: &[Exchange],
    log: &LogEvidence,
) -> CheckResult {
    let view = match log {
        LogEvidence::Skipped { reason } => return CheckResult::skipped(LOG_LINES, reason),
        LogEvidence::Fetched(view) => view,
    };
    let mut problems = Vec::from_iter(view.no_wasm_lines());
    let mut tail = None;
    let checked = if problems.is_empty() { exchanges } else { &[] };
    for ex in checked {
        let found = view
            .stream_of(&ex.tag)
            .map(|s| (stream_problems(config, ex, s), s));
        let (stream_problems, lines) = match found {
            Ok((p, stream)) => (p, stream.lines.clone()),
            Err(e) => (vec![e], view.tail(TAIL_LINES)),
        };
        if !stream_problems.is_empty() {
            problems.push(format!("{}: {}", ex.describe(), stream_problems.join(", ")));
            tail.get_or_insert(lines);
        }
    }
    let expected = format!(
        "for each of {} requests: `{}` lines for :method, :path, the headers smoke sent{}; \
         `{}` lines for :status{}; exactly one `<id>{}` line",
        exchanges.len(),
        logline::REQUEST_PREFIX.trim_end(),
        if config.set_request_headers.is_empty() {
            String::new()
        } else {
            format!(" and {}", pairs_text(&config.set_request_headers))
        },
        logline::RESPONSE_PREFIX.trim_end(),
        if config.add_response_headers.is_empty() {
            String::new()
        } else {
            format!(" and {}", pairs_text(&config.add_response_headers))
        },
        logline::FINISHED_SUFFIX,
    );
    let fine = format!("{} complete streams", exchanges.len());
    CheckResult {
        log_tail: tail,
        ..CheckResult::new(LOG_LINES, expected, problems, fine)
    }
}

/// Check 4: a request with a non-UTF-8 header value (`header`) got a normal 200, the request after it
/// too, and (when the log is checked) the value was logged escaped.
pub fn non_utf8_survived(
    config: &PluginConfig,
    bytes: &Exchange,
    header: &str,
    next: &Exchange,
    log: &LogEvidence,
) -> CheckResult {
    let raw = bytes
        .sent
        .iter()
        .find(|(n, _)| n == header)
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (_, logged) = logged_pair(config, true, header.as_bytes(), &raw);
    let mut problems = Vec::new();
    for ex in [bytes, next] {
        if ex.status != 200 {
            problems.push(format!("{} answered {}", ex.describe(), ex.status));
        }
    }
    let mut result_tail = None;
    let mut detail = String::new();
    match log {
        LogEvidence::Skipped { reason } => detail = format!("log line not checked: {reason}"),
        LogEvidence::Fetched(view) => match view.stream_of(&bytes.tag) {
            Ok(stream) => {
                let got: Vec<_> = stream.request_values(header).collect();
                if !got.contains(&logged.as_str()) {
                    problems.push(format!("logged {header}: {got:?}"));
                    result_tail = Some(stream.lines.clone());
                }
            }
            Err(e) => {
                problems.push(e);
                result_tail = Some(view.tail(TAIL_LINES));
            }
        },
    }
    let expected = format!(
        "{} with {header}: {} answered 200, the next request too{}",
        bytes.describe(),
        raw.iter()
            .map(|b| format!("{b:#04x}"))
            .collect::<Vec<_>>()
            .join(" "),
        if detail.is_empty() {
            format!("; logged as `{header}: {logged}`")
        } else {
            String::new()
        },
    );
    let fine = format!(
        "200, then 200{}",
        if detail.is_empty() {
            format!("; logged `{header}: {logged}`")
        } else {
            String::new()
        }
    );
    CheckResult {
        detail,
        log_tail: result_tail,
        ..CheckResult::new(NON_UTF8, expected, problems, fine)
    }
}

/// Check 5: the secret sent in redacted headers and query parameters appears nowhere in the
/// fetched log; the headers' lines show `[redacted]`, and the `:path` line shows the request
/// target with those parameters' values `[redacted]` and the others as sent.
pub fn secrets_redacted(
    config: &PluginConfig,
    ex: &Exchange,
    secret: &str,
    log: &LogEvidence,
) -> CheckResult {
    let view = match log {
        LogEvidence::Skipped { reason } => return CheckResult::skipped(REDACTION, reason),
        LogEvidence::Fetched(view) => view,
    };
    let redacted: Vec<&String> = ex
        .sent
        .iter()
        .map(|(n, _)| n)
        .filter(|n| config.is_redacted(n.as_bytes()))
        .collect();
    let (_, path) = logged_pair(config, true, b":path", ex.path.as_bytes());
    let mut problems = Vec::new();
    let leaks: Vec<String> = view
        .text
        .lines()
        .filter(|l| l.contains(secret))
        .map(str::to_string)
        .collect();
    if !leaks.is_empty() {
        problems.push(format!("the secret appears in {} log line(s)", leaks.len()));
    }
    let mut tail = (!leaks.is_empty()).then_some(leaks);
    match view.stream_of(&ex.tag) {
        Ok(stream) => {
            for name in &redacted {
                let got: Vec<_> = stream.request_values(name).collect();
                if got != [logline::REDACTED] {
                    problems.push(format!("logged {name}: {got:?}"));
                    tail.get_or_insert_with(|| stream.lines.clone());
                }
            }
            let got: Vec<_> = stream.request_values(":path").collect();
            if got != [path.as_str()] {
                problems.push(format!("logged :path: {got:?}"));
                tail.get_or_insert_with(|| stream.lines.clone());
            }
        }
        Err(e) => {
            problems.push(e);
            tail.get_or_insert_with(|| view.tail(TAIL_LINES));
        }
    }
    let names = redacted
        .iter()
        .map(|n| n.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let expected = format!(
        "`{names}: {}` and `:path: {path}` logged for {}, and the secret nowhere in the log",
        logline::REDACTED,
        ex.describe()
    );
    let fine = format!(
        "{names} logged as {}; :path logged as {path}; secret absent from {} log lines",
        logline::REDACTED,
        view.text.lines().count()
    );
    CheckResult {
        log_tail: tail,
        ..CheckResult::new(REDACTION, expected, problems, fine)
    }
}
