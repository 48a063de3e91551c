//! [`ConfigError`]: which field, what was wrong, what was expected, and an example fix.

use crate::escape::escape_into;
use crate::json::{self, PathSegment};
use crate::text::{QUOTED_MAX_BYTES, char_len, concat, push_decimal, push_truncated, quoted_part};

/// The field path [`ConfigError::field`] returns for errors about the configuration as a whole.
pub const TOP_LEVEL: &str = "(top level)";

/// Escapes user text quoted in an error message; past [`QUOTED_MAX_BYTES`] bytes it is cut and
/// says so: `aaa ... [truncated: 64 of 1048576 bytes]`.
pub(super) fn escaped(text: &str) -> String {
    let mut out = String::new();
    let shown = quoted_part(text);
    escape_into(&mut out, shown.as_bytes());
    if shown.len() < text.len() {
        push_truncated(&mut out, shown.len(), text.len());
    }
    out
}

/// The path in the configuration's notation, `a.b[2]."X Y"`; [`TOP_LEVEL`] for the empty path.
fn path_text(path: &[PathSegment]) -> String {
    if path.is_empty() {
        return TOP_LEVEL.to_string();
    }
    let mut out = String::new();
    for (i, segment) in path.iter().enumerate() {
        match segment {
            PathSegment::Key(key) => {
                if i > 0 {
                    out.push('.');
                }
                push_key(&mut out, key);
            }
            PathSegment::Index(index) => push_index(&mut out, *index),
        }
    }
    out
}

/// Appends one key of a path: bare if it is `[A-Za-z0-9_-]+` of at most [`QUOTED_MAX_BYTES`],
/// else quoted and [`escaped`], with `"` as `\"`.
fn push_key(out: &mut String, key: &str) {
    let bare = !key.is_empty()
        && key.len() <= QUOTED_MAX_BYTES
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        return out.push_str(key);
    }
    out.push('"');
    for c in escaped(key).chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Appends one index of a path: `[2]`.
fn push_index(out: &mut String, index: usize) {
    out.push('[');
    push_decimal(out, index);
    out.push(']');
}

/// The example fix shown for an error under the top-level field `field`.
fn example_for(field: &str) -> &'static str {
    match field {
        "set_request_headers" => r#""set_request_headers": {"test": "best"}"#,
        "add_response_headers" => r#""add_response_headers": {"x-wasm-header": "demo-wasm"}"#,
        "redact_headers" => r#""redact_headers": ["x-api-key"]"#,
        "redact_query_params" => r#""redact_query_params": ["session_id"]"#,
        "unredacted_headers" => r#""unredacted_headers": ["x-session-affinity"]"#,
        "url_headers" => r#""url_headers": ["x-redirect-to"]"#,
        "max_logged_value_bytes" => r#""max_logged_value_bytes": 1024"#,
        "log_headers" => r#""log_headers": true"#,
        "header" | "value" => r#""header": "x-wasm-header", "value": "demo-wasm""#,
        _ => r#"{"add_response_headers": {"x-wasm-header": "demo-wasm"}}"#,
    }
}

/// A configuration error: the field (path), what was wrong, what was expected, an example fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The path of the field at fault, e.g. `add_response_headers."X Y"`, `redact_headers[2]`,
    /// `max_logged_value_bytes`; [`TOP_LEVEL`] for the configuration as a whole.
    pub field: String,
    /// What was wrong.
    pub problem: String,
    /// What was expected instead.
    pub expected: &'static str,
    /// An example of a correct configuration for this field.
    pub example: &'static str,
}

/// The field an error is about, borrowed from the parsed document: its path is only written
/// out when there is an error.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field<'a> {
    /// The configuration as a whole.
    Top,
    /// A top-level field, e.g. `log_headers`.
    Name(&'a str),
    /// A key under a top-level field, e.g. `add_response_headers."X Y"`.
    Key(&'a str, &'a str),
    /// An item of a top-level array, e.g. `redact_headers[2]`.
    Index(&'a str, usize),
}

impl Field<'_> {
    /// The path in the configuration's notation, as [`path_text`] writes it.
    fn path(self) -> String {
        let mut out = String::new();
        match self {
            Field::Top => out.push_str(TOP_LEVEL),
            Field::Name(name) => push_key(&mut out, name),
            Field::Key(name, key) => {
                push_key(&mut out, name);
                out.push('.');
                push_key(&mut out, key);
            }
            Field::Index(name, index) => {
                push_key(&mut out, name);
                push_index(&mut out, index);
            }
        }
        out
    }
}

impl ConfigError {
    /// Boxed: parsing passes errors up through several calls, and a pointer moves cheaply
    /// (module size). The example is the one for the top-level field `field` is under.
    pub(super) fn new(field: Field<'_>, problem: String, expected: &'static str) -> Box<Self> {
        let top = match field {
            Field::Top => "",
            Field::Name(name) | Field::Key(name, _) | Field::Index(name, _) => name,
        };
        Box::new(ConfigError {
            field: field.path(),
            problem,
            expected,
            example: example_for(top),
        })
    }

    /// A JSON syntax error, anywhere in the configuration.
    pub(super) fn from_json(e: &json::JsonError, input: &[u8]) -> Box<Self> {
        let mut problem = String::from("invalid JSON at byte ");
        push_decimal(&mut problem, e.offset);
        problem.push_str(": ");
        let (words, expected) = e.words();
        problem.push_str(words);
        match input.get(e.offset..) {
            _ if e.kind == json::ErrorKind::DuplicateKey => {}
            None | Some([]) => problem.push_str(", found the end of the input"),
            Some(rest) => {
                problem.push_str(", found `");
                escape_into(&mut problem, rest.get(..char_len(rest)).unwrap_or(rest));
                problem.push('`');
            }
        }
        let top = match e.path.first() {
            Some(PathSegment::Key(key)) => key,
            _ => "",
        };
        Box::new(ConfigError {
            field: path_text(&e.path),
            problem,
            expected,
            example: example_for(top),
        })
    }

    /// The pieces of the message, in order.
    fn parts(&self) -> [&str; 8] {
        [
            "invalid plugin configuration: ",
            &self.field,
            ": ",
            &self.problem,
            "; expected ",
            self.expected,
            "; for example: ",
            self.example,
        ]
    }

    /// The whole message, as `Display` writes it, built without `core::fmt` (module size).
    pub fn message(&self) -> String {
        concat(&self.parts())
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.parts().iter().try_for_each(|part| f.write_str(part))
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn path_notation() {
        let key = |key: &str| PathSegment::Key(key.to_string());
        let path = [
            key("add_response_headers"),
            key("X Y"),
            PathSegment::Index(2),
            key("a\"b\n"),
            key(""),
        ];
        assert_eq!(
            path_text(&path),
            r#"add_response_headers."X Y"[2]."a\"b\n"."""#
        );
        assert_eq!(path_text(&[]), TOP_LEVEL);
    }
}
