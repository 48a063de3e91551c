//! `cargo xtask compose`: the Docker path, checked for real on a Docker engine. In a scratch
//! copy of the work tree owned by a normal user: `docker compose up`, the smoke checks, the
//! edit loop (the README's command, then `docker compose watch`), `docker compose down
//! --volumes`, then nothing root-owned in the tree and nothing of the project left.

pub mod docker;
mod edit;
pub mod plugin;
pub mod scratch;
pub mod standins;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::progress::{Step, seconds};
use crate::{paths, ports};
use docker::Project;
use edit::{Target, edit_response_header, smoke, watch};
use scratch::ScratchDir;
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
}
