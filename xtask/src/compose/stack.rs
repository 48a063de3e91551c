//! The stack once it runs: Compose commands as checks, Envoy's readiness, the smoke checks
//! against it, the one-line change the edit loop must show, and `docker compose watch`
//! picking changes up.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use envoy_model::figures::seconds;
use envoy_model::ready;

use super::check_failed::{CheckFailed, failed};
use super::docker::Project;
use crate::procs::{Service, poll};
use crate::progress::Step;
use crate::{ports, smoke_program};

/// How long a compose command may take (a first `up` fetches the toolchain and crates).
const UP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long Envoy may take to answer `/ready` once its container runs.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a watched change may take to restart Envoy.
const WATCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// How often the waits look.
const POLL: Duration = Duration::from_millis(100);

/// `http://127.0.0.1:<port>`: where the stack publishes Envoy's listener and admin.
pub fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// `edit loop: <time> from saving <file> to a passing report (<how>)`.
pub fn report_edit_loop(saved: Instant, file: &str, how: &str) {
    let took = seconds(saved.elapsed());
    eprintln!("edit loop: {took} from saving {file} to a passing report ({how})");
}

/// The Compose project (its directory is the work tree), the host ports of Envoy's
/// listener and admin, and the smoke program (built once, from this repository).
pub struct Stack {
    pub project: Project,
    pub listener: u16,
    pub admin: u16,
    pub smoke: PathBuf,
}

impl Stack {
    /// A compose command as a check: its output goes to the project's log, and a failure
    /// fails the run.
    pub fn compose(&self, args: &[&str]) -> Result<()> {
        self.project.run(args, UP_TIMEOUT).map_err(failed)
    }

    /// Waits for Envoy's admin `/ready` ([`ready::wait`]), ends `step` with `summary`, then
    /// runs the smoke checks (a failed one fails the run). If Envoy never says `LIVE`, the
    /// failed check holds the end of `docker compose logs envoy`, which says why.
    pub fn ready(&self, step: Step, summary: &str) -> Result<()> {
        let admin = ports::loopback(self.admin);
        if let Err(not_ready) = ready::wait(admin, READY_TIMEOUT, || None, |_| {}) {
            let tail = ["logs", "--no-color", "--tail", "10", "envoy"];
            let logs = self.project.output(&tail);
            let logs = logs.unwrap_or_else(|e| format!("(no log: {e:#})"));
            bail!(CheckFailed(format!(
                "Envoy's admin {}: {not_ready} within {} s; the end of `docker compose logs envoy`:\n{}",
                url(self.admin),
                READY_TIMEOUT.as_secs(),
                logs.trim_end()
            )));
        }
        step.done(summary);
        // The smoke checks against the stack, expectations from the tree's envoy.yaml, Envoy's
        // log from `docker compose logs envoy`. Prints the report; a failed check fails the run.
        let target = smoke_program::Target {
            url: url(self.listener),
            admin: url(self.admin),
            logs: smoke_program::Logs::Command(self.project.command_line("logs --no-color envoy")),
            envoy_config: self.project.dir.join("envoy.yaml"),
            ready_timeout: READY_TIMEOUT,
            log_timeout: Duration::from_secs(15),
        };
        let code = target.run(&self.smoke, "text")?;
        check!(code != 1, "a smoke check failed against the compose stack");
        check!(code == 0, "the smoke checks could not run");
        Ok(())
    }

    /// Changes the value of the first configured response header in the tree's envoy.yaml
    /// (one line) to `<value>-<suffix>`; returns what changed, for the step line.
    pub fn edit_response_header(&self, suffix: &str) -> Result<String> {
        let path = self.project.dir.join("envoy.yaml");
        let config = smoke_program::plugin_settings(&self.smoke, &path)?;
        let (name, value) = config
            .add_response_headers
            .first()
            .context("envoy.yaml's plugin configuration adds no response header to change")?;
        let new = format!("{value}-{suffix}");
        let text = std::fs::read_to_string(&path)?;
        let old_text = format!("\"{name}\": \"{value}\"");
        ensure!(
            text.matches(&old_text).count() == 1,
            "expected `{old_text}` once in {}",
            path.display()
        );
        // Written in place: the file keeps its owner.
        let new_text = text.replace(&old_text, &format!("\"{name}\": \"{new}\""));
        std::fs::write(&path, new_text)?;
        Ok(format!("{name}: {value} → {new}"))
    }

    /// `docker compose watch`: a change to envoy.yaml restarts Envoy; a change under filter/
    /// re-runs the build service, then restarts Envoy (`depends_on: restart: true`).
    pub fn watch(&self, logs: &Path) -> Result<()> {
        let log = logs.join("watch.log");
        let step = Step::start("watch", "docker compose watch");
        let mut cmd = self.project.command(&["watch", "--no-up"]);
        let mut watcher =
            Service::spawn("docker compose watch", &mut cmd, &log, &log, libc::SIGINT)?;
        let watching = || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Watch enabled"));
        let started_or_exited = || Ok(watching() || watcher.exited().is_some());
        poll(READY_TIMEOUT, POLL, started_or_exited)?;
        check!(
            watching(),
            "docker compose watch did not start watching; {}",
            crate::procs::log_end(&log, 15)
        );
        step.done("watching filter/, Cargo.toml, Cargo.lock and envoy.yaml");

        let (envoy_started, _) = self.project.started_finished("envoy")?;
        let change = self.edit_response_header("watched")?;
        let saved = Instant::now();
        let waiting = "envoy.yaml saved; waiting for Compose to restart Envoy";
        let step = Step::start("watch", waiting);
        self.wait_for_start("envoy", &envoy_started)?;
        let restarted = format!("{change}; Envoy restarted by docker compose watch");
        self.ready(step, &restarted)?;
        report_edit_loop(saved, "envoy.yaml", "docker compose watch");

        let (build_started, _) = self.project.started_finished("build")?;
        let (envoy_started, _) = self.project.started_finished("envoy")?;
        let lib = self.project.dir.join("filter/src/lib.rs");
        let text = std::fs::read_to_string(&lib)? + "// edited by cargo xtask compose\n";
        std::fs::write(&lib, text)?;
        let saved = Instant::now();
        let waiting = "filter/src/lib.rs saved; waiting for the build, then Envoy";
        let step = Step::start("watch", waiting);
        self.wait_for_start("build", &build_started)?;
        let envoy_now = self.wait_for_start("envoy", &envoy_started)?;
        let (_, build_finished) = self.project.started_finished("build")?;
        check!(
            time_key(&envoy_now) >= time_key(&build_finished),
            "Envoy restarted at {envoy_now}, before the build finished at {build_finished}: it runs the old module"
        );
        let restarted = "the build re-ran, then Envoy restarted with its module";
        self.ready(step, restarted)?;
        report_edit_loop(saved, "filter/src/lib.rs", "docker compose watch");
        watcher.stop();
        Ok(())
    }

    /// Waits until the service's container has started again since `before` (its StartedAt);
    /// returns when it did.
    fn wait_for_start(&self, service: &str, before: &str) -> Result<String> {
        let mut started = String::new();
        let restarted = poll(WATCH_TIMEOUT, POLL, || {
            started = self.project.started_finished(service)?.0;
            Ok(time_key(&started) > time_key(before))
        });
        check!(
            restarted.map_err(failed)?,
            "docker compose watch did not restart {service} within {} s of the change",
            WATCH_TIMEOUT.as_secs()
        );
        Ok(started)
    }
}

/// An RFC 3339 time as Docker prints it (`2026-12-01T01:39:51.0706Z`: UTC, the fraction's
/// trailing zeros trimmed) as a string that orders correctly: the fraction padded to 9 digits.
fn time_key(time: &str) -> String {
    let time = time.trim_end_matches('Z');
    let (whole, fraction) = time.split_once('.').unwrap_or((time, ""));
    format!("{whole}.{fraction:0<9}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_times_order_with_trimmed_fractions() {
        assert!(time_key("2026-12-01T01:39:51.07Z") > time_key("2026-12-01T01:39:51.010040Z"));
        assert!(time_key("2026-12-01T01:39:52Z") > time_key("2026-12-01T01:39:51.999999999Z"));
    }
}
