//! What the Istio manifests are rendered from: envoy.yaml's wasm filter, read with
//! `envoy_model::bootstrap`, and the names the port adds (ConfigMap, mount, workload).

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use envoy_model::bootstrap::{self, WasmFilter};
use serde_json::{Map, Value};

use crate::{paths, smoke_program};

/// The workload the filter is ported to: httpbin, as in docker-compose.yml and Istio's samples.
pub const APP: &str = "httpbin";
/// The httpbin image: the one docker-compose.yml runs.
pub const HTTPBIN_IMAGE: &str = "mccutchen/go-httpbin:v2.22.1";
/// The port go-httpbin listens on.
pub const HTTPBIN_PORT: u16 = 8080;
/// The Service's port, as in Istio's httpbin sample.
pub const SERVICE_PORT: u16 = 8000;
/// Where the ConfigMap holding the module is mounted in the `istio-proxy` container.
pub const MOUNT_DIR: &str = "/var/local/wasm";
/// The ConfigMap's key, so the module's file name inside [`MOUNT_DIR`].
pub const MODULE_KEY: &str = "filter.wasm";
/// The namespace the README applies the manifests to. istiod names a `WasmPlugin`'s Envoy
/// filter after it (`default.http-headers`), so the local runs use it too.
pub const NAMESPACE: &str = "default";
/// The runtime istiod always gives a `WasmPlugin`.
pub const V8: &str = "envoy.wasm.runtime.v8";

/// envoy.yaml's wasm filter: every field the manifests carry.
#[derive(Debug, Clone, PartialEq)]
pub struct Plugin {
    /// The HTTP filter entry's `name` (`envoy.filters.http.wasm`).
    pub filter_name: String,
    /// The filter's config. Its `name` is also the EnvoyFilter's, the WasmPlugin's and (with
    /// `-wasm`) the ConfigMap's name; its `root_id` the WasmPlugin's `pluginName`; its `vm_id`
    /// one a WasmPlugin cannot set (istiod leaves it empty); its `plugin_config` the
    /// configuration exactly as in envoy.yaml.
    pub filter: WasmFilter,
    /// The same configuration as a JSON object: the WasmPlugin's `pluginConfig` (`None` when
    /// the configuration is empty).
    pub config_object: Option<Map<String, Value>>,
}

impl Plugin {
    /// Reads the first wasm filter of the Envoy bootstrap `source`, its plugin configuration
    /// checked by the filter's own code (a bad one is the filter's message).
    pub fn read(source: &Path) -> Result<Plugin> {
        let plugin = Plugin::from_bootstrap(&bootstrap::load(source)?, &paths::relative(source))?;
        smoke_program::plugin_settings(&smoke_program::build_step()?, source)?;
        Ok(plugin)
    }

    /// Reads the first wasm filter of an Envoy bootstrap; `origin` names it in errors. The
    /// plugin configuration must be a JSON object; what it holds is [`Plugin::read`]'s check.
    pub fn from_bootstrap(bootstrap: &Value, origin: &str) -> Result<Plugin> {
        let filter = bootstrap::wasm_filter(bootstrap, origin)?;
        let at = |what: &str| format!("{origin}: {}{what}", filter.path);
        let filter_name = bootstrap
            .pointer(&format!("{}/name", filter.pointer))
            .and_then(Value::as_str)
            .with_context(|| at(".name is missing"))?
            .to_string();
        let configuration = at(".typed_config.config.configuration");
        let config_object = match serde_json::from_str(&filter.plugin_config) {
            _ if filter.plugin_config.trim().is_empty() => None,
            Ok(Value::Object(map)) => Some(map),
            _ => bail!(
                "{configuration}: the plugin configuration is not a JSON object, so it cannot \
                 be a WasmPlugin's pluginConfig"
            ),
        };
        ensure!(
            is_resource_name(&filter.name),
            "{}: `{}` cannot name the Istio resources: use lower-case letters, digits and `-` (a \
             Kubernetes name), e.g. `http-headers`",
            at(".typed_config.config.name"),
            filter.name
        );
        Ok(Plugin {
            filter_name,
            filter,
            config_object,
        })
    }

    /// The ConfigMap holding the module.
    pub fn configmap(&self) -> String {
        format!("{}-wasm", self.filter.name)
    }

    /// The module's path inside the `istio-proxy` container.
    pub fn module_path(&self) -> String {
        format!("{MOUNT_DIR}/{MODULE_KEY}")
    }

    /// The WasmPlugin's `failStrategy` for envoy.yaml's `failure_policy`.
    pub fn fail_strategy(&self) -> Result<&str> {
        match self.filter.failure_policy.as_deref() {
            None | Some("FAIL_CLOSED") => Ok("FAIL_CLOSE"),
            Some(same @ ("FAIL_OPEN" | "FAIL_RELOAD")) => Ok(same),
            Some(other) => bail!(
                "envoy.yaml: failure_policy `{other}` has no WasmPlugin failStrategy \
                 (FAIL_CLOSED, FAIL_OPEN and FAIL_RELOAD do)"
            ),
        }
    }
}

/// A Kubernetes DNS label: what a ConfigMap, EnvoyFilter and WasmPlugin can all be named.
fn is_resource_name(name: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    (1..=58).contains(&name.len())
        && name.bytes().all(allowed)
        && !name.ends_with('-')
        && !name.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_envoy_yaml() {
        let doc = bootstrap::load(&paths::envoy_yaml()).unwrap();
        let plugin = Plugin::from_bootstrap(&doc, "envoy.yaml").unwrap();
        assert_eq!(plugin.filter_name, "envoy.filters.http.wasm");
        assert_eq!(plugin.configmap(), format!("{}-wasm", plugin.filter.name));
        assert_eq!(plugin.module_path(), "/var/local/wasm/filter.wasm");
        let object = plugin.config_object.as_ref().unwrap();
        let text: Value = serde_json::from_str(&plugin.filter.plugin_config).unwrap();
        assert_eq!(&Value::Object(object.clone()), &text);
    }

    #[test]
    fn refuses_what_cannot_be_ported() {
        let doc = bootstrap::load(&paths::envoy_yaml()).unwrap();
        let bad = bootstrap::with_plugin_config(&doc, r#"{"add_response_headers": 1}"#).unwrap();
        let file = paths::work_dir("test-manifests-bad-config").join("envoy.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, serde_json::to_string(&bad).unwrap()).unwrap();
        let err = format!("{:#}", Plugin::read(&file).unwrap_err());
        let field = "typed_config.config.configuration: invalid plugin configuration: \
                     add_response_headers";
        assert!(
            err.contains(field) && err.contains("test-manifests-bad-config"),
            "{err}"
        );
        assert!(Plugin::read(&paths::envoy_yaml()).is_ok());
        let empty = bootstrap::with_plugin_config(&doc, "").unwrap();
        let plugin = Plugin::from_bootstrap(&empty, "envoy.yaml").unwrap();
        assert_eq!(plugin.config_object, None);
        assert!(is_resource_name("http-headers"));
        assert!(!is_resource_name("Http_Headers") && !is_resource_name("-x"));
    }
}
