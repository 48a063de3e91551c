//! The rules for header names and values in the configuration.

use super::error::{ConfigError, Field, escaped};
use crate::text::{concat, push_decimal, push_hex};

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    // A match rather than a lookup in "!#$%&'*+-.^_`|~", which pulls in memchr (module size).
    matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
        || matches!(
            b,
            b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        )
        || matches!(b, b'`' | b'|' | b'~')
}

/// Checks a header name and lower-cases it. `allow_pseudo`: accept `:name` (for redaction only).
pub(super) fn header_name(
    field: Field<'_>,
    name: &str,
    allow_pseudo: bool,
) -> Result<String, Box<ConfigError>> {
    let token = match name.strip_prefix(':') {
        Some(rest) if allow_pseudo => rest,
        Some(_) => {
            return Err(ConfigError::new(
                field,
                concat(&[
                    "`",
                    &escaped(name),
                    "` is a pseudo-header; pseudo-headers can't be set or added by this filter",
                ]),
                "a regular header name such as x-my-header",
            ));
        }
        None => name,
    };
    let expected = "a header name: letters, digits and !#$%&'*+-.^_`|~ (an RFC 9110 token)";
    if token.is_empty() {
        return Err(ConfigError::new(
            field,
            "the header name is empty".to_string(),
            expected,
        ));
    }
    if let Some(at) = token.bytes().position(|b| !is_tchar(b)) {
        let offset = at + name.len() - token.len();
        let bad = name
            .get(offset..)
            .and_then(|s| s.chars().next())
            .unwrap_or('?');
        let mut problem = concat(&[
            "`",
            &escaped(name),
            "` is not a valid header name: `",
            &escaped(bad.encode_utf8(&mut [0; 4])),
            "` at byte ",
        ]);
        push_decimal(&mut problem, offset);
        problem.push_str(" is not allowed");
        return Err(ConfigError::new(field, problem, expected));
    }
    Ok(name.to_ascii_lowercase())
}

/// Checks a header value and copies it.
pub(super) fn header_value(field: Field<'_>, value: &str) -> Result<String, Box<ConfigError>> {
    if let Some((at, c)) = value
        .char_indices()
        .find(|&(_, c)| c.is_control() && c != '\t')
    {
        let mut problem = concat(&[
            "the value `",
            &escaped(value),
            "` holds the control character U+",
        ]);
        // Control characters are at most U+009F: four digits, as `{:04X}` would write.
        push_hex(&mut problem, u32::from(c), 4, true);
        problem.push_str(" at byte ");
        push_decimal(&mut problem, at);
        return Err(ConfigError::new(
            field,
            problem,
            "a value without CR, LF, NUL or other control characters (HTAB is allowed)",
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::super::*;

    fn parse(input: &str) -> Result<PluginConfig, ConfigError> {
        PluginConfig::parse(input.as_bytes())
    }

    fn err(input: &str) -> ConfigError {
        parse(input).unwrap_err()
    }

    #[test]
    fn header_names_must_be_tokens() {
        let e = err(r#"{"add_response_headers": {"X Y": "v"}}"#);
        assert_eq!(e.field, r#"add_response_headers."X Y""#);
        assert!(e.to_string().contains("` ` at byte 1"), "{e}");
        assert_eq!(
            err(r#"{"add_response_headers": {"": "v"}}"#).field,
            r#"add_response_headers."""#
        );
        for bad in [
            "a:b",
            "a/b",
            "a\\u0000b",
            "é",
            "a\"b",
            "(x)",
            "a,b",
            "x\\ny",
        ] {
            let doc = format!(r#"{{"set_request_headers": {{"{bad}": "v"}}}}"#);
            let e = parse(&doc).unwrap_err();
            assert!(e.field.starts_with("set_request_headers."), "{bad}: {e}");
            assert!(!e.to_string().contains('\n'), "{bad}: {e}");
        }
        let c = parse(r#"{"set_request_headers": {"!#$%&'*+-.^_`|~09AZaz": "v"}}"#).unwrap();
        assert_eq!(c.set_request_headers[0].0, "!#$%&'*+-.^_`|~09azaz");
        let e = err(r#"{"redact_headers": ["ok", "x-fine", "bad name"]}"#);
        assert_eq!(e.field, "redact_headers[2]");
        assert_eq!(
            err(r#"{"redact_headers": [":"]}"#).field,
            "redact_headers[0]"
        );
    }

    #[test]
    fn pseudo_headers_cannot_be_set_or_added() {
        for doc in [
            r#"{"set_request_headers": {":path": "/admin"}}"#,
            r#"{"add_response_headers": {":status": "500"}}"#,
        ] {
            let e = err(doc);
            assert!(e.to_string().contains("can't be set or added"), "{e}");
            assert!(e.field.contains(':'), "{e}");
        }
    }

    #[test]
    fn values_must_not_hold_controls() {
        for bad in ["a\\rb", "a\\nb", "\\u0000", "\\u0001", "\\u007f", "\\u0085"] {
            let doc = format!(r#"{{"add_response_headers": {{"x-a": "{bad}"}}}}"#);
            let e = parse(&doc).unwrap_err();
            assert_eq!(e.field, "add_response_headers.x-a", "{bad}");
            assert!(!e.to_string().contains(['\r', '\n', '\0']), "{e}");
        }
        let c = parse(r#"{"add_response_headers": {"x-a": "tab\there, ünïcode ✓"}}"#).unwrap();
        assert_eq!(c.add_response_headers[0].1, "tab\there, ünïcode ✓");
    }
}
