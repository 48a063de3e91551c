//! The exact lines of a stream, and what the module does to the header maps.

use filter_host::abi::Headers;
use filter_host::{LogLevel, headers};

use crate::util::*;

fn request() -> Headers {
    let mut request = headers(&[
        (":authority", "example.test"),
        (":path", "/headers?q=1"),
        (":method", "GET"),
        (":scheme", "http"),
        ("test", "worst"),
        ("authorization", "Bearer s3cr3t"),
        ("x-api-key", "k3y"),
        ("x-tab", "a\tb\\c"),
    ]);
    request.push((b"x-bytes".to_vec(), b"\xff\xfe".to_vec()));
    request.push((b"x-bidi".to_vec(), "a\u{202E}b".as_bytes().to_vec()));
    request
}

fn response() -> Headers {
    headers(&[
        (":status", "200"),
        ("content-type", "application/json"),
        ("set-cookie", "id=s3cr3t"),
    ])
}

#[test]
fn a_stream_logs_exactly_these_lines_with_envoy_yaml_config() {
    let mut vm = started(LogLevel::Info, &envoy_yaml_config());
    let stream = vm.stream(&request(), &response()).expect("no trap");
    let id = stream.id;
    let expected: Vec<String> = [
        "request header --> :authority: example.test",
        "request header --> :path: /headers?q=1",
        "request header --> :method: GET",
        "request header --> :scheme: http",
        "request header --> authorization: [redacted]",
        "request header --> x-api-key: [redacted]",
        "request header --> x-tab: a\\tb\\\\c",
        "request header --> x-bytes: \\xff\\xfe",
        "request header --> x-bidi: a\\u{202E}b",
        "request header --> test: best",
        "response header <-- :status: 200",
        "response header <-- content-type: application/json",
        "response header <-- set-cookie: [redacted]",
        "response header <-- x-wasm-header: demo-wasm",
        &format!("{id} finished"),
    ]
    .map(String::from)
    .to_vec();
    assert_lines("info lines", &stream.lines_at(LogLevel::Info), &expected);
    assert_eq!(
        stream.log.len(),
        expected.len(),
        "only info lines: {:?}",
        stream.log
    );
    assert!(
        vm.state().unexpected.is_empty(),
        "{:?}",
        vm.state().unexpected
    );
}

#[test]
fn test_best_replaces_every_test_header_and_the_response_header_is_added() {
    let mut vm = started(LogLevel::Info, &envoy_yaml_config());
    let mut request = request();
    request.push((b"test".to_vec(), b"again".to_vec()));
    vm.stream(&request, &response()).expect("no trap");
    let tests: Vec<&[u8]> = vm
        .state()
        .request_headers
        .iter()
        .filter(|(n, _)| n == b"test")
        .map(|(_, v)| v.as_slice())
        .collect();
    assert_eq!(tests, [b"best"], "{:?}", vm.state().request_headers);
    assert_eq!(
        vm.state().response_headers.last(),
        Some(&(b"x-wasm-header".to_vec(), b"demo-wasm".to_vec()))
    );
    assert_eq!(vm.state().response_headers.len(), response().len() + 1);
}

#[test]
fn configured_headers_are_set_and_added_in_order() {
    let config = r#"{"set_request_headers": {"X-One": "1", "x-two": "2"},
        "add_response_headers": {"x-a": "a"}, "header": "x-go", "value": "go"}"#;
    let mut vm = started(LogLevel::Info, config);
    vm.stream(&headers(&[(":path", "/")]), &headers(&[(":status", "204")]))
        .expect("no trap");
    assert_eq!(
        vm.state().request_headers,
        headers(&[(":path", "/"), ("x-one", "1"), ("x-two", "2")])
    );
    assert_eq!(
        vm.state().response_headers,
        headers(&[(":status", "204"), ("x-a", "a"), ("x-go", "go")])
    );
}

#[test]
fn one_finished_line_per_stream_with_its_own_id() {
    let mut vm = started(LogLevel::Info, &envoy_yaml_config());
    let mut ids = Vec::new();
    for _ in 0..3 {
        let stream = vm.stream(&request(), &response()).expect("no trap");
        let finished: Vec<String> = stream
            .lines_at(LogLevel::Info)
            .into_iter()
            .filter(|l| l.ends_with(" finished"))
            .collect();
        assert_eq!(finished, [format!("{} finished", stream.id)]);
        ids.push(stream.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[test]
fn long_values_are_cut_as_configured() {
    let mut vm = started(LogLevel::Info, r#"{"max_logged_value_bytes": 4}"#);
    let stream = vm
        .stream(&headers(&[("x-long", "abcdéfgh")]), &headers(&[]))
        .expect("no trap");
    assert_eq!(
        stream.lines_at(LogLevel::Info)[0],
        "request header --> x-long: abcd ... [truncated: 4 of 9 bytes]"
    );
}
