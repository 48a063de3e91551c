//! Tests of the pure checks on synthetic exchanges and logs written with the filter's own code.

use super::*;
use crate::client::{Exchange, TAG_HEADER};
use filter_core::config::PluginConfig;
use filter_core::logline;

const CONFIG: &str = r#"{"set_request_headers": {"test": "best"},
    "add_response_headers": {"x-wasm-header": "demo-wasm"}, "redact_headers": ["x-api-key"]}"#;

fn config() -> PluginConfig {
    PluginConfig::parse(CONFIG.as_bytes()).unwrap()
}

fn exchange(n: u32, path: &str, sent: &[(&str, &[u8])], status: u16) -> Exchange {
    let tag = format!("run-{n}");
    let mut all = vec![(TAG_HEADER.to_string(), tag.clone().into_bytes())];
    all.extend(sent.iter().map(|(name, v)| (name.to_string(), v.to_vec())));
    Exchange {
        tag,
        path: path.into(),
        sent: all,
        status,
        headers: vec![
            ("content-type".into(), b"application/json".to_vec()),
            ("x-wasm-header".into(), b"demo-wasm".to_vec()),
        ],
        body: br#"{"headers": {"Test": ["best"], "X-Smoke-Id": ["run-1"]}}"#.to_vec(),
    }
}

/// The log lines the filter writes for `ex` (context id `id`), in Envoy's default format.
fn filter_lines(config: &PluginConfig, ex: &Exchange, id: u32) -> Vec<String> {
    let mut messages = Vec::new();
    let mut push = |f: fn(&mut String, &[u8], &[u8], &PluginConfig), n: &[u8], v: &[u8]| {
        let mut line = String::new();
        f(&mut line, n, v, config);
        messages.push(line);
    };
    push(logline::request_header, b":authority", b"127.0.0.1:10000");
    push(logline::request_header, b":path", ex.path.as_bytes());
    push(logline::request_header, b":method", b"GET");
    for (n, v) in &ex.sent {
        push(logline::request_header, n.as_bytes(), v);
    }
    for (n, v) in &config.set_request_headers {
        push(logline::request_header, n.as_bytes(), v.as_bytes());
    }
    push(
        logline::response_header,
        b":status",
        ex.status.to_string().as_bytes(),
    );
    for (n, v) in &ex.headers {
        push(logline::response_header, n.as_bytes(), v);
    }
    let mut finished = String::new();
    logline::finished(&mut finished, id);
    messages.push(finished);
    messages
        .into_iter()
        .map(|m| {
            format!(
                "[2026-11-23 19:38:37.359][13791][info][wasm] [source/extensions/common/wasm/context.cc:1151] \
                 wasm log http-headers http-headers-root http-headers-vm: {m}"
            )
        })
        .collect()
}

fn view(lines: &[String]) -> LogEvidence {
    LogEvidence::Fetched(LogView::new(lines.join("\n")))
}

fn exchanges() -> Vec<Exchange> {
    vec![
        exchange(1, "/headers", &[("x-smoke-probe", b"a\tb\\c")], 200),
        exchange(2, "/headers", &[("x-smoke-bytes", b"\xff\xfe")], 200),
        exchange(3, "/status/200", &[], 200),
        exchange(
            4,
            "/headers?access_token=s3cr3t&keep=1",
            &[
                ("authorization", b"Bearer s3cr3t"),
                ("x-api-key", b"s3cr3t"),
            ],
            200,
        ),
    ]
}

fn full_log(config: &PluginConfig, exchanges: &[Exchange]) -> Vec<String> {
    exchanges
        .iter()
        .zip(2..)
        .flat_map(|(ex, id)| filter_lines(config, ex, id))
        .collect()
}

#[test]
fn everything_passes_on_a_healthy_run() {
    let (config, exchanges) = (config(), exchanges());
    let log = view(&full_log(&config, &exchanges));
    let results = [
        response_headers_added(&config, &exchanges),
        request_headers_echoed(&config, &exchanges[0]),
        log_lines_complete(&config, &exchanges, &log),
        non_utf8_survived(&config, &exchanges[1], "x-smoke-bytes", &exchanges[2], &log),
        secrets_redacted(&config, &exchanges[3], "s3cr3t", &log),
    ];
    for result in &results {
        assert_eq!(result.status, CheckStatus::Pass, "{result:#?}");
    }
    assert!(
        results[3].got.contains(r"x-smoke-bytes: \xff\xfe"),
        "{}",
        results[3].got
    );
    assert_eq!(
        results[0].got,
        "x-wasm-header: demo-wasm on 4 of 4 responses"
    );
}

#[test]
fn a_stream_missing_status_fails_with_expected_and_got() {
    let (config, exchanges) = (config(), exchanges());
    let lines: Vec<String> = full_log(&config, &exchanges)
        .into_iter()
        .enumerate()
        .filter(|(i, l)| !(l.contains("response header <-- :status") && *i > 20))
        .map(|(_, l)| l)
        .collect();
    let result = log_lines_complete(&config, &exchanges, &view(&lines));
    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result
            .expected
            .contains("`response header <--` lines for :status and x-wasm-header: demo-wasm")
    );
    assert!(
        result.got.starts_with(
            "GET /status/200 (x-smoke-id: run-3): no `response header <-- :status: …` line"
        ),
        "{}",
        result.got
    );
    let tail = result.log_tail.unwrap();
    assert!(
        tail.iter().any(|l| l.contains("x-smoke-id: run-3"))
            && tail.iter().all(|l| !l.contains("run-2"))
    );
}

#[test]
fn duplicate_finished_and_missing_streams_fail() {
    let (config, exchanges) = (config(), exchanges());
    let mut lines = full_log(&config, &exchanges[..3]);
    lines.push(lines.last().unwrap().clone());
    let result = log_lines_complete(&config, &exchanges, &view(&lines));
    assert_eq!(result.status, CheckStatus::Fail);
    assert!(
        result
            .got
            .contains("run-3): `finished` logged 2 times ([4, 4]), expected once"),
        "{}",
        result.got
    );
    assert!(
        result
            .got
            .contains("run-4): no `request header --> x-smoke-id: run-4` line"),
        "{}",
        result.got
    );
    let empty = log_lines_complete(&config, &exchanges, &view(&[]));
    let want = "no wasm log lines at all in the fetched log: is Envoy started with";
    assert!(empty.got.starts_with(want), "{}", empty.got);
    assert_eq!(empty.got.lines().count(), 1);
}

#[test]
fn wrong_logged_value_is_shown() {
    let (config, exchanges) = (config(), exchanges());
    let lines: Vec<String> = full_log(&config, &exchanges)
        .into_iter()
        .map(|l| l.replace(r"a\tb\\c", "a b c"))
        .collect();
    let result = log_lines_complete(&config, &exchanges, &view(&lines));
    assert!(
        result
            .got
            .contains(r#"`request header --> x-smoke-probe: a\tb\\c` expected, logged ["a b c"]"#),
        "{}",
        result.got
    );
}

#[test]
fn missing_response_header_fails_per_request() {
    let config = config();
    let mut exchanges = exchanges();
    exchanges[2].headers.retain(|(n, _)| n != "x-wasm-header");
    exchanges[2].status = 503;
    let result = response_headers_added(&config, &exchanges);
    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.expected,
        "x-wasm-header: demo-wasm on each of 4 responses"
    );
    assert_eq!(
        result.got,
        "GET /status/200 (x-smoke-id: run-3) answered 503: x-wasm-header missing"
    );
    let none = PluginConfig::parse(br#"{"set_request_headers": {}}"#).unwrap();
    assert_eq!(
        response_headers_added(&none, &exchanges).status,
        CheckStatus::Skip
    );
    assert_eq!(
        request_headers_echoed(&none, &exchanges[0]).status,
        CheckStatus::Skip
    );
}

#[test]
fn echo_forms_of_both_httpbins() {
    let python = br#"{"headers": {"Test": "best", "X-Smoke-Id": "run-1"}}"#;
    let go = br#"{"headers": {"Test": ["best"], "X-Smoke-Id": ["run-1"]}}"#;
    for body in [&python[..], &go[..]] {
        assert_eq!(echoed_values(body, "test").unwrap(), ["best"]);
        let mut ex = exchange(1, "/headers", &[], 200);
        ex.body = body.to_vec();
        assert_eq!(
            request_headers_echoed(&config(), &ex).status,
            CheckStatus::Pass
        );
    }
    let mut ex = exchange(1, "/headers", &[], 200);
    ex.body = br#"{"headers": {"Test": ["worst"]}}"#.to_vec();
    let result = request_headers_echoed(&config(), &ex);
    assert_eq!(result.got, "test: [\"worst\"]\nx-smoke-id not echoed");
    ex.body = b"<html>".to_vec();
    assert!(
        request_headers_echoed(&config(), &ex)
            .got
            .starts_with("the body is not JSON")
    );
}

#[test]
fn leaked_secret_fails_and_shows_the_line() {
    let (config, exchanges) = (config(), exchanges());
    let mut lines = full_log(&config, &exchanges);
    lines.push("[2026-11-23 19:38:37.360][13791][debug][http] [source/x.cc:1] 'authorization', 'Bearer s3cr3t'".into());
    let result = secrets_redacted(&config, &exchanges[3], "s3cr3t", &view(&lines));
    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(result.got, "the secret appears in 1 log line(s)");
    assert_eq!(result.log_tail.unwrap().len(), 1);
    assert!(
        result.expected.starts_with(
            "`authorization, x-api-key: [redacted]` and \
             `:path: /headers?access_token=[redacted]&keep=1` logged"
        ),
        "{}",
        result.expected
    );
}

#[test]
fn a_query_secret_logged_as_sent_fails() {
    let (config, exchanges) = (config(), exchanges());
    let passing = secrets_redacted(
        &config,
        &exchanges[3],
        "s3cr3t",
        &view(&full_log(&config, &exchanges)),
    );
    assert_eq!(passing.status, CheckStatus::Pass, "{passing:?}");
    assert!(
        passing
            .got
            .contains(":path logged as /headers?access_token=[redacted]&keep=1")
    );
    // A filter that redacts no query parameter logs the target as sent.
    let mut no_query = config.clone();
    no_query.redact_query_params.clear();
    let lines = full_log(&no_query, &exchanges);
    let result = secrets_redacted(&config, &exchanges[3], "s3cr3t", &view(&lines));
    assert_eq!(result.status, CheckStatus::Fail);
    assert_eq!(
        result.got,
        "the secret appears in 1 log line(s)\n\
         logged :path: [\"/headers?access_token=s3cr3t&keep=1\"]"
    );
}

#[test]
fn skipped_logs_skip_log_checks_but_not_the_status_part() {
    let (config, mut exchanges) = (config(), exchanges());
    let skipped = LogEvidence::Skipped("no log source (--logs none)".into());
    assert_eq!(
        log_lines_complete(&config, &exchanges, &skipped).status,
        CheckStatus::Skip
    );
    assert_eq!(
        secrets_redacted(&config, &exchanges[3], "x", &skipped).detail,
        "no log source (--logs none)"
    );
    let result = non_utf8_survived(
        &config,
        &exchanges[1],
        "x-smoke-bytes",
        &exchanges[2],
        &skipped,
    );
    assert_eq!(result.status, CheckStatus::Pass);
    assert_eq!(
        result.detail,
        "log line not checked: no log source (--logs none)"
    );
    exchanges[2].status = 503;
    let result = non_utf8_survived(
        &config,
        &exchanges[1],
        "x-smoke-bytes",
        &exchanges[2],
        &skipped,
    );
    assert_eq!(
        result.got,
        "GET /status/200 (x-smoke-id: run-3) answered 503"
    );
}

#[test]
fn expected_lines_follow_the_filters_rules() {
    let config = PluginConfig::parse(br#"{"max_logged_value_bytes": 4}"#).unwrap();
    assert_eq!(
        logged_pair(&config, true, b"x-long", b"abcdefgh").1,
        "abcd ... [truncated: 4 of 8 bytes]"
    );
    assert_eq!(
        logged_pair(&config, true, b"Cookie", b"a=b").1,
        "[redacted]"
    );
    assert_eq!(
        logged_pair(&config, false, b":status", b"200"),
        (":status".into(), "200".into())
    );
    let view = LogView::new(full_log(&PluginConfig::default(), &exchanges()).join("\n"));
    assert!(view.all_finished(&["run-1", "run-4"]));
    assert!(!view.all_finished(&["run-5"]));
}
