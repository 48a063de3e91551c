//! Envoy without an upstream: a derived copy of `envoy.yaml` whose routes answer 200
//! themselves (`direct_response`), so that a benchmark measures only Envoy and the filter.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bootstrap;
use crate::stack::{Envoy, EnvoyOptions, StackSpec, start_envoy};
use crate::tools::Tools;

/// The body of every direct response.
pub const BODY: &str = "ok\n";

/// A copy whose every route answers `200 ok` itself and which has no clusters. The
/// listener, the HTTP filters (the wasm filter and its plugin configuration included) and
/// the access log stay as they are.
pub fn direct_response(doc: &Value) -> Result<Value> {
    let mut doc = doc.clone();
    let mut routes = 0;
    let listeners = doc
        .pointer_mut("/static_resources/listeners")
        .and_then(Value::as_array_mut)
        .context("envoy.yaml: static_resources.listeners is missing")?;
    for listener in listeners {
        for chain in array_mut(listener, "filter_chains") {
            for filter in array_mut(chain, "filters") {
                let Some(hosts) = filter
                    .pointer_mut("/typed_config/route_config/virtual_hosts")
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                for host in hosts {
                    for route in array_mut(host, "routes") {
                        let Some(route) = route.as_object_mut() else {
                            continue;
                        };
                        route.remove("route");
                        route.remove("redirect");
                        route.insert(
                            "direct_response".into(),
                            json!({ "status": 200, "body": { "inline_string": BODY } }),
                        );
                        routes += 1;
                    }
                }
            }
        }
    }
    if routes == 0 {
        bail!("envoy.yaml: no route found under a listener's route_config to answer directly");
    }
    if let Some(resources) = doc
        .get_mut("static_resources")
        .and_then(Value::as_object_mut)
    {
        resources.remove("clusters");
    }
    Ok(doc)
}

/// Starts Envoy with the direct-response copy of `doc` (made native: loopback, free ports),
/// every wasm filter loading `wasm` (`None`: the wasm filters removed); its config and log
/// go to `dir`.
pub fn start(
    tools: &Tools,
    doc: &Value,
    wasm: Option<&Path>,
    dir: &Path,
    options: &EnvoyOptions,
) -> Result<Envoy> {
    let doc = match wasm {
        Some(_) => direct_response(doc)?,
        None => direct_response(&bootstrap::without_wasm(doc)?)?,
    };
    let mut spec = StackSpec::new(
        "bench",
        doc,
        wasm.map(Path::to_path_buf).unwrap_or_default(),
    );
    spec.dir = dir.to_path_buf();
    spec.envoy = options.clone();
    // No upstream: the httpbin port is never used.
    start_envoy(tools, &spec, 9)
}

/// The array `value[key]`, or nothing.
fn array_mut<'a>(value: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    value
        .get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::Native;
    use crate::paths;

    fn repo_config() -> Value {
        bootstrap::load(&paths::envoy_yaml()).unwrap()
    }

    const HCM: &str = "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config";

    #[test]
    fn every_route_answers_200_and_no_cluster_is_left() {
        let derived = direct_response(&repo_config()).unwrap();
        let routes = derived
            .pointer(&format!("{HCM}/route_config/virtual_hosts/0/routes"))
            .unwrap()
            .as_array()
            .unwrap();
        assert!(!routes.is_empty());
        for route in routes {
            assert_eq!(route["direct_response"]["status"], 200, "{route}");
            assert!(route.get("route").is_none(), "{route}");
        }
        assert!(
            derived.pointer("/static_resources/clusters").is_none(),
            "{derived}"
        );
    }

    #[test]
    fn filters_plugin_configuration_and_access_log_stay() {
        let doc = repo_config();
        let derived = direct_response(&doc).unwrap();
        for at in ["/http_filters", "/access_log", "/stat_prefix"] {
            let at = format!("{HCM}{at}");
            assert_eq!(doc.pointer(&at), derived.pointer(&at), "{at}");
            assert!(doc.pointer(&at).is_some(), "{at}");
        }
        assert_eq!(doc.get("admin"), derived.get("admin"));
    }

    #[test]
    fn works_on_the_native_copy_and_on_the_copy_without_wasm() {
        let native = bootstrap::native(
            &repo_config(),
            &Native {
                listener_port: 1111,
                admin_port: 2222,
                httpbin_port: 9,
                wasm: "/abs/filter.wasm".into(),
            },
        )
        .unwrap();
        let direct = direct_response(&native).unwrap();
        assert!(direct.to_string().contains("/abs/filter.wasm"));
        let bare = direct_response(&bootstrap::without_wasm(&native).unwrap()).unwrap();
        assert!(!bare.to_string().contains("envoy.filters.http.wasm"));
    }

    #[test]
    fn a_bootstrap_without_routes_is_refused() {
        let doc = json!({ "static_resources": { "listeners": [] } });
        let err = direct_response(&doc).unwrap_err();
        assert!(format!("{err:#}").contains("no route"), "{err:#}");
    }
}
