//! The Envoy HTTP filter istiod generates for a `WasmPlugin` (extensions.istio.io/v1alpha1),
//! as istio/istio's `pilot/pkg/model/extensions.go` builds it:
//! - the HTTP filter is named `extensions.istio.io/wasmplugin/<namespace>.<name>` and istiod
//!   sends its configuration through ECDS; here it is inline, with the same content;
//! - `config.name` is `<namespace>.<name>`, `config.root_id` the `pluginName`;
//! - `vm_config`: runtime `envoy.wasm.runtime.v8`, no `vm_id`, the module from the `url`
//!   (`file://` becomes `code.local.filename`), and the environment variable
//!   `ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION`;
//! - `configuration`: the `pluginConfig` as the JSON string of `plugin_json.rs`, in a
//!   StringValue (none when `pluginConfig` is empty);
//! - `failure_policy` from `failStrategy` (FAIL_CLOSE, the default, is FAIL_CLOSED).

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::plugin_json::plugin_config_string;
use envoy_model::bootstrap::{STRING_VALUE_TYPE, WASM_FILTER_TYPE};
use xtask::manifests::source::V8;

/// The prefix of the HTTP filter name istiod gives a WasmPlugin.
pub const FILTER_NAME_PREFIX: &str = "extensions.istio.io/wasmplugin/";

/// The JSON string the plugin receives for this WasmPlugin's `pluginConfig` (`None`: no
/// configuration, when `pluginConfig` is absent or empty).
pub fn configuration(wasmplugin: &Value) -> Option<String> {
    let config = wasmplugin.pointer("/spec/pluginConfig")?;
    let empty = config.as_object().is_none_or(|map| map.is_empty());
    (!empty).then(|| plugin_config_string(config))
}

/// The HTTP filter entry (`name`, `typed_config`) istiod generates for `wasmplugin` applied in
/// `namespace`. Only `file://` modules can run locally.
pub fn http_filter(wasmplugin: &Value, namespace: &str) -> Result<Value> {
    if wasmplugin["kind"] != "WasmPlugin" {
        bail!("not a WasmPlugin (kind: {})", wasmplugin["kind"]);
    }
    let text = |pointer: &str| wasmplugin.pointer(pointer).and_then(Value::as_str);
    let name = text("/metadata/name").context("WasmPlugin: metadata.name is missing")?;
    let url = text("/spec/url").context("WasmPlugin: spec.url is missing")?;
    let Some(filename) = url.strip_prefix("file://") else {
        bail!("WasmPlugin: url `{url}`: only a file:// module can run in the local Envoy");
    };
    let failure_policy = match text("/spec/failStrategy").unwrap_or("FAIL_CLOSE") {
        "FAIL_CLOSE" => "FAIL_CLOSED",
        "FAIL_OPEN" => "FAIL_OPEN",
        "FAIL_RELOAD" => "FAIL_RELOAD",
        other => bail!("WasmPlugin: failStrategy `{other}` is not one Istio knows"),
    };
    let plugin_name = format!("{namespace}.{name}");
    let mut config = json!({
        "name": plugin_name,
        "root_id": text("/spec/pluginName").unwrap_or(""),
        "vm_config": {
            "runtime": V8,
            "code": { "local": { "filename": filename } },
            "environment_variables": {
                "key_values": { "ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "1" }
            }
        },
        "failure_policy": failure_policy,
    });
    if let Some(configuration) = configuration(wasmplugin) {
        config["configuration"] = json!({ "@type": STRING_VALUE_TYPE, "value": configuration });
    }
    Ok(json!({
        "name": format!("{FILTER_NAME_PREFIX}{plugin_name}"),
        "typed_config": { "@type": WASM_FILTER_TYPE, "config": config },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": "http-headers"},
            "spec": {
                "url": "file:///var/local/wasm/filter.wasm",
                "pluginName": "http-headers-root",
                "pluginConfig": {"set_request_headers": {"test": "best"}, "log_headers": true}
            }
        })
    }

    #[test]
    fn generates_what_istiod_does() {
        let filter = http_filter(&manifest(), "default").unwrap();
        assert_eq!(
            filter["name"],
            "extensions.istio.io/wasmplugin/default.http-headers"
        );
        let config = &filter["typed_config"]["config"];
        assert_eq!(config["name"], "default.http-headers");
        assert_eq!(config["root_id"], "http-headers-root");
        assert_eq!(config["vm_config"].get("vm_id"), None);
        assert_eq!(config["vm_config"]["runtime"], V8);
        assert_eq!(
            config["vm_config"]["code"]["local"]["filename"],
            "/var/local/wasm/filter.wasm"
        );
        assert_eq!(config["failure_policy"], "FAIL_CLOSED");
        assert_eq!(
            config["configuration"]["value"],
            r#"{"log_headers":true,"set_request_headers":{"test":"best"}}"#
        );
    }

    #[test]
    fn empty_config_open_strategy_and_remote_urls() {
        let mut plugin = manifest();
        plugin["spec"]["pluginConfig"] = json!({});
        plugin["spec"]["failStrategy"] = json!("FAIL_OPEN");
        let filter = http_filter(&plugin, "ns").unwrap();
        let config = &filter["typed_config"]["config"];
        assert_eq!(config.get("configuration"), None);
        assert_eq!(config["failure_policy"], "FAIL_OPEN");
        plugin["spec"]["url"] = json!("oci://ghcr.io/x/http-headers:v1");
        let err = http_filter(&plugin, "ns").unwrap_err().to_string();
        assert!(err.contains("only a file:// module"), "{err}");
    }
}
