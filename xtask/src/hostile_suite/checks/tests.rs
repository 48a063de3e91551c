use super::*;
use envoy_model::envoy_log::{group_streams, wasm_lines};
use filter_core::config::PluginConfig;
use filter_testing::hostile::Header;

fn expect() -> PluginSettings {
    let mut config = PluginConfig {
        add_response_headers: vec![("x-wasm-header".into(), "demo-wasm".into())],
        ..PluginConfig::default()
    };
    config.redact_headers.push("x-api-key".into());
    expectations(&smoke::settings_of(&config))
}

fn log(messages: &[&str]) -> Vec<Stream> {
    let text: Vec<String> = messages
        .iter()
        .map(|m| {
            format!(
                "[2026-11-23 20:50:09.226][7][info][wasm] [source/extensions/common/wasm/context.cc:1151] \
                 wasm log http-headers http-headers-root http-headers-vm: {m}"
            )
        })
        .collect();
    group_streams(&wasm_lines(&text.join("\n")))
}

fn ok_response() -> Result<Response, String> {
    Ok(Response {
        status: 200,
        headers: vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("x-wasm-header".into(), b"demo-wasm".to_vec()),
        ],
        body: b"{}".to_vec(),
    })
}

/// The lines the filter writes for `case` sent with id 1, with `value` logged for x-v.
fn stream_lines(value: &str) -> Vec<String> {
    [
        "request header --> :authority: hostile.test",
        "request header --> :path: /headers",
        "request header --> :method: GET",
        "request header --> :scheme: http",
        "request header --> x-hostile-id: 1",
        &format!("request header --> x-v: {value}"),
        "request header --> authorization: [redacted]",
        "request header --> x-forwarded-proto: http",
        "request header --> x-request-id: 0f0e",
        "request header --> test: best",
        "response header <-- :status: 200",
        "response header <-- content-type: application/json",
        "response header <-- x-wasm-header: demo-wasm",
        "2 finished",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn case() -> Case {
    Case::new(
        "t",
        "/headers",
        vec![
            Header::new("X-V", b" a\xff\rb ".to_vec()),
            Header::new("Authorization", "Bearer S3cr3t"),
        ],
    )
}

fn run(lines: &[String]) -> (Fate, Vec<Problem>) {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let streams = log(&refs);
    let verdict = check_request(&expect(), &case(), "1", &ok_response(), &streams);
    (verdict.fate, verdict.problems)
}

#[test]
fn the_right_lines_pass() {
    let refs: Vec<String> = stream_lines("a\\xffb");
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let streams = log(&refs);
    let verdict = check_request(&expect(), &case(), "1", &ok_response(), &streams);
    assert_eq!(verdict.fate, Fate::Reached(200));
    assert!(verdict.problems.is_empty(), "{:#?}", verdict.problems);
    // 4 pseudo-headers, the id, 2 added by Envoy, test; x-v, authorization; 2 response.
    assert_eq!(verdict.values_checked, 12);
}

#[test]
fn a_wrongly_escaped_value_fails() {
    let (_, problems) = run(&stream_lines("a\u{FFFD}b"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].expected.contains("x-v: a\\xffb"),
        "{problems:#?}"
    );
}

#[test]
fn a_leaked_secret_fails() {
    let mut lines = stream_lines("a\\xffb");
    lines[6] = "request header --> authorization: Bearer S3cr3t".into();
    let (_, problems) = run(&lines);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].got.contains("Bearer S3cr3t"));
}

#[test]
fn a_forged_line_fails() {
    // What `x-v: a\r\nrequest header --> x-hostile-forged: 1` would leave unescaped.
    let mut lines = stream_lines("a");
    lines.insert(6, "request header --> x-hostile-forged: 1".into());
    let (_, problems) = run(&lines);
    assert!(
        problems.iter().any(|p| p.got.contains("x-hostile-forged")),
        "{problems:#?}"
    );
}

#[test]
fn a_trap_fails_and_a_refusal_passes() {
    let trapped = Ok(Response {
        status: 503,
        headers: vec![],
        body: vec![],
    });
    let verdict = check_request(&expect(), &case(), "1", &trapped, &[]);
    assert_eq!(
        verdict.fate,
        Fate::Other("503 with an empty body: the filter trapped (FAIL_CLOSED)".into())
    );
    assert_eq!(verdict.problems.len(), 1, "{verdict:#?}");
    let refused = Ok(Response {
        status: 400,
        headers: vec![],
        body: b"Bad Request".to_vec(),
    });
    let verdict = check_request(&expect(), &case(), "1", &refused, &[]);
    assert_eq!(
        (verdict.fate, verdict.problems.len()),
        (Fate::Refused(Some(400)), 0)
    );
}

#[test]
fn a_cut_value_must_say_so() {
    let long = vec![b'a'; 1030];
    let case = Case::new("t", "/headers", vec![Header::new("x-v", long)]);
    let mut lines = stream_lines(&"a".repeat(1024));
    lines.remove(6);
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let problems = check_request(&expect(), &case, "1", &ok_response(), &log(&refs)).problems;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0]
            .expected
            .contains("[truncated: 1024 of 1030 bytes]")
    );
}
