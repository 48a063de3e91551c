//! `cargo xtask run`: the native loop. Build the filter, start httpbin and Envoy with
//! (a loopback copy of) envoy.yaml, run the smoke checks, print the report, stop
//! everything. `--watch` repeats it whenever `filter/` or `envoy.yaml` changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;

use crate::envoy_versions::{self, EnvoyChoice, NoWasmRuntime};
use crate::paths::{self, relative};
use crate::progress::{Step, since_command_started};
use crate::stack::{Httpbin, Stack, StackSpec};
use crate::tools::Tools;
use crate::{smoke_program, wasm};
use envoy_model::{bootstrap, figures::seconds};

/// What `cargo xtask run` was asked to do.
#[derive(Debug, Clone, clap::Args)]
pub struct RunOptions {
    /// Envoy's listener port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 10000)]
    pub port: u16,
    /// Envoy's admin port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 9901)]
    pub admin_port: u16,
    /// Keep going: rebuild, restart Envoy and re-check on every change under filter/ or to
    /// envoy.yaml, until Ctrl-C, which exits with the code of the last report.
    #[arg(long)]
    pub watch: bool,
    /// Print the smoke report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Derive from this Envoy bootstrap instead of the repository's envoy.yaml (to try a
    /// variant without editing the original).
    #[arg(long, value_name = "FILE")]
    pub envoy_config: Option<PathBuf>,
    /// Where the derived config and the logs go [default: target/xtask/run].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    #[command(flatten)]
    pub envoy: EnvoyChoice,
}

impl RunOptions {
    /// The Envoy bootstrap to derive from: `--envoy-config`, else envoy.yaml.
    fn envoy_yaml(&self) -> PathBuf {
        self.envoy_config.clone().unwrap_or_else(paths::envoy_yaml)
    }
}

/// The outcome, as an exit code: 0 all checks passed, 1 a check failed, 2 could not run.
/// With `--watch` it runs until Ctrl-C, which exits with the code of the last report (130
/// before the first one).
pub fn run(options: &RunOptions) -> Result<i32> {
    let started = Instant::now();
    let tools = envoy_versions::tools(&options.envoy)?;
    let mut stack = None;
    let (code, rebuilt) = check(&tools, &mut stack, options)?;
    eprintln!(
        "loop: {} from command to report (filter {})",
        seconds(since_command_started(started.elapsed())),
        if rebuilt { "rebuilt" } else { "up to date" }
    );
    if !options.watch {
        return Ok(code);
    }

    crate::procs::exit_on_interrupt_with(code);
    eprintln!("watching filter/ and envoy.yaml; Ctrl-C stops (exit code: the last report's)");
    let mut seen = latest_change(options);
    loop {
        let changed = || Ok(latest_change(options) > seen);
        crate::procs::poll(Duration::MAX, Duration::from_millis(300), changed)?;
        seen = latest_change(options);
        let started = Instant::now();
        let (code, _) = check(&tools, &mut stack, options).unwrap_or_else(|err| {
            eprintln!("✗ {err:#}");
            (2, false)
        });
        crate::procs::exit_on_interrupt_with(code);
        let took = seconds(started.elapsed());
        eprintln!("loop: {took} from change to report; watching");
    }
}

/// One round: build the filter and the smoke program, start httpbin and Envoy (or, in watch
/// mode, restart Envoy), run the smoke checks, which print the report. The exit code, and
/// whether the filter was rebuilt. A failed run whose cause is a build without a Wasm runtime
/// (the filter skipped under FAIL_OPEN) is that error instead (exit 2). The module builds on a
/// second thread while this one builds the smoke program, checks the plugin configuration (a
/// bad one stops the run before httpbin or Envoy starts) and starts httpbin, which does not
/// need the module: the edit-to-report loop is that much shorter.
fn check(tools: &Tools, stack: &mut Option<Stack>, options: &RunOptions) -> Result<(i32, bool)> {
    let envoy_yaml = options.envoy_yaml();
    // One read of the bootstrap, with the options' ports and work directory.
    let mut spec = StackSpec::new("run", bootstrap::load(&envoy_yaml)?, paths::wasm());
    if let Some(dir) = &options.work_dir {
        spec.dir = std::path::absolute(dir)?;
    }
    (spec.listener_port, spec.admin_port) = (options.port, options.admin_port);
    let (built, smoke, httpbin, version) = std::thread::scope(|scope| {
        let building = scope.spawn(wasm::build_step);
        let smoke = smoke_program::build().and_then(|program| {
            smoke_program::plugin_settings(&program, &envoy_yaml).map(|_| program)
        });
        // On this thread: the child's parent-death signal is tied to the thread that spawns it.
        let start_httpbin = stack.is_none() && smoke.is_ok();
        let httpbin = start_httpbin.then(|| Httpbin::start(tools, &spec.dir, 1));
        let version = tools.envoy_version(); // `envoy --version`, asked while the filter builds
        let built = building.join().expect("the filter's build panicked");
        (built, smoke, httpbin, version)
    });
    let (built, smoke) = (built?, smoke?);
    let stack = match (stack, httpbin) {
        (Some(stack), _) => {
            let step = Step::start("restart", &format!("Envoy {version}"));
            stack.restart_envoy(&spec)?;
            step.done(&format!("Envoy {version} {}", stack.envoy.url()));
            stack
        }
        (stack, httpbin) => {
            let step = Step::start("start", &format!("Envoy {version} (httpbin started)"));
            let httpbin = httpbin.unwrap_or_else(|| Httpbin::start(tools, &spec.dir, 1))?;
            let stack = stack.insert(Stack::around(httpbin, tools, &spec)?);
            step.done(&format!(
                "httpbin {}, Envoy {version} {} (admin {}, log {})",
                stack.httpbin.addr,
                stack.envoy.url(),
                stack.envoy.admin_url(),
                relative(stack.envoy.log())
            ));
            stack
        }
    };
    let format = if options.json { "json" } else { "text" };
    let code = stack.smoke_target().run(&smoke, format)?;
    match (code == 1).then(|| stack.failure(&"a smoke check failed")) {
        Some(no_runtime) if no_runtime.is::<NoWasmRuntime>() => Err(no_runtime),
        _ => Ok((code, built.rebuilt)),
    }
}

/// The newest modification time of the files under filter/ (sources, manifest) and of the
/// Envoy config.
fn latest_change(options: &RunOptions) -> SystemTime {
    newest(&paths::root().join("filter")).max(newest(&options.envoy_yaml()))
}

/// The newest modification time of `path`, or of the files under it when it is a directory.
fn newest(path: &Path) -> SystemTime {
    let newest = match std::fs::read_dir(path) {
        Ok(entries) => entries.flatten().map(|e| newest(&e.path())).max(),
        Err(_) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
    };
    newest.unwrap_or(SystemTime::UNIX_EPOCH)
}
