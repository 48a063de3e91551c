//! Istio's and Gateway API's own CRD schemas (xtask/src/istio/schemas/, where they came from
//! is in its README), applied strictly to the manifests' objects.

use serde_json::{Value, json};

/// A validator for each kind the manifests use beyond Kubernetes' core ones.
pub struct Crds {
    wasmplugin: jsonschema::Validator,
    gateway: jsonschema::Validator,
}

impl Crds {
    /// The vendored schemas, made strict.
    pub fn load() -> Crds {
        let compile = |text: &str, what: &str| {
            let mut schema: Value = serde_json::from_str(text).unwrap();
            strict(&mut schema, true);
            jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{what}'s schema: {e}"))
        };
        Crds {
            wasmplugin: compile(
                include_str!("../../../src/istio/schemas/wasmplugin-v1alpha1.json"),
                "WasmPlugin",
            ),
            gateway: compile(
                include_str!("../../../src/istio/schemas/gateway-v1.json"),
                "Gateway",
            ),
        }
    }

    /// The problems of `object` (`None`: not a kind these schemas cover). An empty list: valid.
    pub fn problems(&self, object: &Value) -> Option<Vec<String>> {
        let validator = match (object["apiVersion"].as_str(), object["kind"].as_str()) {
            (Some("extensions.istio.io/v1alpha1"), Some("WasmPlugin")) => &self.wasmplugin,
            (Some("gateway.networking.k8s.io/v1"), Some("Gateway")) => &self.gateway,
            _ => return None,
        };
        Some(
            validator
                .iter_errors(object)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect(),
        )
    }
}

/// Makes `schema` refuse unknown fields as the API server's strict field validation does:
/// every object schema with `properties` and without `x-kubernetes-preserve-unknown-fields`
/// gets `additionalProperties: false`. The root also declares what every object has
/// (`apiVersion`, `kind`, `metadata`), which a CRD's schema may leave out.
fn strict(schema: &mut Value, root: bool) {
    let Some(map) = schema.as_object_mut() else {
        if let Some(items) = schema.as_array_mut() {
            items.iter_mut().for_each(|s| strict(s, false));
        }
        return;
    };
    if root && let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (key, kind) in [
            ("apiVersion", "string"),
            ("kind", "string"),
            ("metadata", "object"),
        ] {
            properties.entry(key).or_insert(json!({ "type": kind }));
        }
    }
    let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !preserves && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (key, value) in map.iter_mut() {
        match key.as_str() {
            // Property names, not schemas: recurse into each property's schema.
            "properties" => {
                if let Some(properties) = value.as_object_mut() {
                    properties.values_mut().for_each(|s| strict(s, false));
                }
            }
            "items" | "additionalProperties" | "not" | "oneOf" | "anyOf" | "allOf" => {
                strict(value, false)
            }
            _ => {}
        }
    }
}
