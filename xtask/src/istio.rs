//! `cargo xtask istio`: renders istio/*.yaml from envoy.yaml, or (`--check`) fails naming
//! each file that differs from the rendering, so the Istio port cannot drift from the one
//! plugin configuration.
//!
//! The rendering itself is [`crate::manifests`]'s (shared with `cargo xtask image`). The
//! end-to-end tests (`tests/e2e/istio.rs`) run the manifests in the real Envoy the way Istio
//! would.

use std::path::PathBuf;

use anyhow::{Context, Result};

pub use crate::manifests::render::{FILES, KUBERNETES_VERSION};
pub use crate::manifests::source::Plugin;

use crate::manifests::render;
use crate::paths;

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
    let plugin = Plugin::read(&source)?;
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

/// Where a checked-in file first differs from its rendering.
fn difference(current: Option<&str>, rendered: &str) -> String {
    let Some(current) = current else {
        return "missing".to_string();
    };
    let same = rendered.lines().zip(current.lines());
    let n = same.take_while(|(e, g)| e == g).count();
    match (rendered.lines().nth(n), current.lines().nth(n)) {
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
}
