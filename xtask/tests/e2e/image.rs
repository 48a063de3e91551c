//! The module as an OCI image (istio/README.md, "The OCI image"): `cargo xtask image --push`
//! against a real registry (Debian's docker-registry on loopback: anonymous, htpasswd, TLS
//! with its own CA), read back by readers that share no code with the pusher (skopeo, the
//! Docker engine), and fetched the way Istio's agent does, then run by the real Envoy 1.40.0
//! with the smoke checks passing through it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use xtask::image;
use xtask::stack::{Stack, StackSpec};

use crate::util::*;

mod agent;
mod crds;
mod registry;

use agent::{Agent, Variant, files_in};
use registry::{Mode, Registry};

/// `cargo xtask image` writes one layout and one manifests directory: one push at a time.
static PUSHES: Mutex<()> = Mutex::new(());

/// What a push printed on stdout.
struct Pushed {
    url: String,
    sha256: String,
}

/// `cargo xtask image --push REF ARGS…` with `DOCKER_CONFIG=docker_config`.
fn push(reference: &str, docker_config: &Path, args: &[&str]) -> Output {
    let _one_at_a_time = PUSHES.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .current_dir(xtask::paths::root())
        .args(["image", "--push", reference])
        .args(args)
        .env("DOCKER_CONFIG", docker_config)
        .output()
        .expect("the xtask binary runs")
}

/// A push that must succeed: the url and sha256 it printed.
#[track_caller]
fn pushed(out: &Output, registry: &Registry) -> Pushed {
    let text = output_text(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the push failed:\n{text}\nthe registry's log:\n{}",
        registry.log_tail()
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    let url = lines.next().unwrap_or_default().to_string();
    let sha256 = lines
        .next()
        .and_then(|l| l.strip_prefix("sha256: "))
        .unwrap_or_default();
    assert!(
        url.starts_with("oci://"),
        "EXPECTED oci://… on stdout, GOT:\n{stdout}"
    );
    assert_eq!(
        sha256.len(),
        64,
        "EXPECTED `sha256: <hex>` on stdout, GOT:\n{stdout}"
    );
    Pushed {
        url,
        sha256: sha256.to_string(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `skopeo inspect ARGS… docker://REF`'s stdout; panics with its stderr.
fn skopeo(args: &[&str], reference: &str) -> Vec<u8> {
    let out = Command::new(registry::which("skopeo", "skopeo"))
        .arg("inspect")
        .args(args)
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect {args:?} {reference}: {}",
        output_text(&out)
    );
    out.stdout
}

/// Runs Envoy on `module` (envoy.yaml's filter with `vm_config` pointing at that local
/// file, as the agent rewrites it) next to httpbin, and the smoke checks through it.
fn smoke_with_module(test: &str, module: PathBuf) {
    let doc = envoy_yaml();
    let spec = StackSpec::new(&format!("test-{test}"), doc.clone(), module);
    let stack = Stack::start(&tools(), &spec)
        .unwrap_or_else(|e| panic!("starting httpbin and Envoy: {e:#}"));
    let report = smoke(&stack, plugin_config(&doc));
    assert!(
        report.passed(),
        "smoke failed on the fetched module:\n{}\nEnvoy's log:\n{}",
        report.render_text(),
        log_tail(&stack)
    );
}

/// istio/README.md: `cargo xtask image --push 127.0.0.1:<port>/http-headers:dev` against a
/// local registry; skopeo sees one compat manifest with the printed digest; the same module
/// pushed again has the same digest; the agent-like fetch pinned to it feeds Envoy and smoke
/// passes; a wrong sha256 and a missing tag are refused and leave nothing in the cache.
#[test]
fn a_pushed_image_is_what_skopeo_reads_and_the_agent_fetch_runs_in_envoy() {
    let registry = Registry::start("image-anonymous", Mode::Anonymous);
    let no_login = registry::docker_config(&registry.scratch("docker"), "none", None);
    let reference = registry.reference("http-headers:dev");
    let first = pushed(&push(&reference, &no_login, &[]), &registry);
    assert_eq!(first.url, format!("oci://{reference}"));
    let again = pushed(&push(&reference, &no_login, &[]), &registry);
    assert_eq!(
        again.sha256, first.sha256,
        "the same module pushed twice: EXPECTED the same digest"
    );

    // skopeo: the manifest as served.
    let raw = skopeo(&["--raw", "--tls-verify=false"], &reference);
    assert_eq!(
        sha256_hex(&raw),
        first.sha256,
        "the served manifest's sha256 is the printed one"
    );
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["mediaType"], image::build::MANIFEST_MEDIA_TYPE);
    assert_eq!(
        manifest["config"]["mediaType"],
        image::build::CONFIG_MEDIA_TYPE
    );
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "EXPECTED one layer, GOT {manifest}");
    assert_eq!(layers[0]["mediaType"], image::build::LAYER_MEDIA_TYPE);
    assert_eq!(
        manifest["annotations"]["module.wasm.image/variant"],
        "compat"
    );
    let inspected: Value =
        serde_json::from_slice(&skopeo(&["--tls-verify=false"], &reference)).unwrap();
    assert_eq!(inspected["Digest"], format!("sha256:{}", first.sha256));
    println!(
        "skopeo: {} {} layer(s) {}, {} bytes",
        inspected["Digest"],
        layers.len(),
        layers[0]["mediaType"],
        layers[0]["size"]
    );

    // The manifests the push wrote for it.
    for file in xtask::manifests::oci::FILES {
        let text = std::fs::read_to_string(image::manifests_dir().join(file)).unwrap();
        assert_contains(file, &text, &format!("url: {}", first.url));
        assert_contains(file, &text, &format!("sha256: {}", first.sha256));
    }

    // The agent: pinned fetch, then Envoy and smoke on the fetched file.
    let cache = registry.scratch("cache");
    let agent = Agent {
        cache: cache.clone(),
        login: None,
        ca: None,
    };
    let (module, variant) = agent.fetch(&first.url, &first.sha256).unwrap();
    assert_eq!(variant, Variant::Compat);
    assert_eq!(
        std::fs::read(&module).unwrap(),
        std::fs::read(wasm_module()).unwrap(),
        "plugin.wasm is the module"
    );
    let cached = files_in(&cache);

    let wrong = "0".repeat(64);
    let err = format!("{:#}", agent.fetch(&first.url, &wrong).unwrap_err());
    assert_contains("a wrong sha256 is refused", &err, "not the pinned sha256");
    let missing = format!("oci://{}", registry.reference("http-headers:no-such-tag"));
    let err = format!("{:#}", agent.fetch(&missing, &first.sha256).unwrap_err());
    assert_contains("a missing tag is refused", &err, "no-such-tag");
    assert_eq!(
        files_in(&cache),
        cached,
        "the refused fetches left nothing in the cache"
    );

    smoke_with_module("image-agent", module);
}

/// The Docker engine pulls the pushed image from the loopback registry; the plugin.wasm
/// copied out of a container made from it is the module, byte for byte.
#[test]
fn docker_pulls_the_pushed_image_and_its_plugin_wasm_is_the_module() {
    let registry = Registry::start("image-docker", Mode::Anonymous);
    let no_login = registry::docker_config(&registry.scratch("docker"), "none", None);
    let reference = registry.reference("http-headers:docker");
    let pushed = pushed(&push(&reference, &no_login, &[]), &registry);
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .output()
            .expect("the docker CLI runs");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            output_text(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    docker(&["pull", "--quiet", &reference]);
    let mut cleanup = DockerCleanup {
        image: reference.clone(),
        container: None,
    };
    let digests = docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &reference,
    ]);
    assert_contains(
        "docker's digest is the pushed one",
        &digests,
        &pushed.sha256,
    );
    let container = docker(&["create", &reference, "x"]);
    cleanup.container = Some(container.clone());
    let out = Command::new("docker")
        .args(["cp", &format!("{container}:/plugin.wasm"), "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "docker cp: {}", output_text(&out));
    let mut archive = tar::Archive::new(&out.stdout[..]);
    let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
    let mut copied = Vec::new();
    std::io::Read::read_to_end(&mut entry, &mut copied).unwrap();
    assert!(
        copied == std::fs::read(wasm_module()).unwrap(),
        "docker cp's plugin.wasm differs from the module"
    );
    println!(
        "docker: pulled {reference} ({digests}), plugin.wasm {} bytes, identical",
        copied.len()
    );
    drop(cleanup);
}

/// Removes the container and the image the Docker test made (only those).
struct DockerCleanup {
    image: String,
    container: Option<String>,
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        if let Some(container) = &self.container {
            let _ = Command::new("docker")
                .args(["rm", "--force", container])
                .output();
        }
        let _ = Command::new("docker")
            .args(["rmi", "--force", &self.image])
            .output();
    }
}

/// A registry with htpasswd basic auth: the push takes the login from DOCKER_CONFIG's
/// config.json; a wrong one is refused (exit 1, saying so); the agent fetches with the
/// login and is refused without it, leaving nothing in its cache.
#[test]
fn a_registry_with_a_login_takes_the_docker_config_and_refuses_a_wrong_one() {
    let registry = Registry::start("image-htpasswd", Mode::Htpasswd);
    let host = registry.addr.to_string();
    let login = registry::docker_config(
        &registry.scratch("login"),
        &host,
        Some((registry::USER, registry::PASSWORD)),
    );
    let wrong = registry::docker_config(
        &registry.scratch("wrong"),
        &host,
        Some((registry::USER, "wrong")),
    );
    let reference = registry.reference("http-headers:private");

    let out = push(&reference, &wrong, &["--pull-secret", "registry-login"]);
    let text = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refused login: EXPECTED exit 1, GOT:\n{text}"
    );
    assert_contains("says the login was refused", &text, "refused the push");
    assert_contains(
        "names the login's file",
        &text,
        "config.json (DOCKER_CONFIG)",
    );

    let pushed = pushed(
        &push(&reference, &login, &["--pull-secret", "registry-login"]),
        &registry,
    );
    let sidecar =
        std::fs::read_to_string(image::manifests_dir().join("wasmplugin-oci.yaml")).unwrap();
    assert_contains(
        "the pull secret",
        &sidecar,
        "imagePullSecret: registry-login",
    );

    let cache = registry.scratch("cache");
    let anonymous = Agent {
        cache: cache.clone(),
        login: None,
        ca: None,
    };
    let err = format!(
        "{:#}",
        anonymous.fetch(&pushed.url, &pushed.sha256).unwrap_err()
    );
    assert!(
        err.contains("Not authorized") || err.contains("401"),
        "EXPECTED a refusal, GOT: {err}"
    );
    assert_eq!(
        files_in(&cache),
        Vec::<String>::new(),
        "the refused fetch left nothing in the cache"
    );
    let agent = Agent {
        login: Some((registry::USER.into(), registry::PASSWORD.into())),
        ..anonymous
    };
    let (module, _) = agent.fetch(&pushed.url, &pushed.sha256).unwrap();
    assert_eq!(
        std::fs::read(module).unwrap(),
        std::fs::read(wasm_module()).unwrap()
    );
}

/// A TLS registry whose certificate comes from its own CA: refused, saying why, without
/// `--ca`; pushed with it, and the digest is the same as over plain HTTP; skopeo trusts the
/// same CA and reads the same digest.
#[test]
fn a_registry_with_its_own_ca_is_pushed_to_with_that_ca_only() {
    let registry = Registry::start("image-tls", Mode::Tls);
    let ca = registry.ca.clone().unwrap();
    let no_login = registry::docker_config(&registry.scratch("docker"), "none", None);
    let reference = registry.reference("http-headers:tls");

    let out = push(&reference, &no_login, &["--scheme", "https"]);
    let text = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an untrusted certificate: EXPECTED exit 2, GOT:\n{text}"
    );
    assert_contains(
        "says the certificate is untrusted",
        &text,
        "TLS certificate is not trusted",
    );
    assert_contains("says what to do", &text, "--ca FILE");

    let pushed = pushed(
        &push(&reference, &no_login, &["--ca", ca.to_str().unwrap()]),
        &registry,
    );
    let local = std::fs::read(image::layout_dir().join("index.json")).unwrap();
    let index: Value = serde_json::from_slice(&local).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        format!("sha256:{}", pushed.sha256),
        "the layout's image is the pushed one"
    );

    let certs = registry.scratch("skopeo-certs");
    std::fs::copy(&ca, certs.join("ca.crt")).unwrap();
    let raw = skopeo(
        &["--raw", "--cert-dir", certs.to_str().unwrap()],
        &reference,
    );
    assert_eq!(sha256_hex(&raw), pushed.sha256);

    let agent = Agent {
        cache: registry.scratch("cache"),
        login: None,
        ca: Some(ca),
    };
    let (module, _) = agent.fetch(&pushed.url, &pushed.sha256).unwrap();
    assert_eq!(
        std::fs::read(module).unwrap(),
        std::fs::read(wasm_module()).unwrap()
    );
}

/// A registry that is down and a host that does not exist: exit 2 with what happened.
#[test]
fn an_unreachable_registry_is_named() {
    let empty = paths_scratch("image-unreachable");
    let no_login = registry::docker_config(&empty, "none", None);
    let port = xtask::ports::free().unwrap();
    let out = push(
        &format!("127.0.0.1:{port}/http-headers:dev"),
        &no_login,
        &[],
    );
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_contains(
        "a registry that is down",
        &text,
        "nothing answers at http://127.0.0.1:",
    );
    let out = push("no-such-registry.invalid/http-headers:dev", &no_login, &[]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_contains("an unknown host", &text, "is unknown");
}

fn paths_scratch(name: &str) -> PathBuf {
    let dir = xtask::paths::work_dir(&format!("test-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every object of istio/ (the placeholder copies included) and of the copies a push fills
/// in validates against Istio's and Gateway API's own CRD schemas, strictly; the ambient
/// Namespace against Kubernetes' (kubernetes-validate --strict). The schemas catch what they
/// should: a misspelled field, a sha256 that is not lower-case hex.
#[test]
fn every_istio_object_validates_against_the_crd_schemas() {
    let crds = crds::Crds::load();
    let plugin = xtask::istio::Plugin::from_bootstrap(&envoy_yaml(), "envoy.yaml").unwrap();
    let image = xtask::manifests::oci::Image {
        url: "oci://127.0.0.1:5000/http-headers:dev".into(),
        sha256: Some("2f".repeat(32)),
        pull_secret: Some("registry-login".into()),
    };
    let mut files: Vec<(String, String)> =
        xtask::manifests::oci::render(&plugin, &image, "# test\n")
            .unwrap()
            .into_iter()
            .map(|(file, text)| (format!("filled {file}"), text))
            .collect();
    for entry in std::fs::read_dir(xtask::istio::dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            files.push((
                xtask::paths::relative(&path),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    let mut checked = std::collections::BTreeMap::<String, usize>::new();
    let mut core = Vec::new();
    for (file, text) in &files {
        let docs: Vec<Value> = serde_saphyr::from_multiple(text).unwrap();
        for doc in docs {
            let kind = doc["kind"].as_str().unwrap_or("").to_string();
            match crds.problems(&doc) {
                Some(problems) => {
                    assert!(
                        problems.is_empty(),
                        "{file}: {kind} does not validate:\n{}",
                        problems.join("\n")
                    );
                    *checked.entry(kind).or_default() += 1;
                }
                None if file.contains("ambient.yaml") => core.push(doc),
                None => {}
            }
        }
    }
    println!("validated against the CRD schemas: {checked:?}");
    assert_eq!(
        checked.get("Gateway"),
        Some(&2),
        "the waypoint, placeholder and filled"
    );
    assert_eq!(
        checked.get("WasmPlugin"),
        Some(&5),
        "wasmplugin.yaml, and the OCI sidecar and ambient ones twice"
    );

    let mut bad = serde_saphyr::from_multiple::<Value>(&files[0].1)
        .unwrap()
        .remove(2);
    let refs = bad["spec"]
        .as_object_mut()
        .unwrap()
        .remove("targetRefs")
        .unwrap();
    bad["spec"]["targetRefz"] = refs;
    bad["spec"]["sha256"] = "2F".repeat(32).into();
    let problems = crds.problems(&bad).unwrap().join("\n");
    assert_contains("a misspelled field is refused", &problems, "targetRefz");
    assert_contains("an upper-case sha256 is refused", &problems, "/spec/sha256");

    let dir = paths_scratch("image-crds");
    let namespace = dir.join("namespace.json");
    assert_eq!(core.len(), 2, "the Namespace, placeholder and filled");
    std::fs::write(&namespace, serde_json::to_string(&core[0]).unwrap()).unwrap();
    let validate = tools()
        .kubernetes_validate()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let out = Command::new(validate)
        .args([
            "--strict",
            "--kubernetes-version",
            xtask::istio::KUBERNETES_VERSION,
        ])
        .arg(&namespace)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubernetes-validate: {}",
        output_text(&out)
    );
}
