//! A local model of httpbin's Istio sidecar, for running the manifests in the real Envoy:
//! an inbound HTTP connection manager with the router last, and the two ways Istio puts the
//! filter into it (an `EnvoyFilter` patch, a `WasmPlugin`'s generated filter).
//!
//! The model is envoy.yaml's listener without its wasm filter, plus one upstream filter ahead
//! of the router standing in for Istio's own inbound filters (metadata exchange, authn,
//! stats: not in upstream Envoy), so that "before the router" differs from "first" or "last".
//! `bootstrap::native` then makes it runnable on loopback like any other derived copy, and
//! [`envoy_options`] runs Envoy the way the sidecar's is run.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use envoy_model::bootstrap;

use xtask::stack::EnvoyOptions;

/// The network filter Istio's HTTP listeners use, and EnvoyFilter patches match.
pub const HCM: &str = "envoy.filters.network.http_connection_manager";
/// The HTTP filter every connection manager ends with.
pub const ROUTER: &str = "envoy.filters.http.router";
/// The stand-in for Istio's own inbound filters.
pub const STAND_IN: &str = "envoy.filters.http.cors";

/// envoy.yaml's bootstrap with its listener shaped like a sidecar's inbound one: no wasm
/// filter, [`STAND_IN`], then the router.
pub fn inbound_bootstrap(envoy_yaml: &Value) -> Result<Value> {
    let mut doc = bootstrap::without_wasm(envoy_yaml)?;
    let mut found = false;
    for filters in http_filter_lists(&mut doc, HCM) {
        if filters.last().and_then(|f| f["name"].as_str()) != Some(ROUTER) {
            bail!("envoy.yaml: the HTTP filters of an {HCM} do not end with {ROUTER}");
        }
        let cors = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors";
        filters.insert(
            0,
            json!({ "name": STAND_IN, "typed_config": { "@type": cors } }),
        );
        found = true;
    }
    if !found {
        bail!("envoy.yaml: no listener has an {HCM}");
    }
    Ok(doc)
}

/// Envoy's options as Istio's pilot-agent starts a sidecar's Envoy: two workers, and its
/// `--log-format` (istio/istio `pkg/envoy/proxy.go`) for lines like
/// `2026-11-23T20:38:42.932817Z<TAB>info<TAB>envoy wasm <file>:<line><TAB>wasm log …<TAB>thread=24`,
/// the form `kubectl logs deploy/httpbin -c istio-proxy` prints. The `wasm` logger at info:
/// the pod annotation `sidecar.istio.io/componentLogLevel: wasm:info` of istio/httpbin.yaml.
pub fn envoy_options() -> EnvoyOptions {
    EnvoyOptions {
        wasm_log_level: "info".into(),
        concurrency: 2,
        log_format: Some("%Y-%m-%dT%T.%fZ\t%l\tenvoy %n %g:%#\t%v\tthread=%t".into()),
    }
}

/// Applies an `EnvoyFilter`'s patches to `bootstrap` as istiod does for a sidecar's inbound
/// listener. Only what this project's manifest uses is modelled (applyTo HTTP_FILTER, context
/// SIDECAR_INBOUND, a filter and sub-filter match, INSERT_BEFORE); anything else is an error,
/// and so is a patch that matches nothing (istiod would silently skip it).
pub fn apply_envoyfilter(bootstrap: &Value, envoyfilter: &Value) -> Result<Value> {
    if envoyfilter["kind"] != "EnvoyFilter" {
        bail!("not an EnvoyFilter (kind: {})", envoyfilter["kind"]);
    }
    let patches = envoyfilter
        .pointer("/spec/configPatches")
        .and_then(Value::as_array)
        .context("EnvoyFilter: spec.configPatches is missing")?;
    let mut doc = bootstrap.clone();
    for (i, patch) in patches.iter().enumerate() {
        let at = format!("EnvoyFilter spec.configPatches[{i}]");
        let field = |pointer: &str| patch.pointer(pointer).and_then(Value::as_str).unwrap_or("");
        let expect = |pointer: &str, want: &str| -> Result<()> {
            match field(pointer) {
                got if got == want => Ok(()),
                got => bail!(
                    "{at}{}: `{got}`, but the local model handles only `{want}`",
                    pointer.replace('/', ".")
                ),
            }
        };
        expect("/applyTo", "HTTP_FILTER")?;
        expect("/match/context", "SIDECAR_INBOUND")?;
        expect("/patch/operation", "INSERT_BEFORE")?;
        let network = field("/match/listener/filterChain/filter/name");
        let before = field("/match/listener/filterChain/filter/subFilter/name");
        let value = patch
            .pointer("/patch/value")
            .with_context(|| format!("{at}.patch.value is missing"))?;
        doc = insert_before(&doc, network, before, value).with_context(|| {
            format!(
                "{at} matches nothing: no {network:?} network filter with an HTTP filter \
                 {before:?} (istiod would skip it silently, and the filter would not run)"
            )
        })?;
    }
    Ok(doc)
}

/// Inserts `filter` just before the router of every HTTP connection manager: where istiod
/// puts a `WasmPlugin` that has no `phase`.
pub fn insert_before_router(bootstrap: &Value, filter: &Value) -> Result<Value> {
    insert_before(bootstrap, HCM, ROUTER, filter)
        .with_context(|| format!("no {HCM} with a {ROUTER} to insert the filter before"))
}

/// The names of the HTTP filters of every connection manager, in order (for assertions).
pub fn http_filter_names(bootstrap: &Value) -> Vec<Vec<String>> {
    let mut doc = bootstrap.clone();
    let name = |f: &Value| f["name"].as_str().unwrap_or("").to_string();
    let lists = http_filter_lists(&mut doc, HCM);
    lists
        .map(|filters| filters.iter().map(name).collect())
        .collect()
}

/// `doc` with `value` inserted before the HTTP filter `before` in every `network` filter;
/// `None` when there is no such place.
fn insert_before(doc: &Value, network: &str, before: &str, value: &Value) -> Option<Value> {
    let mut doc = doc.clone();
    let mut inserted = false;
    for filters in http_filter_lists(&mut doc, network) {
        if let Some(at) = filters.iter().position(|f| f["name"] == before) {
            filters.insert(at, value.clone());
            inserted = true;
        }
    }
    inserted.then_some(doc)
}

/// The `http_filters` lists of the network filters named `network`, in every listener's
/// filter chains.
fn http_filter_lists<'a>(
    doc: &'a mut Value,
    network: &'a str,
) -> impl Iterator<Item = &'a mut Vec<Value>> {
    let each = |value: &'a mut Value, key: &str| {
        let list = value.get_mut(key).and_then(Value::as_array_mut);
        list.into_iter().flatten()
    };
    let resources = doc.get_mut("static_resources").into_iter();
    resources
        .flat_map(move |resources| each(resources, "listeners"))
        .flat_map(move |listener| each(listener, "filter_chains"))
        .flat_map(move |chain| each(chain, "filters"))
        .filter(move |filter| filter["name"] == network)
        .filter_map(|filter| filter.pointer_mut("/typed_config/http_filters"))
        .filter_map(Value::as_array_mut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use xtask::paths;

    fn envoy_yaml() -> Value {
        bootstrap::load(&paths::envoy_yaml()).unwrap()
    }

    fn envoyfilter(sub_filter: &str, operation: &str) -> Value {
        json!({
            "kind": "EnvoyFilter",
            "spec": {"configPatches": [{
                "applyTo": "HTTP_FILTER",
                "match": {"context": "SIDECAR_INBOUND", "listener": {"filterChain": {"filter": {
                    "name": HCM, "subFilter": {"name": sub_filter}}}}},
                "patch": {"operation": operation, "value": {"name": "patched"}}
            }]}
        })
    }

    #[test]
    fn the_inbound_model_ends_with_the_router() {
        let doc = inbound_bootstrap(&envoy_yaml()).unwrap();
        assert_eq!(http_filter_names(&doc), [[STAND_IN, ROUTER]]);
    }

    #[test]
    fn envoyfilter_inserts_before_the_router() {
        let doc = inbound_bootstrap(&envoy_yaml()).unwrap();
        let patched = apply_envoyfilter(&doc, &envoyfilter(ROUTER, "INSERT_BEFORE")).unwrap();
        assert_eq!(http_filter_names(&patched), [[STAND_IN, "patched", ROUTER]]);
        let same = insert_before_router(&doc, &json!({"name": "patched"})).unwrap();
        assert_eq!(same, patched);
    }

    #[test]
    fn envoyfilter_that_matches_nothing_or_else_is_an_error() {
        let doc = inbound_bootstrap(&envoy_yaml()).unwrap();
        let err = apply_envoyfilter(&doc, &envoyfilter("envoy.router", "INSERT_BEFORE"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("matches nothing"), "{err}");
        let err = apply_envoyfilter(&doc, &envoyfilter(ROUTER, "MERGE"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("patch.operation: `MERGE`"), "{err}");
    }
}
