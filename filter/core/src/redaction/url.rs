//! Secret parameters in a logged URL: the query and the fragment of `:path`,
//! `x-envoy-original-path`, `referer`, `location` and every other URL-valued header.
//!
//! `/cb?access_token=abc&keep=1` is logged as `/cb?access_token=[redacted]&keep=1`. What precedes
//! the first `?` or `#` (scheme, host, path) is logged as sent. After it, parameters start after
//! every `?`, `&` and `#`; a parameter's name is what precedes its first `=`. The value of a
//! secret parameter (its name is one of the configured or default names:
//! [`is_secret_param`]) becomes exactly `[redacted]`, and runs to the next `&` or the end:
//! a `#` or `?` inside it can't bring a byte of it back into the log. So both halves of an OAuth
//! redirect are covered: `?code=…&state=z` and the implicit flow's `#access_token=…&state=z`.
//!
//! Nested URLs, one level: the value of a parameter that is not secret by its name, if it holds a
//! `%` or a `=`, is percent-decoded once and read as a list of parameters (split at `?`, `&`,
//! `#`); if one of them is a secret parameter with a value, the whole value is `[redacted]`:
//! `next=https%3A%2F%2Fapp%2Fcb%3Fcode%3D123` is logged `next=[redacted]`. A URL nested inside a
//! nested URL, or encoded twice (`%253F`), is not looked into.
//!
//! Names are compared after percent-decoding (`%61ccess_token`) and `+` as space, ASCII
//! case-insensitively (`Access_Token`). Everything else (the part before the query, other
//! parameters, the name and `=` of a redacted one, empty parameters, malformed escapes such as
//! `%zz`) is escaped exactly as [`escape_into`] escapes any value, byte for byte: splitting at the
//! ASCII bytes `?`, `&`, `#`, `=` never splits a UTF-8 character, so the pieces escape to the
//! same text as the whole would. `;` separates nothing. A parameter without `=` (`?token`) has
//! no value to hide and is logged as sent.
//!
//! A value cut by `max_logged_value_bytes` is cut first and redacted after: a value byte is shown
//! only after its `=`, so its parameter's whole name is always there to be matched.

use super::always::REDACTED;
use crate::escape::escape_into;

/// Appends `url` to `out` escaped, with the value of each secret parameter of its query and
/// fragment replaced by `[redacted]` (see the module documentation).
pub fn escape_url_into(out: &mut String, url: &[u8], secret: &[String]) {
    let Some(start) = url.iter().position(|&b| is_separator(b)) else {
        return escape_into(out, url);
    };
    let (before, params) = url.split_at(start);
    // Most URLs carry no secret: then the whole is escaped in one go, as any value.
    if Params::new(params, secret, true).all(|p| p.redacted.is_none()) {
        return escape_into(out, url);
    }
    escape_into(out, before);
    for param in Params::new(params, secret, true) {
        if let Some(&separator) = param.separator {
            out.push(char::from(separator));
        }
        match param.redacted {
            Some(name_and_equals) => {
                escape_into(out, name_and_equals);
                out.push_str(REDACTED);
            }
            None => escape_into(out, param.text),
        }
    }
}

/// `?`, `&` and `#`: where a parameter may start.
fn is_separator(b: u8) -> bool {
    matches!(b, b'?' | b'&' | b'#')
}

/// One parameter of a URL's query or fragment, with the separator before it.
struct Param<'u> {
    separator: Option<&'u u8>,
    /// The parameter as sent (with its value, secret or not).
    text: &'u [u8],
    /// `name=` when the value is to be redacted.
    redacted: Option<&'u [u8]>,
}

/// The parameters of `text`, which starts with a separator, or (nested) with a parameter.
struct Params<'u, 'r> {
    rest: &'u [u8],
    secret: &'r [String],
    /// Whether values are looked into for a nested URL (not inside a nested one).
    nested: bool,
}

impl<'u, 'r> Params<'u, 'r> {
    fn new(text: &'u [u8], secret: &'r [String], nested: bool) -> Self {
        Params {
            rest: text,
            secret,
            nested,
        }
    }
}

impl<'u> Iterator for Params<'u, '_> {
    type Item = Param<'u>;

    fn next(&mut self) -> Option<Param<'u>> {
        if self.rest.is_empty() {
            return None;
        }
        let (separator, text) = match self.rest.split_first() {
            Some((first, tail)) if is_separator(*first) => (Some(first), tail),
            _ => (None, self.rest),
        };
        let end = text
            .iter()
            .position(|&b| is_separator(b))
            .unwrap_or(text.len());
        let param = text.get(..end).unwrap_or(text);
        let mut redacted = None;
        let mut taken = end;
        if let Some(equals) = param.iter().position(|&b| b == b'=') {
            let name = param.get(..equals).unwrap_or_default();
            let name_and_equals = param.get(..=equals).unwrap_or_default();
            let value = param.get(equals + 1..).unwrap_or_default();
            if is_secret_param(name, self.secret) {
                // A secret value runs to the next `&`, over any `?` or `#`.
                taken = text.iter().position(|&b| b == b'&').unwrap_or(text.len());
                redacted = Some(name_and_equals);
            } else if self.nested && nested_secret(value, self.secret) {
                redacted = Some(name_and_equals);
            }
        }
        let text = text.get(..taken).unwrap_or(text);
        self.rest = self
            .rest
            .get(taken + usize::from(separator.is_some())..)
            .unwrap_or_default();
        Some(Param {
            separator,
            text,
            redacted,
        })
    }
}

/// Whether `value`, percent-decoded once, is a URL or a list of parameters carrying a secret
/// parameter with a value.
fn nested_secret(value: &[u8], secret: &[String]) -> bool {
    if !value.iter().any(|&b| b == b'%' || b == b'=') {
        return false;
    }
    let decoded = percent_decoded(value);
    Params::new(&decoded, secret, false).any(|p| p.redacted.is_some())
}

/// `raw` percent-decoded once (`%XX`, `+` as space; a `%` without two hex digits is itself).
fn percent_decoded(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&byte) = raw.get(at) {
        let (decoded, width) = decode_at(raw, at, byte);
        out.push(decoded);
        at += width;
    }
    out
}

/// Whether a query or fragment parameter named `raw` (as sent, percent-encoded) is one of
/// `secret` (names as they read decoded), after percent-decoding, ASCII case-insensitively.
pub fn is_secret_param(raw: &[u8], secret: &[String]) -> bool {
    secret
        .iter()
        .any(|s| decoded_eq_ignore_case(raw, s.as_bytes()))
}

/// Whether `raw`, percent-decoded (`%XX`, `+` as space; a `%` without two hex digits is itself),
/// equals `name`, ASCII case-insensitively. No allocation: decoded byte by byte.
fn decoded_eq_ignore_case(raw: &[u8], name: &[u8]) -> bool {
    let mut at = 0;
    let mut expected = name.iter();
    while let Some(&byte) = raw.get(at) {
        let (decoded, width) = decode_at(raw, at, byte);
        match expected.next() {
            Some(want) if want.eq_ignore_ascii_case(&decoded) => at += width,
            _ => return false,
        }
    }
    expected.next().is_none()
}

/// The byte that `raw[at]` (which is `byte`) stands for, and how many bytes it takes.
fn decode_at(raw: &[u8], at: usize, byte: u8) -> (u8, usize) {
    match byte {
        b'+' => (b' ', 1),
        b'%' => {
            let high = raw.get(at + 1).and_then(|&h| hex_value(h));
            let low = raw.get(at + 2).and_then(|&l| hex_value(l));
            match (high, low) {
                (Some(high), Some(low)) => (high << 4 | low, 3),
                _ => (b'%', 1),
            }
        }
        _ => (byte, 1),
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::redaction::always::DEFAULT_REDACTED_QUERY_PARAMS;

    fn defaults() -> Vec<String> {
        DEFAULT_REDACTED_QUERY_PARAMS.map(String::from).to_vec()
    }

    fn logged(target: &[u8]) -> String {
        let mut out = String::new();
        escape_url_into(&mut out, target, &defaults());
        out
    }

    #[test]
    fn secret_values_are_redacted_the_rest_kept() {
        assert_eq!(
            logged(b"/cb?access_token=abc&keep=1"),
            "/cb?access_token=[redacted]&keep=1"
        );
        assert_eq!(
            logged(b"/o/x.bin?X-Amz-Credential=AK%2F2026&X-Amz-Signature=f00d&X-Amz-Expires=60"),
            "/o/x.bin?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=60"
        );
        assert_eq!(logged(b"/p?keep=1&sig="), "/p?keep=1&sig=[redacted]");
        assert_eq!(
            logged(b"/p?token=a=b=c&token=d"),
            "/p?token=[redacted]&token=[redacted]"
        );
    }

    #[test]
    fn names_match_case_insensitively_after_percent_decoding() {
        for target in [
            &b"/?Access_Token=s"[..],
            b"/?ACCESS_TOKEN=s",
            b"/?%61ccess_token=s",
            b"/?%41CCESS%5fTOKEN=s",
            b"/?access%5Ftoken=s",
        ] {
            let out = logged(target);
            assert!(out.ends_with("=[redacted]"), "{out}");
            assert!(!out.contains("=s"), "{out}");
        }
        // Decoded once, as an application does: a double-encoded name is another name.
        assert_eq!(logged(b"/?%2574oken=s"), "/?%2574oken=s");
        // `+` is a space: `api+key` is `api key`, not `api_key`.
        assert_eq!(logged(b"/?api+key=s"), "/?api+key=s");
        let mut out = String::new();
        escape_url_into(&mut out, b"/?my+stuff=s", &["My Stuff".to_string()]);
        assert_eq!(out, "/?my+stuff=[redacted]");
    }

    #[test]
    fn no_query_or_no_secret_is_logged_exactly_as_any_value() {
        for target in [
            &b"/headers"[..],
            b"/",
            b"",
            b"?",
            b"/?",
            b"/?&&=",
            b"/?%zz",
            b"/?%",
            b"/?token",
            b"/?tokes=1&my=2&tok_en=3",
            b"/a\xff?b=\x01\n&c=\\",
            "/é?€=𝄞".as_bytes(),
        ] {
            let mut plain = String::new();
            escape_into(&mut plain, target);
            assert_eq!(logged(target), plain, "{target:?}");
        }
    }

    #[test]
    fn the_rest_is_escaped_as_any_value() {
        assert_eq!(
            logged(b"/a\xff?x=\n&token=\xfe\r&y=\\"),
            "/a\\xff?x=\\n&token=[redacted]&y=\\\\"
        );
        // The name of a redacted parameter is logged escaped, as sent.
        assert_eq!(logged(b"/?%74oken=1"), "/?%74oken=[redacted]");
    }

    #[test]
    fn only_the_first_question_mark_starts_the_query() {
        assert_eq!(logged(b"/?a=?&token=x?y"), "/?a=?&token=[redacted]");
        assert_eq!(logged(b"/?token=x?token=y"), "/?token=[redacted]");
    }

    #[test]
    fn malformed_escapes_never_panic_or_match() {
        for name in ["%", "%7", "%zz", "%%", "%7%", "to%6", "tok%en"] {
            let target = format!("/?{name}=v");
            assert_eq!(logged(target.as_bytes()), target, "{name}");
        }
        assert!(!decoded_eq_ignore_case(b"", b"token"));
        assert!(decoded_eq_ignore_case(b"", b""));
        assert!(!decoded_eq_ignore_case(b"token", b"tok"));
        assert!(!decoded_eq_ignore_case(b"tok", b"token"));
    }

    #[test]
    fn long_queries_are_linear_and_redacted() {
        let mut target = b"/x?".to_vec();
        for _ in 0..5000 {
            target.extend_from_slice(b"a=1&token=secret&");
        }
        let out = logged(&target);
        assert!(!out.contains("secret"));
        assert_eq!(out.matches("token=[redacted]").count(), 5000);
        let many = vec![b'&'; 100_000];
        assert_eq!(logged(&many), "&".repeat(100_000));
    }
}
