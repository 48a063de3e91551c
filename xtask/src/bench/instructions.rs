//! `cargo xtask bench --instructions`: the wasm instructions each variant executes per request,
//! counted in-process by wasmtime (filter/host, its cost program `examples/cost.rs`), so the
//! same on every run; printed, and written into BENCHMARKS.md beside Envoy's CPU table. With
//! `--update-baseline` it also records this filter's counts in `filter/host/instructions.baseline`,
//! which a test compares with; with `--profile`, where one request of this filter spends them.
//!
//! wasmtime is never compiled into `xtask`: this builds the modules, hands them to the cost
//! program with envoy.yaml's plugin configuration, and runs it with cargo, without
//! `--package`: the workspace's features are then unified as in `cargo xtask test`, which
//! has built the program already (`--package filter-host` unifies fewer and compiles wasmtime
//! again: 10 minutes on this machine).

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::progress::Step;
use crate::{paths, wasm};

/// The heading of the section in BENCHMARKS.md.
pub const HEADING: &str = "## Wasm instructions per request";

/// The command that runs the cost program.
const COST: &str = "cargo run --quiet --example cost";

/// Builds the modules, counts, prints the table; writes it into `output` (BENCHMARKS.md).
pub fn run(update_baseline: bool, profile: bool, output: &Path) -> Result<i32> {
    let handed_in = wasm::handed_in()?;
    let what = format!("{COST} (its first build compiles wasmtime: minutes)");
    let step = Step::start("count", &what);
    let out = paths::cargo()
        .args(COST.split(' ').skip(1))
        .arg("--")
        .args(update_baseline.then_some("--update-baseline"))
        .args(profile.then_some("--profile"))
        .envs(handed_in.env())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {COST}"))?;
    let table = String::from_utf8(out.stdout).context("the table is not UTF-8")?;
    if table.trim().is_empty() {
        bail!("counting the instructions failed ({COST}): {}", out.status);
    }
    step.done("");
    println!("{table}");

    let doc = std::fs::read_to_string(output).unwrap_or_default();
    super::write_output(output, &splice(&doc, &section(&table)))?;
    eprintln!("wrote the table into {}", paths::relative(output));
    // 1: this filter grew over the baseline (the program said how much).
    Ok(if out.status.success() { 0 } else { 1 })
}

/// The section of BENCHMARKS.md around `table`.
pub fn section(table: &str) -> String {
    include_str!("instructions.md").replace("{table}", table)
}

/// `doc` with its instructions section replaced by `section`, or `section` inserted before
/// the goals (after Envoy's CPU table), or appended.
pub fn splice(doc: &str, section: &str) -> String {
    let section = format!("{}\n\n", section.trim_end());
    let place = bounds(doc).or_else(|| doc.find("## Goals").map(|goals| (goals, goals)));
    let spliced = match place {
        Some((start, end)) => format!("{}{section}{}", &doc[..start], &doc[end..]),
        None if doc.trim().is_empty() => format!("# Benchmarks\n\n{section}"),
        None => format!("{}\n\n{section}", doc.trim_end()),
    };
    format!("{}\n", spliced.trim_end())
}

/// The instructions section of `doc`, if it has one (`cargo xtask bench` keeps it).
pub fn existing(doc: &str) -> Option<&str> {
    bounds(doc).map(|(start, end)| &doc[start..end])
}

/// Where the instructions section of `doc` starts, and where the next section does.
fn bounds(doc: &str) -> Option<(usize, usize)> {
    let start = doc.find(HEADING)?;
    let next = doc[start..].find("\n## ");
    Some((start, next.map_or(doc.len(), |i| start + i + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Benchmarks\n\n## Envoy's CPU\n\n| a |\n\n## Goals (issue 5)\n\n- PASS\n";

    #[test]
    fn inserted_before_the_goals_then_replaced_in_place() {
        let once = splice(DOC, &section("| t1 |\n"));
        assert!(
            once.find("| t1 |").unwrap() < once.find("## Goals").unwrap(),
            "{once}"
        );
        assert!(once.find("## Envoy's CPU").unwrap() < once.find(HEADING).unwrap());
        let twice = splice(&once, &section("| t2 |\n"));
        assert!(
            !twice.contains("| t1 |") && twice.contains("| t2 |"),
            "{twice}"
        );
        assert_eq!(twice.matches(HEADING).count(), 1);
        assert_eq!(splice(&twice, &section("| t2 |\n")), twice);
        assert_eq!(
            existing(&twice).unwrap(),
            section("| t2 |\n").trim_end().to_string() + "\n\n"
        );
    }

    #[test]
    fn a_missing_file_gets_a_document() {
        let doc = splice("", &section("| t |\n"));
        assert!(doc.starts_with("# Benchmarks\n\n## Wasm"), "{doc}");
        assert!(existing("# B\n").is_none());
    }

    #[test]
    fn a_last_section_is_replaced_too() {
        let doc = format!("# B\n\n{}", section("| t1 |\n"));
        let again = splice(&doc, &section("| t2 |\n"));
        assert_eq!(again, format!("# B\n\n{}", section("| t2 |\n")));
    }
}
