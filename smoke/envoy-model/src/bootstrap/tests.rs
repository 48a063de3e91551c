//! Tests of reading the wasm filter out of Envoy bootstraps.

use super::*;

const BOOTSTRAP: &str = r#"
admin:
  address:
    socket_address: { address: 0.0.0.0, port_value: 9901 }
static_resources:
  listeners:
  - name: ingress
    address:
      socket_address: { address: 0.0.0.0, port_value: 10000 }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          http_filters:
          - name: envoy.filters.http.wasm
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: http-headers
                root_id: http-headers-root
                vm_config:
                  vm_id: http-headers-vm
                  runtime: envoy.wasm.runtime.v8
                  code:
                    local:
                      filename: target/wasm32-wasip1/release/filter.wasm
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: |
                    {"set_request_headers": {"test": "best"}}
                failure_policy: FAIL_CLOSED
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
"#;

fn parse(text: &str) -> Value {
    super::parse(text, Path::new("envoy.yaml")).unwrap()
}

#[test]
fn finds_the_filter_and_its_fields() {
    let filters = wasm_filters(&parse(BOOTSTRAP), "envoy.yaml").unwrap();
    assert_eq!(
        filters,
        vec![WasmFilter {
            name: "http-headers".into(),
            root_id: "http-headers-root".into(),
            vm_id: "http-headers-vm".into(),
            runtime: "envoy.wasm.runtime.v8".into(),
            filename: "target/wasm32-wasip1/release/filter.wasm".into(),
            plugin_config: "{\"set_request_headers\": {\"test\": \"best\"}}\n".into(),
            failure_policy: Some("FAIL_CLOSED".into()),
            path: "static_resources.listeners[0].filter_chains[0].filters[0]\
                   .typed_config.http_filters[0]"
                .into(),
            pointer: "/static_resources/listeners/0/filter_chains/0/filters/0\
                      /typed_config/http_filters/0"
                .into(),
        }]
    );
}

#[test]
fn no_filter_names_file_and_path() {
    let text = BOOTSTRAP.replace("http.wasm.v3.Wasm", "http.lua.v3.Lua");
    let err = wasm_filters(&parse(&text), "envoy.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "envoy.yaml: no envoy.filters.http.wasm filter found in static_resources.listeners[*]"
        ),
        "{err}"
    );
    let err = wasm_filter(&parse("admin: {}"), "").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no envoy.filters.http.wasm filter found")
    );
}

#[test]
fn other_configuration_types_are_rejected() {
    let text = BOOTSTRAP.replace("google.protobuf.StringValue", "google.protobuf.Struct");
    let err = wasm_filters(&parse(&text), "envoy.yaml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("envoy.yaml: static_resources.listeners[0]"),
        "{err}"
    );
    assert!(
        err.contains(
            ".typed_config.config.configuration: configuration is not a google.protobuf.StringValue"
        ),
        "{err}"
    );
}

#[test]
fn finds_several_filters_and_default_chains() {
    let second = r#"
  - name: other
    default_filter_chain:
      filters:
      - name: hcm
        typed_config:
          http_filters:
          - name: w
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config: { name: second, vm_config: { runtime: envoy.wasm.runtime.v8 } }
"#;
    let both = parse(&format!("{BOOTSTRAP}{second}"));
    assert_eq!(wasm_filter(&both, "").unwrap().name, "http-headers");
    let filters = wasm_filters(&both, "e").unwrap();
    assert_eq!(filters.len(), 2);
    assert_eq!(filters[1].name, "second");
    assert_eq!(
        filters[1].path,
        "static_resources.listeners[1].default_filter_chain.filters[0].typed_config.http_filters[0]"
    );
    // Absent fields are empty, as in protobuf.
    let second = &filters[1];
    assert_eq!(
        (second.root_id.as_str(), second.filename.as_str()),
        ("", "")
    );
    assert_eq!(
        (
            second.plugin_config.as_str(),
            second.failure_policy.as_deref()
        ),
        ("", None)
    );
}

#[test]
fn file_errors_name_the_file() {
    let err = load(Path::new("does-not-exist/envoy.yaml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot read does-not-exist/envoy.yaml: "),
        "{err}"
    );
    let err = super::parse("a: [", Path::new("bad.yaml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("bad.yaml: not a valid YAML document"),
        "{err}"
    );
}

#[test]
fn the_repository_envoy_yaml_parses() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../envoy.yaml");
    if file.exists() {
        let filters = wasm_filters(&load(&file).unwrap(), "envoy.yaml").unwrap();
        assert_eq!(filters.len(), 1);
        assert!(!filters[0].plugin_config.is_empty());
        // The filter's own parser accepts it, so smoke's expectations can be read from it.
        filter_core::config::PluginConfig::parse(filters[0].plugin_config.as_bytes()).unwrap();
    }
}
