//! The engine's stand-in images: their tag prefix and recipe label, reading an image's id and
//! recipe hash, and building one from a context (shared by the stand-ins and their base).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::compose::scratch::ScratchDir;
use crate::procs::docker;
use crate::procs::{run_logged, unique_suffix};

/// The repository part of every stand-in's tag.
pub const PREFIX: &str = "http-headers-standin";
/// The label holding a stand-in's recipe hash.
pub(super) const RECIPE_LABEL: &str = "http-headers-standin.recipe";

/// The image's id, if the engine has it.
pub fn image_id(image: &str) -> Option<String> {
    inspect(image, "{{.Id}}")
}

/// The recipe hash in a stand-in's label, if the engine has the image.
pub(super) fn recipe_of(tag: &str) -> Option<String> {
    let format = format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}");
    inspect(tag, &format)
}

/// `docker image inspect --format <format> <image>`, if the engine has the image.
fn inspect(image: &str, format: &str) -> Option<String> {
    let args = ["image", "inspect", "--format", format, image];
    let out = docker(&args, Duration::from_secs(30)).ok()?;
    Some(out.trim().to_string())
}

/// Hashes the recipe's inputs: file contents and extra strings. `DefaultHasher` is fixed for
/// a given Rust release (the toolchain is pinned); a different one only means a rebuild.
pub(super) fn recipe_key(files: &[PathBuf], extra: &[String]) -> Result<String> {
    let mut hasher = DefaultHasher::new();
    for file in files {
        std::fs::read(file)
            .with_context(|| format!("reading {}", file.display()))?
            .hash(&mut hasher);
    }
    extra.hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

/// A scratch directory for making `tag` (its build context), removed when dropped.
pub(super) fn work_dir(tag: &str) -> Result<ScratchDir> {
    let name = format!("{}-{}", tag.replace(['/', ':'], "-"), unique_suffix());
    ScratchDir::new(std::env::temp_dir().join(name), false)
}

/// Copies `from` to `to` (into a build context).
pub(super) fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// `docker build` of `tag`, with the build `args`, from a context that `prepare` fills,
/// labelled with the hash of its recipe (`files` and `extra`), unless the engine has it with
/// that hash already. Removes the stand-in that a rebuild replaced (now untagged), unless a
/// container still uses it. Returns whether it built; the log goes to `log_dir`.
pub(super) fn build(
    tag: &str,
    files: &[PathBuf],
    extra: &[String],
    args: &[(&str, String)],
    log_dir: &Path,
    prepare: impl FnOnce(&Path) -> Result<()>,
) -> Result<bool> {
    let key = recipe_key(files, extra)?;
    let had = recipe_of(tag);
    if had.as_deref() == Some(key.as_str()) {
        return Ok(false);
    }
    let context = work_dir(tag)?;
    prepare(&context.path)?;
    let log = log_dir.join(format!("{}.log", tag.replace(['/', ':'], "-")));
    std::fs::write(
        &log,
        format!(
            "building {tag}: recipe {key} (of {files:?} and {extra:?}), the engine's image has {had:?}\n"
        ),
    )?;
    let old = image_id(tag);
    let mut cmd = Command::new("docker");
    cmd.args(["build", "--label", &format!("{RECIPE_LABEL}={key}")])
        .args(["--tag", tag]);
    for (name, value) in args {
        cmd.args(["--build-arg", &format!("{name}={value}")]);
    }
    let what = format!("building the stand-in {tag}");
    run_logged(
        cmd.arg(&context.path),
        &log,
        Some(Duration::from_secs(30 * 60)),
        &what,
    )?;
    if let Some(old) = old
        && image_id(tag).is_some_and(|new| new != old)
    {
        let _ = docker(&["image", "rm", &old], Duration::from_secs(60));
    }
    Ok(true)
}
