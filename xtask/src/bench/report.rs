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
    for goal in goals {
        let _ = writeln!(out, "{}", goal);
    }
    out
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
    out.push_str("\n## Goals\n\n");
    for goal in goals {
        let _ = writeln!(out, "- {}", goal);
    }
    let _ = write!(
        out,
        "\n## Machine and versions\n\n| | |\n|---|---|\n| date | {date} |\n{facts}\n\
         ## How it is measured\n\n{METHOD}"
    );
    out
}

/// The method, as BENCHMARKS.md explains it.
const METHOD: &str = "\
- Every variant is the repository's `envoy.yaml`, derived by program: loopback ports, and \
the route replaced by a `direct_response` (200, `ok`) with the cluster removed, so no \
upstream runs and only Envoy and the filter are measured. The access log (Envoy's stdout) \
stays on in every variant. Envoy's log and its access log go to files on local disk, emptied \
before each measurement; at `wasm:info` the log holds the filter's header lines, which are \
part of the cost.
- The variants: no wasm filter; `filter/examples/bench_empty.rs`, a proxy-wasm filter that \
does nothing (the floor any wasm filter pays); this filter with Envoy's `wasm` logger at \
`info` and at `warning` (Istio's default); and `filter/examples/bench_naive.rs`, which sets \
and adds the same headers and logs the same lines the simplest way (the SDK's `String` \
getters, `format!`-style arguments, the `log` crate, like the SDK's `http_headers` \
example), at `info` and at `warning`. All run in the same V8 VM configuration with the \
same plugin configuration, built with the workspace's release profile.
- All Envoys run side by side for the whole run. Each round measures every variant once, \
in an order rotated from round to round; each measurement follows a warm-up on the same \
Envoy.
- CPU per request: Envoy's user + system CPU time (all threads, `/proc/<pid>/stat`, clock \
ticks) over the measured load, divided by the responses wrk counted. Envoy and wrk share \
the machine's cores; nothing is pinned. \"× empty filter\" is the ratio to the empty filter \
in the same round (median, min and max over the rounds), and the goals use those ratios. \
The empty filter edits no headers: at `warning`, this filter's ratio includes setting \
`test: best` and adding `x-wasm-header`, which it does at every log level.
- Latency: wrk's p50 and p99 with a closed loop of N connections, each with one request in \
flight, as fast as Envoy answers: Envoy is saturated, so latency is mostly queueing and \
moves with CPU per request.
- Every response must be a 2xx, or the run fails. The goals are reported, never enforced: \
machines are noisy (other work shows in the load average above, and in the min–max \
spread); compare ratios from one run, not figures across machines.
";

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
