//! Building the filter for wasm32-wasip1 (alone, or with the benchmark's baselines) and
//! checking that a file is a wasm module before Envoy gets to say so less clearly; what the
//! in-process host is handed (the built modules and envoy.yaml's plugin configuration).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use envoy_model::bootstrap;
use filter_testing::handed_in::HandedIn;
use filter_testing::variants::Modules;

use crate::paths;
use crate::progress::Step;

/// The outcome of a build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The module.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Whether this build changed the file (false: it was up to date).
    pub rebuilt: bool,
}

/// The command that builds the module: the one every proxy-wasm user types. `filter` is a
/// cdylib-only crate (its pure core is `filter-core`), so the release profile's LTO applies.
pub const BUILD_COMMAND: &str = "cargo build --release --target wasm32-wasip1 --package filter";

/// Builds the module with [`BUILD_COMMAND`], quietly unless it fails.
pub fn build() -> Result<Built> {
    let path = paths::wasm();
    let modified = || std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let before = modified();
    let started = std::time::Instant::now();
    paths::cargo_quiet(BUILD_COMMAND, "the filter")?;
    let bytes = check_module(&path)?;
    let ms = started.elapsed().as_millis();
    log::debug!("{BUILD_COMMAND}: {bytes} bytes after {ms} ms");
    Ok(Built {
        rebuilt: modified() != before,
        path,
        bytes,
    })
}

/// [`build`] as a step of a command's progress: `✓ build    <path> <bytes> bytes`, e.g.
/// `target/wasm32-wasip1/release/filter.wasm 111931 bytes`, and `(up to date)` when the build
/// changed nothing.
pub fn build_step() -> Result<Built> {
    let step = Step::start("build", BUILD_COMMAND);
    let built = build()?;
    let fresh = if built.rebuilt { "" } else { " (up to date)" };
    let path = paths::relative(&built.path);
    step.done(&format!("{path} {} bytes{fresh}", built.bytes));
    Ok(built)
}

/// Builds the filter and the benchmark's two baselines with [`Modules::BUILD`], quietly unless
/// it fails; checks that each is a wasm module.
pub fn build_modules() -> Result<Modules> {
    paths::cargo_quiet(Modules::BUILD, "the filter and the benchmark baselines")?;
    let modules = Modules::in_release_dir(&release_dir());
    for path in [&modules.filter, &modules.empty, &modules.naive] {
        check_module(path)?;
    }
    Ok(modules)
}

/// Builds the modules and reads envoy.yaml's plugin configuration: what filter-host's tests
/// and cost program are handed.
pub fn handed_in() -> Result<HandedIn> {
    build_modules()?;
    let envoy_yaml = paths::envoy_yaml();
    let doc = bootstrap::load(&envoy_yaml)?;
    let filter = bootstrap::wasm_filter(&doc, &paths::relative(&envoy_yaml))?;
    Ok(HandedIn {
        modules_dir: release_dir(),
        plugin_config: filter.plugin_config,
    })
}

/// Where release builds for wasm32-wasip1 go.
fn release_dir() -> PathBuf {
    paths::target_dir().join("wasm32-wasip1/release")
}

/// Fails with a clear message unless `path` is a wasm module; returns its size.
pub fn check_module(path: &Path) -> Result<u64> {
    if let Some(problem) = envoy_model::module::problem(path) {
        bail!(
            "the wasm module {} {problem}: build it with `cargo xtask build` (cargo xtask run does)",
            path.display()
        );
    }
    Ok(std::fs::metadata(path)?.len())
}
