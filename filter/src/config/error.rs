//! [`ConfigError`]: which field, what was wrong, what was expected, and an example fix.

use super::{
    EXAMPLE_ADD, EXAMPLE_GO, EXAMPLE_LOG, EXAMPLE_MAX, EXAMPLE_REDACT, EXAMPLE_SET, EXAMPLE_TOP,
    TOP_LEVEL,
};
use crate::escape::escape_into;
use crate::json::{self, PathSegment};

/// Escapes user text quoted in an error message, cutting it at 64 bytes.
pub(super) fn escaped(text: &str) -> String {
    let mut out = String::new();
    let mut end = text.len().min(64);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    escape_into(&mut out, text.get(..end).unwrap_or_default().as_bytes());
    if end < text.len() {
        out.push_str("...");
    }
    out
}

/// A configuration error: the field (path), what was wrong, what was expected, an example fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: String,
    problem: String,
    expected: &'static str,
    example: &'static str,
}

impl ConfigError {
    pub(super) fn new(
        path: Vec<PathSegment>,
        problem: String,
        expected: &'static str,
        example: &'static str,
    ) -> Self {
        let field = if path.is_empty() {
            TOP_LEVEL.to_string()
        } else {
            let mut field = String::new();
            json::push_path(&mut field, &path);
            field
        };
        ConfigError {
            field,
            problem,
            expected,
            example,
        }
    }

    pub(super) fn from_json(e: &json::JsonError, input: &[u8]) -> Self {
        let found = match input.get(e.offset..) {
            _ if e.kind == json::ErrorKind::DuplicateKey => String::new(),
            None | Some([]) => ", found the end of the input".to_string(),
            Some(rest) => {
                let len = rest.utf8_chunks().next().map_or(1, |chunk| {
                    chunk.valid().chars().next().map_or(1, char::len_utf8)
                });
                let mut out = String::from(", found `");
                escape_into(&mut out, rest.get(..len).unwrap_or_default());
                out.push('`');
                out
            }
        };
        let problem = format!("invalid JSON at byte {}: {}{found}", e.offset, e.problem());
        let example = match e.path.first() {
            Some(PathSegment::Key(k)) => example_for(k),
            _ => EXAMPLE_TOP,
        };
        ConfigError::new(e.path.clone(), problem, e.expected(), example)
    }

    /// The path of the field at fault, e.g. `add_response_headers."X Y"`, `redact_headers[2]`,
    /// `max_logged_value_bytes`; [`TOP_LEVEL`] for the configuration as a whole.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What was wrong.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// What was expected instead.
    pub fn expected(&self) -> &str {
        self.expected
    }

    /// An example of a correct configuration for this field.
    pub fn example(&self) -> &str {
        self.example
    }
}

fn example_for(field: &str) -> &'static str {
    match field {
        "set_request_headers" => EXAMPLE_SET,
        "add_response_headers" => EXAMPLE_ADD,
        "redact_headers" => EXAMPLE_REDACT,
        "max_logged_value_bytes" => EXAMPLE_MAX,
        "log_headers" => EXAMPLE_LOG,
        "header" | "value" => EXAMPLE_GO,
        _ => EXAMPLE_TOP,
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "invalid plugin configuration: {}: {}; expected {}; for example: {}",
            self.field, self.problem, self.expected, self.example
        )
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::super::*;

    fn err(input: &str) -> ConfigError {
        PluginConfig::parse(input.as_bytes()).unwrap_err()
    }

    #[test]
    fn display_format() {
        let e = err(r#"{"max_logged_value_bytes": 0}"#);
        assert_eq!(
            e.to_string(),
            "invalid plugin configuration: max_logged_value_bytes: 0 is out of range; \
             expected an integer from 1 to 65536; for example: \"max_logged_value_bytes\": 1024"
        );
        let e = err(r#"{"add_response_headers": {"X Y": "v"}}"#);
        assert_eq!(
            e.to_string(),
            "invalid plugin configuration: add_response_headers.\"X Y\": `X Y` is not a valid \
             header name: ` ` at byte 1 is not allowed; expected a header name: letters, digits \
             and !#$%&'*+-.^_`|~ (an RFC 9110 token); for example: \
             \"add_response_headers\": {\"x-wasm-header\": \"demo-wasm\"}"
        );
    }

    #[test]
    fn error_text_is_one_safe_line() {
        let hostile = "{\"set_request_headers\": {\"x\": \"\\r\\ninjected\\u2028\\u202e\"}}";
        let text = err(hostile).to_string();
        assert!(text.starts_with("invalid plugin configuration: "));
        assert!(
            !text.contains(['\r', '\n', '\u{2028}', '\u{202E}']),
            "{text}"
        );
        let long_key = format!(
            r#"{{"add_response_headers": {{"{}": "v"}}}}"#,
            "é ".repeat(100)
        );
        let text = err(&long_key).to_string();
        assert!(text.contains("..."), "{text}");
    }
}
