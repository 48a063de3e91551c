//! The hostile suite, shared by `cargo xtask hostile`, `cargo xtask matrix` and the tests:
//! hostile requests through the real Envoy and the built filter to the real httpbin, written
//! byte by byte on raw sockets, and the checks that the filter survives them, escapes,
//! redacts and cuts as documented, and never forges a log line.
//!
//! [`fixed`] and [`generate`] make the cases, [`suite::Suite`] sends each with a probe after
//! it and checks the log ([`checks`], [`reference`](mod@reference)), and
//! [`summary::Summary`] holds the figures and the failures.

pub mod checks;
pub mod suite;
pub mod summary;

use anyhow::{Context, Result};
use envoy_model::plugin_settings::PluginSettings;

pub use checks::{Fate, Outcome};
pub use filter_testing::hostile::*;
pub use suite::Suite;
pub use summary::{Failure, Summary};

use crate::stack::Stack;

/// A run stops after this many normal requests in a row failed (the filter is down).
pub const STOP_AFTER_FAILED_PROBES: usize = 5;

/// What a run sends.
#[derive(Debug, Clone)]
pub struct Options {
    /// Generated requests after the fixed cases.
    pub generated: usize,
    /// The generator's seed.
    pub seed: u64,
    /// Send the fixed cases first.
    pub fixed: bool,
    /// Print a line every 1,000 requests.
    pub progress: bool,
}

/// Runs the fixed cases (if asked) and `options.generated` generated ones against `stack`,
/// whose Envoy runs the filter with `config`; stops Envoy at the end to check its whole log.
pub fn run_suite(stack: &mut Stack, config: &PluginSettings, options: &Options) -> Result<Summary> {
    let secrets = Secrets::random();
    let except = |names: &[String], left_out: &[&str]| -> Vec<String> {
        let kept = |n: &&String| !left_out.iter().any(|l| l.eq_ignore_ascii_case(n));
        names.iter().filter(kept).cloned().collect()
    };
    // The configured redacted names beyond the always redacted ones; and the names the
    // generator puts secrets in (set-cookie comes from httpbin's responses instead).
    let extra = except(&config.redact_headers, &ALWAYS_REDACTED);
    let secret_names = except(&config.redact_headers, &["set-cookie"]);
    let query_extra = except(&config.redact_query_params, &ALWAYS_REDACTED_QUERY);
    let fixed_cases = || fixed::cases(&secrets, &extra, &query_extra);
    let fixed = options.fixed.then(fixed_cases);
    let total = fixed.as_ref().map_or(0, Vec::len) + options.generated;
    // Generated cases are made one at a time: a large run never holds them all.
    let generated = generate::corpus(options.seed, &secrets, &secret_names).take(options.generated);

    let mut suite = Suite::new(&stack.envoy, config, secrets, options.seed)?;
    // Normal requests failed in a row.
    let mut failing = 0;
    for (i, case) in fixed.into_iter().flatten().chain(generated).enumerate() {
        let outcome = suite
            .check(&case)
            .with_context(|| format!("sending request #{i} ({})", case.label))?;
        failing = if outcome.probe_passed { 0 } else { failing + 1 };
        if failing == STOP_AFTER_FAILED_PROBES {
            let got = format!(
                "the last {STOP_AFTER_FAILED_PROBES} normal requests failed: the filter is down \
                 (after a trap, FAIL_CLOSED answers 503 to everything); stopped here"
            );
            let expected = "normal requests pass between the hostile ones";
            let problem = checks::problem(expected, got, &[]);
            let request = format!("#{i} {}", case.label);
            suite.summary.fail(request, None, problem);
            break;
        }
        if case.label.starts_with("fixed ") {
            suite.summary.note_fixed(&case, &outcome);
        }
        if options.progress && (i + 1) % 1000 == 0 {
            let failures = suite.summary.failures.len();
            eprintln!("  … {} of {total} requests, {failures} failures", i + 1);
        }
    }
    suite.finish(&mut stack.envoy)
}
