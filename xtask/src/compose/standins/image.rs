//! Stand-in images in the engine: looking them up, the recipe hash in their label that
//! lets a later run reuse them, their build contexts and `docker build`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use super::super::docker::{run_captured, run_logged, unique_suffix};
use super::PREFIX;

/// The label holding a stand-in's recipe hash.
pub const RECIPE_LABEL: &str = "http-headers-standin.recipe";

/// The image's id, if the engine has it.
pub fn image_id(image: &str) -> Option<String> {
    inspect(image, "{{.Id}}")
}

pub fn inspect(image: &str, format: &str) -> Option<String> {
    let out = run_captured(
        Command::new("docker").args(["image", "inspect", "--format", format, image]),
        Duration::from_secs(30),
    )
    .ok()?;
    out.success.then(|| out.stdout.trim().to_string())
}

/// The tag of a stand-in whose recipe hash is `key`, if the engine has it.
pub fn cached(tag: &str, key: &str) -> bool {
    inspect(
        tag,
        &format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}"),
    )
    .as_deref()
        == Some(key)
}

/// Hashes the recipe's inputs: file contents and extra strings. `DefaultHasher` is fixed for
/// a given Rust release (the toolchain is pinned); a different one only means a rebuild.
pub fn recipe_key(files: &[PathBuf], extra: &[&str]) -> Result<String> {
    let mut hasher = DefaultHasher::new();
    for file in files {
        std::fs::read(file)
            .with_context(|| format!("reading {}", file.display()))?
            .hash(&mut hasher);
    }
    extra.hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

/// A scratch build context, removed on drop.
pub struct BuildContext {
    /// The directory.
    pub dir: PathBuf,
}

impl BuildContext {
    /// An empty context named after `name`.
    pub fn new(name: &str) -> Result<BuildContext> {
        let dir = std::env::temp_dir().join(format!("{PREFIX}-{name}-{}", unique_suffix()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(BuildContext { dir })
    }

    /// Copies `from` into the context as `name`.
    pub fn copy(&self, from: &Path, name: &str) -> Result<()> {
        std::fs::copy(from, self.dir.join(name))
            .with_context(|| format!("copying {} into the build context", from.display()))?;
        Ok(())
    }
}

impl Drop for BuildContext {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes the stand-in that a rebuild of `tag` replaced (now untagged), unless a container
/// still uses it; never touches anything else.
pub fn remove_replaced(old: Option<String>, tag: &str) {
    if let Some(old) = old
        && image_id(tag).is_some_and(|new| new != old)
    {
        let _ = run_captured(
            Command::new("docker").args(["image", "rm", &old]),
            Duration::from_secs(60),
        );
    }
}

pub fn docker_build(
    context: &BuildContext,
    tag: &str,
    key: &str,
    args: &[(&str, &str)],
    log: &Path,
) -> Result<()> {
    let mut cmd = Command::new("docker");
    cmd.args([
        "build",
        "--label",
        &format!("{RECIPE_LABEL}={key}"),
        "--tag",
        tag,
    ]);
    for (name, value) in args {
        cmd.args(["--build-arg", &format!("{name}={value}")]);
    }
    cmd.arg(&context.dir);
    run_logged(
        &mut cmd,
        log,
        Duration::from_secs(30 * 60),
        &format!("building the stand-in {tag}"),
    )
}
