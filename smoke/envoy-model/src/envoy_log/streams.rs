//! What the filter's messages mean ([`Event`]) and how they form HTTP streams ([`Stream`]): per
//! Envoy thread, request header lines open a stream, response header and `finished` lines close
//! it. A duplicated `finished` line stays visible as a second entry.

use super::lines::WasmLine;

/// What one message of the filter means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `request header --> <name>: <value>` (`request`) or `response header <-- <name>: <value>`.
    Header {
        /// Whether it is a request header.
        request: bool,
        /// As logged (escaped, lower-case as Envoy gives it).
        name: String,
        /// As logged: escaped, `[redacted]`, or cut with `... [truncated: …]`.
        value: String,
    },
    /// `<context id> finished`
    Finished(u32),
    /// Anything else the filter logged.
    Other,
}

/// The wasm log lines of one HTTP stream, in log order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// The Envoy thread that logged it, when the format shows it.
    pub thread: Option<u64>,
    /// `(name, value)` of every `request header -->` line.
    pub request_headers: Vec<(String, String)>,
    /// `(name, value)` of every `response header <--` line.
    pub response_headers: Vec<(String, String)>,
    /// The context id of every `finished` line: one entry per line, so a duplicate shows.
    pub finished: Vec<u32>,
    /// The raw lines that made this stream.
    pub lines: Vec<String>,
}

impl Stream {
    /// The values of request header `name` (ASCII case-insensitive), as logged.
    pub fn request_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.request_headers, name)
    }

    /// The values of response header `name` (ASCII case-insensitive), as logged.
    pub fn response_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        values(&self.response_headers, name)
    }
}

fn values<'a>(pairs: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The filter's message formats: the same strings as `filter_core::logline`'s (a test checks),
/// written out so that the tools do not rebuild when the filter's code changes.
pub(super) const REQUEST_PREFIX: &str = "request header --> ";
pub(super) const RESPONSE_PREFIX: &str = "response header <-- ";
pub(super) const FINISHED_SUFFIX: &str = " finished";

/// What a filter message means.
pub fn classify(message: &str) -> Event {
    let header = |request, prefix| {
        let (name, value) = split_header(message.strip_prefix(prefix)?);
        Some(Event::Header {
            request,
            name,
            value,
        })
    };
    let finished = || message.strip_suffix(FINISHED_SUFFIX)?.parse().ok();
    header(true, REQUEST_PREFIX)
        .or_else(|| header(false, RESPONSE_PREFIX))
        .or_else(|| finished().map(Event::Finished))
        .unwrap_or(Event::Other)
}

/// `name: value`, where a pseudo-header name starts with `:` (`:path: /x`).
fn split_header(rest: &str) -> (String, String) {
    let (colon, tail) = rest.split_at(usize::from(rest.starts_with(':')));
    match tail.split_once(": ") {
        Some((name, value)) => (format!("{colon}{name}"), value.into()),
        None => (rest.trim_end_matches(':').to_string(), String::new()),
    }
}

/// Groups the events of `lines` into streams, per thread (or one group when the format shows
/// no thread). A stream starts at a request header that follows its thread's response or
/// finished lines (or nothing); response and finished lines without a started stream start one.
pub fn group_streams(lines: &[WasmLine]) -> Vec<Stream> {
    let mut streams: Vec<Stream> = Vec::new();
    for line in lines {
        let event = classify(&line.message);
        // The thread's current stream: the last one it started.
        let current = streams.iter().rposition(|s| s.thread == line.thread);
        let open = current.filter(|&at| {
            let s = &streams[at];
            match &event {
                Event::Header { request: true, .. } => {
                    s.response_headers.is_empty() && s.finished.is_empty()
                }
                // Another id after a finished stream is another stream: one the filter saw
                // no headers of (Envoy refused the request). The same id again is the same
                // stream's `finished` logged twice, which the checks must see.
                Event::Finished(id) => s.finished.is_empty() || s.finished.contains(id),
                // Other messages belong to the thread's current stream, if any.
                _ => true,
            }
        });
        let at = match (open, &event) {
            (Some(at), _) => at,
            (None, Event::Other) => continue,
            (None, _) => {
                streams.push(Stream {
                    thread: line.thread,
                    ..Stream::default()
                });
                streams.len() - 1
            }
        };
        let stream = &mut streams[at];
        stream.lines.push(line.raw.clone());
        match event {
            Event::Header {
                request: true,
                name,
                value,
            } => stream.request_headers.push((name, value)),
            Event::Header { name, value, .. } => stream.response_headers.push((name, value)),
            Event::Finished(id) => stream.finished.push(id),
            Event::Other => {}
        }
    }
    streams
}

/// The streams whose request carried header `name` with exactly `value` (as logged).
pub fn streams_with<'a>(streams: &'a [Stream], name: &str, value: &str) -> Vec<&'a Stream> {
    streams
        .iter()
        .filter(|s| s.request_values(name).any(|v| v == value))
        .collect()
}
