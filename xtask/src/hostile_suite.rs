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

pub use checks::Fate;
pub use filter_testing::hostile::*;
pub use suite::{Outcome, Suite};
pub use summary::{ByteFate, Failure, Summary};

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
    let fixed = if options.fixed {
        fixed::cases(&secrets, &extra, &query_extra)
    } else {
        Vec::new()
    };
    let total = fixed.len() + options.generated;
    // Generated cases are made one at a time: a large run never holds them all.
    let generated = generate::corpus(options.seed, &secrets, &secret_names).take(options.generated);

    let mut suite = Suite::new(&stack.envoy, config, secrets, options.seed)?;
    let mut probes_failed_in_a_row = 0;
    for (i, case) in fixed.into_iter().chain(generated).enumerate() {
        let outcome = suite
            .check(&case)
            .with_context(|| format!("sending request #{i} ({})", case.label))?;
        probes_failed_in_a_row = if outcome.probe_passed {
            0
        } else {
            probes_failed_in_a_row + 1
        };
        if probes_failed_in_a_row == STOP_AFTER_FAILED_PROBES {
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
            note_fixed(&mut suite.summary, &case, &outcome);
        }
        if options.progress && (i + 1) % 1000 == 0 {
            let failures = suite.summary.failures.len();
            eprintln!("  … {} of {total} requests, {failures} failures", i + 1);
        }
    }
    suite.finish(&mut stack.envoy)
}

/// Notes what happened to a fixed case for the tables: a byte case's fate, or another's
/// with the filter's line for its first header.
fn note_fixed(summary: &mut Summary, case: &Case, outcome: &Outcome) {
    let first = case.headers.first();
    let lines = &outcome.request_lines;
    let logged = first.and_then(|h| lines.iter().find(|(n, _)| *n == h.lower_name()));
    let hex = case.label.strip_prefix("fixed bytes: byte 0x");
    let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) else {
        let logged = logged.map(|(n, v)| format!("{n}: {v}"));
        return summary.note_fixed(&case.label, &outcome.fate, logged);
    };
    // The value sent, `a<byte>b`, escaped as documented.
    let as_sent = first.map(|h| reference::escape(&h.value));
    let fate = match outcome.fate {
        Fate::Refused(status) => ByteFate::Refused(status),
        Fate::Other(_) => ByteFate::Other,
        Fate::Reached(_) if logged.map(|(_, v)| v) == as_sent.as_ref() => ByteFate::AsSent,
        Fate::Reached(_) => ByteFate::Changed,
    };
    summary.bytes.insert(byte, fate);
}
