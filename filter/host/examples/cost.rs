//! The cost table: the wasm instructions each benchmark variant's module executes per request
//! (`filter_host::cost`), printed in Markdown, and this filter's counts compared with
//! `filter/host/instructions.baseline`.
//!
//! `cargo xtask bench --instructions [--update-baseline] [--profile]` builds the modules, hands
//! them in with envoy.yaml's plugin configuration (`filter_testing::handed_in`) and runs this.
//! `--update-baseline` records the baseline; `--profile` shows where one request of this filter
//! spends its instructions. Exit code: 0 within the baseline (or recorded), 1 over it or no
//! baseline, 2 an error. The test `cost::this_filter_stays_within_the_baseline` makes the same
//! comparison in `cargo xtask test`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use filter_host::Compiled;
use filter_host::cost::{self, baseline_path};
use filter_testing::handed_in::HandedIn;
use filter_testing::variants::Module;

fn main() -> ExitCode {
    run().unwrap_or_else(|err| {
        eprintln!("error: {err:#}");
        ExitCode::from(2)
    })
}

fn run() -> Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags = ["--update-baseline", "--profile"];
    if let Some(other) = args.iter().find(|arg| !flags.contains(&arg.as_str())) {
        bail!("unknown argument `{other}` (expected --update-baseline, --profile)");
    }
    let [update_baseline, profile] = flags.map(|flag| args.iter().any(|arg| arg == flag));
    let handed_in = HandedIn::from_env().map_err(anyhow::Error::msg)?;
    let config = handed_in.plugin_config.as_bytes();
    let modules = Compiled::load(&handed_in.modules())?;
    let rows = cost::rows(&modules, config).context("counting the instructions")?;
    print!("{}", cost::table(&rows));
    if profile {
        for request in cost::requests() {
            match cost::profile(modules.get(Module::Filter)?, config, &request) {
                Ok(profile) => eprint!("{profile}"),
                Err(err) => eprintln!("error: profiling: {err:#}"),
            }
        }
    }
    let measured = cost::baseline(&rows);
    if update_baseline {
        let path = baseline_path();
        std::fs::write(&path, cost::render_baseline(&measured))
            .with_context(|| format!("writing the baseline {}", path.display()))?;
        eprintln!("recorded the baseline in {}", path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let recorded = cost::read_baseline().map_err(|err| {
        format!(
            "error: {err:#}\n(record it with `cargo xtask bench --instructions --update-baseline`)"
        )
    });
    // 0 within the baseline, 1 over it or without one.
    let verdict = recorded.and_then(|recorded| cost::check(&recorded, &measured));
    let (Ok(line) | Err(line)) = &verdict;
    eprintln!("{line}");
    Ok(ExitCode::from(u8::from(verdict.is_err())))
}
