//! Istio sidecar log lines (`kubectl logs deploy/httpbin -c istio-proxy`), as the smoke checks
//! read them after a port to Istio.
//!
//! Two forms, byte for byte:
//! - the Istio 1.11 tutorial's: `2021-09-30T10:28:53.764921Z info envoy wasm wasm log: MSG`;
//! - current sidecars': pilot-agent starts Envoy with
//!   `--log-format "%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t"`, so a line is the
//!   timestamp, TAB, the level, TAB, `envoy wasm <source file>:<line>`, TAB, the message, TAB,
//!   `thread=<id>`. The message of an Istio `WasmPlugin` names the plugin `<namespace>.<name>`
//!   and its root id (the `pluginName`), with no vm id; an `EnvoyFilter` keeps envoy.yaml's three.
//!
//! The filter escapes a tab inside a header value as `\t` (two characters), so a real tab in a
//! line can only be the format's own separator.

use super::*;

/// The tutorial's form: no source location, no plugin ids, spaces between the fields.
fn tutorial_line(message: &str) -> String {
    format!("2021-09-30T10:28:53.764921Z info envoy wasm wasm log: {message}")
}

/// The current sidecar's form for a `WasmPlugin` named `http-headers` in namespace `default`
/// with `pluginName: http-headers-root`, logged by Envoy thread `thread`.
fn sidecar_line(thread: u32, message: &str) -> String {
    format!(
        "2026-11-23T20:38:42.932817Z\tinfo\tenvoy wasm \
         external/envoy/source/extensions/common/wasm/context.cc:1192\t\
         wasm log default.http-headers http-headers-root: {message}\tthread={thread}"
    )
}

/// The same for the `EnvoyFilter`, which keeps envoy.yaml's name, root id and vm id.
fn envoyfilter_line(thread: u32, message: &str) -> String {
    format!(
        "2026-11-23T20:38:42.932817Z\tinfo\tenvoy wasm \
         external/envoy/source/extensions/common/wasm/context.cc:1192\t\
         wasm log http-headers http-headers-root http-headers-vm: {message}\tthread={thread}"
    )
}

/// One request's lines, as the filter logs them.
fn request(tag: &str, id: u32) -> Vec<String> {
    vec![
        "request header --> :authority: httpbin.default.svc.cluster.local:8000".into(),
        "request header --> :path: /headers".into(),
        "request header --> :method: GET".into(),
        format!("request header --> x-smoke-id: {tag}"),
        "request header --> x-smoke-probe: probe\\tsmoke-1\\\\ok".into(),
        "request header --> authorization: [redacted]".into(),
        "request header --> test: best".into(),
        "response header <-- :status: 200".into(),
        "response header <-- x-envoy-upstream-service-time: 2".into(),
        "response header <-- x-wasm-header: demo-wasm".into(),
        format!("{id} finished"),
    ]
}

#[test]
fn tutorial_lines_form_complete_streams() {
    let mut text =
        vec!["2021-09-30T10:28:50.000000Z info envoy main starting main dispatch loop".to_string()];
    text.extend(request("smoke-1-1", 2).iter().map(|m| tutorial_line(m)));
    text.extend(request("smoke-1-2", 3).iter().map(|m| tutorial_line(m)));
    let streams = group_streams(&wasm_lines(&text.join("\n")));
    assert_eq!(streams.len(), 2, "{streams:#?}");
    for (tag, id) in [("smoke-1-1", 2), ("smoke-1-2", 3)] {
        let found = streams_with(&streams, "x-smoke-id", tag);
        assert_eq!(
            found.len(),
            1,
            "EXPECTED one stream tagged {tag}, GOT {found:#?}"
        );
        let stream = found[0];
        assert_eq!(stream.thread, None);
        assert_eq!(stream.finished, [id]);
        assert_eq!(stream.request_values("test").collect::<Vec<_>>(), ["best"]);
        assert_eq!(
            stream.response_values("x-wasm-header").collect::<Vec<_>>(),
            ["demo-wasm"]
        );
        assert_eq!(
            stream.request_values("authorization").collect::<Vec<_>>(),
            ["[redacted]"]
        );
    }
}

#[test]
fn current_sidecar_line_is_parsed_without_its_thread_suffix() {
    let raw = sidecar_line(24, "request header --> x-smoke-id: smoke-7-1");
    let line = parse_line(&raw).expect("a wasm log line");
    assert_eq!(line.level, "info");
    assert_eq!(line.plugin, "default.http-headers http-headers-root");
    assert_eq!(
        line.message, "request header --> x-smoke-id: smoke-7-1",
        "EXPECTED the message without the format's `\\tthread=24`"
    );
    assert_eq!(line.thread, Some(24), "the thread comes from `thread=24`");

    let escaped = sidecar_line(24, "request header --> x-smoke-probe: a\\tb");
    assert_eq!(
        parse_line(&escaped).unwrap().message,
        "request header --> x-smoke-probe: a\\tb",
        "an escaped tab (two characters) stays part of the value"
    );

    let root = sidecar_line(20, "invalid plugin configuration: x");
    assert_eq!(
        parse_line(&root).unwrap().message,
        "invalid plugin configuration: x"
    );
}

#[test]
fn current_sidecar_lines_form_complete_streams_per_thread() {
    // Two worker threads interleave two requests; other Envoy lines are in between.
    let first = request("smoke-9-1", 4);
    let second = request("smoke-9-2", 2);
    let mut text = vec![
        "2026-11-23T20:38:40.000000Z\tinfo\tenvoy main external/envoy/source/server/server.cc:1000\tstarting main dispatch loop\tthread=14".to_string(),
    ];
    for (a, b) in first.iter().zip(&second) {
        text.push(sidecar_line(24, a));
        text.push(sidecar_line(25, b));
    }
    text.push(
        "[2026-11-23T20:38:42.934Z] \"GET /headers HTTP/1.1\" 200 - via_upstream - \"-\" 0 512 2 1 \"-\" \"smoke\" \"-\" \"httpbin.default:8000\" \"10.0.0.7:8080\" inbound|8080|| - - - -"
            .to_string(),
    );
    let streams = group_streams(&wasm_lines(&text.join("\n")));
    assert_eq!(streams.len(), 2, "{streams:#?}");
    for (tag, id, thread) in [("smoke-9-1", 4, 24), ("smoke-9-2", 2, 25)] {
        let found = streams_with(&streams, "x-smoke-id", tag);
        assert_eq!(
            found.len(),
            1,
            "EXPECTED one stream tagged {tag}, GOT {streams:#?}"
        );
        let stream = found[0];
        assert_eq!(stream.thread, Some(thread));
        assert_eq!(stream.finished, [id]);
        assert_eq!(stream.request_headers.len(), 7);
        assert_eq!(stream.response_headers.len(), 3);
        assert_eq!(
            stream.request_values("x-smoke-probe").collect::<Vec<_>>(),
            ["probe\\tsmoke-1\\\\ok"]
        );
        assert_eq!(
            stream.response_values(":status").collect::<Vec<_>>(),
            ["200"]
        );
    }
}

#[test]
fn envoyfilter_lines_keep_envoy_yaml_ids() {
    let text = request("smoke-3-1", 2)
        .iter()
        .map(|m| envoyfilter_line(31, m))
        .collect::<Vec<_>>()
        .join("\n");
    let lines = wasm_lines(&text);
    assert_eq!(lines.len(), 11);
    assert!(
        lines
            .iter()
            .all(|l| l.plugin == "http-headers http-headers-root http-headers-vm")
    );
    let streams = group_streams(&lines);
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].finished, [2]);
    assert_eq!(
        streams[0].request_values("x-smoke-id").collect::<Vec<_>>(),
        ["smoke-3-1"]
    );
}
