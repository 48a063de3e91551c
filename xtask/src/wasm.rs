//! Building the filter for wasm32-wasip1 and checking that a file is a wasm module
//! before Envoy gets to say so less clearly.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::paths;

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
    let before = modified(&path);
    let started = std::time::Instant::now();
    let out = paths::cargo()
        .args(BUILD_COMMAND.split(' ').skip(1))
        .arg("--quiet")
        .output()
        .context("running cargo to build the filter")?;
    if !out.status.success() {
        bail!(
            "building the filter failed ({BUILD_COMMAND}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bytes = check_module(&path)?;
    log::debug!(
        "{BUILD_COMMAND}: {bytes} bytes after {} ms",
        started.elapsed().as_millis()
    );
    Ok(Built {
        rebuilt: modified(&path) != before,
        path,
        bytes,
    })
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

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
