//! Writing a benchmark's output file (BENCHMARKS.md or the `--output` path).

use std::path::Path;

use anyhow::{Context as _, Result};

/// Writes `text` to `path`, creating its directory.
pub(super) fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
