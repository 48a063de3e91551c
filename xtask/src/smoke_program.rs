//! The smoke checks, run as their own program (the `smoke` crate's binary, built in the dev
//! profile). xtask links neither smoke nor filter-core: an edit under filter/core rebuilds the
//! module and this program, not cargo xtask (the edit-to-report loop, BENCHMARKS.md). The
//! program's exit code is the checks' (0 passed, 1 a check failed, 2 could not run), its
//! `--print-config` the plugin configuration the filter runs with. It dies with this process
//! (spawn it from the main thread: `procs::die_with_parent`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use envoy_model::plugin_settings::PluginSettings;
use serde::Deserialize;

use crate::progress::Step;
use crate::{paths, procs};

/// `cargo build --package smoke`: the program, up to date with filter/core.
pub fn build() -> Result<PathBuf> {
    let command = "cargo build --package smoke --bin smoke";
    paths::cargo_quiet(command, "the smoke checks")?;
    Ok(paths::target_dir().join("debug/smoke"))
}

/// [`build`] as a step of its own (a first build takes a while), for the commands whose other
/// steps do not hide it.
pub fn build_step() -> Result<PathBuf> {
    let step = Step::start("smoke", "cargo build --package smoke");
    let program = build()?;
    step.done(&format!("the smoke checks: {}", paths::relative(&program)));
    Ok(program)
}

/// The plugin configuration of `envoy_config`'s wasm filter, read and checked by the filter's
/// own code (`smoke --print-config`). A bad one is the filter's message, naming the file and
/// the field.
pub fn plugin_settings(program: &Path, envoy_config: &Path) -> Result<PluginSettings> {
    let mut command = Command::new(program);
    command.args(["--print-config", "--envoy-config"]);
    let out = stdout_if(command.arg(envoy_config), &[0])?;
    serde_json::from_slice(&out).context("reading smoke --print-config")
}

/// `command`'s stdout when it exits with one of `codes` (what it wrote on stderr, the `-v`
/// diagnostics, passed on); else its error message.
fn stdout_if(command: &mut Command, codes: &[i32]) -> Result<Vec<u8>> {
    let program = command.get_program().to_owned();
    let out = procs::die_with_parent(command.stdin(Stdio::null())).output();
    let out = out.with_context(|| format!("running {}", program.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.code().is_some_and(|code| codes.contains(&code)) {
        match stderr.trim().trim_start_matches("smoke: error: ") {
            "" => bail!("{} failed ({})", program.display(), out.status),
            message => bail!("{message}"),
        }
    }
    eprint!("{stderr}");
    Ok(out.stdout)
}

/// The program's arguments: where Envoy is and where its log is read from (smoke's `--logs`
/// forms), the bootstrap that gives the expectations, and the waits.
#[derive(Debug, Clone)]
pub struct Target {
    /// Envoy's listener, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Envoy's admin.
    pub admin: String,
    /// Where Envoy's log is read from.
    pub logs: Logs,
    /// The bootstrap whose plugin configuration the checks expect.
    pub envoy_config: PathBuf,
    /// How long to wait for `/ready`.
    pub ready_timeout: Duration,
    /// How long to wait for the log lines.
    pub log_timeout: Duration,
}

/// Where the smoke program reads Envoy's log from (its `--logs file:PATH`, `cmd:COMMAND`).
#[derive(Debug, Clone)]
pub enum Logs {
    /// The file Envoy's stderr goes to.
    File(PathBuf),
    /// A shell command that prints the log.
    Command(String),
}

impl Target {
    /// `program` against this target, printing its report in `format` (`text`, `json`).
    pub fn command(&self, program: &Path, format: &str) -> Command {
        let logs = match &self.logs {
            Logs::File(path) => OsString::from_iter([OsStr::new("file:"), path.as_os_str()]),
            Logs::Command(command) => format!("cmd:{command}").into(),
        };
        let ms = |wait: Duration| format!("{}ms", wait.as_millis());
        let (ready, log) = (ms(self.ready_timeout), ms(self.log_timeout));
        let mut command = Command::new(program);
        command
            .args(["--url", &self.url, "--admin", &self.admin, "--logs"])
            .arg(logs)
            .arg("--envoy-config")
            .arg(&self.envoy_config)
            .args(["--ready-timeout", &ready, "--log-timeout", &log])
            .args(["--format", format])
            .stdin(Stdio::null());
        // xtask's `-v` and `-vv` (RUST_LOG, inherited, overrides both in smoke too).
        match log::max_level() {
            log::LevelFilter::Debug => command.arg("-v"),
            log::LevelFilter::Trace => command.arg("-vv"),
            _ => &mut command,
        };
        command
    }

    /// Runs the checks, the report on this process's stdout; the exit code (2 for any but 0
    /// and 1: the checks could not run).
    pub fn run(&self, program: &Path, format: &str) -> Result<i32> {
        let status = procs::die_with_parent(&mut self.command(program, format)).status();
        let status = status.with_context(|| format!("running {}", program.display()))?;
        Ok(status.code().filter(|c| matches!(c, 0 | 1)).unwrap_or(2))
    }

    /// Runs the checks for a tool: the JSON report, or why the checks could not run.
    pub fn report(&self, program: &Path) -> Result<Report> {
        let out = stdout_if(&mut self.command(program, "json"), &[0, 1])?;
        serde_json::from_slice(&out).context("reading smoke's report")
    }
}

/// What a tool reads of smoke's JSON report.
#[derive(Debug, Deserialize)]
pub struct Report {
    /// One per check, in order.
    pub checks: Vec<Check>,
}

/// A check's name and outcome.
#[derive(Debug, Deserialize)]
pub struct Check {
    /// What it checks.
    pub name: String,
    /// How it went.
    pub status: Status,
    /// What it expected.
    pub expected: String,
    /// What it got.
    pub got: String,
}

/// Passed, failed, or not checked (`pass`, `fail`, `skip` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_report_smoke_writes() {
        let check = |name: &str, status| smoke::CheckResult {
            name: name.into(),
            status,
            expected: "x".into(),
            got: "y".into(),
            detail: String::new(),
            log_tail: None,
        };
        let written = smoke::Report {
            run_id: "smoke-1-2".into(),
            envoy_version: Some("1.40.0".into()),
            url: "http://127.0.0.1:10000".into(),
            admin: "http://127.0.0.1:9901".into(),
            log_source: "file envoy.log".into(),
            checks: vec![
                check("a", smoke::CheckStatus::Pass),
                check("b", smoke::CheckStatus::Fail),
                check("c", smoke::CheckStatus::Skip),
            ],
        };
        let read: Report = serde_json::from_str(&written.render_json()).unwrap();
        let read: Vec<_> = read
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.status))
            .collect();
        let statuses = [Status::Pass, Status::Fail, Status::Skip];
        assert_eq!(
            read,
            ["a", "b", "c"]
                .into_iter()
                .zip(statuses)
                .collect::<Vec<_>>()
        );
    }
}
