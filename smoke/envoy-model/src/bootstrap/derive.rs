//! Derived copies of a bootstrap, made by program so the repository keeps one `envoy.yaml`.
//!
//! The native run needs what Docker provides by other means: loopback addresses, free
//! ports, the local httpbin, an absolute wasm path. Tests and benchmarks need variants (no
//! wasm filter, another plugin configuration, routes that answer themselves). Each
//! derivation changes only the fields it names; the tests below pin that.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use super::filters::{STRING_VALUE_TYPE, listener_objects, wasm_filters};

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
    /// The local httpbin's port on 127.0.0.1, where every cluster a route sends to is
    /// pointed; `None` for a bootstrap without an upstream (routes that answer themselves).
    pub upstream_port: Option<u16>,
    /// The wasm module every wasm filter loads (made absolute); `None` for a bootstrap
    /// without a wasm filter.
    pub wasm: Option<PathBuf>,
}

/// The native run's copy: every listener and the admin on 127.0.0.1 at the given ports,
/// every cluster a route sends to pointed at the local httpbin (whatever its name), every
/// wasm filter loading the given module.
pub fn native(doc: &Value, native: &Native) -> Result<Value> {
    let mut doc = doc.clone();
    let loopback = |port: u16| json!({ "address": "127.0.0.1", "port_value": port });
    let admin = doc
        .pointer_mut("/admin/address/socket_address")
        .context("envoy.yaml: admin.address.socket_address is missing")?;
    *admin = loopback(native.admin_port);

    let listeners = listeners_mut(&mut doc)?;
    let count = listeners.len();
    let [listener] = listeners.as_mut_slice() else {
        bail!("envoy.yaml: expected exactly one listener, found {count}");
    };
    let address = listener
        .pointer_mut("/address/socket_address")
        .context("envoy.yaml: a listener without address.socket_address")?;
    *address = loopback(native.listener_port);

    let upstreams = routed_clusters(&doc)?;
    if !upstreams.is_empty() {
        let Some(port) = native.upstream_port else {
            let names = Vec::from_iter(upstreams).join(", ");
            bail!("envoy.yaml: the routes send to {names} but no upstream runs");
        };
        for cluster in array_mut(&mut doc, "/static_resources/clusters") {
            let name = cluster["name"].clone();
            if !name.as_str().is_some_and(|n| upstreams.contains(n)) {
                continue;
            }
            cluster["type"] = json!("STATIC");
            cluster["load_assignment"] = json!({
                "cluster_name": name,
                "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                    "socket_address": loopback(port)
                }}}]}]
            });
        }
    }

    let pointers = wasm_filter_pointers(&doc);
    if pointers.is_empty() {
        return Ok(doc);
    }
    let wasm = native
        .wasm
        .as_deref()
        .context("envoy.yaml has a wasm filter but no wasm module was given")?;
    let wasm = std::path::absolute(wasm)?;
    let wasm = wasm.to_str().context("the wasm path is not UTF-8")?;
    for pointer in pointers {
        let local = format!("{pointer}/typed_config/config/vm_config/code/local");
        let missing = "envoy.yaml: the wasm filter has no vm_config.code.local";
        *doc.pointer_mut(&local).context(missing)? = json!({ "filename": wasm });
    }
    Ok(doc)
}

/// The clusters the listeners' routes send to (`route.cluster` and
/// `route.weighted_clusters`). A route that picks its cluster from a request header can't
/// be pointed at the local httpbin: that is an error that says so.
fn routed_clusters(doc: &Value) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    for (_, _, node) in listener_objects(doc) {
        let Some(route) = node.get("route").filter(|r| r.is_object()) else {
            continue;
        };
        if route.get("cluster_header").is_some() {
            bail!(
                "envoy.yaml: a route takes its cluster from a request header (cluster_header); \
                 the native run can only point named clusters (route.cluster, \
                 route.weighted_clusters) at the local httpbin"
            );
        }
        let weighted = route.pointer("/weighted_clusters/clusters");
        let weighted = weighted.and_then(Value::as_array).into_iter().flatten();
        let names = route.get("cluster").into_iter();
        let names = names.chain(weighted.filter_map(|entry| entry.get("name")));
        found.extend(names.filter_map(Value::as_str).map(String::from));
    }
    Ok(found)
}

/// A copy without the wasm filter(s): the request goes straight to the router.
pub fn without_wasm(doc: &Value) -> Result<Value> {
    let mut doc = doc.clone();
    // Last first, so that earlier indexes stay valid.
    for pointer in wasm_filter_pointers(&doc).iter().rev() {
        let (list, index) = pointer.rsplit_once('/').unwrap_or_default();
        let filters = doc.pointer_mut(list).and_then(Value::as_array_mut);
        let (Some(filters), Ok(index)) = (filters, index.parse::<usize>()) else {
            bail!("a wasm filter outside a filter list, at {pointer}");
        };
        filters.remove(index);
    }
    Ok(doc)
}

/// A copy whose wasm filter(s) get `config` as their plugin configuration.
pub fn with_plugin_config(doc: &Value, config: &str) -> Result<Value> {
    let mut doc = doc.clone();
    for pointer in wasm_filter_pointers(&doc) {
        let filter = doc.pointer_mut(&pointer).context("the wasm filter moved")?;
        filter["typed_config"]["config"]["configuration"] =
            json!({ "@type": STRING_VALUE_TYPE, "value": config });
    }
    Ok(doc)
}

/// The body of every direct response.
pub const DIRECT_BODY: &str = "ok\n";

/// A copy whose every route answers `200 ok` itself and which has no clusters, so that a
/// benchmark measures only Envoy and the filter. The listener, the HTTP filters (the wasm
/// filter and its plugin configuration included) and the access log stay as they are.
pub fn direct_response(doc: &Value) -> Result<Value> {
    let mut doc = doc.clone();
    let routes = listeners_mut(&mut doc)?
        .iter_mut()
        .flat_map(|listener| array_mut(listener, "/filter_chains"))
        .flat_map(|chain| array_mut(chain, "/filters"))
        .flat_map(|filter| array_mut(filter, "/typed_config/route_config/virtual_hosts"))
        .flat_map(|host| array_mut(host, "/routes"))
        .filter_map(Value::as_object_mut);
    let mut answered = 0;
    for route in routes {
        route.remove("route");
        route.remove("redirect");
        let body = json!({ "status": 200, "body": { "inline_string": DIRECT_BODY } });
        route.insert("direct_response".into(), body);
        answered += 1;
    }
    ensure!(
        answered > 0,
        "envoy.yaml: no route found under a listener's route_config to answer directly"
    );
    // There are static_resources: the listeners above are in them.
    if let Some(resources) = doc["static_resources"].as_object_mut() {
        resources.remove("clusters");
    }
    Ok(doc)
}

/// The array at `pointer` under `value`, or nothing.
fn array_mut<'a>(value: &'a mut Value, pointer: &str) -> impl Iterator<Item = &'a mut Value> {
    let array = value.pointer_mut(pointer).and_then(Value::as_array_mut);
    array.into_iter().flatten()
}

/// JSON pointers to every wasm filter entry (none is fine: a variant may have removed it).
fn wasm_filter_pointers(doc: &Value) -> Vec<String> {
    let filters = wasm_filters(doc, "").unwrap_or_default();
    filters.into_iter().map(|f| f.pointer).collect()
}

fn listeners_mut(doc: &mut Value) -> Result<&mut Vec<Value>> {
    doc.pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .context("envoy.yaml: static_resources.listeners is missing")
}

#[cfg(test)]
mod tests;
