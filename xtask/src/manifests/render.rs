//! The three manifests of istio/, rendered from envoy.yaml's wasm filter ([`Plugin`]).
//!
//! Each is a template (`templates/<file>`, comments and layout as rendered) with `${name}`
//! holes filled ([`template`](super::template)) with YAML written by `yaml.rs`.

use anyhow::{Result, ensure};
use serde_json::json;

use super::source::{HTTPBIN_IMAGE, HTTPBIN_PORT, MODULE_KEY, MOUNT_DIR, Plugin, SERVICE_PORT, V8};
use super::template::{Files, HEADER, fill, shared_values};
use super::{oci, yaml};

/// The Kubernetes version the Kubernetes objects are validated against (kubernetes-validate).
pub const KUBERNETES_VERSION: &str = "1.33.0";

/// The file names under istio/, in the order the README applies them.
pub const FILES: [&str; 3] = ["httpbin.yaml", "envoyfilter.yaml", "wasmplugin.yaml"];

/// Every file's rendering, keyed by file name: [`FILES`], and istio/'s copies of the OCI
/// image's manifests ([`oci::FILES`]: a placeholder url, no digest, no secret).
pub fn render(plugin: &Plugin) -> Result<Files> {
    let filter = &plugin.filter;
    ensure!(
        filter.runtime == V8,
        "envoy.yaml: runtime `{}`: a WasmPlugin always runs {V8}, so the two ports would differ; \
         use {V8} in envoy.yaml",
        filter.runtime
    );
    let configmap = plugin.configmap();
    let module = plugin.module_path();
    // Optional: with the module as an OCI image (wasmplugin-oci.yaml) there is no ConfigMap,
    // and the pod must start all the same.
    let volume = json!({ &configmap: { "configMap": { "name": &configmap, "optional": true } } });
    let mount = json!({ &configmap: { "mountPath": MOUNT_DIR, "readOnly": true } });
    let policy = filter.failure_policy.as_deref();
    let mut values = shared_values(plugin, HEADER)?;
    values.extend([
        ("configmap", configmap.clone()),
        ("module_key", MODULE_KEY.to_string()),
        ("mount_dir", MOUNT_DIR.to_string()),
        ("kubernetes_version", KUBERNETES_VERSION.to_string()),
        ("service_port", SERVICE_PORT.to_string()),
        ("httpbin_port", HTTPBIN_PORT.to_string()),
        // Istio reads both annotations as JSON maps from the volume's name to its spec.
        ("user_volume", yaml::scalar(&volume.to_string())?),
        ("user_volume_mount", yaml::scalar(&mount.to_string())?),
        ("image", yaml::scalar(HTTPBIN_IMAGE)?),
        ("filter_name", yaml::scalar(&plugin.filter_name)?),
        ("vm_id", yaml::scalar(&filter.vm_id)?),
        ("runtime", yaml::scalar(&filter.runtime)?),
        ("filename", yaml::scalar(&module)?),
        ("configuration", yaml::text(&filter.plugin_config, 16)?),
        ("failure_policy", yaml::optional(policy)?),
        ("url", yaml::scalar(&format!("file://{module}"))?),
    ]);
    let templates = [
        include_str!("templates/httpbin.yaml"),
        include_str!("templates/envoyfilter.yaml"),
        include_str!("templates/wasmplugin.yaml"),
    ];
    let placeholder = oci::Image {
        url: oci::PLACEHOLDER_URL.to_string(),
        ..oci::Image::default()
    };
    let mut files = oci::render(plugin, &placeholder, HEADER)?;
    for (file, template) in FILES.into_iter().zip(templates) {
        files.insert(file, fill(template, &values)?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;
    use envoy_model::bootstrap;
    use serde_json::Value;
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
