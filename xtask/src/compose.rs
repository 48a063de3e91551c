//! `cargo xtask compose`: the Docker path, checked for real on a Docker engine. In a scratch
//! copy of the work tree owned by a normal user: `docker compose up`, the smoke checks, the
//! edit loop (the README's command, then `docker compose watch`), `docker compose down
//! --volumes`, then nothing root-owned in the tree and nothing of the project left.

pub mod docker;
pub mod plugin;
pub mod scratch;
pub mod standins;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::procs::Service;
use crate::progress::{Step, seconds};
use crate::{http, paths, ports, stack};
use docker::Project;
use smoke::envoy::bootstrap;
use standins::{Resolved, Source};

/// What `cargo xtask compose` was asked to do.
#[derive(Debug, Clone, clap::Args)]
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
/// How long `docker compose up` may take (a first run fetches the toolchain and crates).
const UP_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// How long Envoy may take to answer `/ready` once its container runs.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a watched change may take to restart Envoy.
const WATCH_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A check of the Docker path failed (exit 1), as opposed to a run that could not happen (2).
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

fn failed(err: anyhow::Error) -> anyhow::Error {
    anyhow::Error::new(CheckFailed(format!("{err:#}")))
}

/// The outcome, as an exit code: 0 all checks passed, 1 a check failed; an error (exit 2)
/// when the checks could not run, saying what to do.
pub fn run(args: &Args) -> Result<i32> {
    let started = Instant::now();
    let mut stop_hint = None;
    let outcome = check(args, &mut stop_hint);
    let code = match outcome {
        Ok(()) => {
            eprintln!(
                "PASSED: the Docker path ({} in all)",
                seconds(started.elapsed())
            );
            Ok(0)
        }
        Err(err) if err.downcast_ref::<CheckFailed>().is_some() => {
            eprintln!("✗ {err:#}");
            eprintln!(
                "FAILED: the Docker path (logs in {})",
                paths::work_dir("compose").display()
            );
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
    let engine = docker::engine_version()
        .map_err(|err| anyhow::anyhow!("{err:#}: {}", docker::NO_ENGINE_HINT))?;
    let compose = docker::compose_version()
        .map_err(|err| anyhow::anyhow!("{err:#}: {}", docker::NO_COMPOSE_HINT))?;
    if plugin::parse_version(&compose).is_none_or(|v| v < plugin::MIN_COMPOSE) {
        bail!(
            "docker compose is {compose}, older than 2.40.3: {}",
            docker::NO_COMPOSE_HINT
        );
    }
    step.done(&format!("Docker Engine {engine}, Compose {compose}"));

    let logs = paths::work_dir("compose");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let name = format!("http-headers-check-{}", docker::unique_suffix());
    let scratch = ScratchDir::new(std::env::temp_dir().join(&name), args.keep)?;
    let tree = scratch.path.join("tree");

    let step = Step::start("scratch", "copying the work tree as a clone has it");
    let owner = scratch::owner();
    let copied = scratch::copy_tree(&paths::root(), &tree, owner)?;
    step.done(&format!(
        "{copied} files in {} (uid {}), no target/",
        tree.display(),
        owner.0
    ));

    let mut project = Project::new(&name, &tree, &[], &logs.join("compose.log"));
    let step = Step::start("images", "those of docker-compose.yml, else stand-ins");
    let images = compose_images(&project)?;
    let options = standins::Options {
        debian_mirror: args.debian_mirror.clone(),
    };
    let resolved = standins::resolve(&images, &options, &logs)?;
    let mut described: Vec<String> = resolved.iter().map(Resolved::describe).collect();
    if let Some(yaml) = override_yaml(&resolved) {
        // One copy for this run, one left in target/ for using the stand-ins by hand.
        for file in [scratch.path.join(OVERRIDE), logs.join(OVERRIDE)] {
            std::fs::write(&file, &yaml).with_context(|| format!("writing {}", file.display()))?;
        }
        project.files.push(scratch.path.join(OVERRIDE));
        described.push(format!(
            "override {}",
            paths::relative(&logs.join(OVERRIDE))
        ));
    }
    step.done(&described.join(", "));

    let listener = ports::free()?;
    let admin = ports::free()?;
    project.env = vec![
        ("ENVOY_PORT".into(), listener.to_string()),
        ("ENVOY_ADMIN_PORT".into(), admin.to_string()),
    ];
    if args.keep {
        *stop_hint = Some(format!(
            "at http://127.0.0.1:{listener} (admin http://127.0.0.1:{admin}), from {}; stop it with:\n  {} && rm -rf '{}'",
            tree.display(),
            project.command_line("down --volumes"),
            scratch.path.display()
        ));
    } else {
        project.arm();
    }
    let target = Target { listener, admin };

    let step = Step::start("up", "docker compose up (the build service first)");
    project
        .run(&["up", "--detach"], UP_TIMEOUT)
        .map_err(failed)?;
    target.wait_ready(&project).map_err(failed)?;
    step.done(&format!(
        "Envoy {} ready (admin {})",
        target.url(),
        target.admin_url()
    ));
    smoke(&project, &tree, &target, "smoke")?;

    // The edit loop with the README's command: a one-line change smoke can see.
    let change = edit_response_header(&tree, "edited")?;
    let saved = Instant::now();
    let step = Step::start("edit", EDIT_COMMAND_LINE);
    for command in EDIT_COMMANDS {
        project.run(command, UP_TIMEOUT).map_err(failed)?;
    }
    target.wait_ready(&project).map_err(failed)?;
    step.done(&format!("{change}; Envoy restarted"));
    smoke(&project, &tree, &target, "smoke")?;
    eprintln!(
        "edit loop: {} from saving envoy.yaml to a passing report ({EDIT_COMMAND_LINE})",
        seconds(saved.elapsed())
    );

    watch(&project, &tree, &target, &logs)?;

    // Up again with the volumes kept (toolchain, crates, module): the everyday start.
    let step = Step::start("down", "docker compose down (volumes kept)");
    project
        .run(&["down", "--timeout", "5"], UP_TIMEOUT)
        .map_err(failed)?;
    step.done("stopped and removed the containers and the network");
    let step = Step::start("up", "docker compose up, the volumes of the first run kept");
    project
        .run(&["up", "--detach"], UP_TIMEOUT)
        .map_err(failed)?;
    target.wait_ready(&project).map_err(failed)?;
    step.done(&format!("Envoy {} ready again", target.url()));
    smoke(&project, &tree, &target, "smoke")?;

    if !args.keep {
        let step = Step::start("down", "docker compose down --volumes");
        project.down().map_err(failed)?;
        let left = project.leftovers()?;
        if !left.is_empty() {
            return Err(failed(anyhow::anyhow!(
                "after `docker compose down --volumes` the project {name} still has: {}",
                left.join(", ")
            )));
        }
        step.done(&format!("no container, volume or network of {name} left"));
    }
    let step = Step::start("tree", "who owns the scratch tree");
    let foreign = scratch::not_owned_by(&tree, owner.0);
    if !foreign.is_empty() {
        let shown: Vec<String> = foreign
            .iter()
            .take(10)
            .map(|(path, uid)| format!("{} (uid {uid})", path.display()))
            .collect();
        return Err(failed(anyhow::anyhow!(
            "the containers left {} path(s) in the work tree that its owner (uid {}) may not be able to write or delete: {}",
            foreign.len(),
            owner.0,
            shown.join(", ")
        )));
    }
    step.done(&format!(
        "everything in it still belongs to uid {}",
        owner.0
    ));
    Ok(())
}

/// `docker compose watch`: a change to envoy.yaml restarts Envoy; a change under filter/
/// re-runs the build service, then restarts Envoy (`depends_on: restart: true`).
fn watch(project: &Project, tree: &Path, target: &Target, logs: &Path) -> Result<()> {
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
struct Target {
    listener: u16,
    admin: u16,
}

impl Target {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.listener)
    }

    fn admin_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin)
    }

    /// Polls Envoy's admin `/ready` until it answers 200; if it never does, the error holds
    /// the end of `docker compose logs envoy`, which says why.
    fn wait_ready(&self, project: &Project) -> Result<()> {
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
fn smoke(project: &Project, tree: &Path, target: &Target, label: &'static str) -> Result<()> {
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
fn edit_response_header(tree: &Path, suffix: &str) -> Result<String> {
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

/// The image of each service, as Compose reads docker-compose.yml.
fn compose_images(project: &Project) -> Result<Vec<(String, String)>> {
    let json = project.output(&["config", "--format", "json"])?;
    let config: Value =
        serde_json::from_str(&json).context("docker compose config printed no JSON")?;
    let services = config["services"]
        .as_object()
        .context("docker-compose.yml has no services")?;
    let mut images = Vec::new();
    for (service, spec) in services {
        let image = spec["image"]
            .as_str()
            .with_context(|| format!("service {service} names no image"))?;
        images.push((service.clone(), image.to_string()));
    }
    Ok(images)
}

/// The override that swaps in stand-ins (only `image:`), or None when every image is real.
pub fn override_yaml(resolved: &[Resolved]) -> Option<String> {
    let mut yaml = String::from(
        "# Written by `cargo xtask compose`: this engine has none of these images and cannot pull\n\
         # them, so local stand-ins built from xtask/standins/ take their place. Only `image:` changes.\n\
         services:\n",
    );
    let mut any = false;
    for image in resolved {
        if let Source::StandIn { tag, .. } = &image.source {
            yaml.push_str(&format!("  {}:\n    image: {tag}\n", image.service));
            any = true;
        }
    }
    any.then_some(yaml)
}

/// The scratch directory (the tree copy, the override file): removed when dropped or on
/// Ctrl-C, unless kept.
struct ScratchDir {
    path: PathBuf,
    /// The Ctrl-C registration of its removal (None: kept).
    on_interrupt: Option<u64>,
}

impl ScratchDir {
    fn new(path: PathBuf, keep: bool) -> Result<ScratchDir> {
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        let on_interrupt = (!keep).then(|| {
            crate::procs::run_on_interrupt(vec!["rm".into(), "-rf".into(), path.clone().into()])
        });
        Ok(ScratchDir { path, on_interrupt })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Some(id) = self.on_interrupt.take() {
            crate::procs::forget_on_interrupt(id);
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Whether a Docker engine answers, for `cargo xtask test` to decide whether to run this.
pub fn engine_answers() -> bool {
    docker::engine_version().is_ok()
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
    fn the_override_swaps_only_images_and_only_stand_ins() {
        let real = Resolved {
            service: "httpbin".into(),
            official: "mccutchen/go-httpbin:v2.22.1".into(),
            source: Source::Engine,
        };
        assert_eq!(override_yaml(std::slice::from_ref(&real)), None);
        let standin = Resolved {
            service: "envoy".into(),
            official: "envoyproxy/envoy:v1.40.0".into(),
            source: Source::StandIn {
                tag: "http-headers-standin/envoy:v1.40.0".into(),
                built: false,
            },
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
