//! Envoy bootstraps (`envoy.yaml`): reading one, finding its HTTP wasm filter(s) and their
//! plugin configuration, and deriving copies of it ([`derive`]). Finding the filters is in
//! `bootstrap/filters.rs`, re-exported here.
//!
//! [`load`] only reads the file; the rest works on a `serde_json::Value`, so derived copies are
//! made from the same parsed tree. Fields follow the Envoy 1.40 API:
//! `envoy.extensions.filters.http.wasm.v3.Wasm { config: PluginConfig { name, root_id,
//! vm_config { vm_id, runtime, code.local.filename }, configuration, failure_policy } }`.

pub mod derive;
mod filters;

pub use derive::{Native, direct_response, native, with_plugin_config, without_wasm, write};
pub use filters::{STRING_VALUE_TYPE, WASM_FILTER_TYPE, WasmFilter, wasm_filter, wasm_filters};

use std::path::Path;

use anyhow::{Result, anyhow};
use serde_json::Value;

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

#[cfg(test)]
mod tests;
