//! Envoy bootstraps (`envoy.yaml`): reading one, finding its HTTP wasm filter(s) and their
//! plugin configuration, and deriving copies of it.
//!
//! [`load`] only reads the file; the rest works on a `serde_json::Value`, so derived copies are
//! made from the same parsed tree. Fields follow the Envoy 1.40 API:
//! `envoy.extensions.filters.http.wasm.v3.Wasm { config: PluginConfig { name, root_id,
//! vm_config { vm_id, runtime, code.local.filename }, configuration, failure_policy } }`.
//!
//! Derived copies are made by program so the repository keeps one `envoy.yaml`. The native run
//! needs what Docker provides by other means: loopback addresses, free ports, the local
//! httpbin, an absolute wasm path. Tests and benchmarks need variants (no wasm filter, another
//! plugin configuration, routes that answer themselves). Each derivation changes only the
//! fields it names; the tests in `bootstrap/derive_tests.rs` pin that.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::{Value, json};

/// Reads and parses a bootstrap YAML (or JSON, which is YAML) file into a JSON value.
pub fn load(file: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow!("cannot read {}: {e}", file.display()))?;
    parse(&text, file)
}

/// Parses bootstrap text (YAML or JSON); `file` only names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Value> {
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| anyhow!("{}: not a valid YAML document: {e}", file.display()))
}

// The HTTP wasm filter(s) of a parsed bootstrap and their plugin configuration: where they sit
// and the fields the tools need.

/// The `typed_config."@type"` of Envoy's HTTP wasm filter.
pub const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
/// The only `configuration."@type"` whose raw text can be read back: a string.
pub const STRING_VALUE_TYPE: &str = "type.googleapis.com/google.protobuf.StringValue";

/// One HTTP wasm filter found in a bootstrap, with the fields the tools need.
///
/// Absent string fields are empty, as in protobuf (Envoy treats them the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmFilter {
    /// `config.name`: the plugin name, shown in Envoy's `wasm log <name> …` lines.
    pub name: String,
    /// `config.root_id`.
    pub root_id: String,
    /// `config.vm_config.vm_id`.
    pub vm_id: String,
    /// `config.vm_config.runtime`, e.g. `envoy.wasm.runtime.v8`.
    pub runtime: String,
    /// `config.vm_config.code.local.filename`; empty when the code is inline or remote.
    pub filename: String,
    /// The raw text of `config.configuration`'s StringValue: the plugin configuration (JSON).
    /// Empty when there is no configuration (the filter then uses its defaults).
    pub plugin_config: String,
    /// `config.failure_policy` (`FAIL_CLOSED`, `FAIL_OPEN`, …) when set.
    pub failure_policy: Option<String>,
    /// Where the filter sits in the bootstrap, e.g.
    /// `static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]`.
    pub path: String,
    /// The same place as a JSON pointer (RFC 6901), for `Value::pointer_mut`, e.g.
    /// `/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/http_filters/0`.
    pub pointer: String,
}

/// The first HTTP wasm filter (in document order) of an already-parsed bootstrap: the one the
/// project's envoy.yaml has. `origin` names the bootstrap in errors, as in [`wasm_filters`].
pub fn wasm_filter(bootstrap: &Value, origin: &str) -> Result<WasmFilter> {
    Ok(wasm_filters(bootstrap, origin)?.swap_remove(0))
}

/// Finds every HTTP wasm filter anywhere under `static_resources.listeners` (filter chains,
/// default filter chain, nested filters) of an already-parsed bootstrap, in document order.
/// `origin` names the bootstrap in errors (usually its file name; empty for none). Never empty
/// on success.
pub fn wasm_filters(bootstrap: &Value, origin: &str) -> Result<Vec<WasmFilter>> {
    // What each message starts with: `origin: `, or nothing for an unnamed bootstrap.
    let prefix = format!("{origin}{}", if origin.is_empty() { "" } else { ": " });
    let mut found = listener_objects(bootstrap);
    found.retain(|(_, _, node)| node["typed_config"]["@type"] == WASM_FILTER_TYPE);
    ensure!(
        !found.is_empty(),
        "{prefix}no envoy.filters.http.wasm filter found in \
         static_resources.listeners[*].filter_chains[*] (looked for a typed_config with \
         \"@type\": {WASM_FILTER_TYPE})"
    );
    found
        .into_iter()
        .map(|filter| wasm_filter_at(filter, &prefix))
        .collect()
}

/// An object under the listeners: its dotted path (for messages), its JSON pointer (for
/// programs) and the object.
type Found<'a> = (String, String, &'a Value);

/// Every object at or under `static_resources.listeners` (filter chains, default filter chain,
/// nested filters), in document order.
fn listener_objects(bootstrap: &Value) -> Vec<Found<'_>> {
    fn walk<'a>(node: &'a Value, (path, pointer): (String, String), found: &mut Vec<Found<'a>>) {
        match node {
            Value::Object(map) => {
                found.push((path.clone(), pointer.clone(), node));
                for (key, child) in map {
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    let at = (format!("{path}.{key}"), format!("{pointer}/{escaped}"));
                    walk(child, at, found);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let at = (format!("{path}[{i}]"), format!("{pointer}/{i}"));
                    walk(child, at, found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    let at = ("static_resources.listeners", "/static_resources/listeners");
    let listeners = &bootstrap["static_resources"]["listeners"];
    walk(listeners, (at.0.into(), at.1.into()), &mut found);
    found
}

/// Reads the fields of one wasm filter entry (the object holding `name` and `typed_config`).
fn wasm_filter_at((path, pointer, entry): Found, prefix: &str) -> Result<WasmFilter> {
    let invalid = |at: &str, problem: &str| anyhow!("{prefix}{path}.typed_config{at}: {problem}");
    let config = &entry["typed_config"]["config"];
    if !matches!(config, Value::Object(_) | Value::Null) {
        let problem = "is not a mapping (the wasm PluginConfig)";
        return Err(invalid(".config", problem));
    }
    let text = |pointer: &str| -> Result<String> {
        match config.pointer(pointer) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(v.to_string()),
            Some(_) => {
                let at = format!(".config{}", pointer.replace('/', "."));
                Err(invalid(&at, "is not a string"))
            }
        }
    };
    // The plugin configuration: the raw string of a `configuration` Any that must be a
    // StringValue.
    let configuration = &config["configuration"];
    let type_url = configuration["@type"].as_str();
    if !configuration.is_null() && type_url != Some(STRING_VALUE_TYPE) {
        let got = type_url.map_or("no \"@type\"".into(), |t| format!("\"@type\": {t}"));
        let problem = format!(
            "configuration is not a google.protobuf.StringValue ({got}); expected \
             \"@type\": {STRING_VALUE_TYPE} with the plugin's JSON as `value`"
        );
        return Err(invalid(".config.configuration", &problem));
    }
    if !matches!(configuration["value"], Value::String(_) | Value::Null) {
        let problem = "configuration is a google.protobuf.StringValue but its `value` is not a \
                       string (write the JSON as a YAML block string: `value: |`)";
        return Err(invalid(".config.configuration", problem));
    }
    Ok(WasmFilter {
        name: text("/name")?,
        root_id: text("/root_id")?,
        vm_id: text("/vm_config/vm_id")?,
        runtime: text("/vm_config/runtime")?,
        filename: text("/vm_config/code/local/filename")?,
        plugin_config: text("/configuration/value")?,
        failure_policy: Some(text("/failure_policy")?).filter(|p| !p.is_empty()),
        path,
        pointer,
    })
}

// Derived copies (see the module's documentation).

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
        let clusters = array_mut(&mut doc, "/static_resources/clusters");
        let routed = |c: &&mut Value| c["name"].as_str().is_some_and(|n| upstreams.contains(n));
        for cluster in clusters.filter(routed) {
            cluster["type"] = json!("STATIC");
            cluster["load_assignment"] = json!({
                "cluster_name": cluster["name"],
                "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                    "socket_address": loopback(port)
                }}}]}]
            });
        }
    }

    for pointer in wasm_filter_pointers(&doc) {
        let wasm = native
            .wasm
            .as_deref()
            .context("envoy.yaml has a wasm filter but no wasm module was given")?;
        let wasm = std::path::absolute(wasm)?;
        let wasm = wasm.to_str().context("the wasm path is not UTF-8")?;
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
        // A route entry's action; Null, which has none of the fields below, for other objects.
        let route = &node["route"];
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
        .filter_map(Value::as_object_mut)
        .collect::<Vec<_>>();
    ensure!(
        !routes.is_empty(),
        "envoy.yaml: no route found under a listener's route_config to answer directly"
    );
    for route in routes {
        route.remove("route");
        route.remove("redirect");
        let body = json!({ "status": 200, "body": { "inline_string": DIRECT_BODY } });
        route.insert("direct_response".into(), body);
    }
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
mod derive_tests;
#[cfg(test)]
mod tests;
