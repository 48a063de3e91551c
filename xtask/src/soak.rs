//! `cargo xtask soak`: many requests through Envoy with the filter (wasm logging at info),
//! and the same through Envoy without it, in one run: errors, Envoy's resident memory after
//! warm-up and at the end, requests per second, and whether every request was logged.
//!
//! Envoy answers from a `direct_response` route by default: the Python httpbin tops out at
//! a small fraction of Envoy's rate on a small machine, so it would set both rates and
//! hide the filter's cost. `--upstream httpbin` sends the load on to the real httpbin.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, ensure};

use envoy_model::bootstrap;
use envoy_model::envoy_log::EnvoyLine;

use crate::envoy_versions::{self, EnvoyChoice};
use crate::load::{self, LoadResult, Wrk};
use crate::progress::Step;
use crate::stack::{Httpbin, StackSpec, start_envoy};
use crate::{paths, wasm};
use envoy_model::figures::seconds;

/// Envoy's resident memory may grow at most this much (percent) after warm-up.
pub const MAX_GROWTH_PERCENT: f64 = 5.0;

/// What Envoy sends the requests to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Upstream {
    /// A `direct_response` route: Envoy answers 200 itself (only Envoy and the filter work).
    Direct,
    /// The real httpbin (`/get`), under gunicorn.
    Httpbin,
}

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Requests after warm-up, for each of the two Envoys (at least this many are sent).
    #[arg(long, default_value_t = 100_000)]
    pub requests: u64,
    /// Concurrent connections (each with one request in flight).
    #[arg(long, default_value_t = 8)]
    pub concurrency: u32,
    /// Seconds of warm-up load before the memory baseline is taken.
    #[arg(long, default_value_t = 3)]
    pub warmup: u64,
    /// Where Envoy sends the requests.
    #[arg(long, value_enum, default_value_t = Upstream::Direct)]
    pub upstream: Upstream,
    #[command(flatten)]
    pub envoy: EnvoyChoice,
}

/// The figures of one Envoy.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `this filter, wasm:info` or `no wasm filter`.
    pub label: &'static str,
    /// The load after warm-up, as wrk counted it, its runs added up ([`LoadResult::add`]): the
    /// requests answered, requests per second (no latency percentiles: they don't add up).
    pub load: LoadResult,
    /// Requests answered, warm-up included.
    pub total_requests: u64,
    /// Responses that were not 2xx, socket errors and timeouts, warm-up included.
    pub failures: u64,
    /// Envoy's resident memory after warm-up, bytes.
    pub rss_after_warmup: u64,
    /// The largest resident memory seen during the load, bytes.
    pub rss_peak: u64,
    /// Envoy's resident memory at the end, bytes.
    pub rss_end: u64,
    /// `<id> finished` lines logged after warm-up (none without the filter).
    pub finished_lines: u64,
    /// Envoy's `[error]` and `[critical]` lines after warm-up.
    pub error_lines: u64,
}

impl Outcome {
    /// Growth of resident memory from after warm-up to the end, percent.
    pub fn growth_percent(&self) -> f64 {
        (self.rss_end as f64 - self.rss_after_warmup as f64) * 100.0
            / (self.rss_after_warmup as f64).max(1.0)
    }
}

/// The soak's figures: with the filter, and without.
#[derive(Debug, Clone)]
pub struct Report {
    /// The Envoy version both ran (`envoy --version`).
    pub envoy: String,
    /// Envoy with the filter, wasm logging at info.
    pub filter: Outcome,
    /// Envoy without a wasm filter.
    pub bare: Outcome,
}

impl Report {
    /// Each check with whether it passed: `(passed, line)`.
    pub fn checks(&self) -> Vec<(bool, String)> {
        let f = &self.filter;
        let answered = |o: &Outcome| {
            let (label, failures, sent) = (o.label, o.failures, o.total_requests);
            let line = format!("{label}: {failures} non-2xx or failed of {sent} requests (goal 0)");
            (failures == 0, line)
        };
        let (label, growth) = (f.label, f.growth_percent());
        let [after, end, peak] = [f.rss_after_warmup, f.rss_end, f.rss_peak].map(mib);
        let memory = format!(
            "{label}: Envoy's memory {after} after warm-up, {end} at the end ({growth:+.2}%; peak {peak}; goal under {MAX_GROWTH_PERCENT}%)"
        );
        let (finished, requests, errors) = (f.finished_lines, f.load.requests, f.error_lines);
        let logged = format!(
            "{label}: {finished} `finished` lines logged for {requests} requests answered (each stream logs one)"
        );
        let errors_logged = format!("{label}: {errors} error or critical lines in Envoy's log");
        vec![
            answered(f),
            answered(&self.bare),
            (growth < MAX_GROWTH_PERCENT, memory),
            (finished >= requests, logged),
            (errors == 0, errors_logged),
        ]
    }

    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks().iter().all(|(ok, _)| *ok)
    }
}

/// Runs the command: prints the figures; exit 1 when a check failed.
pub fn run(args: &Args) -> Result<i32> {
    let started = Instant::now();
    let report = soak(args)?;
    println!("{}", render(&report, args));
    eprintln!("soak: {} in all", seconds(started.elapsed()));
    Ok(if report.passed() { 0 } else { 1 })
}

/// Runs the soak and returns its figures (the checks are the caller's to judge).
pub fn soak(args: &Args) -> Result<Report> {
    let scratch = paths::work_dir("soak");
    let wrk = Wrk::find(&scratch)?;
    let tools = envoy_versions::tools(&args.envoy)?;
    let built = wasm::build_step()?;
    let doc = bootstrap::load(&paths::envoy_yaml())?;
    let (httpbin, path, doc) = match args.upstream {
        Upstream::Direct => (None, "/soak", bootstrap::direct_response(&doc)?),
        Upstream::Httpbin => {
            let step = Step::start("httpbin", "gunicorn, 4 workers");
            let httpbin = Httpbin::start(&tools, &scratch, 4)?;
            step.done(&format!("httpbin {}", httpbin.addr));
            (Some(httpbin), "/get", doc)
        }
    };
    let upstream_port = httpbin.as_ref().map(|httpbin| httpbin.addr.port());
    let soak_with = |name: &str, wasm: Option<&Path>, label| -> Result<Outcome> {
        let doc = match wasm {
            Some(_) => doc.clone(),
            None => bootstrap::without_wasm(&doc)?,
        };
        // StackSpec::new: one worker, wasm logging at info.
        let spec = StackSpec::new(&format!("soak/{name}"), doc, wasm.map(Into::into));
        let mut envoy = start_envoy(&tools, &spec, upstream_port)?;
        // Warm-up, memory baseline, then load on `path` until `args.requests` are answered.
        let (pid, log) = (envoy.pid(), envoy.log().to_path_buf());
        let step = Step::start("warm-up", &format!("{label}: {} s", args.warmup));
        let warm = wrk.run(&mut envoy, path, args.concurrency, args.warmup, || Ok(()))?;
        step.done(&format!("{label}: {} requests", warm.requests));
        envoy.truncate_logs()?;
        let rss_after_warmup = load::rss_bytes(pid)?;
        let mut rss_peak = rss_after_warmup;
        let mut rate = warm.rps().max(100.0);
        let mut done = LoadResult::default();
        let step = Step::start("soak", &format!("{label}: {} requests", args.requests));
        while done.requests < args.requests {
            let remaining = (args.requests - done.requests) as f64;
            // The rate after warm-up may differ from the warm-up's (httpbin's does): the first
            // run aims at half, later ones a little short, and a last short run tops up.
            let aim = if done.requests == 0 { 0.5 } else { 0.95 };
            let secs = (remaining / rate * aim).round().clamp(1.0, 600.0) as u64;
            let sample = || {
                rss_peak = rss_peak.max(load::rss_bytes(pid)?);
                Ok(())
            };
            let chunk = wrk.run(&mut envoy, path, args.concurrency, secs, sample);
            let chunk = chunk.with_context(|| label)?;
            ensure!(
                chunk.requests > 0,
                "{label}: no request answered in {secs} s (Envoy's log: {})",
                log.display()
            );
            rate = chunk.rps();
            done.add(&chunk);
        }
        let rss_end = load::rss_bytes(pid)?;
        let (requests, rps) = (done.requests, done.rps());
        let summary = format!("{label}: {requests} requests, {rps:.0} requests/s");
        step.done(&summary);
        envoy.stop();
        let (finished_lines, error_lines) = scan_log(&log)?;
        Ok(Outcome {
            label,
            total_requests: warm.requests + done.requests,
            failures: warm.failures() + done.failures(),
            load: done,
            rss_after_warmup,
            rss_peak: rss_peak.max(rss_end),
            rss_end,
            finished_lines,
            error_lines,
        })
    };
    Ok(Report {
        filter: soak_with("filter", Some(&built.path), "this filter, wasm:info")?,
        bare: soak_with("bare", None, "no wasm filter")?,
        envoy: tools.envoy_version().to_string(),
    })
}

/// Counts the filter's `<id> finished` lines and Envoy's error and critical lines.
fn scan_log(log: &Path) -> Result<(u64, u64)> {
    let file = std::fs::File::open(log).with_context(|| format!("opening {}", log.display()))?;
    let (mut finished, mut errors) = (0, 0);
    for line in BufReader::with_capacity(1 << 20, file).split(b'\n') {
        match EnvoyLine::parse(&line?) {
            Some(line) if line.is_error() => errors += 1,
            Some(line) if line.is_wasm_log() && line.rest.ends_with(b" finished") => finished += 1,
            _ => {}
        }
    }
    Ok((finished, errors))
}

/// `51.2 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The figures and the checks, for the terminal.
pub fn render(report: &Report, args: &Args) -> String {
    let upstream = match args.upstream {
        Upstream::Direct => "Envoy answers itself (direct_response)",
        Upstream::Httpbin => "Envoy proxies to httpbin",
    };
    let (envoy, requests, warmup) = (&report.envoy, args.requests, args.warmup);
    let connections = args.concurrency;
    let mut out = format!(
        "soak: Envoy {envoy}, at least {requests} requests per Envoy after {warmup} s warm-up, \
         {connections} connections, {upstream}\n\
         {:<24} {:>9} {:>8} {:>11} {:>16} {:>10} {:>10} {:>8}\n",
        "", "requests", "failed", "requests/s", "RSS after warm-up", "peak", "end", "growth"
    );
    for o in [&report.filter, &report.bare] {
        let (label, requests, failures, rps) = (o.label, o.load.requests, o.failures, o.load.rps());
        let [after, peak, end] = [o.rss_after_warmup, o.rss_peak, o.rss_end].map(mib);
        let growth = o.growth_percent();
        out += &format!(
            "{label:<24} {requests:>9} {failures:>8} {rps:>11.0} {after:>16} {peak:>10} {end:>10} {growth:>+7.2}%\n"
        );
    }
    let ratio = report.filter.load.rps() / report.bare.load.rps().max(1e-9);
    out += &format!("requests/s with the filter: {ratio:.2}× those without\n");
    let checks = report.checks();
    for (ok, line) in &checks {
        out += &format!("{} {line}\n", if *ok { "✓" } else { "✗" });
    }
    let passed = checks.iter().filter(|(ok, _)| *ok).count();
    let failed = checks.len() - passed;
    let verdict = if failed == 0 { "PASSED" } else { "FAILED" };
    out += &format!("{verdict}: {passed} passed, {failed} failed");
    out
}
