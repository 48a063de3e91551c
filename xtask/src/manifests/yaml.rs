//! The YAML that fills the holes of istio/*.yaml's templates, written by serde-saphyr.
//!
//! The templates keep the manifests' comments and layout; serde-saphyr decides how each value
//! is written (plain, quoted, a literal block for a text of several lines), and these helpers
//! only move its lines to where the hole sits. Every helper is checked by parsing its output
//! back (`envoy_model::bootstrap::parse`) and comparing with the input.

use anyhow::{Result, bail};
use serde_json::Value;

/// `value` on its key's line (`key: ${hole}`): a plain or a quoted scalar.
pub fn scalar(value: &str) -> Result<String> {
    let text = text(value, 0)?;
    if text.contains('\n') {
        bail!("{value:?} is written on several lines where one is expected");
    }
    Ok(text)
}

/// [`scalar`] of `value`, or nothing without one (a line that is only its hole is dropped).
pub fn optional(value: Option<&str>) -> Result<String> {
    Ok(value.map(scalar).transpose()?.unwrap_or_default())
}

/// `value` after `key: `: a scalar, or for a text of several lines a literal block (`|`)
/// whose lines sit at `indent` spaces.
pub fn text(value: &str, indent: usize) -> Result<String> {
    let yaml = serde_saphyr::to_string(&value)?;
    // serde-saphyr indents a block's lines by 2 under its (top-level) key.
    Ok(shift(&yaml, indent.saturating_sub(2), false))
}

/// A mapping right after `key:` (no space): ` {}` when empty, else its entries on the next
/// lines at `indent` spaces (sequences Kubernetes-style, their dashes under the parent key).
pub fn mapping(value: &Value, indent: usize) -> Result<String> {
    let yaml = serde_saphyr::to_string(value)?;
    if value.as_object().is_none_or(|map| map.is_empty()) {
        return Ok(format!(" {}", yaml.trim_end()));
    }
    Ok(format!("\n{}", shift(&yaml, indent, true)))
}

/// `yaml` without its final line break, every line after the first (and the first too when
/// `first`) moved `by` spaces to the right; empty lines stay empty.
fn shift(yaml: &str, by: usize, first: bool) -> String {
    let pad = " ".repeat(by);
    let body = yaml.strip_suffix('\n').unwrap_or(yaml);
    let lines = body.split('\n').enumerate().map(|(n, line)| {
        let padded = !line.is_empty() && (n > 0 || first);
        format!("{}{line}", if padded { pad.as_str() } else { "" })
    });
    lines.collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn read_back(yaml: &str) -> Value {
        envoy_model::bootstrap::parse(yaml, Path::new("test.yaml"))
            .unwrap_or_else(|e| panic!("{e}\n--- the YAML:\n{yaml}"))
    }

    const TRICKY: [&str; 17] = [
        "best",
        "demo-wasm",
        "type.googleapis.com/google.protobuf.StringValue",
        "",
        "yes",
        "No",
        "null",
        "1024",
        "@type",
        "a: b",
        "#not a comment",
        "it's {\"json\": 'x'}",
        "- item",
        "tab\there \"quoted\" back\\slash",
        "ünïcödé ✓",
        "bell\u{7} del\u{7f} c1\u{85} ls\u{2028}",
        "  leading and trailing  ",
    ];

    #[test]
    fn scalars_read_back_unchanged() {
        for s in TRICKY {
            let yaml = format!("key: {}\n", scalar(s).unwrap());
            assert_eq!(read_back(&yaml)["key"], json!(s), "{yaml}");
        }
        assert_eq!(scalar("demo-wasm").unwrap(), "demo-wasm");
        assert_eq!(scalar("yes").unwrap(), "\"yes\"");
        assert!(scalar("two\nlines").is_err());
    }

    #[test]
    fn texts_read_back_unchanged() {
        let texts = [
            "{\n  \"test\": \"best\"\n}\n",
            "{\"a\": 1}",
            "two trailing\n\n",
            "  starts with spaces\nthen not\n",
            "\n\nleading blank lines\n",
            "has\ttab\n",
            "   \n",
            "blank line\n  \nwith spaces\n",
            "cr\r\nlf\n",
            "",
        ];
        for t in texts {
            for indent in [2, 4, 14] {
                // `value:` nested so that its content sits at `indent` spaces.
                let depth = indent / 2 - 1;
                let mut yaml = String::new();
                for level in 0..depth {
                    yaml.push_str(&format!("{}p:\n", "  ".repeat(level)));
                }
                yaml.push_str(&format!(
                    "{}value: {}\n",
                    "  ".repeat(depth),
                    text(t, indent).unwrap()
                ));
                let pointer = format!("{}/value", "/p".repeat(depth));
                let back = read_back(&yaml);
                assert_eq!(
                    back.pointer(&pointer),
                    Some(&json!(t)),
                    "EXPECTED {t:?}\n--- GOT from:\n{yaml}"
                );
            }
        }
        let block = text("{\n  \"a\": 1\n}\n", 4).unwrap();
        assert!(block.starts_with("|\n    {\n      \"a\""), "{block}");
    }

    #[test]
    fn values_read_back_unchanged() {
        let config = json!({
            "set_request_headers": {"test": "best", "x-yes": "yes"},
            "add_response_headers": {},
            "redact_headers": ["x-api-key", "true", "a b"],
            "max_logged_value_bytes": 1024,
            "ratio": 0.5,
            "log_headers": true,
            "nothing": null,
            "nested": [{"a": [1, 2]}, []],
        });
        let yaml = format!("pluginConfig:{}\n", mapping(&config, 2).unwrap());
        assert_eq!(read_back(&yaml)["pluginConfig"], config, "{yaml}");
        assert_eq!(mapping(&json!({}), 2).unwrap(), " {}");
        assert!(
            yaml.contains("\n  set_request_headers:\n    test: best\n"),
            "{yaml}"
        );
        assert!(
            yaml.contains("\n  redact_headers:\n  - x-api-key\n"),
            "{yaml}"
        );
    }
}
