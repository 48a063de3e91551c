//! The hostile-input suite against the real Envoy 1.40.0 and httpbin: the CI-sized run
//! (every fixed case and 2,000 generated requests), focused cases that show one property
//! each, and runs against a broken set-up that the suite must catch.
//!
//! `HOSTILE_SEED=<n>` replays the generated requests of a failed run (its seed is printed).

use envoy_model::bootstrap;
use xtask::hostile_suite::{self, Case, Fate, Header, Options, Outcome, Secrets, Suite, Summary};
use xtask::stack::Stack;

use crate::util::*;

/// The generator's seed: `HOSTILE_SEED`, or a random one.
fn seed() -> u64 {
    match std::env::var("HOSTILE_SEED") {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("HOSTILE_SEED={text:?} is not a number")),
        Err(_) => hostile_suite::random_seed(),
    }
}

/// Sends `cases` through `stack` (whose filter runs envoy.yaml's configuration), stops
/// Envoy and returns the figures and what happened to each case.
fn run_cases(stack: &mut Stack, cases: &[Case]) -> (Summary, Vec<Outcome>) {
    let config = settings(&envoy_yaml());
    let mut suite =
        Suite::new(&stack.envoy, &config, Secrets::random(), 0).expect("the suite starts");
    // Enough for loopback; short, so that a broken set-up fails fast.
    suite.timeout = std::time::Duration::from_secs(3);
    let outcomes = cases
        .iter()
        .map(|case| suite.check(case).expect("the request is sent"))
        .collect();
    (
        suite.finish(&mut stack.envoy).expect("the log is read"),
        outcomes,
    )
}

/// What `cargo xtask test` runs: every fixed case, then 2,000 generated requests, each
/// followed by a normal request; no failure.
#[test]
fn ci_run_fixed_cases_and_2000_generated_requests_pass() {
    let mut stack = start("hostile-ci", envoy_yaml());
    let options = Options {
        generated: 2000,
        seed: seed(),
        fixed: true,
        progress: false,
    };
    let summary = hostile_suite::run_suite(&mut stack, &settings(&envoy_yaml()), &options)
        .expect("the suite runs");
    let report = summary.render();
    eprintln!("{report}");
    assert!(summary.passed(), "{report}");
    assert!(summary.requests >= 2000 + 300, "{}", summary.figures());
    assert_eq!(summary.probes, summary.requests);
    assert!(
        summary.reached > summary.requests * 3 / 4,
        "{}",
        summary.figures()
    );
    assert!(summary.refused_total() > 0, "{}", summary.figures());
    assert_eq!(summary.bytes.len(), 256, "every byte was tried");
}

/// One header value with non-UTF-8 bytes (what traps the SDK's own example): httpbin's
/// answer, the value logged escaped, and the next request passes.
#[test]
fn non_utf8_value_survives_and_the_next_request_passes() {
    let mut stack = start("hostile-non-utf8", envoy_yaml());
    let cases = [
        Case::new(
            "non-UTF-8",
            "/headers",
            vec![Header::new("x-bytes", b"\xff\xfe\xc0".to_vec())],
        ),
        Case::new(
            "again, then normal",
            "/get",
            vec![Header::new("x-bytes", b"\x80".to_vec())],
        ),
    ];
    let (summary, outcomes) = run_cases(&mut stack, &cases);
    assert!(summary.passed(), "{}", summary.render());
    let fates: Vec<&Fate> = outcomes.iter().map(|o| &o.fate).collect();
    assert_eq!(fates, [&Fate::Reached(200), &Fate::Reached(200)]);
    assert_eq!(summary.probes, 2, "a normal request after each");
    let logged: Vec<&(String, String)> = outcomes[0]
        .request_lines
        .iter()
        .filter(|(n, _)| n == "x-bytes")
        .collect();
    assert_eq!(
        logged,
        [&("x-bytes".to_string(), r"\xff\xfe\xc0".to_string())],
        "EXPECTED the value escaped byte by byte"
    );
}

/// Secrets in every redacted header, and in `set-cookie` from httpbin, never reach the log.
#[test]
fn secrets_never_reach_envoys_log() {
    let mut stack = start("hostile-secrets", envoy_yaml());
    let secrets = Secrets::random();
    let cases = hostile_suite::fixed::secret_cases(&secrets, &["x-api-key".to_string()]);
    let config = settings(&envoy_yaml());
    let mut suite = Suite::new(&stack.envoy, &config, secrets.clone(), 0).unwrap();
    for case in &cases {
        suite.check(case).unwrap();
    }
    let (log_path, access_path) = (stack.envoy.log().to_path_buf(), stack.envoy.access_log());
    let summary = suite.finish(&mut stack.envoy).unwrap();
    assert!(summary.passed(), "{}", summary.render());
    assert_eq!(summary.reached, cases.len(), "{}", summary.figures());
    for path in [&access_path, &log_path] {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        assert!(
            !text.contains(&secrets.token),
            "EXPECTED no {} in {}\nGOT it:\n{}",
            secrets.token,
            path.display(),
            text.lines()
                .filter(|l| l.contains(&secrets.token))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    let redacted = text.matches(": [redacted]").count();
    assert!(
        redacted >= cases.len(),
        "EXPECTED a [redacted] line per secret, GOT {redacted}"
    );
    assert_contains(
        "set-cookie redacted",
        &text,
        "response header <-- set-cookie: [redacted]",
    );
}

/// Secrets in query parameters (every always-redacted name, envoy.yaml's configured one, odd
/// case, percent-encoded, over the cut) never reach Envoy's log or its access log; the
/// parameters around them are logged as sent.
#[test]
fn query_secrets_never_reach_envoys_log() {
    let mut stack = start("hostile-query", envoy_yaml());
    let secrets = Secrets::random();
    let config = settings(&envoy_yaml());
    let configured = ["session_id".to_string()];
    assert!(
        config.redact_query_params.contains(&configured[0]),
        "envoy.yaml configures redact_query_params: [\"session_id\"]"
    );
    let cases = hostile_suite::fixed::query_cases(&secrets, &configured);
    let mut suite = Suite::new(&stack.envoy, &config, secrets.clone(), 0).unwrap();
    for case in &cases {
        suite.check(case).unwrap();
    }
    let (log_path, access_path) = (stack.envoy.log().to_path_buf(), stack.envoy.access_log());
    let summary = suite.finish(&mut stack.envoy).unwrap();
    assert!(summary.passed(), "{}", summary.render());
    assert_eq!(summary.reached, cases.len(), "{}", summary.figures());
    for path in [&access_path, &log_path] {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let leaks: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(&secrets.token))
            .collect();
        assert!(
            leaks.is_empty(),
            "EXPECTED no {} in {}\nGOT it:\n{}",
            secrets.token,
            path.display(),
            leaks.join("\n")
        );
    }
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert_contains(
        "the first case's :path line",
        &text,
        "request header --> :path: /headers?access_token=[redacted]&keep=1",
    );
    assert_contains(
        "the configured parameter",
        &text,
        "request header --> :path: /headers?session_id=[redacted]&keep=1",
    );
}

/// CR, LF and controls in values: Envoy refuses some, drops or unfolds others, and what
/// reaches the filter stays on one line; no line in the log is forged.
#[test]
fn line_breaks_and_controls_cannot_forge_a_line() {
    let mut stack = start("hostile-crlf", envoy_yaml());
    let cases: Vec<Case> = hostile_suite::fixed::cases(&Secrets::random(), &[], &[])
        .into_iter()
        .filter(|c| c.label.starts_with("fixed control:"))
        .collect();
    let (summary, outcomes) = run_cases(&mut stack, &cases);
    let report = summary.render();
    assert!(summary.passed(), "{report}");
    let refused: Vec<&str> = cases
        .iter()
        .zip(&outcomes)
        .filter(|(_, o)| matches!(o.fate, Fate::Refused(_)))
        .map(|(c, _)| c.label.as_str())
        .collect();
    for must_refuse in [
        "NUL inside",
        "bare LF inside",
        "CRLF then a forged line",
        "space in a name",
    ] {
        assert!(
            refused.iter().any(|l| l.ends_with(must_refuse)),
            "EXPECTED Envoy to refuse `{must_refuse}`\nGOT refused: {refused:?}"
        );
    }
    let log = std::fs::read_to_string(stack.envoy.log()).expect("the filter's lines are UTF-8");
    let forged: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request header --> x-hostile-forged"))
        .filter(|l| !l.contains("request header --> x-forge: "))
        .collect();
    assert!(
        forged.is_empty(),
        "EXPECTED no forged line\nGOT:\n{}",
        forged.join("\n")
    );
}

/// The suite can fail: Envoy without the filter answers 200 with no log lines; the suite
/// says so, and stops after 5 normal requests in a row failed (as after a trap).
#[test]
fn the_suite_fails_and_stops_without_the_filter() {
    let mut stack = start(
        "hostile-no-filter",
        bootstrap::without_wasm(&envoy_yaml()).unwrap(),
    );
    let options = Options {
        generated: 50,
        seed: seed(),
        fixed: false,
        progress: false,
    };
    let summary = hostile_suite::run_suite(&mut stack, &settings(&envoy_yaml()), &options)
        .expect("the suite runs");
    let report = summary.render();
    eprintln!("{report}");
    assert!(!summary.passed(), "the suite passed without the filter");
    assert_eq!(
        summary.requests,
        hostile_suite::STOP_AFTER_FAILED_PROBES,
        "EXPECTED a stop after {} failed probes\nGOT:\n{report}",
        hostile_suite::STOP_AFTER_FAILED_PROBES
    );
    assert_contains(
        "the failure says why",
        &report,
        "without the filter's lines",
    );
    assert_contains("the stop says why", &report, "the filter is down");
}

/// The suite can fail: a filter configured to redact less and cut later than envoy.yaml says
/// (it keeps `x-api-key`, which the default name rule redacts, in clear) leaks a secret and
/// logs a value uncut; the suite catches both.
#[test]
fn the_suite_catches_a_leak_and_a_missing_cut() {
    let loose = r#"{"set_request_headers": {"test": "best"}, "add_response_headers": {"x-wasm-header": "demo-wasm"}, "unredacted_headers": ["x-api-key"], "max_logged_value_bytes": 4096}"#;
    let doc = bootstrap::with_plugin_config(&envoy_yaml(), loose).unwrap();
    let mut stack = start("hostile-loose", doc);
    let secrets = Secrets::random();
    let cases = [
        Case::new(
            "x-api-key",
            "/headers",
            vec![Header::new("x-api-key", secrets.secret("-k"))],
        ),
        Case::new(
            "long",
            "/headers",
            vec![Header::new("x-long", vec![b'a'; 2000])],
        ),
    ];
    let config = settings(&envoy_yaml());
    let mut suite = Suite::new(&stack.envoy, &config, secrets.clone(), 0).unwrap();
    for case in &cases {
        suite.check(case).unwrap();
    }
    let summary = suite.finish(&mut stack.envoy).unwrap();
    let report = summary.render();
    eprintln!("{report}");
    assert_contains(
        "the leaked secret is caught",
        &report,
        "no secret value anywhere in Envoy's log",
    );
    assert_contains("the redaction is checked", &report, "x-api-key: [redacted]");
    assert_contains(
        "the cut is checked",
        &report,
        "[truncated: 1024 of 2000 bytes]",
    );
}

/// README: `cargo xtask hostile` starts its own Envoy and httpbin, runs, prints the figures
/// and exits 0.
#[test]
fn readme_hostile_command_prints_its_figures() {
    wasm_module();
    let out = xtask_cli(&["hostile", "--requests", "100", "--seed", "7"]);
    let text = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "cargo xtask hostile failed:\n{text}"
    );
    assert_contains("the figures", &text, "requests (seed 7):");
    assert_contains("no failure", &text, ", 0 failures;");
    assert_contains(
        "the byte table",
        &text,
        "bytes in a value refused by Envoy (400)",
    );
}
