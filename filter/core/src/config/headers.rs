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
