//! The Istio port (istio/), proven without a cluster: the manifests are the rendering of
//! envoy.yaml, carry its names, ids, path and configuration, run in the real Envoy 1.40.0 the
//! way Istio would put them into httpbin's sidecar (smoke passes), the Kubernetes objects
//! validate, the module fits a ConfigMap, and smoke reads the sidecar's log format.

use std::process::Command;

use envoy_model::bootstrap;
use serde_json::Value;
use xtask::istio;
use xtask::manifests::source;
use xtask::paths;
use xtask::stack::Stack;

use crate::util::*;

mod plugin_json;
mod sidecar;
mod wasmplugin;

/// The most a ConfigMap can hold: 1 MiB of data, keys included.
const CONFIGMAP_LIMIT_BYTES: u64 = 1024 * 1024;
/// The module's budget: half a ConfigMap, so that it stays well under the limit.
const MODULE_BUDGET_BYTES: u64 = CONFIGMAP_LIMIT_BYTES / 2;

/// The documents of istio/<file>, parsed.
fn manifest(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(istio::dir().join(file))
        .unwrap_or_else(|e| panic!("istio/{file}: {e}"));
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("istio/{file}: {e}"))
}

/// The one document of kind `kind` in istio/<file>.
fn object(file: &str, kind: &str) -> Value {
    let docs = manifest(file);
    let found: Vec<&Value> = docs.iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "EXPECTED one {kind} in istio/{file}, GOT {}",
        found.len()
    );
    found[0].clone()
}

/// `doc` at `pointer`, as text (empty when absent).
fn text(doc: &Value, pointer: &str) -> String {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// envoy.yaml's wasm filter entry (name and typed_config).
fn envoy_yaml_filter_entry() -> Value {
    let doc = envoy_yaml();
    let filter = bootstrap::wasm_filter(&doc, "").unwrap();
    doc.pointer(&filter.pointer).unwrap().clone()
}

/// Writes the loopback copy of `doc` (dummy ports, the built module) and runs
/// `envoy --mode validate` on it; panics with Envoy's output when it fails.
fn assert_envoy_validates(name: &str, doc: &Value) {
    let (ok, output) = validate_native(name, "validate.json", doc);
    assert!(ok, "envoy --mode validate rejected {name}:\n{output}");
}

/// README "Porting to Istio": istio/ is what `cargo xtask istio` renders from envoy.yaml.
#[test]
fn istio_manifests_are_the_rendering_of_envoy_yaml() {
    let out = xtask_cli(&["istio", "--check"]);
    let text = output_text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "istio/ differs from the rendering of envoy.yaml; run `cargo xtask istio`:\n{text}"
    );
    for file in istio::FILES {
        assert_contains("each file checked", &text, &format!("istio/{file} matches"));
    }
}

/// Changing the plugin configuration in envoy.yaml without rendering again fails the check,
/// naming the files to render and the command that does it.
#[test]
fn a_changed_configuration_without_rendering_fails_the_check() {
    let dir = paths::work_dir("test-istio-stale");
    std::fs::create_dir_all(&dir).unwrap();
    let changed = dir.join("envoy.yaml");
    let config = r#"{"add_response_headers": {"x-wasm-header": "changed"}}"#;
    let doc = bootstrap::with_plugin_config(&envoy_yaml(), config).unwrap();
    std::fs::write(&changed, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = xtask_cli(&[
        "istio",
        "--check",
        "--envoy-config",
        changed.to_str().unwrap(),
    ]);
    let text = output_text(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_contains("names the EnvoyFilter", &text, "✗ istio/envoyfilter.yaml");
    assert_contains("names the WasmPlugin", &text, "✗ istio/wasmplugin.yaml");
    assert_contains("shows the line", &text, "changed");
    assert_contains("says what to do", &text, "run `cargo xtask istio`");
    assert!(!text.contains("✗ istio/httpbin.yaml"), "{text}");
}

/// Every manifest carries envoy.yaml's names, ids, runtime, failure policy, configuration
/// and the one module path, read back from the files themselves.
#[test]
fn manifests_agree_with_envoy_yaml() {
    let entry = envoy_yaml_filter_entry();
    let config = &entry["typed_config"]["config"];
    let module = format!("{}/{}", source::MOUNT_DIR, source::MODULE_KEY);

    // EnvoyFilter: its patch value is envoy.yaml's entry, the module path aside.
    let envoyfilter = object("envoyfilter.yaml", "EnvoyFilter");
    let patch = &envoyfilter["spec"]["configPatches"][0];
    let mut value = patch["patch"]["value"].clone();
    let filename = "/typed_config/config/vm_config/code/local/filename";
    assert_eq!(
        text(&value, filename),
        module,
        "the EnvoyFilter's module path"
    );
    *value.pointer_mut(filename).unwrap() = entry.pointer(filename).unwrap().clone();
    assert_eq!(
        value, entry,
        "EXPECTED the EnvoyFilter's patch value to be envoy.yaml's wasm filter entry \
         (module path aside)"
    );
    assert_eq!(text(patch, "/match/context"), "SIDECAR_INBOUND");
    assert_eq!(text(patch, "/patch/operation"), "INSERT_BEFORE");
    assert_eq!(
        text(patch, "/match/listener/filterChain/filter/name"),
        sidecar::HCM
    );
    assert_eq!(
        text(patch, "/match/listener/filterChain/filter/subFilter/name"),
        sidecar::ROUTER
    );

    // WasmPlugin: pluginName = root_id, pluginConfig = the configuration, same module.
    let plugin = object("wasmplugin.yaml", "WasmPlugin");
    assert_eq!(text(&plugin, "/spec/pluginName"), text(config, "/root_id"));
    assert_eq!(text(&plugin, "/spec/url"), format!("file://{module}"));
    assert_eq!(text(&plugin, "/spec/failStrategy"), "FAIL_CLOSE");
    assert_eq!(text(config, "/failure_policy"), "FAIL_CLOSED");
    assert_eq!(text(config, "/vm_config/runtime"), source::V8);
    let configuration: Value = serde_json::from_str(&text(config, "/configuration/value")).unwrap();
    assert_eq!(plugin["spec"]["pluginConfig"], configuration);
    assert_eq!(text(&plugin, "/metadata/name"), text(config, "/name"));
    assert_eq!(text(&envoyfilter, "/metadata/name"), text(config, "/name"));

    // httpbin: the pod template mounts that ConfigMap where the module path points, and
    // raises the wasm log level; the Deployment itself carries no sidecar annotations.
    let deployment = object("httpbin.yaml", "Deployment");
    assert_eq!(deployment.pointer("/metadata/annotations"), None);
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    let json = |name: &str| -> Value {
        serde_json::from_str(annotations[name].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("annotation {name} is not JSON: {e}\n{annotations:#}"))
    };
    let configmap = format!("{}-wasm", text(config, "/name"));
    let volumes = json("sidecar.istio.io/userVolume");
    assert_eq!(volumes[&configmap]["configMap"]["name"], configmap.as_str());
    let mounts = json("sidecar.istio.io/userVolumeMount");
    assert_eq!(mounts[&configmap]["mountPath"], source::MOUNT_DIR);
    assert_eq!(
        annotations["sidecar.istio.io/componentLogLevel"],
        "wasm:info"
    );
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        labels["app"], envoyfilter["spec"]["workloadSelector"]["labels"]["app"],
        "the EnvoyFilter selects httpbin's pods"
    );
    assert_eq!(
        labels["app"],
        plugin["spec"]["selector"]["matchLabels"]["app"]
    );
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], source::HTTPBIN_IMAGE);
    let compose = std::fs::read_to_string(paths::root().join("docker-compose.yml")).unwrap();
    assert_contains(
        "the same httpbin image as docker-compose.yml",
        &compose,
        &format!("image: {}", source::HTTPBIN_IMAGE),
    );
}

/// The EnvoyFilter's patch, inserted as istiod inserts it (into the sidecar's inbound HTTP
/// connection manager, before the router), with the module path pointed at the built module:
/// Envoy 1.40.0 validates it and the smoke checks pass with httpbin behind.
#[test]
fn envoyfilter_runs_in_envoy_as_istio_inserts_it() {
    let envoyfilter = object("envoyfilter.yaml", "EnvoyFilter");
    let inbound = sidecar::inbound_bootstrap(&envoy_yaml()).unwrap();
    let doc = sidecar::apply_envoyfilter(&inbound, &envoyfilter).unwrap();
    assert_eq!(
        sidecar::http_filter_names(&doc),
        [[
            sidecar::STAND_IN,
            "envoy.filters.http.wasm",
            sidecar::ROUTER
        ]]
    );
    assert_envoy_validates("istio-envoyfilter", &doc);

    let stack = start("istio-envoyfilter", doc);
    let configuration = text(
        &envoyfilter,
        "/spec/configPatches/0/patch/value/typed_config/config/configuration/value",
    );
    let report = smoke(
        &stack,
        smoke::plugin_config_from_json(&configuration).unwrap(),
    );
    assert!(
        report.passed(),
        "{}\nEnvoy's log:\n{}",
        report.render_text(),
        log_tail(&stack)
    );
    let log = std::fs::read_to_string(stack.envoy.log()).unwrap();
    assert_contains(
        "envoy.yaml's name, root_id and vm_id in the log",
        &log,
        "wasm log http-headers http-headers-root http-headers-vm: request header -->",
    );
}

/// The WasmPlugin, turned into the filter istiod generates (its pluginConfig as the JSON
/// string Istio hands to the plugin), before the router: Envoy 1.40.0 validates it and the
/// smoke checks pass with the expectations taken from that same string.
#[test]
fn wasmplugin_runs_in_envoy_as_istiod_generates_it() {
    let plugin = object("wasmplugin.yaml", "WasmPlugin");
    let filter = wasmplugin::http_filter(&plugin, source::NAMESPACE).unwrap();
    let inbound = sidecar::inbound_bootstrap(&envoy_yaml()).unwrap();
    let doc = sidecar::insert_before_router(&inbound, &filter).unwrap();
    let generated = "extensions.istio.io/wasmplugin/default.http-headers";
    assert_eq!(
        sidecar::http_filter_names(&doc),
        [[sidecar::STAND_IN, generated, sidecar::ROUTER]]
    );
    let configuration = wasmplugin::configuration(&plugin).expect("a pluginConfig");
    assert!(
        !configuration.contains(' ') && configuration.starts_with('{'),
        "EXPECTED compact JSON, GOT {configuration}"
    );
    assert_envoy_validates("istio-wasmplugin", &doc);

    let stack = start("istio-wasmplugin", doc);
    let config = smoke::plugin_config_from_json(&configuration).unwrap();
    assert_eq!(
        config,
        plugin_config(&envoy_yaml()),
        "the WasmPlugin's configuration means what envoy.yaml's does"
    );
    let report = smoke(&stack, config);
    assert!(
        report.passed(),
        "{}\nEnvoy's log:\n{}",
        report.render_text(),
        log_tail(&stack)
    );
    let log = std::fs::read_to_string(stack.envoy.log()).unwrap();
    assert_contains(
        "istiod's plugin name and root id in the log",
        &log,
        "wasm log default.http-headers http-headers-root: request header -->",
    );
}

/// The Kubernetes objects validate against the Kubernetes schemas, strictly.
#[test]
fn kubernetes_objects_validate() {
    let validate = tools()
        .kubernetes_validate()
        .unwrap_or_else(|e| panic!("{e:#}"));
    let out = Command::new(validate)
        .current_dir(paths::root())
        .args([
            "--strict",
            "--kubernetes-version",
            istio::KUBERNETES_VERSION,
        ])
        .arg("istio/httpbin.yaml")
        .output()
        .expect("kubernetes-validate runs");
    let text = output_text(&out);
    assert!(out.status.success(), "kubernetes-validate failed:\n{text}");
    let version = istio::KUBERNETES_VERSION.trim_end_matches(".0");
    for object in [
        "serviceaccount/httpbin",
        "service/httpbin",
        "deployment/httpbin",
    ] {
        assert_contains(
            "each object passed",
            &text,
            &format!("passed for resource {object} against version {version}"),
        );
    }
}

/// Fails with what to do when a module of `bytes` does not fit the ConfigMap budget.
fn check_module_size(bytes: u64) -> Result<(), String> {
    if bytes > MODULE_BUDGET_BYTES {
        return Err(format!(
            "the wasm module is {bytes} bytes: over this project's budget of {MODULE_BUDGET_BYTES} \
             bytes (half of a ConfigMap's limit of {CONFIGMAP_LIMIT_BYTES} bytes), so \
             `kubectl create configmap` will fail or soon will. Make it smaller (keep the release \
             profile's opt-level \"s\", LTO and strip; look for a new dependency; try \
             `wasm-opt -Oz`), or ship it as an OCI image and point the WasmPlugin's url at \
             oci://… instead of the ConfigMap"
        ));
    }
    Ok(())
}

#[test]
fn module_budget() {
    check_module_size(152_001).unwrap();
    let err = check_module_size(MODULE_BUDGET_BYTES + 1).unwrap_err();
    assert!(
        err.contains("524289 bytes") && err.contains("1048576"),
        "{err}"
    );
}

/// The module stays well under a ConfigMap's 1 MiB.
#[test]
fn module_fits_in_a_configmap() {
    let bytes = std::fs::metadata(wasm_module()).unwrap().len();
    if let Err(err) = check_module_size(bytes) {
        panic!("{err}");
    }
    println!(
        "filter.wasm: {bytes} bytes, {:.0}% of a ConfigMap's {} bytes",
        bytes as f64 * 100.0 / CONFIGMAP_LIMIT_BYTES as f64,
        CONFIGMAP_LIMIT_BYTES
    );
}

/// README "Porting to Istio", last step: the smoke command against the sidecar, its log read
/// by a command. Here the WasmPlugin's filter runs in Envoy started as pilot-agent starts it
/// (Istio's log format, two workers), and `cat` of its log stands in for `kubectl logs`.
#[test]
fn readme_smoke_command_reads_the_sidecar_log_format() {
    let plugin = object("wasmplugin.yaml", "WasmPlugin");
    let filter = wasmplugin::http_filter(&plugin, source::NAMESPACE).unwrap();
    let inbound = sidecar::inbound_bootstrap(&envoy_yaml()).unwrap();
    let doc = sidecar::insert_before_router(&inbound, &filter).unwrap();
    let mut spec = spec("istio-sidecar-log", doc);
    spec.envoy = sidecar::envoy_options();
    let stack = Stack::start(&tools(), &spec).unwrap_or_else(|e| panic!("{e:#}"));
    let envoy = &stack.envoy;
    let logs = format!("cmd:cat {}", envoy.log().display());
    let (url, admin) = (envoy.url(), envoy.admin_url());
    let out = smoke_cli(&["--url", &url, "--admin", &admin, "--logs", &logs]);
    let text = output_text(&out);
    let log = std::fs::read_to_string(envoy.log()).unwrap_or_default();
    assert!(
        out.status.success(),
        "the README's smoke command failed against the sidecar-style Envoy:\n{text}\n\
         --- its log:\n{log}"
    );
    assert_contains("the report", &text, "PASSED");
    assert_contains("Istio's line form in the log", &log, "\tinfo\tenvoy wasm ");
    assert_contains("thread suffix", &log, "\tthread=");
}
