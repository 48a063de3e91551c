//! The stand-ins' base, `http-headers-standin/debian:bookworm`: a root file system made
//! with debootstrap from the Debian mirror this machine's apt uses, imported into the engine,
//! with the host's CA certificates added.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::super::docker::run_logged;
use super::image::{
    BuildContext, RECIPE_LABEL, cached, docker_build, image_id, recipe_key, remove_replaced,
};
use super::{Options, PREFIX, standins_dir};

/// The Debian release of the base (the official images' `-bookworm`).
const SUITE: &str = "bookworm";

/// `http-headers-standin/debian:bookworm`: the debootstrapped root file system with the
/// CA certificates this host trusts, so the containers reach what the host reaches.
pub fn ensure_base(options: &Options, log_dir: &Path) -> Result<String> {
    let (rootfs, rootfs_id) = ensure_rootfs(options, log_dir)?;
    let tag = format!("{PREFIX}/debian:{SUITE}");
    let dockerfile = standins_dir().join("debian/Dockerfile");
    let ca = host_ca_bundle();
    let mut files = vec![dockerfile.clone()];
    files.extend(ca.clone());
    let key = recipe_key(&files, &[&rootfs_id])?;
    if cached(&tag, &key) {
        return Ok(tag);
    }
    let context = BuildContext::new("debian")?;
    context.copy(&dockerfile, "Dockerfile")?;
    match &ca {
        Some(bundle) => context.copy(bundle, "host-ca-certificates.crt")?,
        None => std::fs::write(context.dir.join("host-ca-certificates.crt"), "")?,
    }
    let old = image_id(&tag);
    docker_build(
        &context,
        &tag,
        &key,
        &[("ROOTFS", &rootfs)],
        &log_dir.join("debian.log"),
    )?;
    remove_replaced(old, &tag);
    Ok(tag)
}

/// The CA bundle of this host, where Debian, Fedora or Alpine keep it.
fn host_ca_bundle() -> Option<PathBuf> {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// `http-headers-standin/debian-rootfs:bookworm`: `debootstrap --variant=minbase`, then
/// `docker import`. Returns its tag and id.
fn ensure_rootfs(options: &Options, log_dir: &Path) -> Result<(String, String)> {
    let tag = format!("{PREFIX}/debian-rootfs:{SUITE}");
    let include = "ca-certificates";
    let key = recipe_key(&[], &["debootstrap --variant=minbase", SUITE, include])?;
    if cached(&tag, &key) {
        let id = image_id(&tag).context("the cached root file system vanished")?;
        return Ok((tag, id));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "the engine has none of the images and the stand-ins' Debian base must be made with \
             debootstrap, which needs root: run `sudo cargo xtask compose` once (later runs reuse it), \
             or load the official images with `docker load`"
        );
    }
    let mirror = match &options.debian_mirror {
        Some(mirror) => mirror.clone(),
        None => apt_mirror().context(
            "no Debian bookworm mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: \
             pass one with --debian-mirror URL",
        )?,
    };
    let log = log_dir.join("debootstrap.log");
    ensure_debootstrap(&log)?;
    let context = BuildContext::new("rootfs")?;
    let rootfs = context.dir.join("rootfs");
    run_logged(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={include}"), SUITE])
            .arg(&rootfs)
            .arg(&mirror),
        &log,
        Duration::from_secs(20 * 60),
        &format!("debootstrap {SUITE} from {mirror}"),
    )?;
    let tar = context.dir.join("rootfs.tar");
    run_logged(
        Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tar)
            .arg("."),
        &log,
        Duration::from_secs(10 * 60),
        "packing the root file system",
    )?;
    run_logged(
        Command::new("docker")
            .args(["import", "--change", &format!("LABEL {RECIPE_LABEL}={key}")])
            .args(["--change", "CMD [\"bash\"]"])
            .arg(&tar)
            .arg(&tag),
        &log,
        Duration::from_secs(10 * 60),
        "docker import",
    )?;
    let id = image_id(&tag).context("docker import made no image")?;
    Ok((tag, id))
}

/// debootstrap on PATH, installed with apt-get when missing (as `cargo xtask setup` does wrk).
fn ensure_debootstrap(log: &Path) -> Result<()> {
    if which::which("debootstrap").is_ok() {
        return Ok(());
    }
    if which::which("apt-get").is_err() {
        bail!(
            "debootstrap is needed to build the stand-in images: install it (Debian/Ubuntu: apt-get install debootstrap)"
        );
    }
    run_logged(
        Command::new("apt-get").arg("update"),
        log,
        Duration::from_secs(600),
        "apt-get update",
    )?;
    run_logged(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends", "debootstrap"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        log,
        Duration::from_secs(600),
        "apt-get install debootstrap",
    )
}

/// The bookworm mirror this machine's apt is configured with.
fn apt_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    let mut listed: Vec<PathBuf> = std::fs::read_dir("/etc/apt/sources.list.d")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    listed.sort();
    files.extend(listed);
    files.iter().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        let name = path.to_string_lossy();
        if name.ends_with(".sources") {
            mirror_in_deb822(&text)
        } else if name.ends_with(".list") {
            mirror_in_one_line(&text)
        } else {
            None
        }
    })
}

/// The first URI of a `deb` paragraph whose suites include bookworm (deb822 `.sources`).
fn mirror_in_deb822(text: &str) -> Option<String> {
    text.split("\n\n").find_map(|paragraph| {
        let field = |name: &str| {
            paragraph.lines().find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
        };
        let is_deb = field("Types")?.split_whitespace().any(|t| t == "deb");
        let has_suite = field("Suites")?.split_whitespace().any(|s| s == SUITE);
        let enabled = field("Enabled").is_none_or(|e| e != "no");
        (is_deb && has_suite && enabled)
            .then(|| field("URIs")?.split_whitespace().next().map(str::to_string))
            .flatten()
    })
}

/// The URI of the first `deb URI bookworm ...` line (one-line `.list` format).
fn mirror_in_one_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "deb" {
            return None;
        }
        let mut uri = words.next()?;
        if uri.starts_with('[') {
            // Options: `[arch=amd64 signed-by=...]`, possibly several words.
            let mut word = uri;
            while !word.ends_with(']') {
                word = words.next()?;
            }
            uri = words.next()?;
        }
        (words.next()? == SUITE).then(|| uri.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bookworm_mirror_in_both_apt_formats() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n\
                      Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            mirror_in_deb822(deb822).as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(
            mirror_in_deb822("Types: deb\nURIs: http://x/\nSuites: trixie\n"),
            None
        );
        let list = "# comment\ndeb-src http://src/ bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_in_one_line(list).as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(
            mirror_in_one_line("deb http://x/ bookworm-security main\n"),
            None
        );
    }
}
