//! The stack once it runs: Envoy's readiness, the smoke checks against it, the one-line
//! change the edit loop must show, and `docker compose watch` picking changes up.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use smoke::envoy::bootstrap;

use super::docker::{self, Project};
use super::failed;
use crate::procs::Service;
use crate::progress::{Step, seconds};
use crate::{http, stack};

/// How long Envoy may take to answer `/ready` once its container runs.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a watched change may take to restart Envoy.
const WATCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// `docker compose watch`: a change to envoy.yaml restarts Envoy; a change under filter/
/// re-runs the build service, then restarts Envoy (`depends_on: restart: true`).
pub fn watch(project: &Project, tree: &Path, target: &Target, logs: &Path) -> Result<()> {
    let log = logs.join("watch.log");
    let step = Step::start("watch", "docker compose watch");
    let mut watcher = Service::spawn(
        "docker compose watch",
        &mut project.command(["watch", "--no-up"]),
        &log,
        &log,
        libc::SIGINT,
    )?;
    let deadline = Instant::now() + READY_TIMEOUT;
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Watch enabled")) {
        if watcher.exited().is_some() || Instant::now() > deadline {
            return Err(failed(anyhow::anyhow!(
                "docker compose watch did not start watching; the end of {}:\n{}",
                log.display(),
                docker::tail(&log, 15)
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    step.done("watching filter/, Cargo.toml, Cargo.lock and envoy.yaml");

    let (envoy_started, _) = project.started_finished("envoy")?;
    let change = edit_response_header(tree, "watched")?;
    let saved = Instant::now();
    let step = Step::start(
        "watch",
        "envoy.yaml saved; waiting for Compose to restart Envoy",
    );
    wait_for_start(project, "envoy", &envoy_started).map_err(failed)?;
    target.wait_ready(project).map_err(failed)?;
    step.done(&format!(
        "{change}; Envoy restarted by docker compose watch"
    ));
    smoke(project, tree, target, "smoke")?;
    eprintln!(
        "edit loop: {} from saving envoy.yaml to a passing report (docker compose watch)",
        seconds(saved.elapsed())
    );

    let (build_started, _) = project.started_finished("build")?;
    let (envoy_started, _) = project.started_finished("envoy")?;
    let lib = tree.join("filter/src/lib.rs");
    let mut text = std::fs::read_to_string(&lib)?;
    text.push_str("// edited by cargo xtask compose\n");
    std::fs::write(&lib, text)?;
    let saved = Instant::now();
    let step = Step::start(
        "watch",
        "filter/src/lib.rs saved; waiting for the build, then Envoy",
    );
    wait_for_start(project, "build", &build_started).map_err(failed)?;
    wait_for_start(project, "envoy", &envoy_started).map_err(failed)?;
    let (_, build_finished) = project.started_finished("build")?;
    let (envoy_now, _) = project.started_finished("envoy")?;
    if time_key(&envoy_now) < time_key(&build_finished) {
        return Err(failed(anyhow::anyhow!(
            "Envoy restarted at {envoy_now}, before the build finished at {build_finished}: it runs the old module"
        )));
    }
    target.wait_ready(project).map_err(failed)?;
    step.done("the build re-ran, then Envoy restarted with its module");
    smoke(project, tree, target, "smoke")?;
    eprintln!(
        "edit loop: {} from saving filter/src/lib.rs to a passing report (docker compose watch)",
        seconds(saved.elapsed())
    );
    watcher.stop();
    Ok(())
}

/// Waits until the service's container has started again since `before` (its StartedAt).
fn wait_for_start(project: &Project, service: &str, before: &str) -> Result<()> {
    let deadline = Instant::now() + WATCH_TIMEOUT;
    loop {
        let (started, _) = project.started_finished(service)?;
        if time_key(&started) > time_key(before) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "docker compose watch did not restart {service} within {} s of the change",
                WATCH_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An RFC 3339 time as Docker prints it (`2026-12-01T01:39:51.0706Z`, fraction trimmed),
/// as something that orders correctly: (date and time to the second, nanoseconds).
fn time_key(time: &str) -> (String, u32) {
    let time = time.trim_end_matches('Z');
    match time.split_once('.') {
        Some((whole, fraction)) => {
            let digits: String = fraction.chars().take_while(char::is_ascii_digit).collect();
            let nanos = format!("{digits:0<9}")
                .get(..9)
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            (whole.to_string(), nanos)
        }
        None => (time.to_string(), 0),
    }
}

/// Where the stack publishes Envoy on this host.
pub struct Target {
    /// The listener's host port.
    pub listener: u16,
    /// The admin's host port.
    pub admin: u16,
}

impl Target {
    /// `http://127.0.0.1:<listener>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.listener)
    }

    /// `http://127.0.0.1:<admin>`.
    pub fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin)
    }

    /// Polls Envoy's admin `/ready` until it answers 200; if it never does, the error holds
    /// the end of `docker compose logs envoy`, which says why.
    pub fn wait_ready(&self, project: &Project) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let admin = stack::loopback(self.admin);
        loop {
            if http::get(admin, "/ready", Duration::from_secs(2)).is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
            if Instant::now() > deadline {
                let log = project
                    .output(&["logs", "--no-color", "--tail", "10", "envoy"])
                    .unwrap_or_else(|e| format!("(no log: {e:#})"));
                bail!(
                    "Envoy's admin {}/ready did not answer 200 within {} s; the end of `docker compose logs envoy`:\n{}",
                    self.admin_url(),
                    READY_TIMEOUT.as_secs(),
                    log.trim_end()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The smoke checks against the stack, expectations from the tree's envoy.yaml, Envoy's log
/// from `docker compose logs envoy`. Prints the report; a failed check fails the run.
pub fn smoke(project: &Project, tree: &Path, target: &Target, label: &'static str) -> Result<()> {
    let envoy_yaml = tree.join("envoy.yaml");
    let doc = bootstrap::load(&envoy_yaml)?;
    let config = smoke::plugin_config_of(&doc, &envoy_yaml)?;
    let logs = project.command_line("logs --no-color envoy");
    let options = smoke::Options {
        url: target.url(),
        admin: target.admin_url(),
        logs: smoke::LogSource::Command(logs),
        config,
        ready_timeout: READY_TIMEOUT,
        log_timeout: Duration::from_secs(15),
        progress: false,
    };
    let step = Step::start(label, "the smoke checks");
    let report = smoke::run_blocking(&options)
        .map_err(|err| failed(anyhow::anyhow!("the smoke checks could not run: {err:#}")))?;
    drop(step);
    print!("{}", report.render_text());
    if !report.passed() {
        return Err(failed(anyhow::anyhow!(
            "a smoke check failed against the compose stack"
        )));
    }
    Ok(())
}

/// Changes the value of the first configured response header in the tree's envoy.yaml
/// (one line) to `<value>-<suffix>`; returns what changed, for the step line.
pub fn edit_response_header(tree: &Path, suffix: &str) -> Result<String> {
    let path = tree.join("envoy.yaml");
    let doc = bootstrap::load(&path)?;
    let config = smoke::plugin_config_of(&doc, &path)?;
    let (name, value) = config
        .add_response_headers
        .first()
        .map(|(n, v)| (n.clone(), v.clone()))
        .context("envoy.yaml's plugin configuration adds no response header to change")?;
    let new = format!("{value}-{suffix}");
    let text = std::fs::read_to_string(&path)?;
    let old_text = format!("\"{name}\": \"{value}\"");
    if text.matches(&old_text).count() != 1 {
        bail!("expected `{old_text}` once in {}", path.display());
    }
    // Written in place: the file keeps its owner.
    std::fs::write(
        &path,
        text.replace(&old_text, &format!("\"{name}\": \"{new}\"")),
    )?;
    Ok(format!("{name}: {value} → {new}"))
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
