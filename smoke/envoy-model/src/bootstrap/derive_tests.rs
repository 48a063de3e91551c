//! Tests of the derived bootstraps: each derivation changes only what it names.

use super::*;

fn repo_config() -> Value {
    load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../envoy.yaml")).unwrap()
}

fn params() -> Native {
    Native {
        listener_port: 1111,
        admin_port: 2222,
        upstream_port: Some(3333),
        wasm: Some("/abs/filter.wasm".into()),
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
    let copy = native(&repo_config(), &params()).unwrap();
    let direct = direct_response(&copy).unwrap();
    assert!(direct.to_string().contains("/abs/filter.wasm"));
    let bare = direct_response(&without_wasm(&copy).unwrap()).unwrap();
    assert!(!bare.to_string().contains("envoy.filters.http.wasm"));
}

#[test]
fn direct_responses_need_no_upstream_and_no_wasm_filter_needs_no_module() {
    let no_upstream = Native {
        upstream_port: None,
        ..params()
    };
    let direct = direct_response(&repo_config()).unwrap();
    native(&direct, &no_upstream).unwrap();
    let err = native(&repo_config(), &no_upstream).unwrap_err();
    assert!(
        format!("{err:#}").contains("the routes send to httpbin but no upstream runs"),
        "{err:#}"
    );
    let no_module = Native {
        wasm: None,
        ..params()
    };
    native(&without_wasm(&repo_config()).unwrap(), &no_module).unwrap();
    let err = native(&repo_config(), &no_module).unwrap_err();
    assert!(format!("{err:#}").contains("no wasm module"), "{err:#}");
}

/// `--envoy-config` with an upstream cluster named otherwise than `httpbin`: it is pointed at
/// the local httpbin all the same (it used to keep the compose DNS name, and every request
/// then failed with 503).
#[test]
fn the_routed_cluster_is_pointed_at_httpbin_whatever_its_name() {
    let text = serde_json::to_string(&repo_config())
        .unwrap()
        .replace("\"httpbin\"", "\"backend\"");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let derived = native(&doc, &params()).unwrap();
    let cluster = derived.pointer("/static_resources/clusters/0").unwrap();
    assert_eq!(cluster["name"], "backend");
    assert_eq!(cluster["type"], "STATIC", "{cluster}");
    let address = "/load_assignment/endpoints/0/lb_endpoints/0/endpoint/address/socket_address";
    assert_eq!(
        cluster.pointer(address),
        Some(&json!({"address": "127.0.0.1", "port_value": 3333})),
        "{cluster}"
    );
    let mut header = doc.clone();
    let route = "/static_resources/listeners/0/filter_chains/0/filters/0/typed_config/route_config/virtual_hosts/0/routes/0/route";
    *header.pointer_mut(route).unwrap() = json!({ "cluster_header": "x-cluster" });
    let err = native(&header, &params()).unwrap_err();
    assert!(format!("{err:#}").contains("cluster_header"), "{err:#}");
}

#[test]
fn a_bootstrap_without_routes_is_refused() {
    let doc = json!({ "static_resources": { "listeners": [] } });
    let err = direct_response(&doc).unwrap_err();
    assert!(format!("{err:#}").contains("no route"), "{err:#}");
}
