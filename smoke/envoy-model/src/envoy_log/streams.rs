//! What the filter's messages mean ([`Event`]) and how they form HTTP streams ([`Stream`]):
//! per Envoy thread, request header lines open a stream, response header and `finished` lines
//! close it. A duplicated `finished` line stays visible as a second entry.

use std::collections::HashMap;

use super::wasm_line::WasmLine;

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
const REQUEST_PREFIX: &str = "request header --> ";
const RESPONSE_PREFIX: &str = "response header <-- ";
const FINISHED_SUFFIX: &str = " finished";

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
    let search_from = usize::from(rest.starts_with(':'));
    match rest[search_from..].find(": ") {
        Some(at) => {
            let at = at + search_from;
            (rest[..at].to_string(), rest[at + 2..].to_string())
        }
        None => (rest.trim_end_matches(':').to_string(), String::new()),
    }
}

/// Groups the events of `lines` into streams, per thread (or one group when the format shows
/// no thread). A stream starts at a request header that follows its thread's response or
/// finished lines (or nothing); response and finished lines without a started stream start one.
pub fn group_streams(lines: &[WasmLine]) -> Vec<Stream> {
    let mut streams: Vec<Stream> = Vec::new();
    let mut current: HashMap<Option<u64>, usize> = HashMap::new();
    for line in lines {
        let event = classify(&line.message);
        let open = current.get(&line.thread).copied().filter(|&at| {
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
                current.insert(line.thread, streams.len() - 1);
                streams.len() - 1
            }
        };
        let stream = &mut streams[at];
        stream.lines.push(line.raw.clone());
        match event {
            Event::Header {
                request,
                name,
                value,
            } if request => stream.request_headers.push((name, value)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envoy_log::wasm_line::wasm_lines;

    #[test]
    fn message_formats_are_the_filters() {
        use filter_core::logline;
        assert_eq!(REQUEST_PREFIX, logline::REQUEST_PREFIX);
        assert_eq!(RESPONSE_PREFIX, logline::RESPONSE_PREFIX);
        assert_eq!(FINISHED_SUFFIX, logline::FINISHED_SUFFIX);
    }

    const ISTIO_LINE: &str = "2021-09-30T10:28:53.764921Z info envoy wasm wasm log: request header --> :path: /status/200";

    fn default_line(thread: u32, message: &str) -> String {
        format!(
            "[2026-11-23 19:38:37.359][{thread}][info][wasm] \
             [source/extensions/common/wasm/context.cc:1151] wasm log http-headers \
             http-headers-root http-headers-vm: {message}"
        )
    }

    #[test]
    fn classifies_messages() {
        let header = |name: &str, value: &str| (name.to_string(), value.to_string());
        let request = |m| match classify(m) {
            Event::Header {
                request: true,
                name,
                value,
            } => Some((name, value)),
            _ => None,
        };
        assert_eq!(
            request("request header --> :path: /status/200"),
            Some(header(":path", "/status/200"))
        );
        assert_eq!(
            request("request header --> x-empty:"),
            Some(header("x-empty", ""))
        );
        assert_eq!(
            classify("response header <-- x-wasm-header: a: b"),
            Event::Header {
                request: false,
                name: "x-wasm-header".into(),
                value: "a: b".into()
            }
        );
        assert_eq!(classify("2 finished"), Event::Finished(2));
        assert_eq!(classify("x finished"), Event::Other);
        assert_eq!(classify("plugin configured"), Event::Other);
    }

    #[test]
    fn a_lone_finished_line_with_another_id_is_another_stream() {
        let text = [
            default_line(1, "request header --> x-smoke-id: a-1"),
            default_line(1, "response header <-- :status: 200"),
            default_line(1, "2 finished"),
            // A request Envoy refused: the filter saw no headers, only the end.
            default_line(1, "3 finished"),
            default_line(1, "3 finished"),
        ]
        .join("\n");
        let streams = group_streams(&wasm_lines(&text));
        assert_eq!(streams.len(), 2, "{streams:?}");
        assert_eq!(streams[0].finished, [2]);
        assert_eq!(streams[1].finished, [3, 3], "a duplicate stays visible");
        assert!(streams[1].request_headers.is_empty());
    }

    #[test]
    fn groups_streams_per_thread_and_counts_finished() {
        let text = [
            default_line(1, "request header --> :method: GET"),
            default_line(2, "request header --> :method: POST"),
            default_line(1, "request header --> x-smoke-id: a-1"),
            default_line(1, "response header <-- :status: 200"),
            default_line(2, "request header --> x-smoke-id: a-2"),
            default_line(1, "2 finished"),
            default_line(1, "2 finished"),
            default_line(1, "request header --> :method: GET"),
            default_line(1, "request header --> x-smoke-id: a-3"),
            default_line(2, "response header <-- :status: 404"),
            default_line(2, "3 finished"),
        ]
        .join("\n");
        let streams = group_streams(&wasm_lines(&text));
        assert_eq!(streams.len(), 3);
        let first = streams_with(&streams, "x-smoke-id", "a-1");
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].finished, vec![2, 2]);
        assert_eq!(first[0].lines.len(), 5);
        let second = streams_with(&streams, "X-Smoke-Id", "a-2")[0];
        assert_eq!(
            second.request_values(":method").collect::<Vec<_>>(),
            ["POST"]
        );
        assert_eq!(
            second.response_values(":status").collect::<Vec<_>>(),
            ["404"]
        );
        assert_eq!(second.finished, vec![3]);
        let third = streams_with(&streams, "x-smoke-id", "a-3")[0];
        assert!(third.finished.is_empty() && third.response_headers.is_empty());
    }

    #[test]
    fn groups_istio_lines_without_threads() {
        let text = format!(
            "{ISTIO_LINE}\n2021-09-30T10:28:53.765Z info envoy wasm wasm log: response header <-- :status: 200\n\
             2021-09-30T10:28:53.766Z info envoy wasm wasm log: 5 finished\n{ISTIO_LINE}\n"
        );
        let streams = group_streams(&wasm_lines(&text));
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0].finished, vec![5]);
        assert_eq!(
            streams[1].request_values(":path").collect::<Vec<_>>(),
            ["/status/200"]
        );
    }

    #[test]
    fn orphan_response_lines_start_a_stream() {
        let text = [
            default_line(1, "response header <-- :status: 200"),
            default_line(1, "1 finished"),
        ]
        .join("\n");
        let streams = group_streams(&wasm_lines(&text));
        assert_eq!(streams.len(), 1);
        assert!(streams[0].request_headers.is_empty());
        assert_eq!(streams[0].finished, vec![1]);
    }
}
