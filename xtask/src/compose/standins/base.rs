//! The stand-ins' base, `http-headers-standin/debian:bookworm`: a root file system made
//! with debootstrap from the Debian mirror this machine's apt uses, imported into the engine,
//! with the host's CA certificates added.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};

use super::images::work_dir;
use super::images::{PREFIX, RECIPE_LABEL, build, copy, image_id, recipe_key, recipe_of};
use crate::procs::run_logged;

/// The Debian release of the base (the official images' `-bookworm`).
const SUITE: &str = "bookworm";

/// `http-headers-standin/debian:bookworm`: the debootstrapped root file system with the
/// CA certificates this host trusts, so the containers reach what the host reaches.
pub fn ensure_base(debian_mirror: Option<&str>, log_dir: &Path) -> Result<String> {
    let (rootfs, rootfs_id) = ensure_rootfs(debian_mirror, log_dir)?;
    let tag = format!("{PREFIX}/debian:{SUITE}");
    let dockerfile = crate::paths::root().join("xtask/standins/debian/Dockerfile");
    // The CA bundle of this host, where Debian, Fedora or Alpine keep it.
    let ca = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.is_file());
    let mut files = vec![dockerfile.clone()];
    files.extend(ca.clone());
    let args = [("ROOTFS", rootfs)];
    build(&tag, &files, &[rootfs_id], &args, log_dir, |context| {
        copy(&dockerfile, &context.join("Dockerfile"))?;
        let ca_copy = context.join("host-ca-certificates.crt");
        match &ca {
            Some(bundle) => copy(bundle, &ca_copy),
            None => Ok(std::fs::write(ca_copy, "")?),
        }
    })?;
    Ok(tag)
}

/// `http-headers-standin/debian-rootfs:bookworm`: `debootstrap --variant=minbase`, then
/// `docker import`. Returns its tag and id.
fn ensure_rootfs(debian_mirror: Option<&str>, log_dir: &Path) -> Result<(String, String)> {
    let tag = format!("{PREFIX}/debian-rootfs:{SUITE}");
    let include = "ca-certificates";
    let recipe = ["debootstrap --variant=minbase", SUITE, include].map(String::from);
    let key = recipe_key(&[], &recipe)?;
    if recipe_of(&tag).is_some_and(|had| had == key) {
        let id = image_id(&tag).context("the cached root file system vanished")?;
        return Ok((tag, id));
    }
    if !crate::setup::is_root() {
        bail!(
            "the engine has none of the images and the stand-ins' Debian base must be made with \
             debootstrap, which needs root: run `sudo cargo xtask compose` once (later runs reuse it), \
             or load the official images with `docker load`"
        );
    }
    let mirror = match debian_mirror {
        Some(mirror) => mirror.to_string(),
        None => apt_mirror().context(
            "no Debian bookworm mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: \
             pass one with --debian-mirror URL",
        )?,
    };
    let log = log_dir.join("debootstrap.log");
    let run = |cmd: &mut Command, minutes: u64, what: &str| {
        run_logged(cmd, &log, Some(Duration::from_secs(minutes * 60)), what)
    };
    // debootstrap, installed with apt-get when missing (as `cargo xtask setup` does wrk).
    if which::which("debootstrap").is_err() {
        ensure!(
            which::which("apt-get").is_ok(),
            "debootstrap is needed to build the stand-in images: install it (Debian/Ubuntu: apt-get install debootstrap)"
        );
        crate::setup::apt_install("debootstrap", &log, Some(Duration::from_secs(10 * 60)))?;
    }
    let context = work_dir(&tag)?;
    let (rootfs, tar) = (context.path.join("rootfs"), context.path.join("rootfs.tar"));
    let debootstrap = format!("debootstrap {SUITE} from {mirror}");
    run(
        Command::new("debootstrap")
            .args(["--variant=minbase", &format!("--include={include}"), SUITE])
            .args([&rootfs, Path::new(&mirror)]),
        20,
        &debootstrap,
    )?;
    let mut tar_cf = Command::new("tar");
    tar_cf.arg("-C").arg(&rootfs).arg("-cf").arg(&tar).arg(".");
    run(&mut tar_cf, 10, "packing the root file system")?;
    let mut import = Command::new("docker");
    import
        .args(["import", "--change", &format!("LABEL {RECIPE_LABEL}={key}")])
        .args(["--change", "CMD [\"bash\"]"])
        .args([&tar, Path::new(&tag)]);
    run(&mut import, 10, "docker import")?;
    let id = image_id(&tag).context("docker import made no image")?;
    Ok((tag, id))
}

/// The bookworm mirror this machine's apt is configured with (apt reads its own sources, in
/// either format), from `apt-get indextargets`.
fn apt_mirror() -> Option<String> {
    let out = Command::new("apt-get")
        .args([
            "indextargets",
            "--no-release-info",
            "--format",
            "$(REPO_URI)",
        ])
        .args([&format!("Release: {SUITE}"), "Target-Of: deb"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let uri = text.lines().next()?.trim();
    (out.status.success() && !uri.is_empty()).then(|| uri.to_string())
}
