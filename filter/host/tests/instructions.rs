//! The cost table and its regression check, a plain program (`harness = false`):
//!
//! - `cargo test` runs it with no arguments: it prints the table and fails when this filter's
//!   instructions per request grew more than 10% over `filter/host/instructions.baseline`;
//! - `cargo xtask bench --instructions` runs it (`cargo test -p filter-host --test
//!   instructions -- …`) to print the table, with `--update-baseline` to record the baseline,
//!   with `--profile` to show where one request spends its instructions.
//!
//! It builds the modules itself (cargo, release, wasm32-wasip1), so it never counts a stale one.

#[allow(dead_code)]
#[path = "module/util.rs"]
mod util;

use std::process::ExitCode;

use filter_host::cost::{self, Baseline};

fn main() -> ExitCode {
    // Other arguments are cargo test's (`--nocapture`, filters, ...), meant for other targets.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let config = util::envoy_yaml_config();
    let rows = match util::rows(&config) {
        Ok(rows) => rows,
        Err(err) => {
            eprintln!("error: counting the instructions: {err:#}");
            return ExitCode::from(2);
        }
    };
    print!("{}", cost::table(&rows));
    if flag("--profile") {
        match cost::profile(util::filter(), config.as_bytes()) {
            Ok(profile) => eprint!("{profile}"),
            Err(err) => eprintln!("error: profiling: {err:#}"),
        }
    }
    let measured = Baseline::of(&rows);
    if flag("--update-baseline") {
        return match measured.write() {
            Ok(()) => {
                eprintln!("recorded the baseline in {}", Baseline::path().display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: {err:#}");
                ExitCode::from(2)
            }
        };
    }
    let recorded = match Baseline::read() {
        Ok(recorded) => recorded,
        Err(err) => {
            eprintln!(
                "error: {err:#}\n(record it with `cargo xtask bench --instructions --update-baseline`)"
            );
            return ExitCode::FAILURE;
        }
    };
    let regressions = recorded.regressions(&measured);
    if regressions.is_empty() {
        eprintln!(
            "instructions: this filter within {:.0}% of {}: {:?}",
            cost::TOLERANCE * 100.0,
            Baseline::path().display(),
            measured.counts
        );
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "FAILED: this filter executes more wasm instructions per request than recorded:\n  {}\n\
         EXPECTED at most {:.0}% over {}; GOT {:?}.\n\
         If the growth is wanted, re-record the baseline on purpose and say why in the commit:\n  \
         cargo xtask bench --instructions --update-baseline",
        regressions.join("\n  "),
        cost::TOLERANCE * 100.0,
        Baseline::path().display(),
        measured.counts
    );
    ExitCode::FAILURE
}
