//! Tests of reading Envoy's log: its lines, the wasm lines, following the file, why it failed.

use super::*;
use std::io::Write;
use std::path::{Path, PathBuf};

const DEFAULT_LINE: &str = "[2026-11-23 19:38:37.359][13791][info][wasm] \
        [source/extensions/common/wasm/context.cc:1151] wasm log my_plugin my_root my_vm: \
        request header --> :path: /status/200";
const ISTIO_LINE: &str =
    "2021-09-30T10:28:53.764921Z info envoy wasm wasm log: request header --> :path: /status/200";
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

#[test]
fn reads_level_and_logger() {
    let line =
        b"[2026-11-23 20:50:09.219][18699][warning][main] [source/server/server.cc:1059] no limit";
    let parsed = EnvoyLine::parse(line).unwrap();
    assert_eq!(
        (parsed.level.as_str(), parsed.logger.as_str()),
        ("warning", "main")
    );
    assert!(!parsed.is_wasm_log() && !parsed.is_error());
    for other in [&b"request header --> x: 1"[..], b"[a][b][c][d] x", b""] {
        assert_eq!(EnvoyLine::parse(other), None);
    }
}

#[test]
fn last_lines_of_short_and_long_texts() {
    assert_eq!(last_lines("a\nb\nc\n", 2), ["b", "c"]);
    assert_eq!(last_lines("a", 5), ["a"]);
    assert!(last_lines("", 3).is_empty());
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("envoy-model-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("envoy.log")
}

#[test]
fn reads_only_new_complete_lines() {
    let path = scratch("follow");
    std::fs::write(&path, b"one\ntwo\nthr").unwrap();
    let mut follower = LogFollower::open(&path).unwrap();
    assert_eq!(
        follower.new_lines().unwrap(),
        vec![b"one".to_vec(), b"two".to_vec()]
    );
    assert!(follower.new_lines().unwrap().is_empty());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"ee\n\xff\n").unwrap();
    assert_eq!(
        follower.new_lines().unwrap(),
        vec![b"three".to_vec(), b"\xff".to_vec()]
    );
    assert!(follower.partial.is_empty());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn reads_from_the_mark_or_from_the_start_of_a_shorter_file() {
    let path = scratch("read-from");
    std::fs::write(&path, b"old\nnew\n").unwrap();
    assert_eq!(read_from(&path, 4).unwrap(), b"new\n");
    assert_eq!(read_from(&path, 100).unwrap(), b"old\nnew\n");
    assert!(read_from(&path.with_extension("missing"), 0).is_err());
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Envoy 1.38.3's wheel has no wasm runtime: the cause is a warning, the errors after it
/// only blame the module.
const NO_RUNTIME: &str = "\
[2026-12-01 10:00:00.000][1][info][main] [source/server/server.cc:400] initializing epoch 0
[2026-12-01 10:00:00.100][1][warning][wasm] [source/extensions/common/wasm/wasm.cc:123] Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime. Envoy was compiled without support for it
[2026-12-01 10:00:00.101][1][error][wasm] [source/extensions/common/wasm/wasm.cc:130] Failed to load Wasm code
[2026-12-01 10:00:00.102][1][critical][main] [source/server/server.cc:131] error initializing configuration 'envoy.json': Unable to create Wasm plugin http-headers
";

#[test]
fn a_warning_that_names_the_cause_is_shown() {
    let text = explain_start_failure(NO_RUNTIME, Path::new("envoy.log"));
    assert!(
        text.contains("Envoy was compiled without support for it"),
        "{text}"
    );
    assert!(text.contains("Unable to create Wasm plugin"), "{text}");
    assert!(!text.contains("initializing epoch"), "{text}");
}

#[test]
fn the_filters_message_and_a_taken_port_come_first() {
    let log = "\
[2026-12-01 10:00:00.100][1][critical][wasm] [source/extensions/common/wasm/context.cc:1151] wasm log http-headers-root http-headers-vm: invalid plugin configuration: add_response_headers.\"x a\": bad
[2026-12-01 10:00:00.200][1][critical][main] [source/server/server.cc:131] error initializing configuration 'envoy.json': cannot bind '127.0.0.1:10000': Address already in use
";
    let text = explain_start_failure(log, Path::new("envoy.log"));
    assert!(
        text.starts_with("the filter refused its plugin configuration"),
        "{text}"
    );
    assert!(text.contains("Envoy could not open a port"), "{text}");
    assert!(matches!(cause(log), Cause::PortTaken(l) if l.contains("cannot bind")));
    assert!(matches!(cause(NO_RUNTIME), Cause::NoWasmRuntime(l) if l.contains("[warning][wasm]")));
    assert_eq!(cause("one\ntwo\n"), Cause::Other);
}

#[test]
fn without_telling_lines_the_end_of_the_log_is_shown() {
    let text = explain_start_failure("one\ntwo\n", Path::new("envoy.log"));
    assert!(
        text.ends_with("Envoy's log (envoy.log):\n  one\n  two"),
        "{text}"
    );
}
