//! Secret query parameters in a logged request target (`:path`, `x-envoy-original-path`).
//!
//! `/cb?access_token=abc&keep=1` is logged as `/cb?access_token=[redacted]&keep=1`: the query (what
//! follows the first `?`) is split at `&` into parameters, a parameter's name is what precedes its
//! first `=`, and the value of every parameter whose name is one of the configured names becomes
//! exactly `[redacted]`. Names are compared after percent-decoding (`%61ccess_token`) and `+` as
//! space, ASCII case-insensitively (`Access_Token`). Everything else (path, other parameters, the
//! name and `=` of a redacted one, empty parameters, malformed escapes such as `%zz`) is escaped
//! exactly as [`escape_into`] escapes any value, byte for byte.
//!
//! Only `&` separates parameters (as in WHATWG URLs and today's frameworks; `;` does not). A
//! parameter without `=` (`?token`) has no value to hide and is logged as sent. Splitting at the
//! ASCII bytes `?`, `&`, `=` never splits a UTF-8 character, so the pieces escape to the same
//! text as the whole would.
//!
//! A value cut by `max_logged_value_bytes` is cut first and redacted after: a value byte is shown
//! only after its `=`, so its parameter's whole name is always there to be matched.

use super::REDACTED;
use crate::escape::escape_into;

/// Appends `target` to `out` escaped, with the value of each query parameter named in `secret`
/// replaced by `[redacted]` (see the module documentation).
pub fn escape_target_into(out: &mut String, target: &[u8], secret: &[String]) {
    let Some(query_at) = target.iter().position(|&b| b == b'?') else {
        return escape_into(out, target);
    };
    let (path, query) = target.split_at(query_at + 1);
    // Most targets carry no secret: then the whole is escaped in one go, as any value.
    if !query
        .split(|&b| b == b'&')
        .any(|p| secret_value(p, secret).is_some())
    {
        return escape_into(out, target);
    }
    escape_into(out, path);
    for (i, parameter) in query.split(|&b| b == b'&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match secret_value(parameter, secret) {
            Some(name_and_equals) => {
                escape_into(out, name_and_equals);
                out.push_str(REDACTED);
            }
            None => escape_into(out, parameter),
        }
    }
}

/// `name=` of `parameter` if it has a value and its name is one of `secret`.
fn secret_value<'p>(parameter: &'p [u8], secret: &[String]) -> Option<&'p [u8]> {
    let equals = parameter.iter().position(|&b| b == b'=')?;
    let name = parameter.get(..equals)?;
    secret
        .iter()
        .any(|s| decoded_eq_ignore_case(name, s.as_bytes()))
        .then(|| parameter.get(..=equals))
        .flatten()
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
    use crate::redaction::DEFAULT_REDACTED_QUERY_PARAMS;

    fn defaults() -> Vec<String> {
        DEFAULT_REDACTED_QUERY_PARAMS.map(String::from).to_vec()
    }

    fn logged(target: &[u8]) -> String {
        let mut out = String::new();
        escape_target_into(&mut out, target, &defaults());
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
        escape_target_into(&mut out, b"/?my+secret=s", &["My Secret".to_string()]);
        assert_eq!(out, "/?my+secret=[redacted]");
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
            b"/?tokens=1&mytoken=2&token_=3",
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
        for name in ["%", "%7", "%zz", "%%", "%7%", "to%6", "token%"] {
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
