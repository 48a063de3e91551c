//! Parses Envoy log text: finds the wasm log lines, classifies the filter's messages and groups
//! them into streams.
//!
//! Two line forms are understood, optionally behind a `docker compose` prefix (`envoy-1  | `):
//! - Envoy's default format:
//!   `[2026-11-23 19:38:37.359][13791][info][wasm] [source/…/context.cc:1151] wasm log a b c: MSG`
//! - Istio's: `2021-09-30T10:28:53.764921Z info envoy wasm wasm log: MSG`, also with a
//!   `…/context.cc:1192 wasm log a b c: MSG` tail.
//!
//! After `wasm log` Envoy writes the plugin name, root id and vm id, each only when non-empty,
//! then `: ` and the message; so the message starts after the first `: ` that follows.
//!
//! The messages' meaning and their grouping into streams are in `envoy_log/streams.rs`, Envoy's
//! own lines and its access log lines in `envoy_log/lines.rs`, why Envoy failed in
//! `envoy_log/startup.rs`, following the log file as it grows in `envoy_log/follow.rs`, the wasm
//! log lines themselves in `envoy_log/wasm_line.rs`; all re-exported here.

mod follow;
mod lines;
mod startup;
mod streams;
mod wasm_line;

pub use follow::{LogFollower, read_from};
pub use lines::{EnvoyLine, is_access_line, last_lines};
pub use startup::{Cause, cause, explain_start_failure};
pub use streams::{Event, Stream, classify, group_streams, streams_with};
pub use wasm_line::{WasmLine, parse_line, wasm_lines};

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_LINE: &str = "[2026-11-23 19:38:37.359][13791][info][wasm] \
        [source/extensions/common/wasm/context.cc:1151] wasm log my_plugin my_root my_vm: \
        request header --> :path: /status/200";
    const ISTIO_LINE: &str = "2021-09-30T10:28:53.764921Z info envoy wasm wasm log: request header --> :path: /status/200";
    const ISTIO_NEW_LINE: &str = "2021-09-30T10:28:53.764921Z\tinfo\tenvoy wasm\t\
        external/envoy/source/extensions/common/wasm/context.cc:1192\twasm log httpbin.default.p root vm: \
        response header <-- :status: 200";

    #[test]
    fn parses_the_default_format() {
        let line = parse_line(DEFAULT_LINE).unwrap();
        assert_eq!(line.level, "info");
        assert_eq!(line.thread, Some(13791));
        assert_eq!(line.plugin, "my_plugin my_root my_vm");
        assert_eq!(line.message, "request header --> :path: /status/200");
        let other_line_number = DEFAULT_LINE.replace("1151", "1192");
        assert_eq!(
            parse_line(&other_line_number).unwrap().message,
            line.message
        );
    }

    #[test]
    fn parses_empty_ids_and_compose_prefix() {
        let text = "envoy-1  | [2026-11-23 19:38:37.359][7][warning][wasm] \
                    [source/extensions/common/wasm/context.cc:1151] wasm log: 1 finished";
        let line = parse_line(text).unwrap();
        assert_eq!(
            (line.level.as_str(), line.thread, line.plugin.as_str()),
            ("warning", Some(7), "")
        );
        assert_eq!(line.message, "1 finished");
        assert!(line.raw.starts_with("[2026"));
    }

    #[test]
    fn parses_istio_forms() {
        let line = parse_line(ISTIO_LINE).unwrap();
        assert_eq!((line.level.as_str(), line.thread), ("info", None));
        assert_eq!(line.message, "request header --> :path: /status/200");
        let tabs = "2021-09-30T10:28:53.764921Z\tinfo\tenvoy wasm\twasm log: 3 finished";
        assert_eq!(parse_line(tabs).unwrap().message, "3 finished");
        let line = parse_line(ISTIO_NEW_LINE).unwrap();
        assert_eq!(line.plugin, "httpbin.default.p root vm");
        assert_eq!(line.message, "response header <-- :status: 200");
    }

    #[test]
    fn skips_other_lines() {
        for text in [
            "",
            "[2026-11-23 19:38:37.359][13791][info][main] [source/server/server.cc:1000] starting main dispatch loop",
            "[2026-11-23T19:38:37.359Z] \"GET /headers HTTP/1.1\" 200 - 0 300 2 1 \"-\" \"-\"",
            "2021-09-30T10:28:53.764921Z info envoy config wasm log: not the wasm logger",
            "some | text with a bar",
        ] {
            assert_eq!(parse_line(text), None, "{text}");
        }
    }

    /// Lines captured from Envoy 1.40.0 running the filter (`--concurrency 1`).
    const CAPTURED: &str = "\
[2026-11-23 20:30:19.004][15799][info][main] [source/server/server.cc:1098] starting main dispatch loop
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> :authority: 127.0.0.1:55469
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> :path: /headers
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> :method: GET
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> x-smoke-bytes: \\xff\\xfe
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> authorization: [redacted]
[2026-11-23 20:30:22.784][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: request header --> test: best
[2026-11-23 20:30:22.789][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: response header <-- :status: 200
[2026-11-23 20:30:22.789][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: response header <-- date: Mon, 23 Nov 2026 20:30:22 GMT
[2026-11-23 20:30:22.790][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: response header <-- x-wasm-header: demo-wasm
[2026-11-23 20:30:22.790][15807][info][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers http-headers-root http-headers-vm: 2 finished
[2026-11-23 20:30:19.001][15799][info][runtime] [source/common/runtime/runtime_impl.cc:567] RTDS has finished initialization
";

    #[test]
    fn groups_captured_envoy_lines() {
        let lines = wasm_lines(CAPTURED);
        assert_eq!(lines.len(), 10);
        assert_eq!(
            lines[0].plugin,
            "http-headers http-headers-root http-headers-vm"
        );
        let streams = group_streams(&lines);
        assert_eq!(streams.len(), 1);
        let stream = &streams[0];
        assert_eq!(stream.thread, Some(15807));
        assert_eq!(
            stream.request_values("x-smoke-bytes").collect::<Vec<_>>(),
            [r"\xff\xfe"]
        );
        assert_eq!(
            stream.request_values("Authorization").collect::<Vec<_>>(),
            ["[redacted]"]
        );
        assert_eq!(
            stream.response_values("date").collect::<Vec<_>>(),
            ["Mon, 23 Nov 2026 20:30:22 GMT"]
        );
        assert_eq!(
            (stream.request_headers.len(), stream.response_headers.len()),
            (6, 3)
        );
        assert_eq!(stream.finished, [2]);
    }
}

#[cfg(test)]
mod istio_tests;
