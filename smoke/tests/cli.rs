//! The `smoke` binary from the outside, where no Envoy is needed: the ways it must refuse
//! to run, each with exit code 2 and a message that says what to do. (Runs against the
//! real Envoy are in xtask's end-to-end tests.)

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

/// Runs the smoke binary in `dir` with `args`.
fn smoke(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_smoke"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the smoke binary runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A loopback URL where nothing listens.
fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn no_envoy_exits_2_and_says_how_to_start_it() {
    let url = dead_url();
    let out = smoke(
        repo(),
        &[
            "--url",
            &url,
            "--admin",
            &url,
            "--ready-timeout",
            "300ms",
            "--logs",
            "none",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/ready did not answer LIVE within"), "{err}");
    assert!(
        err.contains("Start it with `docker compose up` or run `cargo xtask run`"),
        "{err}"
    );
}

#[test]
fn no_envoy_and_no_wasm_module_says_the_module_is_missing() {
    let dir = std::env::temp_dir().join(format!("smoke-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(repo().join("envoy.yaml"), dir.join("envoy.yaml")).unwrap();
    let url = dead_url();
    let out = smoke(
        &dir,
        &[
            "--url",
            &url,
            "--admin",
            &url,
            "--ready-timeout",
            "300ms",
            "--logs",
            "none",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "loads the wasm module target/wasm32-wasip1/release/filter.wasm, which does not exist"
        ),
        "EXPECTED a note about the missing module\nGOT: {err}"
    );
    assert!(err.contains("Build it with `cargo xtask build`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_plugin_configuration_exits_2_naming_the_field() {
    let out = smoke(
        repo(),
        &[
            "--plugin-config",
            r#"{"add_response_headers": {"x-a": 7}}"#,
            "--logs",
            "none",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("invalid plugin configuration"), "{err}");
    assert!(err.contains("add_response_headers.x-a"), "{err}");
}

#[test]
fn missing_envoy_config_exits_2_naming_the_file_and_the_flags() {
    let out = smoke(
        repo(),
        &["--envoy-config", "no/such/envoy.yaml", "--logs", "none"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no/such/envoy.yaml"), "{err}");
    assert!(err.contains("--plugin-config"), "{err}");
}

#[test]
fn unknown_log_source_exits_2_listing_the_forms() {
    let out = smoke(repo(), &["--logs", "syslog"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("compose, compose:SERVICE, file:PATH, cmd:COMMAND or none"),
        "{err}"
    );
}

#[test]
fn help_explains_the_exit_codes() {
    let out = smoke(repo(), &["--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.contains("0 all checks passed, 1 a check failed, 2 the checks could not run"),
        "{text}"
    );
}
