//! Writing the YAML of istio/*.yaml by hand: scalars quoted only where YAML needs it, a text
//! as a literal block (`|`), a JSON value as block mappings and sequences.
//!
//! xtask has no YAML serializer, and the manifests want comments and a fixed layout anyway;
//! every helper here is checked by parsing its output back (serde-saphyr, through
//! `smoke::envoy::bootstrap::parse`) and comparing with the input.

use serde_json::Value;

/// `s` as a YAML scalar: plain when that is unambiguous (letters, digits and `-_./`, not a
/// word YAML reads as a boolean or null), else single-quoted when every character is
/// printable (JSON inside stays readable), else double-quoted with escapes.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else if !s.is_empty() && s.chars().all(is_printable) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        quoted(s)
    }
}

/// `s` as a double-quoted YAML scalar; anything that is not printable is escaped.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// `text` after a key, for a value at `indent` spaces: a literal block (`|`, `|-` or `|+`,
/// with an indentation indicator when the text starts with a space) when the text reads back
/// exactly that way, else a double-quoted scalar. The result starts right after `key: `.
pub fn text(text: &str, indent: usize) -> String {
    if !fits_literal_block(text) {
        return quoted(text);
    }
    let body = text.trim_end_matches('\n');
    let trailing = text.len() - body.len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let first = body.lines().find(|l| !l.is_empty()).unwrap_or("");
    let indicator = if first.starts_with(' ') { "2" } else { "" };
    // With an indicator, the content sits exactly that far (2) past its key: `indent` too.
    let pad = " ".repeat(indent);
    let mut out = format!("|{indicator}{chomp}");
    for line in text.split_terminator('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// A JSON value as block YAML at `indent` spaces, for the lines after `key:`: a mapping's
/// entries (one per line, nested mappings indented by two), a sequence's `- ` items, or,
/// for a scalar or an empty collection, ` value` to stay on the key's line.
pub fn value(value: &Value, indent: usize) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::new();
            for (key, item) in map {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push_str(&scalar(key));
                out.push(':');
                out.push_str(&self::value(item, indent + 2));
            }
            out
        }
        Value::Array(items) if !items.is_empty() => {
            // Kubernetes style: the dashes line up with the parent key.
            let dash = indent.saturating_sub(2);
            let mut out = String::new();
            for item in items {
                out.push('\n');
                out.push_str(&" ".repeat(dash));
                out.push_str("- ");
                out.push_str(&flow(item));
            }
            out
        }
        other => format!(" {}", flow(other)),
    }
}

/// A JSON value in flow style on one line: `{a: 1, b: [x, y]}`, scalars as [`scalar`].
pub fn flow(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
    }
}

/// Plain scalars that read back as the same string in block and flow context alike.
fn is_plain_safe(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "~", "nan",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/' || first == '_')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// YAML's printable characters (c-printable), less the line breaks it would normalize.
fn is_printable(c: char) -> bool {
    matches!(c, ' '..='~' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// A literal block keeps every character when: there is a non-blank line, every character is
/// printable (tabs allowed), no `\r`, and no line is only spaces (YAML would take it for
/// indentation).
fn fits_literal_block(text: &str) -> bool {
    let body = text.trim_end_matches('\n');
    !body.trim().is_empty()
        && body
            .chars()
            .all(|c| c == '\n' || c == '\t' || is_printable(c))
        && body
            .split('\n')
            .all(|line| line.is_empty() || !line.chars().all(|c| c == ' ' || c == '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn read_back(yaml: &str) -> Value {
        smoke::envoy::bootstrap::parse(yaml, Path::new("test.yaml"))
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
            let yaml = format!("key: {}\nlist: [{}]\n", scalar(s), scalar(s));
            let back = read_back(&yaml);
            assert_eq!(back["key"], json!(s), "{yaml}");
            assert_eq!(back["list"], json!([s]), "{yaml}");
        }
        assert_eq!(scalar("demo-wasm"), "demo-wasm");
        assert_eq!(scalar("yes"), "'yes'");
        assert_eq!(scalar("wasm:info"), "'wasm:info'");
        assert_eq!(scalar("it's"), "'it''s'");
        assert_eq!(scalar("a\tb"), "\"a\\tb\"");
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
                    text(t, indent)
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
        assert!(text("{\n  \"a\": 1\n}\n", 4).starts_with("|\n    {\n      \"a\""));
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
        let yaml = format!("pluginConfig:{}\n", value(&config, 2));
        assert_eq!(read_back(&yaml)["pluginConfig"], config, "{yaml}");
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
