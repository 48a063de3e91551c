//! What the filter's messages mean and how they form streams.

use super::streams::{FINISHED_SUFFIX, REQUEST_PREFIX, RESPONSE_PREFIX};
use super::*;

#[test]
fn message_formats_are_the_filters() {
    use filter_core::logline;
    assert_eq!(REQUEST_PREFIX, logline::REQUEST_PREFIX);
    assert_eq!(RESPONSE_PREFIX, logline::RESPONSE_PREFIX);
    assert_eq!(FINISHED_SUFFIX, logline::FINISHED_SUFFIX);
}

const ISTIO_LINE: &str =
    "2021-09-30T10:28:53.764921Z info envoy wasm wasm log: request header --> :path: /status/200";

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
