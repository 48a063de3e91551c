//! `cargo xtask hostile`: the hostile suite ([`crate::hostile_suite`]) against the built
//! filter in the real Envoy, its summary, and how to reproduce a failure.

use anyhow::Result;

use crate::envoy_versions::{self, EnvoyChoice};
use crate::hostile_suite::{Options, random_seed, run_suite};
use crate::progress::Step;
use crate::smoke_program;
use crate::stack::{Stack, StackSpec};
use crate::{paths, wasm};
use envoy_model::bootstrap;

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Generated requests to send after the fixed cases (the test suite sends 2000).
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// The generator's seed; without it a random one is used (and printed, to reproduce a
    /// failure with `--seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Send only the generated requests, not the fixed cases.
    #[arg(long)]
    pub no_fixed: bool,
    #[command(flatten)]
    pub envoy: EnvoyChoice,
}

/// Runs the command; the exit code: 0 no failure, 1 failures (errors: 2, from main).
pub fn run(args: &Args) -> Result<i32> {
    let tools = envoy_versions::tools(&args.envoy)?;
    let built = wasm::build_step()?;
    let envoy_yaml = paths::envoy_yaml();
    let doc = bootstrap::load(&envoy_yaml)?;
    let config = smoke_program::plugin_settings(&smoke_program::build_step()?, &envoy_yaml)?;

    let version = tools.envoy_version().to_string();
    let step = Step::start("start", &format!("httpbin and Envoy {version}"));
    let mut stack = Stack::start(&tools, &StackSpec::new("hostile", doc, built.path))?;
    let (httpbin, url) = (stack.httpbin.addr, stack.envoy.url());
    let log = stack.envoy.log().display();
    let summary = format!("httpbin {httpbin}, Envoy {version} {url} (log {log})");
    step.done(&summary);
    let seed = args.seed.unwrap_or_else(random_seed);
    let fixed_first = (!args.no_fixed).then_some("the fixed cases, then ");
    eprintln!(
        "hostile: {}{} generated requests, seed {seed}; each followed by a normal probe request",
        fixed_first.unwrap_or_default(),
        args.requests
    );
    let options = Options {
        generated: args.requests,
        seed,
        fixed: !args.no_fixed,
        progress: true,
    };
    let summary = run_suite(&mut stack, &config, &options)?;
    print!("{}", summary.render());
    if summary.passed() {
        return Ok(0);
    }
    let envoy_arg = args.envoy.envoy.as_ref().map(|v| format!(" --envoy {v}"));
    eprintln!(
        "reproduce: cargo xtask hostile --requests {} --seed {seed}{}{} (Envoy {version}'s log: {})",
        args.requests,
        if args.no_fixed { " --no-fixed" } else { "" },
        envoy_arg.unwrap_or_default(),
        stack.envoy.log().display()
    );
    Ok(1)
}
