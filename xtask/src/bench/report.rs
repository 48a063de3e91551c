//! How the benchmark's figures are shown: a table on the terminal and `BENCHMARKS.md`, with
//! the date, the machine, the versions and how the figures were measured.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::stats::{Row, Spread};

/// The machine the figures come from: its cores, its CPU (`model name` in /proc/cpuinfo) and
/// its 1, 5 and 15 minute load averages now (/proc/loadavg: other work on the machine shows
/// there), as BENCHMARKS.md states them.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let mut lines = cpuinfo.lines();
    let model = lines.find_map(|l| l.strip_prefix("model name")?.split_once(':'));
    let cpu = model.map_or("(unknown CPU)", |(_, name)| name.trim());
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "(unknown)".into());
    format!("{cores} cores, {cpu}, Linux; load average {load} when the run started")
}

/// The table for the terminal.
pub fn terminal_table(rows: &[Row], goals: &[String]) -> String {
    let mut out = format!(
        "{:<28} {:>24} {:>22} {:>8} {:>8} {:>9}\n",
        "variant", "CPU µs/request [min–max]", "× empty [min–max]", "p50 µs", "p99 µs", "req/s"
    );
    for row in rows {
        let Spread { median, min, max } = row.cpu_us;
        let cpu = format!("{median:.1} [{min:.1}–{max:.1}]");
        let Spread { median, min, max } = row.vs_empty;
        let ratio = format!("{median:.2}× [{min:.2}–{max:.2}]");
        let (p50, p99, rps) = (row.p50_us.median, row.p99_us.median, row.rps.median);
        let label = row.variant.label;
        let _ = writeln!(
            out,
            "{label:<28} {cpu:>24} {ratio:>22} {p50:>8.0} {p99:>8.0} {rps:>9.0}"
        );
    }
    out + &goals.join("\n") + "\n"
}

/// `BENCHMARKS.md`, written by `command` on `date`; `facts` are the rows of its table of the
/// machine and versions, after the date.
pub fn markdown(command: &str, date: &str, rows: &[Row], goals: &[String], facts: &str) -> String {
    let mut out = format!(
        "# Benchmarks\n\n\
         Written by `{command}` on {date}; run it again to refresh (do not edit by hand).\n\n\
         ## Envoy's CPU per request and latency\n\n\
         | variant | CPU µs/request (median) | min | max | × empty filter (median) | min | max \
         | p50 latency µs | p99 latency µs | requests/s | requests measured |\n\
         |---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    );
    for row in rows {
        let Spread { median, min, max } = row.cpu_us;
        let cpu = format!("{median:.1} | {min:.1} | {max:.1}");
        let Spread { median, min, max } = row.vs_empty;
        let ratio = format!("{median:.2} | {min:.2} | {max:.2}");
        let (p50, p99, rps) = (row.p50_us.median, row.p99_us.median, row.rps.median);
        let (label, requests) = (row.variant.label, row.requests);
        let _ = writeln!(
            out,
            "| {label} | {cpu} | {ratio} | {p50:.0} | {p99:.0} | {rps:.0} | {requests} |"
        );
    }
    let goals = goals.join("\n- ");
    out + &format!(
        "\n## Goals\n\n- {goals}\n\n\
         ## Machine and versions\n\n| | |\n|---|---|\n| date | {date} |\n{facts}\n\
         ## How it is measured\n\n{METHOD}"
    )
}

/// The method, as BENCHMARKS.md explains it.
const METHOD: &str = include_str!("method.md");

/// A time as `YYYY-MM-DD HH:MM UTC`.
pub fn format_utc(time: SystemTime) -> String {
    let rfc3339 = humantime::format_rfc3339_seconds(time).to_string();
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_utc() {
        let at = |secs| format_utc(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        // 2024-02-29 12:34:56 UTC: a leap day.
        assert_eq!(at(1_709_210_096), "2024-02-29 12:34 UTC");
        assert_eq!(at(1_735_689_599), "2024-12-31 23:59 UTC");
    }
}
