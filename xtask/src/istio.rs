//! `cargo xtask istio`: renders istio/*.yaml from envoy.yaml, or (`--check`) fails naming
//! each file that differs from the rendering, so the Istio port cannot drift from the one
//! plugin configuration.
//!
//! The pieces, also used by the end-to-end tests that run the manifests in the real Envoy:
//! `source.rs` (what is read from envoy.yaml), `render.rs` and `yaml.rs` (the manifests),
//! `sidecar.rs` (the sidecar's inbound listener, an EnvoyFilter patch applied to it, and
//! Envoy's options as the sidecar's, with Istio's log format), `wasmplugin.rs` and
//! `plugin_json.rs` (what istiod generates for a WasmPlugin).

pub mod plugin_json;
pub mod render;
pub mod sidecar;
pub mod source;
pub mod wasmplugin;
pub mod yaml;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

pub use render::FILES;
pub use source::Plugin;

use smoke::envoy::bootstrap;

use crate::paths;

/// The Kubernetes version the Kubernetes objects are validated against (kubernetes-validate).
pub const KUBERNETES_VERSION: &str = "1.33.0";
/// The most a ConfigMap can hold: 1 MiB of data, keys included.
pub const CONFIGMAP_LIMIT_BYTES: u64 = 1024 * 1024;
/// The module's budget: half a ConfigMap, so that it stays well under the limit.
pub const MODULE_BUDGET_BYTES: u64 = CONFIGMAP_LIMIT_BYTES / 2;

/// The command's options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Do not write: exit 1, naming each file of istio/ that differs from the rendering.
    #[arg(long)]
    pub check: bool,
    /// Render from this Envoy bootstrap instead of the repository's envoy.yaml.
    #[arg(long, value_name = "FILE")]
    pub envoy_config: Option<PathBuf>,
}

/// Runs the command; the exit code (0: istio/ matches the rendering, or was written; 1: with
/// `--check`, a file differs).
pub fn run(args: &Args) -> Result<i32> {
    let source = args.envoy_config.clone().unwrap_or_else(paths::envoy_yaml);
    let source_name = paths::relative(&source);
    let plugin = Plugin::from_bootstrap(&bootstrap::load(&source)?, &source_name)?;
    let mut stale = Vec::new();
    for (file, text) in render::render(&plugin)? {
        let path = dir().join(file);
        let shown = format!("istio/{file}");
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            eprintln!("✓ {shown} matches {source_name}");
        } else if args.check {
            eprintln!("✗ {shown}: {}", difference(current.as_deref(), &text));
            stale.push(shown);
        } else {
            std::fs::create_dir_all(dir())?;
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("✓ {shown} rendered from {source_name}");
        }
    }
    if !stale.is_empty() {
        eprintln!(
            "{} differ from the rendering of {source_name}: run `cargo xtask istio` to render \
             them again",
            stale.join(", ")
        );
    }
    Ok(i32::from(!stale.is_empty()))
}

/// The repository's istio/ directory.
pub fn dir() -> PathBuf {
    paths::root().join("istio")
}

/// The YAML documents of a file that `render.rs` wrote.
pub fn read_manifest(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_saphyr::from_multiple(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Fails with what to do when a module of `bytes` does not fit the ConfigMap budget.
pub fn check_module_size(bytes: u64) -> Result<()> {
    if bytes > MODULE_BUDGET_BYTES {
        bail!(
            "the wasm module is {bytes} bytes: over this project's budget of {MODULE_BUDGET_BYTES} \
             bytes (half of a ConfigMap's limit of {CONFIGMAP_LIMIT_BYTES} bytes), so \
             `kubectl create configmap` will fail or soon will. Make it smaller (keep the release \
             profile's opt-level \"s\", LTO and strip; look for a new dependency; try \
             `wasm-opt -Oz`), or ship it as an OCI image and point the WasmPlugin's url at \
             oci://… instead of the ConfigMap"
        );
    }
    Ok(())
}

/// Where a checked-in file first differs from its rendering.
fn difference(current: Option<&str>, rendered: &str) -> String {
    let Some(current) = current else {
        return "missing".to_string();
    };
    let (expected, got) = (rendered.lines(), current.lines());
    let same = expected
        .clone()
        .zip(got.clone())
        .take_while(|(e, g)| e == g);
    let n = same.count();
    match (expected.clone().nth(n), got.clone().nth(n)) {
        (Some(expected), line) => format!(
            "differs at line {}\n    EXPECTED: {expected}\n    GOT:      {}",
            n + 1,
            line.unwrap_or("(end of file)")
        ),
        (None, Some(extra)) => format!("has more lines than the rendering, from: {extra}"),
        (None, None) => "differs in line endings".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_name_the_line() {
        assert_eq!(difference(None, "a\n"), "missing");
        let diff = difference(Some("a\nb\n"), "a\nc\n");
        assert!(diff.starts_with("differs at line 2"), "{diff}");
        assert!(
            diff.contains("EXPECTED: c") && diff.contains("GOT:      b"),
            "{diff}"
        );
        assert!(difference(Some("a\n"), "a\nb\n").contains("(end of file)"));
        assert!(difference(Some("a\nb\n"), "a\n").contains("more lines"));
        assert_eq!(difference(Some("a"), "a\n"), "differs in line endings");
    }

    #[test]
    fn module_budget() {
        check_module_size(152_001).unwrap();
        let err = check_module_size(MODULE_BUDGET_BYTES + 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("524289 bytes") && err.contains("1048576"),
            "{err}"
        );
    }
}
