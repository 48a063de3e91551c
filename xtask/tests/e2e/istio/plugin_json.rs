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

use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::Formatter;

/// The JSON text of `plugin_config` as Istio hands it to the plugin. serde_json already
/// writes it compact, with its keys sorted (its `Map` is a `BTreeMap`) and control
/// characters escaped as Go does; [`GoJson`] adds the rest.
pub fn plugin_config_string(plugin_config: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoJson);
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = plugin_config.serialize(&mut serializer);
    String::from_utf8_lossy(&out).into_owned()
}

/// What Go's `encoding/json` writes differently from serde_json: numbers as float64 and
/// HTML-safe strings.
struct GoJson;

impl Formatter for GoJson {
    fn write_i64<W: ?Sized + Write>(&mut self, w: &mut W, value: i64) -> io::Result<()> {
        self.write_f64(w, value as f64)
    }

    fn write_u64<W: ?Sized + Write>(&mut self, w: &mut W, value: u64) -> io::Result<()> {
        self.write_f64(w, value as f64)
    }

    /// `strconv` shortest form, `'f'` between 1e-6 and 1e21, else `'e'` with a signed
    /// exponent (`1e+21`, `1e-7`).
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, f: f64) -> io::Result<()> {
        if f == 0.0 || (1e-6..1e21).contains(&f.abs()) {
            return write!(w, "{f}");
        }
        let text = format!("{f:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        match exponent.strip_prefix('-') {
            Some(negative) => write!(w, "{mantissa}e-{negative}"),
            None => write!(w, "{mantissa}e+{exponent:0>2}"),
        }
    }

    /// Go also escapes `<`, `>`, `&`, U+2028 and U+2029.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        text: &str,
    ) -> io::Result<()> {
        for c in text.chars() {
            match c {
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => write!(w, "\\u{:04x}", c as u32)?,
                c => write!(w, "{c}")?,
            }
        }
        Ok(())
    }
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
