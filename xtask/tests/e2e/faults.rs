//! Faults a user will meet, each with the message that must greet them: a bad plugin
//! configuration, a missing or broken wasm module, Envoy dying mid-run, a log source that
//! fails, a port already taken, Ctrl-C.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use envoy_model::bootstrap;
use smoke::{LogSource, SmokeError};
use xtask::stack;

use crate::util::*;

/// One bad plugin configuration and the field its error must name.
struct BadConfig {
    what: &'static str,
    json: &'static str,
    field: &'static str,
}

const BAD_CONFIGS: &[BadConfig] = &[
    BadConfig {
        what: "invalid JSON",
        json: r#"{"add_response_headers": {"x-a": "b""#,
        field: "add_response_headers",
    },
    BadConfig {
        what: "an unknown field",
        json: r#"{"add_response_header": {"x-a": "b"}}"#,
        field: "add_response_header",
    },
    BadConfig {
        what: "a wrong type",
        json: r#"{"max_logged_value_bytes": "1024"}"#,
        field: "max_logged_value_bytes",
    },
    BadConfig {
        what: "an invalid header name",
        json: r#"{"set_request_headers": {"x a": "b"}}"#,
        field: "set_request_headers.\"x a\"",
    },
    BadConfig {
        what: "an invalid header value",
        json: r#"{"add_response_headers": {"x-a": "line\nbreak"}}"#,
        field: "add_response_headers.x-a",
    },
    BadConfig {
        what: "an empty header name",
        json: r#"{"add_response_headers": {"": "b"}}"#,
        field: "add_response_headers.\"\"",
    },
    BadConfig {
        what: "the Go form without its value",
        json: r#"{"header": "x-wasm-header"}"#,
        field: "value",
    },
];

/// Envoy refuses each bad configuration (`envoy --mode validate`), with the filter's own
/// message naming the field; and the stack refuses to start with one, showing that message.
#[test]
fn envoy_refuses_every_kind_of_bad_plugin_configuration_with_the_filters_message() {
    for (i, bad) in BAD_CONFIGS.iter().enumerate() {
        let doc = bootstrap::with_plugin_config(&envoy_yaml(), bad.json).unwrap();
        let (ok, output) = validate_native("bad-configs", &format!("bad-{i}.json"), &doc);
        assert!(!ok, "Envoy accepted {}: {}\n{output}", bad.what, bad.json);
        let line = output
            .lines()
            .find(|l| l.contains("invalid plugin configuration"))
            .unwrap_or_else(|| {
                panic!(
                    "{}: EXPECTED the filter's critical line\nGOT:\n{output}",
                    bad.what
                )
            });
        assert!(line.contains("[critical][wasm]"), "{}: {line}", bad.what);
        assert!(
            line.contains(bad.field),
            "{}: EXPECTED the line to name `{}`\nGOT: {line}",
            bad.what,
            bad.field
        );
        assert_contains(
            bad.what,
            &output,
            "Unable to create Wasm plugin http-headers",
        );
    }

    let bad = r#"{"add_response_headers": {"x-ok": "fine", "bad name": "x"}}"#;
    let doc = bootstrap::with_plugin_config(&envoy_yaml(), bad).unwrap();
    let err = match stack::Stack::start(&tools(), &spec("bad-config", doc)) {
        Ok(_) => panic!("Envoy started with a bad plugin configuration"),
        Err(err) => format!("{err:#}"),
    };
    assert_contains(
        "the start-up error shows the filter's message",
        &err,
        "invalid plugin configuration",
    );
    assert_contains("the start-up error names the field", &err, "bad name");
}

/// `cargo xtask run` with a bad configuration stops before starting anything and prints
/// the filter's own message, naming the file and the field.
#[test]
fn native_run_prints_the_filters_message_for_a_bad_configuration() {
    let dir = xtask::paths::work_dir("test-run-bad-config");
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("envoy.yaml");
    let doc =
        bootstrap::with_plugin_config(&envoy_yaml(), r#"{"add_response_headers": {"x a": "b"}}"#)
            .unwrap();
    std::fs::write(&bad, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = xtask_cli(&[
        "run",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--envoy-config",
        bad.to_str().unwrap(),
        "--work-dir",
        dir.to_str().unwrap(),
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_contains(
        "the filter's message",
        &text,
        "invalid plugin configuration: add_response_headers.\"x a\"",
    );
    assert_contains("the file", &text, &bad.display().to_string());
}

/// A missing module and a file that is not wasm are named before Envoy starts.
#[test]
fn missing_or_broken_wasm_module_is_named_before_envoy_starts() {
    let tools = tools();
    let mut spec = spec("missing-wasm", envoy_yaml());
    spec.wasm = Some(spec.dir.join("no-such.wasm"));
    let err = format!(
        "{:#}",
        stack::Stack::start(&tools, &spec)
            .err()
            .expect("no module, no start")
    );
    assert_contains("a missing module", &err, "no-such.wasm does not exist");
    assert_contains("the fix", &err, "cargo xtask build");

    let not_wasm = spec.dir.join("filter.wasm");
    std::fs::write(&not_wasm, "this is not wasm").unwrap();
    spec.wasm = Some(not_wasm);
    let err = format!(
        "{:#}",
        stack::Stack::start(&tools, &spec)
            .err()
            .expect("no module, no start")
    );
    assert_contains("a file that is not wasm", &err, "is not a wasm module");
}

/// Envoy killed in the middle of a smoke run: smoke stops promptly with "went away" and
/// the end of Envoy's log, instead of hanging or passing.
#[test]
fn envoy_dying_during_a_run_stops_smoke_with_the_log_tail() {
    let doc = envoy_yaml();
    let stack = start("envoy-dies", doc.clone());
    let log = stack.envoy.log().to_path_buf();
    let pid = stack.envoy.pid() as i32;
    // Kill Envoy as soon as the first tagged request has reached the filter.
    let killer = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("request header --> x-smoke-id:") {
                // SIGKILL: Envoy gets no chance to finish anything.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    });
    let started = Instant::now();
    let result = smoke::run_blocking(&smoke_options(&stack, plugin_config(&doc)));
    let took = started.elapsed();
    assert!(
        killer.join().unwrap(),
        "the first request never reached the filter"
    );
    let err = match result {
        Err(err @ SmokeError::EnvoyWentAway { .. }) => err.to_string(),
        Err(other) => panic!("EXPECTED: Envoy went away\nGOT: {other}"),
        Ok(report) => panic!(
            "EXPECTED: Envoy went away\nGOT a report:\n{}",
            report.render_text()
        ),
    };
    assert!(
        took < Duration::from_secs(15),
        "smoke took {took:?} to notice"
    );
    assert_contains("the message", &err, "Envoy went away during");
    assert_contains("the log tail", &err, "the end of Envoy's log:");
    assert_contains(
        "the log tail shows the filter's lines",
        &err,
        "request header -->",
    );
}

/// A log source that fails makes the run exit 2 with the reason, never a pass.
#[test]
fn failing_log_sources_are_errors_not_passes() {
    let doc = envoy_yaml();
    let stack = start("bad-log-source", doc.clone());
    let mut options = smoke_options(&stack, plugin_config(&doc));

    options.logs = LogSource::File("target/no-such-envoy.log".into());
    match smoke::run_blocking(&options) {
        Err(err @ SmokeError::LogSource { .. }) => {
            let text = err.to_string();
            assert_contains("names the file", &text, "no-such-envoy.log");
            assert_contains("says how to go on", &text, "--logs none");
        }
        other => panic!("EXPECTED a log source error\nGOT: {other:?}"),
    }

    options.logs = LogSource::Command("echo some output; exit 3".into());
    match smoke::run_blocking(&options) {
        Err(err @ SmokeError::LogSource { .. }) => {
            assert_contains("names the command", &err.to_string(), "exit 3")
        }
        other => panic!("EXPECTED a log source error\nGOT: {other:?}"),
    }

    // The same through the CLI, as a user types it: exit code 2.
    let out = smoke_cli(&[
        "--url",
        &stack.envoy.url(),
        "--admin",
        &stack.envoy.admin_url(),
        "--logs",
        "file:target/no-such-envoy.log",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
}

/// A port already in use: the native run names it and says how to choose another.
#[test]
fn port_in_use_is_named_with_the_flag_to_change_it() {
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port().to_string();
    let dir = xtask::paths::work_dir("test-port-in-use");
    let out = xtask_cli(&[
        "run",
        "--port",
        &port,
        "--admin-port",
        "0",
        "--work-dir",
        dir.to_str().unwrap(),
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_contains(
        "names the port",
        &text,
        &format!("port {port} on 127.0.0.1"),
    );
    assert_contains("says how to choose another", &text, "--port");
}
