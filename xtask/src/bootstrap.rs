//! Derived copies of `envoy.yaml`, made by program so the repository keeps one file.
//!
//! The native run needs what Docker provides by other means: loopback addresses, free
//! ports, the local httpbin, an absolute wasm path. Tests need variants (no wasm filter,
//! another plugin configuration). Each derivation changes only the fields it names;
//! `tests` below pin that.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use smoke::envoy_config;

/// Reads an Envoy bootstrap (YAML or JSON) into a JSON value.
pub fn load(path: &Path) -> Result<Value> {
    Ok(envoy_config::load_bootstrap(path)?)
}

/// Writes a derived bootstrap as JSON (Envoy picks the format from the `.json` extension).
pub fn write(doc: &Value, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(doc)?;
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Where the native run puts things.
#[derive(Debug, Clone)]
pub struct Native {
    /// The listener's port on 127.0.0.1.
    pub listener_port: u16,
    /// The admin port on 127.0.0.1.
    pub admin_port: u16,
    /// The local httpbin's port on 127.0.0.1.
    pub httpbin_port: u16,
    /// The wasm module, absolute.
    pub wasm: PathBuf,
}

/// The native run's copy: every listener and the admin on 127.0.0.1 at the given ports,
/// the `httpbin` cluster pointing at the local httpbin, every wasm filter loading `wasm`.
pub fn native(doc: &Value, native: &Native) -> Result<Value> {
    let mut doc = doc.clone();
    let admin = doc
        .pointer_mut("/admin/address/socket_address")
        .context("envoy.yaml: admin.address.socket_address is missing")?;
    *admin = json!({ "address": "127.0.0.1", "port_value": native.admin_port });

    let listeners = listeners_mut(&mut doc)?;
    if listeners.len() != 1 {
        bail!(
            "envoy.yaml: expected exactly one listener, found {}",
            listeners.len()
        );
    }
    for listener in listeners.iter_mut() {
        let address = listener
            .pointer_mut("/address/socket_address")
            .context("envoy.yaml: a listener without address.socket_address")?;
        *address = json!({ "address": "127.0.0.1", "port_value": native.listener_port });
    }

    // A variant may have no upstream (the benchmark's direct responses): nothing to point.
    let clusters = doc
        .pointer_mut("/static_resources/clusters")
        .and_then(Value::as_array_mut);
    let httpbin = clusters
        .into_iter()
        .flatten()
        .find(|c| c.get("name").and_then(Value::as_str) == Some("httpbin"));
    if let Some(cluster) = httpbin {
        cluster["type"] = json!("STATIC");
        cluster["load_assignment"] = json!({
            "cluster_name": "httpbin",
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                "socket_address": { "address": "127.0.0.1", "port_value": native.httpbin_port }
            }}}]}]
        });
    }

    let wasm = native.wasm.to_str().context("the wasm path is not UTF-8")?;
    for pointer in wasm_filter_pointers(&doc) {
        let local = doc
            .pointer_mut(&format!(
                "{pointer}/typed_config/config/vm_config/code/local"
            ))
            .context("envoy.yaml: the wasm filter has no vm_config.code.local")?;
        *local = json!({ "filename": wasm });
    }
    Ok(doc)
}

/// A copy without the wasm filter(s): the request goes straight to the router.
pub fn without_wasm(doc: &Value) -> Result<Value> {
    let mut doc = doc.clone();
    // Last first, so that earlier indexes stay valid.
    for pointer in wasm_filter_pointers(&doc).iter().rev() {
        let (list, index) = pointer
            .rsplit_once('/')
            .context("a wasm filter at the document root")?;
        let index: usize = index
            .parse()
            .context("a wasm filter outside a filter list")?;
        let filters = doc
            .pointer_mut(list)
            .and_then(Value::as_array_mut)
            .context("a wasm filter outside a filter list")?;
        filters.remove(index);
    }
    Ok(doc)
}

/// A copy whose wasm filter(s) get `config` as their plugin configuration.
pub fn with_plugin_config(doc: &Value, config: &str) -> Result<Value> {
    let mut doc = doc.clone();
    for pointer in wasm_filter_pointers(&doc) {
        let filter = doc.pointer_mut(&pointer).context("the wasm filter moved")?;
        filter["typed_config"]["config"]["configuration"] = json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": config,
        });
    }
    Ok(doc)
}

/// JSON pointers to every wasm filter entry (none is fine: a variant may have removed it).
fn wasm_filter_pointers(doc: &Value) -> Vec<String> {
    envoy_config::find_wasm_filters(doc, "")
        .map(|filters| filters.into_iter().map(|f| f.pointer).collect())
        .unwrap_or_default()
}

fn listeners_mut(doc: &mut Value) -> Result<&mut Vec<Value>> {
    doc.pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .context("envoy.yaml: static_resources.listeners is missing")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paths;

    fn repo_config() -> Value {
        load(&paths::envoy_yaml()).unwrap()
    }

    fn params() -> Native {
        Native {
            listener_port: 1111,
            admin_port: 2222,
            httpbin_port: 3333,
            wasm: "/abs/filter.wasm".into(),
        }
    }

    /// Every JSON pointer (leaf) whose value differs between `a` and `b`.
    fn changed_leaves(a: &Value, b: &Value, at: String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    let next = format!("{at}/{key}");
                    changed_leaves(
                        x.get(key).unwrap_or(&Value::Null),
                        y.get(key).unwrap_or(&Value::Null),
                        next,
                        out,
                    );
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    changed_leaves(p, q, format!("{at}/{i}"), out);
                }
            }
            _ if a != b => out.push(at),
            _ => {}
        }
    }

    #[test]
    fn native_copy_changes_only_addresses_ports_upstream_and_wasm_path() {
        let doc = repo_config();
        let derived = native(&doc, &params()).unwrap();
        let mut changed = Vec::new();
        changed_leaves(&doc, &derived, String::new(), &mut changed);
        let allowed = [
            "/admin/address/socket_address/",
            "/static_resources/listeners/0/address/socket_address/",
            "/static_resources/clusters/0/type",
            "/static_resources/clusters/0/load_assignment/",
            "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config/config/vm_config/code/local/filename",
        ];
        for path in &changed {
            assert!(
                allowed.iter().any(|a| path.starts_with(a)),
                "unexpected change at {path}"
            );
        }
        assert!(!changed.is_empty());
    }

    #[test]
    fn native_copy_binds_only_loopback() {
        let derived = native(&repo_config(), &params()).unwrap();
        let text = derived.to_string();
        assert!(!text.contains("0.0.0.0"), "{text}");
        assert_eq!(
            derived
                .pointer("/admin/address/socket_address/address")
                .unwrap(),
            "127.0.0.1"
        );
        assert_eq!(
            derived
                .pointer("/admin/address/socket_address/port_value")
                .unwrap(),
            2222
        );
        let listener = derived
            .pointer("/static_resources/listeners/0/address/socket_address")
            .unwrap();
        assert_eq!(
            listener,
            &json!({"address": "127.0.0.1", "port_value": 1111})
        );
        assert!(text.contains("/abs/filter.wasm"));
        assert!(text.contains("3333"));
    }

    #[test]
    fn plugin_configuration_survives_unchanged() {
        let doc = repo_config();
        let derived = native(&doc, &params()).unwrap();
        let at = "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0/typed_config/config/configuration";
        assert_eq!(doc.pointer(at), derived.pointer(at));
        assert!(doc.pointer(at).is_some());
    }

    #[test]
    fn without_wasm_keeps_only_the_router() {
        let derived = without_wasm(&repo_config()).unwrap();
        let filters = derived
            .pointer(
                "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters",
            )
            .unwrap();
        let names: Vec<&str> = filters
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["envoy.filters.http.router"]);
    }

    #[test]
    fn with_plugin_config_replaces_the_string_value() {
        let derived = with_plugin_config(&repo_config(), "{\"log_headers\": false}").unwrap();
        assert!(derived.to_string().contains("{\\\"log_headers\\\": false}"));
    }
}
