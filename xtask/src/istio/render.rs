//! The three manifests of istio/, rendered from envoy.yaml's wasm filter ([`Plugin`]).
//!
//! Each is a template with `${name}` holes filled with YAML written by `yaml.rs`. A hole alone
//! on its line whose value is empty drops the line (an optional field).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::source::{
    APP, HTTPBIN_IMAGE, HTTPBIN_PORT, MODULE_KEY, MOUNT_DIR, Plugin, SERVICE_PORT, V8,
};
use super::yaml;

/// The file names under istio/, in the order the README applies them.
pub const FILES: [&str; 3] = ["httpbin.yaml", "envoyfilter.yaml", "wasmplugin.yaml"];

/// Every file's rendering, keyed by file name.
pub fn render(plugin: &Plugin) -> Result<BTreeMap<&'static str, String>> {
    let filter = &plugin.filter;
    if filter.runtime != V8 {
        bail!(
            "envoy.yaml: runtime `{}`: a WasmPlugin always runs {V8}, so the two ports would \
             differ; use {V8} in envoy.yaml",
            filter.runtime
        );
    }
    let configmap = plugin.configmap();
    let volume = json!({ &configmap: { "configMap": { "name": &configmap } } });
    let mount = json!({ &configmap: { "mountPath": MOUNT_DIR, "readOnly": true } });
    let failure_policy = filter.failure_policy.as_deref().map(yaml::scalar);
    let plugin_config = Value::Object(plugin.config_object.clone().unwrap_or_default());
    let values = [
        ("header", HEADER.to_string()),
        ("configmap", configmap.clone()),
        ("module_key", MODULE_KEY.to_string()),
        ("mount_dir", MOUNT_DIR.to_string()),
        ("kubernetes_version", super::KUBERNETES_VERSION.to_string()),
        ("app", yaml::scalar(APP)?),
        ("service_port", SERVICE_PORT.to_string()),
        ("httpbin_port", HTTPBIN_PORT.to_string()),
        // Istio reads both annotations as JSON maps from the volume's name to its spec.
        ("user_volume", yaml::scalar(&volume.to_string())?),
        ("user_volume_mount", yaml::scalar(&mount.to_string())?),
        ("component_log_level", yaml::scalar("wasm:info")?),
        ("image", yaml::scalar(HTTPBIN_IMAGE)?),
        ("name", yaml::scalar(&filter.name)?),
        ("filter_name", yaml::scalar(&plugin.filter_name)?),
        ("root_id", yaml::scalar(&filter.root_id)?),
        ("vm_id", yaml::scalar(&filter.vm_id)?),
        ("runtime", yaml::scalar(&filter.runtime)?),
        ("filename", yaml::scalar(&plugin.module_path())?),
        ("configuration", yaml::text(&filter.plugin_config, 16)?),
        (
            "failure_policy",
            failure_policy.transpose()?.unwrap_or_default(),
        ),
        (
            "url",
            yaml::scalar(&format!("file://{}", plugin.module_path()))?,
        ),
        ("fail_strategy", plugin.fail_strategy()?.to_string()),
        ("plugin_config", yaml::mapping(&plugin_config, 4)?),
    ];
    let templates = [HTTPBIN, ENVOYFILTER, WASMPLUGIN];
    FILES
        .into_iter()
        .zip(templates)
        .map(|(file, template)| Ok((file, fill(template, &values)?)))
        .collect()
}

const HEADER: &str = "\
# Rendered by `cargo xtask istio` from envoy.yaml: do not edit. Change envoy.yaml (the one
# plugin configuration) and run `cargo xtask istio`; `cargo xtask istio --check` and the tests
# fail while this file differs from the rendering.
";

const HTTPBIN: &str = r#"${header}#
# httpbin with the filter's module mounted into its Istio sidecar. The module comes from the
# ConfigMap `${configmap}` (README "Porting to Istio" creates it):
#   kubectl create configmap ${configmap} --from-file=${module_key}=target/wasm32-wasip1/release/filter.wasm
# The sidecar.istio.io annotations are read from the pod, so they sit on the pod template:
# - userVolume and userVolumeMount mount the ConfigMap read-only at ${mount_dir} in the
#   istio-proxy container;
# - componentLogLevel wasm:info shows the filter's header lines (sidecars log at warning).
# Checked with kubernetes-validate --strict against Kubernetes ${kubernetes_version}.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ${app}
---
# NodePort: the smoke checks must reach httpbin through its sidecar. `kubectl port-forward`
# to the pod does not go through it (the sidecar only captures traffic that arrives on the
# pod's network interface), so smoke uses http://<node address>:<node port> instead.
apiVersion: v1
kind: Service
metadata:
  name: ${app}
  labels:
    app: ${app}
    service: ${app}
spec:
  type: NodePort
  selector:
    app: ${app}
  ports:
  - name: http
    port: ${service_port}
    targetPort: ${httpbin_port}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: ${app}
  template:
    metadata:
      labels:
        app: ${app}
      annotations:
        sidecar.istio.io/userVolume: ${user_volume}
        sidecar.istio.io/userVolumeMount: ${user_volume_mount}
        sidecar.istio.io/componentLogLevel: ${component_log_level}
    spec:
      serviceAccountName: ${app}
      containers:
      - name: ${app}
        # The image docker-compose.yml runs; it listens on ${httpbin_port}.
        image: ${image}
        ports:
        - containerPort: ${httpbin_port}
"#;

const ENVOYFILTER: &str = r#"${header}#
# The filter in httpbin's sidecar, as envoy.yaml has it: istiod inserts the patch's value into
# every inbound HTTP connection manager of the selected pods, just before the router. The
# value is envoy.yaml's wasm filter entry with the module's path inside the sidecar (the
# ConfigMap mount of httpbin.yaml); name, root_id, vm_id, runtime, configuration and
# failure_policy are envoy.yaml's. A test runs this value in Envoy 1.40.0 that way.
# Apply this file or wasmplugin.yaml, not both: with both the filter runs twice.
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: ${name}
spec:
  workloadSelector:
    labels:
      app: ${app}
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener:
        filterChain:
          filter:
            name: envoy.filters.network.http_connection_manager
            subFilter:
              name: envoy.filters.http.router
    patch:
      operation: INSERT_BEFORE
      value:
        name: ${filter_name}
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
          config:
            name: ${name}
            root_id: ${root_id}
            vm_config:
              vm_id: ${vm_id}
              runtime: ${runtime}
              code:
                local:
                  filename: ${filename}
            # The plugin configuration (JSON), handed to the filter as is.
            configuration:
              "@type": type.googleapis.com/google.protobuf.StringValue
              value: ${configuration}
            failure_policy: ${failure_policy}
"#;

const WASMPLUGIN: &str = r#"${header}#
# The same filter through Istio's WasmPlugin API, which current Istio recommends over the
# EnvoyFilter. From it istiod makes an Envoy wasm filter whose name is
# `<namespace>.<metadata.name>`, whose root_id is pluginName, with no vm_id, the V8 runtime,
# and pluginConfig handed to the filter as one line of JSON (keys sorted, numbers as
# doubles); without a `phase` it goes last among the inbound filters, before the router.
# In namespace default the sidecar then logs
#   wasm log default.${name} ${root_id}: request header --> ...
# A test runs that filter in Envoy 1.40.0.
# Apply this file or envoyfilter.yaml, not both: with both the filter runs twice.
#
# url: file:// reads the module from the ConfigMap mount of httpbin.yaml. Without the
# ConfigMap, publish the module as an OCI image (a `FROM scratch` image holding
# `plugin.wasm`) and use `url: oci://<registry>/<repository>:<tag>`: the Istio agent pulls it
# (see imagePullPolicy, imagePullSecret). Pin a remote module with
# `sha256: <hex SHA-256 of the .wasm>`; it is checked for oci:// and http(s):// modules only.
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
spec:
  selector:
    matchLabels:
      app: ${app}
  # Inbound only, like the EnvoyFilter's SIDECAR_INBOUND (the default is both directions).
  match:
  - mode: SERVER
  url: ${url}
  pluginName: ${root_id}
  # envoy.yaml's failure_policy (FAIL_CLOSED is FAIL_CLOSE here); README "Failure policy".
  failStrategy: ${fail_strategy}
  # envoy.yaml's plugin configuration.
  pluginConfig:${plugin_config}
"#;

/// Replaces every `${key}` of `template` by its value in one pass; a line that is only a hole
/// (after its key) whose value is empty is dropped. Fails on a hole without a value.
fn fill(template: &str, values: &[(&str, String)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() * 2);
    for line in template.split_inclusive('\n') {
        let mut rendered = String::new();
        let mut rest = line;
        let mut filled_empty = false;
        while let Some((before, hole)) = rest.split_once("${") {
            let Some((key, after)) = hole.split_once('}') else {
                bail!("an unclosed hole in a template line: {line}");
            };
            let Some((_, value)) = values.iter().find(|(k, _)| *k == key) else {
                bail!("the template hole ${{{key}}} has no value");
            };
            rendered.push_str(before);
            rendered.push_str(value);
            filled_empty |= value.is_empty();
            rest = after;
        }
        rendered.push_str(rest);
        if !(filled_empty && rendered.trim_end().ends_with(':')) {
            out.push_str(&rendered);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;
    use smoke::envoy::bootstrap;
    use std::path::Path;

    fn plugin(config: Option<&str>) -> Plugin {
        let mut doc = bootstrap::load(&paths::envoy_yaml()).unwrap();
        if let Some(config) = config {
            doc = bootstrap::with_plugin_config(&doc, config).unwrap();
        }
        Plugin::from_bootstrap(&doc, "envoy.yaml").unwrap()
    }

    fn parse(text: &str) -> Vec<Value> {
        text.split("\n---\n")
            .map(|doc| bootstrap::parse(doc, Path::new("x.yaml")).unwrap())
            .collect()
    }

    #[test]
    fn fill_replaces_once_and_drops_empty_optional_lines() {
        let out = fill(
            "a: ${x}\nb: ${y}\nc: ${x}${x}\n",
            &[("x", "${y}".into()), ("y", String::new())],
        )
        .unwrap();
        assert_eq!(out, "a: ${y}\nc: ${y}${y}\n");
        assert!(fill("a: ${z}\n", &[]).is_err());
    }

    #[test]
    fn a_changed_configuration_changes_both_filter_manifests() {
        let before = render(&plugin(None)).unwrap();
        let after = render(&plugin(Some(
            r#"{"add_response_headers": {"x-wasm-header": "v2"}}"#,
        )))
        .unwrap();
        assert_eq!(before["httpbin.yaml"], after["httpbin.yaml"]);
        for file in ["envoyfilter.yaml", "wasmplugin.yaml"] {
            assert_ne!(before[file], after[file], "{file}");
            assert!(after[file].contains("v2"), "{}", after[file]);
        }
    }

    #[test]
    fn manifests_parse_and_carry_the_configuration() {
        let plugin = plugin(None);
        let files = render(&plugin).unwrap();
        let envoyfilter = &parse(&files["envoyfilter.yaml"])[0];
        let config = envoyfilter
            .pointer("/spec/configPatches/0/patch/value/typed_config/config")
            .unwrap();
        assert_eq!(
            config["configuration"]["value"],
            plugin.filter.plugin_config.as_str()
        );
        assert_eq!(config["vm_config"]["vm_id"], plugin.filter.vm_id.as_str());
        let wasmplugin = &parse(&files["wasmplugin.yaml"])[0];
        assert_eq!(
            wasmplugin["spec"]["pluginConfig"],
            Value::Object(plugin.config_object.clone().unwrap())
        );
        let httpbin = parse(&files["httpbin.yaml"]);
        assert_eq!(httpbin.len(), 3);
        assert!(!files.values().any(|f| f.contains("${")));
    }

    #[test]
    fn an_empty_configuration_gives_an_empty_plugin_config() {
        let files = render(&plugin(Some(""))).unwrap();
        let wasmplugin = &parse(&files["wasmplugin.yaml"])[0];
        assert_eq!(wasmplugin["spec"]["pluginConfig"], serde_json::json!({}));
        let envoyfilter = &parse(&files["envoyfilter.yaml"])[0];
        let value = envoyfilter
            .pointer("/spec/configPatches/0/patch/value/typed_config/config/configuration/value");
        assert_eq!(value, Some(&serde_json::json!("")));
    }
}
