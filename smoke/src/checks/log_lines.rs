//! The checks that read Envoy's log: complete streams per request, the escaped non-UTF-8
//! value, and redaction. [`LogView`] is the fetched log; expected lines come from
//! `filter_core::logline`.

use filter_core::config::PluginConfig;
use filter_core::logline::{self, FINISHED_SUFFIX, REQUEST_PREFIX, RESPONSE_PREFIX};
use filter_core::redaction::REDACTED;

use super::result::{CheckResult, LOG_LINES, NON_UTF8, REDACTION, pairs_text};
use crate::client::{Exchange, TAG_HEADER, not_200};
use envoy_model::envoy_log::{
    Event, Stream, WasmLine, classify, group_streams, streams_with, wasm_lines,
};

/// How many wasm lines a failure shows when it has no stream of its own to show.
pub const TAIL_LINES: usize = 20;

/// Envoy's log as the checks see it: fetched, or skipped for a reason.
#[derive(Debug, Clone)]
pub enum LogEvidence {
    /// Not read, and why (`--logs none`, `log_headers: false`, …): the skipped checks' detail.
    Skipped(String),
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
        Self {
            streams: group_streams(&lines),
            lines,
            text,
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
        let waited = self.waited.map(envoy_model::figures::seconds);
        waited.map_or_else(String::new, |w| format!(" (waited {w})"))
    }

    /// The one stream tagged `tag`, or why there is none.
    pub fn stream_of(&self, tag: &str) -> Result<&Stream, String> {
        if let Some(why) = self.no_wasm_lines() {
            return Err(why);
        }
        match streams_with(&self.streams, TAG_HEADER, tag).as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "no `{REQUEST_PREFIX}{TAG_HEADER}: {tag}` line in the log{}",
                self.waited_note()
            )),
            many => Err(format!(
                "{TAG_HEADER}: {tag} appears in {} streams, expected one",
                many.len()
            )),
        }
    }

    /// The problems `check` finds in the stream tagged `tag` (or why there is none), and the
    /// lines that show them: the stream's, or the last wasm lines when there is no stream.
    fn check_stream(
        &self,
        tag: &str,
        check: impl FnOnce(&Stream) -> Vec<String>,
    ) -> (Vec<String>, Option<Vec<String>>) {
        match self.stream_of(tag) {
            Ok(stream) => {
                let problems = check(stream);
                let lines = (!problems.is_empty()).then(|| stream.lines.clone());
                (problems, lines)
            }
            Err(problem) => {
                let skip = self.lines.len().saturating_sub(TAIL_LINES);
                let tail = self.lines[skip..].iter().map(|l| l.raw.clone()).collect();
                (vec![problem], Some(tail))
            }
        }
    }

    /// True when every tag has its stream with a `finished` line.
    pub fn all_finished(&self, tags: &[&str]) -> bool {
        tags.iter()
            .all(|tag| self.stream_of(tag).is_ok_and(|s| !s.finished.is_empty()))
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
    let log = if request {
        logline::request_header
    } else {
        logline::response_header
    };
    log(&mut line, name, value, config);
    match classify(&line) {
        Event::Header { name, value, .. } => (name, value),
        _ => (String::from_utf8_lossy(name).into_owned(), line),
    }
}

/// `(request, name, value)` of each configured pair.
fn configured(request: bool, pairs: &[(String, String)]) -> impl Iterator<Item = Wanted<'_>> {
    pairs
        .iter()
        .map(move |(n, v)| (request, n.as_bytes(), v.as_bytes()))
}

/// A header the filter must log: request (or response), name, value as sent.
type Wanted<'a> = (bool, &'a [u8], &'a [u8]);

/// Why `stream` lacks what the filter must log for `ex`; empty when complete.
fn stream_problems(config: &PluginConfig, ex: &Exchange, stream: &Stream) -> Vec<String> {
    let status = ex.status.to_string();
    let mut wanted: Vec<Wanted> = vec![
        (true, b":method", b"GET"),
        (true, b":path", ex.path.as_bytes()),
    ];
    wanted.extend(ex.sent.iter().map(|(n, v)| (true, n.as_bytes(), &v[..])));
    wanted.extend(configured(true, &config.set_request_headers));
    wanted.push((false, b":status", status.as_bytes()));
    wanted.extend(configured(false, &config.add_response_headers));
    let mut problems = Vec::new();
    for (request, name, value) in wanted {
        let (name, value) = logged_pair(config, request, name, value);
        let (prefix, values): (_, Vec<_>) = if request {
            (REQUEST_PREFIX, stream.request_values(&name).collect())
        } else {
            (RESPONSE_PREFIX, stream.response_values(&name).collect())
        };
        if values.is_empty() {
            problems.push(format!("no `{prefix}{name}: …` line"));
        } else if !values.contains(&value.as_str()) {
            problems.push(format!(
                "`{prefix}{name}: {value}` expected, logged {values:?}"
            ));
        }
    }
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
        LogEvidence::Skipped(reason) => return CheckResult::skipped(LOG_LINES, reason),
        LogEvidence::Fetched(view) => view,
    };
    let mut problems = Vec::from_iter(view.no_wasm_lines());
    let mut tail = None;
    for ex in if problems.is_empty() { exchanges } else { &[] } {
        let (found, lines) = view.check_stream(&ex.tag, |s| stream_problems(config, ex, s));
        if !found.is_empty() {
            problems.push(format!("{}: {}", ex.describe(), found.join(", ")));
            tail = tail.or(lines);
        }
    }
    let and = |pairs: &[(String, String)]| match pairs_text(pairs) {
        listed if listed.is_empty() => listed,
        listed => format!(" and {listed}"),
    };
    let expected = format!(
        "for each of {} requests: `{}` lines for :method, :path, the headers smoke sent{}; \
         `{}` lines for :status{}; exactly one `<id>{FINISHED_SUFFIX}` line",
        exchanges.len(),
        REQUEST_PREFIX.trim_end(),
        and(&config.set_request_headers),
        RESPONSE_PREFIX.trim_end(),
        and(&config.add_response_headers),
    );
    let fine = format!("{} complete streams", exchanges.len());
    CheckResult::new(LOG_LINES, expected, problems, fine, tail)
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
    let raw = bytes.sent.iter().find(|(n, _)| n == header);
    let raw = raw.map_or(&[][..], |(_, v)| v.as_slice());
    let (_, logged) = logged_pair(config, true, header.as_bytes(), raw);
    let mut problems = not_200(&[bytes, next]);
    let (detail, tail, line) = match log {
        LogEvidence::Skipped(reason) => (format!("log line not checked: {reason}"), None, None),
        LogEvidence::Fetched(view) => {
            let (found, lines) = view.check_stream(&bytes.tag, |stream| {
                let got: Vec<_> = stream.request_values(header).collect();
                let fine = got.contains(&logged.as_str());
                Vec::from_iter((!fine).then(|| format!("logged {header}: {got:?}")))
            });
            problems.extend(found);
            (String::new(), lines, Some(format!("`{header}: {logged}`")))
        }
    };
    let log_note = |what| {
        line.as_ref()
            .map_or(String::new(), |l| format!("; {what} {l}"))
    };
    let hex: Vec<String> = raw.iter().map(|b| format!("{b:#04x}")).collect();
    let expected = format!(
        "{} with {header}: {} answered 200, the next request too{}",
        bytes.describe(),
        hex.join(" "),
        log_note("logged as"),
    );
    let fine = format!("200, then 200{}", log_note("logged"));
    CheckResult {
        detail,
        ..CheckResult::new(NON_UTF8, expected, problems, fine, tail)
    }
}

/// Check 5: the secret sent in redacted headers (configured, or matched by the default name
/// rule), in query and fragment parameters of URL headers and in a nested URL appears nowhere in
/// the fetched log; the headers' lines show `[redacted]`, and the `:path` line and every URL
/// header's line show the URL with those parameters' values `[redacted]` and the rest as sent.
pub fn secrets_redacted(
    config: &PluginConfig,
    ex: &Exchange,
    secret: &str,
    log: &LogEvidence,
) -> CheckResult {
    let view = match log {
        LogEvidence::Skipped(reason) => return CheckResult::skipped(REDACTION, reason),
        LogEvidence::Fetched(view) => view,
    };
    // The redacted headers sent, and the URL headers sent with their lines as logged.
    let (mut redacted, mut urls) = (Vec::new(), Vec::new());
    for (name, value) in &ex.sent {
        if config.is_redacted(name.as_bytes()) {
            redacted.push(name.as_str());
        } else if config.is_url_header(name.as_bytes()) {
            let (_, logged) = logged_pair(config, true, name.as_bytes(), value);
            urls.push((name.as_str(), logged));
        }
    }
    let (_, path) = logged_pair(config, true, b":path", ex.path.as_bytes());
    let leaks: Vec<&str> = view.text.lines().filter(|l| l.contains(secret)).collect();
    let mut problems = Vec::from_iter(
        (!leaks.is_empty()).then(|| format!("the secret appears in {} log line(s)", leaks.len())),
    );
    let (found, lines) = view.check_stream(&ex.tag, |stream| {
        let wanted = redacted.iter().map(|n| (*n, REDACTED));
        let urls = urls.iter().map(|(n, v)| (*n, v.as_str()));
        wanted
            .chain(urls)
            .chain([(":path", path.as_str())])
            .filter_map(|(name, want)| {
                let got: Vec<_> = stream.request_values(name).collect();
                (got != [want]).then(|| format!("logged {name}: {got:?}"))
            })
            .collect()
    });
    problems.extend(found);
    let names = redacted.join(", ");
    let url_names: Vec<&str> = urls.iter().map(|(n, _)| *n).collect();
    let url_names = url_names.join(", ");
    let read = view.text.lines().count();
    let expected = format!(
        "`{names}: {REDACTED}` and `:path: {path}` logged for {}, and the secret nowhere in \
         the log",
        ex.describe()
    );
    let fine = format!(
        "{names} logged as {REDACTED}; {url_names} with secret parameters {REDACTED}; :path \
         logged as {path}; secret absent from {read} log lines"
    );
    // The leaking lines, else the stream's.
    let tail = (!leaks.is_empty()).then(|| leaks.iter().map(|l| l.to_string()).collect());
    CheckResult::new(REDACTION, expected, problems, fine, tail.or(lines))
}
