//! The JSON string Istio hands to a plugin for a `WasmPlugin`'s `pluginConfig`.
//!
//! `pluginConfig` is a `google.protobuf.Struct`. istiod turns it into text with
//! `protomarshal.ToJSON`, the legacy Go `jsonpb` marshaler without indentation, and wraps the
//! text in a `google.protobuf.StringValue`, which Envoy hands to the plugin as is. That text is:
//! - compact: no spaces or newlines;
//! - object keys sorted (a Struct is a Go map; jsonpb sorts map keys);
//! - every number a double (a Struct has no integers), written by Go's `encoding/json`:
//!   shortest form, `1024` not `1024.0`, exponent only below 1e-6 or from 1e21 (`1e+21`);
//! - strings escaped by Go's `encoding/json`: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
//!   other control bytes as `\u00XX`, and `<`, `>`, `&`, U+2028, U+2029 as `\u003c`, `\u003e`,
//!   `\u0026`, `\u2028`, `\u2029` (HTML-safe).
//!
//! An empty `pluginConfig` gives no configuration at all (the filter then uses its defaults).

use serde_json::Value;

/// The JSON text of `plugin_config` as Istio hands it to the plugin.
pub fn plugin_config_string(plugin_config: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, plugin_config);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_double(out, n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Go's `encoding/json` float64: `strconv` shortest form, `'f'` between 1e-6 and 1e21,
/// else `'e'` with a signed exponent (`1e+21`, `1e-7`).
fn write_double(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        match exponent.strip_prefix('-') {
            Some(negative) => out.push_str(&format!("{mantissa}e-{negative}")),
            None => out.push_str(&format!("{mantissa}e+{exponent:0>2}")),
        }
    } else {
        out.push_str(&format!("{f}"));
    }
}

/// Go's `encoding/json` string, HTML-safe escaping included.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_sorted_numbers_as_doubles() {
        let config = json!({
            "set_request_headers": {"test": "best"},
            "add_response_headers": {"x-wasm-header": "demo-wasm"},
            "redact_headers": ["x-api-key"],
            "max_logged_value_bytes": 1024,
            "log_headers": true
        });
        assert_eq!(
            plugin_config_string(&config),
            r#"{"add_response_headers":{"x-wasm-header":"demo-wasm"},"log_headers":true,"max_logged_value_bytes":1024,"redact_headers":["x-api-key"],"set_request_headers":{"test":"best"}}"#
        );
    }

    #[test]
    fn numbers_as_go_writes_float64() {
        let cases = [
            (json!(0), "0"),
            (json!(1024), "1024"),
            (json!(65536.0), "65536"),
            (json!(-2.5), "-2.5"),
            (json!(0.000001), "0.000001"),
            (json!(0.0000001), "1e-7"),
            (json!(1.5e-10), "1.5e-10"),
            (json!(1e20), "100000000000000000000"),
            (json!(1e21), "1e+21"),
            (json!(1.25e300), "1.25e+300"),
            (json!(u64::MAX), "18446744073709552000"),
        ];
        for (value, expected) in cases {
            assert_eq!(plugin_config_string(&value), expected, "{value}");
        }
    }

    #[test]
    fn strings_as_go_escapes_them() {
        let value = json!({"b<>&": "q\"\\\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f} ü ✓ \u{2028}\u{2029}"});
        assert_eq!(
            plugin_config_string(&value),
            "{\"b\\u003c\\u003e\\u0026\":\"q\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f} ü ✓ \\u2028\\u2029\"}"
        );
        // Still JSON with the same meaning.
        let back: Value = serde_json::from_str(&plugin_config_string(&value)).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn keys_sort_by_bytes() {
        let value = json!({"b": 1, "B": 2, "a": [{"z": null, "y": false}]});
        assert_eq!(
            plugin_config_string(&value),
            r#"{"B":2,"a":[{"y":false,"z":null}],"b":1}"#
        );
    }
}
