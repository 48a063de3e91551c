//! The HTTP wasm filter(s) of a parsed bootstrap and their plugin configuration: where they sit
//! and the fields the tools need.

use anyhow::{Result, anyhow, ensure};
use serde_json::Value;

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
    let prefix = if origin.is_empty() {
        String::new()
    } else {
        format!("{origin}: ")
    };
    let found: Vec<Found> = listener_objects(bootstrap)
        .into_iter()
        .filter(|(_, _, node)| node["typed_config"]["@type"] == WASM_FILTER_TYPE)
        .collect();
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
pub(super) type Found<'a> = (String, String, &'a Value);

/// Every object at or under `static_resources.listeners` (filter chains, default filter chain,
/// nested filters), in document order.
pub(super) fn listener_objects(bootstrap: &Value) -> Vec<Found<'_>> {
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
    if let Some(listeners) = bootstrap.pointer("/static_resources/listeners") {
        let at = ("static_resources.listeners", "/static_resources/listeners");
        walk(listeners, (at.0.into(), at.1.into()), &mut found);
    }
    found
}

/// Reads the fields of one wasm filter entry (the object holding `name` and `typed_config`).
fn wasm_filter_at((path, pointer, entry): Found, prefix: &str) -> Result<WasmFilter> {
    let invalid = |at: &str, problem: &str| anyhow!("{prefix}{path}.typed_config{at}: {problem}");
    let config = &entry["typed_config"]["config"];
    if !(config.is_object() || config.is_null()) {
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
    let configuration = config.get("configuration").filter(|c| !c.is_null());
    let type_url = configuration.map(|c| c.get("@type").and_then(Value::as_str));
    if let Some(type_url) = type_url.filter(|t| *t != Some(STRING_VALUE_TYPE)) {
        let got = type_url.map_or("no \"@type\"".into(), |t| format!("\"@type\": {t}"));
        let problem = format!(
            "configuration is not a google.protobuf.StringValue ({got}); expected \
             \"@type\": {STRING_VALUE_TYPE} with the plugin's JSON as `value`"
        );
        return Err(invalid(".config.configuration", &problem));
    }
    let value = &config["configuration"]["value"];
    if !(value.is_string() || value.is_null()) {
        let problem = "configuration is a google.protobuf.StringValue but its `value` is not a \
                       string (write the JSON as a YAML block string: `value: |`)";
        return Err(invalid(".config.configuration", problem));
    }
    let failure_policy = text("/failure_policy")?;
    Ok(WasmFilter {
        name: text("/name")?,
        root_id: text("/root_id")?,
        vm_id: text("/vm_config/vm_id")?,
        runtime: text("/vm_config/runtime")?,
        filename: text("/vm_config/code/local/filename")?,
        plugin_config: text("/configuration/value")?,
        failure_policy: (!failure_policy.is_empty()).then_some(failure_policy),
        path,
        pointer,
    })
}
