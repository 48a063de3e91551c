//! How the benchmark's figures are shown: a table on the terminal and `BENCHMARKS.md`, with
//! the date, the machine, the versions and how the figures were measured.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::stats::Row;

/// The machine the figures come from: its cores, its CPU (`model name` in /proc/cpuinfo) and
/// its 1, 5 and 15 minute load averages now (/proc/loadavg: other work on the machine shows
/// there), as BENCHMARKS.md states them.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split_once(':')?.1.trim().to_string())
        })
        .unwrap_or_else(|| "(unknown CPU)".into());
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
        let (cpu, ratio) = (row.cpu_us, row.vs_empty);
        let _ = writeln!(
            out,
            "{:<28} {:>24} {:>22} {:>8.0} {:>8.0} {:>9.0}",
            row.variant.label,
            format!("{:.1} [{:.1}–{:.1}]", cpu.median, cpu.min, cpu.max),
            format!("{:.2}× [{:.2}–{:.2}]", ratio.median, ratio.min, ratio.max),
            row.p50_us.median,
            row.p99_us.median,
            row.rps.median
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
        let (cpu, ratio) = (row.cpu_us, row.vs_empty);
        let _ = writeln!(
            out,
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {} |",
            row.variant.label,
            cpu.median,
            cpu.min,
            cpu.max,
            ratio.median,
            ratio.min,
            ratio.max,
            row.p50_us.median,
            row.p99_us.median,
            row.rps.median,
            row.requests
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
