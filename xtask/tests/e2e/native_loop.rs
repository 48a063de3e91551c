//! The native loop end to end: the real Envoy 1.40.0 with the built filter, the real
//! httpbin, the smoke checks. Each test is a step the README tells a user to take, or a
//! way it must fail.

use std::process::Command;

use crate::util::*;
use xtask::{bootstrap, paths, stack};

/// README: `cargo xtask run` builds, starts, checks, prints the report and exits 0.
#[test]
fn readme_main_command_runs_the_loop_and_passes() {
    wasm_module();
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["run", "--port", "0", "--admin-port", "0"])
        .output()
        .expect("xtask runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stderr}\n{stdout}");
    assert_eq!(out.status.code(), Some(0), "cargo xtask run failed:\n{all}");
    assert_contains("the report", &all, "✓");
    assert!(!all.contains('✗'), "a check failed:\n{all}");
    assert_contains("the timing line", &all, "from command to report");
}

/// All smoke checks pass against envoy.yaml's filter and configuration.
#[test]
fn smoke_checks_pass_against_envoy_yaml() {
    let doc = envoy_yaml();
    let stack = start("all-pass", doc.clone());
    let report = smoke(&stack, plugin_config(&doc));
    let text = report.render_text();
    assert!(
        report.passed(),
        "{text}\nEnvoy's log:\n{}",
        log_tail(&stack)
    );
}

/// Without the wasm filter the checks fail, naming the header that is missing: they can fail.
#[test]
fn without_the_filter_smoke_fails_and_names_the_missing_header() {
    let doc = envoy_yaml();
    let stack = start("no-filter", bootstrap::without_wasm(&doc).unwrap());
    let report = smoke(&stack, plugin_config(&doc));
    let text = report.render_text();
    assert!(
        !report.passed(),
        "the checks passed without the filter:\n{text}"
    );
    assert_contains(
        "the report names the configured response header",
        &text,
        "x-wasm-header",
    );
    assert_contains(
        "the report names the injected request header",
        &text,
        "test",
    );
}

/// A bad plugin configuration: `envoy --mode validate` fails with the filter's own message,
/// and the stack refuses to start, showing that message.
#[test]
fn bad_plugin_configuration_makes_envoy_refuse_to_start() {
    let tools = tools();
    let bad = r#"{"add_response_headers": {"x-ok": "fine", "bad name": "x"}}"#;
    let doc = bootstrap::with_plugin_config(&envoy_yaml(), bad).unwrap();
    let spec = spec("bad-config", doc.clone());

    let native = bootstrap::native(
        &doc,
        &bootstrap::Native {
            listener_port: 1,
            admin_port: 2,
            httpbin_port: 3,
            wasm: wasm_module(),
        },
    )
    .unwrap();
    let config = spec.dir().join("validate.json");
    bootstrap::write(&native, &config).unwrap();
    let (ok, output) = stack::validate(&tools, &config).unwrap();
    assert!(
        !ok,
        "envoy --mode validate accepted a bad plugin configuration:\n{output}"
    );
    assert_contains(
        "Envoy refuses the plugin",
        &output,
        "Unable to create Wasm plugin",
    );
    assert_contains(
        "the filter's own message",
        &output,
        "invalid plugin configuration",
    );
    assert_contains("the message names the field", &output, "bad name");

    let err = match stack::Stack::start(&tools, &spec) {
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

/// envoy.yaml itself passes `envoy --mode validate`, as Docker runs it (from the
/// repository root, relative wasm path) and as the native run derives it.
#[test]
fn envoy_yaml_passes_envoy_validate() {
    let tools = tools();
    let wasm = wasm_module();
    // As compose runs it: cwd = a directory laid out like /project.
    let project = paths::work_dir(&format!("validate-{}", std::process::id()));
    let module = project.join("target/wasm32-wasip1/release/filter.wasm");
    std::fs::create_dir_all(module.parent().unwrap()).unwrap();
    std::fs::copy(&wasm, &module).unwrap();
    let out = Command::new(&tools.envoy)
        .current_dir(&project)
        .args(["--mode", "validate", "--config-path"])
        .arg(paths::envoy_yaml())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "envoy --mode validate -c envoy.yaml failed:\n{text}"
    );

    let native = bootstrap::native(
        &envoy_yaml(),
        &bootstrap::Native {
            listener_port: 10000,
            admin_port: 9901,
            httpbin_port: 8080,
            wasm,
        },
    )
    .unwrap();
    let config = project.join("native.json");
    bootstrap::write(&native, &config).unwrap();
    let (ok, output) = stack::validate(&tools, &config).unwrap();
    assert!(ok, "the native copy fails envoy --mode validate:\n{output}");
}
