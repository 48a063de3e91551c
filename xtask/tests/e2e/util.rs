//! Helpers for the end-to-end tests: the real tools, the built module, a running stack.
//! Every helper fails loudly (with the fix) rather than skipping: a test that needs Envoy
//! and cannot find it fails.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use envoy_model::bootstrap;
use envoy_model::plugin_settings::PluginSettings;
use filter_core::config::PluginConfig;
use serde_json::Value;
use xtask::stack::{Stack, StackSpec};
use xtask::tools::Tools;
use xtask::{paths, wasm};

/// The tools in ./.venv; panics with how to install them.
pub fn tools() -> Tools {
    match Tools::find() {
        Ok(tools) => tools,
        Err(err) => panic!("{err:#}"),
    }
}

/// The release wasm module, built once per test binary.
pub fn wasm_module() -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| wasm::build().map(|b| b.path).map_err(|e| format!("{e:#}")))
        .clone()
        .unwrap_or_else(|err| panic!("{err}"))
}

/// The repository's envoy.yaml, parsed.
pub fn envoy_yaml() -> Value {
    bootstrap::load(&paths::envoy_yaml()).expect("envoy.yaml parses")
}

/// The plugin configuration of `bootstrap`'s wasm filter, parsed by the filter's own code.
pub fn plugin_config(bootstrap: &Value) -> PluginConfig {
    smoke::plugin_config_of(bootstrap, &paths::envoy_yaml())
        .expect("the plugin configuration parses")
}

/// The same, as the data the hostile suite reads.
pub fn settings(bootstrap: &Value) -> PluginSettings {
    smoke::settings_of(&plugin_config(bootstrap))
}

/// A stack spec named after the test (its configs and logs land in target/xtask/test-<name>).
pub fn spec(test: &str, bootstrap: Value) -> StackSpec {
    StackSpec::new(&format!("test-{test}"), bootstrap, wasm_module())
}

/// httpbin and Envoy running `bootstrap` (derived for loopback); stopped when dropped.
pub fn start(test: &str, bootstrap: Value) -> Stack {
    let spec = spec(test, bootstrap);
    match Stack::start(&tools(), &spec) {
        Ok(stack) => stack,
        Err(err) => panic!("starting httpbin and Envoy for {test}: {err:#}"),
    }
}

/// Smoke options for `stack`, logs read from Envoy's log file.
/// (What `cargo xtask` hands the smoke program, [`Stack::smoke_target`], in-process.)
pub fn smoke_options(stack: &Stack, config: PluginConfig) -> smoke::Options {
    let target = stack.smoke_target();
    smoke::Options {
        url: target.url,
        admin: target.admin,
        logs: smoke::LogSource::File(stack.envoy.log().to_path_buf()),
        config,
        ready_timeout: target.ready_timeout,
        log_timeout: target.log_timeout,
        progress: false,
    }
}

/// Runs the smoke checks against `stack` and returns the report (panics if they could not run).
pub fn smoke(stack: &Stack, config: PluginConfig) -> smoke::Report {
    match smoke::run_blocking(&smoke_options(stack, config)) {
        Ok(report) => report,
        Err(err) => panic!(
            "the smoke checks could not run: {err:#}\nEnvoy's log:\n{}",
            log_tail(stack)
        ),
    }
}

/// The last 40 lines of Envoy's log, for failure messages.
pub fn log_tail(stack: &Stack) -> String {
    let text = std::fs::read_to_string(stack.envoy.log()).unwrap_or_default();
    envoy_model::envoy_log::last_lines(&text, 40).join("\n")
}

/// Asserts `haystack` contains `needle`, printing EXPECTED and GOT otherwise.
#[track_caller]
pub fn assert_contains(what: &str, haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "{what}\nEXPECTED to contain: {needle}\nGOT:\n{haystack}"
    );
}

/// Runs `cargo xtask <args>` (this package's binary) from the repository root.
pub fn xtask_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(paths::root())
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

/// Runs `cargo run -p smoke -- <args>` from the repository root, as the README says.
pub fn smoke_cli(args: &[&str]) -> std::process::Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    std::process::Command::new(cargo)
        .current_dir(paths::root())
        .args(["run", "--quiet", "--package", "smoke", "--"])
        .args(args)
        .output()
        .expect("cargo run -p smoke runs")
}

/// stdout and stderr of a finished command, for assertions and failure messages.
pub fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    )
}

/// `envoy --mode validate` on the native copy of `bootstrap` (the built module, placeholder
/// ports), written to `target/xtask/test-<name>/<file>`: whether Envoy accepted it, and
/// everything it printed.
pub fn validate_native(name: &str, file: &str, bootstrap: &Value) -> (bool, String) {
    let native = bootstrap::native(
        bootstrap,
        &bootstrap::Native {
            listener_port: 10000,
            admin_port: 9901,
            upstream_port: Some(8080),
            wasm: Some(wasm_module()),
        },
    )
    .expect("the native derivation applies");
    let config = paths::work_dir(&format!("test-{name}")).join(file);
    bootstrap::write(&native, &config).expect("the derived config is written");
    xtask::stack::validate(&tools(), &config).expect("envoy --mode validate runs")
}
