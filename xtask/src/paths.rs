//! Where things live: the repository root, the project-local virtualenv, the built wasm.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, ensure};

/// The repository root (the workspace that holds `xtask/`).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(Path::new(".")).into()
}

/// Cargo's target directory, as cargo itself resolves it (`$CARGO_TARGET_DIR`, relative to the
/// root, or `build.target-dir` in a cargo config file; asked once, about 10 ms), else
/// `<root>/target`.
pub fn target_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let asked = || {
        let args = ["metadata", "--no-deps", "--format-version", "1"];
        let out = cargo().args(args).output().ok()?;
        let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        metadata["target_directory"].as_str().map(PathBuf::from)
    };
    let dir = DIR.get_or_init(|| asked().unwrap_or_else(|| root().join("target")));
    dir.clone()
}

/// The release build of the filter, as Envoy loads it.
pub fn wasm() -> PathBuf {
    target_dir().join("wasm32-wasip1/release/filter.wasm")
}

/// The project-local virtualenv holding Envoy, httpbin and the other Python tools.
pub fn venv() -> PathBuf {
    root().join(".venv")
}

/// The pinned list of Python tools installed into [`venv`].
pub fn requirements() -> PathBuf {
    root().join("xtask/requirements.txt")
}

/// The repository's Envoy bootstrap: the one the native run derives from.
pub fn envoy_yaml() -> PathBuf {
    root().join("envoy.yaml")
}

/// Scratch space for generated configs and logs: `<target>/xtask/<name>`.
pub fn work_dir(name: &str) -> PathBuf {
    target_dir().join("xtask").join(name)
}

/// Cargo (`$CARGO`: the one running xtask, else `cargo` on PATH), in the repository root.
pub fn cargo() -> Command {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(root());
    cargo
}

/// Runs `command` (`cargo build …`) with `--quiet`; fails with its stderr, building `what`.
pub fn cargo_quiet(command: &str, what: &str) -> Result<()> {
    let out = cargo()
        .args(command.split_whitespace().skip(1))
        .arg("--quiet")
        .output()
        .with_context(|| format!("running cargo to build {what}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        out.status.success(),
        "building {what} failed ({command}):\n{stderr}"
    );
    Ok(())
}

/// `path` relative to the repository root when it is inside it, for messages.
pub fn relative(path: &Path) -> String {
    format!("{}", path.strip_prefix(root()).unwrap_or(path).display())
}
