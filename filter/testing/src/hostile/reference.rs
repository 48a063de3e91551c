//! What the filter should log for the bytes a request carried: an independent reference of
//! the escaping table in `filter/core/src/escape.rs` and of the cut in `filter/core/src/logline.rs`
//! (written from their documentation, not from their code), and the model of what Envoy
//! 1.40.0 does to a header value before the filter sees it.
//!
//! Envoy's HTTP/1.1 codec, as measured with raw requests (see `fixed::byte_cases`):
//! - refuses a request (400) whose header value holds NUL, 0x01–0x08, 0x0B, 0x0C, 0x0E–0x1F
//!   or DEL;
//! - ends a header line at a bare LF as at CR LF (so LF never reaches the filter: what
//!   follows is another header line, the end of the headers, or a 400);
//! - unfolds an obsolete line fold: `CR LF` followed by SP or HTAB is removed, the SP or HTAB
//!   stays;
//! - drops every other CR of a value (`a\rb` reaches the filter as `ab`);
//! - trims SP and HTAB from both ends of a value;
//! - lower-cases header names and refuses (400) a name that is not an RFC 9110 token;
//! - joins a repeated header whose name is one of Envoy's "inline" headers ([`COALESCED`])
//!   into its first occurrence: the non-empty values, separated by `,`;
//! - drops a `referer` that is not a valid URL (so the generator does not send one).
//!
//! [`envoy_value`] applies the value rules and [`envoy_headers`] the joining; the suite
//! compares what the filter logged with [`expected_logged`] of that, so every normalisation
//! accounted for is here. (Cases whose line breaks make other header lines say what Envoy
//! passes on themselves: `Case::passed_on`.)

use super::case::Header;
use regex_syntax::hir::{Class, HirKind};
use std::sync::LazyLock;

/// Envoy's normalisation of a request header value (see the module comment): unfold,
/// drop CR, trim SP/HTAB.
pub fn envoy_value(sent: &[u8]) -> Vec<u8> {
    // The LF of a fold (`CR LF` then SP or HTAB) goes, as does every CR.
    let folded =
        |i: usize| i > 0 && sent[i - 1] == b'\r' && matches!(sent.get(i + 1), Some(b' ' | b'\t'));
    let kept = |&i: &usize| sent[i] != b'\r' && !(sent[i] == b'\n' && folded(i));
    let unfolded: Vec<u8> = (0..sent.len()).filter(kept).map(|i| sent[i]).collect();
    let mut value = &unfolded[..];
    while let [b' ' | b'\t', rest @ ..] | [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value.to_vec()
}

/// The bytes that make Envoy refuse a request when they appear inside a header value (400);
/// LF too, unless what follows it parses as a header line.
pub fn refused_in_value(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0A..=0x0C | 0x0E..=0x1F | 0x7F)
}

/// Request headers that Envoy 1.40.0 keeps "inline" and joins when repeated (measured: the
/// others it keeps as separate entries, e.g. `cookie`, `proxy-authorization`, `x-*`).
pub const COALESCED: &[&str] = &[
    "accept",
    "accept-encoding",
    "access-control-request-method",
    "authorization",
    "cache-control",
    "content-type",
    "expect",
    "grpc-timeout",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "origin",
    "pragma",
    "referer",
    "user-agent",
    "via",
    "x-forwarded-for",
    "x-request-id",
];

/// The headers Envoy passes on for the headers `sent` (lower-case names, raw values, in
/// order): each value normalised by [`envoy_value`], repeated [`COALESCED`] names joined into
/// the first.
pub fn envoy_headers(sent: &[Header]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(sent.len());
    for header in sent {
        let (name, value) = (header.lower_name(), envoy_value(&header.value));
        let coalesced = COALESCED.contains(&name.as_str());
        match out.iter_mut().find(|(n, _)| coalesced && *n == name) {
            // An empty value adds nothing, not even a comma.
            Some((_, joined)) if joined.is_empty() || value.is_empty() => joined.extend(value),
            Some((_, joined)) => joined.extend([&b","[..], &value].concat()),
            None => out.push((name, value)),
        }
    }
    out
}

/// The documented escaping of `bytes`: `\\`, `\t`, `\n`, `\r`; other C0 controls, DEL and
/// each byte outside valid UTF-8 as `\xNN` (lower-case hex); C1 controls, the line and
/// paragraph separators and the bidi controls (`written_as_code_point`) as `\u{XXXX}`
/// (upper-case hex, four digits); everything else as itself.
pub fn escape(bytes: &[u8]) -> String {
    units(bytes).map(escaped).collect()
}

/// What `bytes` are made of, in order: each well-formed UTF-8 character (`Ok`), and each
/// byte outside one (`Err`).
pub fn units(bytes: &[u8]) -> impl Iterator<Item = Result<char, u8>> + '_ {
    bytes.utf8_chunks().flat_map(|chunk| {
        let invalid = chunk.invalid().iter().map(|&b| Err(b));
        chunk.valid().chars().map(Ok).chain(invalid)
    })
}

/// One unit of [`units`] as the table writes it.
fn escaped(unit: Result<char, u8>) -> String {
    match unit {
        Ok(c @ ('\\' | '\t' | '\n' | '\r')) => c.escape_default().to_string(),
        Ok(c @ ('\u{0}'..='\u{1F}' | '\u{7F}')) => format!("\\x{:02x}", c as u32),
        Ok(c) if written_as_code_point(c) => format!("\\u{{{:04X}}}", c as u32),
        Ok(c) => c.to_string(),
        Err(b) => format!("\\x{b:02x}"),
    }
}

/// The characters the table writes as `\u{XXXX}`: the C1 controls (general category Cc
/// outside ASCII), the line and paragraph separators (Zl, Zp) and every Bidi_Control
/// character, taken from the Unicode tables of `regex-syntax` rather than listed by hand, so
/// that the reference follows the standard's properties and not a copy of the filter's list.
fn written_as_code_point(c: char) -> bool {
    static SET: LazyLock<Vec<(char, char)>> =
        LazyLock::new(|| unicode_set(r"[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}&&[^\x00-\x7F]]"));
    SET.iter().any(|&(first, last)| (first..=last).contains(&c))
}

/// The ranges of characters a regex character class matches, e.g. `\p{Bidi_Control}`.
pub fn unicode_set(class: &str) -> Vec<(char, char)> {
    let hir = regex_syntax::parse(class)
        .unwrap_or_else(|e| panic!("the character class {class} does not parse: {e}"));
    match hir.kind() {
        HirKind::Class(Class::Unicode(set)) => set.iter().map(|r| (r.start(), r.end())).collect(),
        other => panic!("{class} is not a Unicode character class: {other:?}"),
    }
}

/// The logged form of a (non-redacted) value: escaped, and past `max` bytes cut with
/// ` ... [truncated: <shown> of <total> bytes]`.
pub fn expected_logged(value: &[u8], max: usize) -> String {
    cut(value, max, escape)
}

/// The logged form of a URL (`:path`, `referer`, `location`, ...): cut like any value, then,
/// in the part shown, the value of every secret parameter replaced by `[redacted]`. The
/// parameters begin after the first `?` or `#`; each of `?`, `&`, `#` after it starts another.
/// A name is what precedes a parameter's first `=`; it is secret when, percent-decoded (`+` is
/// a space), it is one of `secret` ignoring ASCII case; a secret value runs to the next `&`.
/// A value that is not secret but holds `%` or `=` is decoded once and split the same way
/// from its start: if a part of it has a secret name and a `=`, the whole value is
/// `[redacted]` (README, "How values are logged"). The sizes in the cut note are the raw ones.
pub fn expected_target(target: &[u8], max: usize, secret: &[String]) -> String {
    cut(target, max, |part| {
        let separator = |b: &u8| matches!(b, b'?' | b'&' | b'#');
        let mut at = part.iter().position(separator).unwrap_or(part.len());
        let mut out = escape(&part[..at]);
        while at < part.len() {
            out.push(char::from(part[at]));
            at += 1;
            let rest = &part[at..];
            let end = rest.iter().position(separator).unwrap_or(rest.len());
            let param = &rest[..end];
            let eq = param.iter().position(|&b| b == b'=');
            let secret_name = eq.is_some_and(|eq| is_secret_name(&param[..eq], secret));
            match eq {
                Some(eq) if secret_name || nested_secret(&param[eq + 1..], secret) => {
                    out += &format!("{}[redacted]", escape(&param[..=eq]));
                }
                _ => out += &escape(param),
            }
            // A secret name's value runs to the next `&` (over `?` and `#`), any other to the
            // next separator.
            let amp = rest.iter().position(|&b| b == b'&').unwrap_or(rest.len());
            at += if secret_name { amp } else { end };
        }
        out
    })
}

/// Whether a parameter value, decoded once, holds a parameter with a secret name and a `=`
/// (one without `%` or `=` never does).
fn nested_secret(value: &[u8], secret: &[String]) -> bool {
    decoded(value)
        .split(|b| matches!(b, b'?' | b'&' | b'#'))
        .filter_map(|part| part.iter().position(|&b| b == b'=').map(|eq| &part[..eq]))
        .any(|name| is_secret_name(name, secret))
}

/// `value` cut as the log cuts it, the part shown written by `show`, then the cut note. Past
/// `max` bytes, the log shows `max`, moved back to the start of a well-formed character that
/// would straddle it.
fn cut(value: &[u8], max: usize, show: impl Fn(&[u8]) -> String) -> String {
    let ends = units(value).scan(0, |end, unit| {
        *end += unit.map_or(1, char::len_utf8);
        Some(*end)
    });
    let shown = ends.take_while(|&end| end <= max).last().unwrap_or(0);
    let total = value.len();
    let note = (shown < total).then(|| format!(" ... [truncated: {shown} of {total} bytes]"));
    show(&value[..shown]) + &note.unwrap_or_default()
}

/// Whether a raw query parameter name, percent-decoded, is one of `secret` (ASCII case ignored).
fn is_secret_name(raw: &[u8], secret: &[String]) -> bool {
    let decoded = decoded(raw);
    let named = |name: &String| name.as_bytes().eq_ignore_ascii_case(&decoded);
    secret.iter().any(named)
}

/// `raw` percent-decoded once (`+` is a space; a `%` without two hex digits stays).
fn decoded(raw: &[u8]) -> Vec<u8> {
    let spaced = raw.iter().map(|&b| if b == b'+' { b' ' } else { b });
    let spaced: Vec<u8> = spaced.collect();
    percent_encoding::percent_decode(&spaced).collect()
}

/// Why a line the filter wrote is unsafe, if it is: a raw control character, a C1 control,
/// a line or paragraph separator or a bidi control (the escaping table promises none).
pub fn unsafe_char(line: &str) -> Option<(usize, char)> {
    line.char_indices()
        .find(|&(_, c)| c.is_ascii_control() || written_as_code_point(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_table() {
        assert_eq!(escape(b"plain text ~"), "plain text ~");
        assert_eq!(escape(b"a\\b\t\n\r"), "a\\\\b\\t\\n\\r");
        assert_eq!(escape(b"\x00\x1b\x1f\x7f"), "\\x00\\x1b\\x1f\\x7f");
        assert_eq!(escape(b"\xff\xfe\xc0\xaf"), "\\xff\\xfe\\xc0\\xaf");
        assert_eq!(escape(b"\xed\xa0\x80"), "\\xed\\xa0\\x80");
        assert_eq!(
            escape("\u{85}\u{202E}\u{2069}".as_bytes()),
            "\\u{0085}\\u{202E}\\u{2069}"
        );
        assert_eq!(
            escape("é€𝄞\u{A0}\u{200D}\u{FEFF}".as_bytes()),
            "é€𝄞\u{A0}\u{200D}\u{FEFF}"
        );
        assert_eq!(escape(b"\xe2\x82ok"), "\\xe2\\x82ok");
    }

    #[test]
    fn every_bidi_control_is_escaped_and_unsafe() {
        let bidi: Vec<char> = unicode_set(r"\p{Bidi_Control}")
            .into_iter()
            .flat_map(|(first, last)| first..=last)
            .collect();
        assert!(
            bidi.contains(&'\u{061C}') && bidi.contains(&'\u{2069}'),
            "{bidi:?}"
        );
        for c in bidi {
            let text = c.to_string();
            assert_eq!(escape(text.as_bytes()), format!("\\u{{{:04X}}}", c as u32));
            assert_eq!(unsafe_char(&text), Some((0, c)));
        }
    }

    #[test]
    fn envoy_normalisation() {
        assert_eq!(envoy_value(b" \t a b \t"), b"a b");
        assert_eq!(envoy_value(b"a\rb\r"), b"ab");
        assert_eq!(envoy_value(b" \r a"), b"a");
        assert_eq!(envoy_value(b"a\r\n b"), b"a b");
        assert_eq!(envoy_value(b"a\r\n\tb"), b"a\tb");
        assert_eq!(envoy_value(b"\t\t"), b"");
        assert_eq!(envoy_value(b"\xff "), b"\xff");
    }

    #[test]
    fn envoy_joins_inline_headers() {
        let h = |n: &str, v: &str| (n.to_string(), v.as_bytes().to_vec());
        let sent = [
            Header::new("accept", "one"),
            Header::new("x-a", "1"),
            Header::new("Accept", " "),
            Header::new("cookie", "a"),
            Header::new("accept", "two "),
            Header::new("cookie", "b"),
            Header::new("pragma", ""),
            Header::new("PRAGMA", "p"),
        ];
        assert_eq!(
            envoy_headers(&sent),
            [
                h("accept", "one,two"),
                h("x-a", "1"),
                h("cookie", "a"),
                h("cookie", "b"),
                h("pragma", "p")
            ]
        );
    }

    #[test]
    fn the_cut() {
        assert_eq!(expected_logged(b"abcdef", 6), "abcdef");
        assert_eq!(
            expected_logged(b"abcdefg", 6),
            "abcdef ... [truncated: 6 of 7 bytes]"
        );
        assert_eq!(
            expected_logged("a€b".as_bytes(), 3),
            "a ... [truncated: 1 of 5 bytes]"
        );
        assert_eq!(
            expected_logged("𝄞𝄞".as_bytes(), 7),
            "𝄞 ... [truncated: 4 of 8 bytes]"
        );
        assert_eq!(
            expected_logged(b"a\xc3\xc3\xc3", 2),
            "a\\xc3 ... [truncated: 2 of 4 bytes]"
        );
        assert_eq!(
            expected_logged(b"\n\n\n", 1),
            "\\n ... [truncated: 1 of 3 bytes]"
        );
    }

    #[test]
    fn the_query_redaction() {
        let secret = ["access_token".to_string(), "x-amz-signature".to_string()];
        let t = |target: &[u8], max: usize| expected_target(target, max, &secret);
        assert_eq!(
            t(b"/a?access_token=s&keep=1", 100),
            "/a?access_token=[redacted]&keep=1"
        );
        assert_eq!(
            t(b"/a?X-Amz-Signature=s", 100),
            "/a?X-Amz-Signature=[redacted]"
        );
        assert_eq!(
            t(b"/a?%61ccess%5Ftoken=s", 100),
            "/a?%61ccess%5Ftoken=[redacted]"
        );
        assert_eq!(t(b"/a?access_token", 100), "/a?access_token");
        assert_eq!(t(b"/a?&&=&%zz=1", 100), "/a?&&=&%zz=1");
        assert_eq!(t(b"/a\\b?x=\xff", 100), "/a\\\\b?x=\\xff");
        assert_eq!(
            t(b"/a?access_token=secret", 18),
            "/a?access_token=[redacted] ... [truncated: 18 of 22 bytes]"
        );
        assert_eq!(
            t(b"/a?access_token=secret", 8),
            "/a?acces ... [truncated: 8 of 22 bytes]"
        );
        // Fragments, absolute URLs, a secret value over `#` and `?`, nested URLs.
        assert_eq!(
            t(b"https://app/cb#access_token=s&state=z", 100),
            "https://app/cb#access_token=[redacted]&state=z"
        );
        assert_eq!(
            t(b"/cb?a=1#access_token=s#x?y&b=2", 100),
            "/cb?a=1#access_token=[redacted]&b=2"
        );
        assert_eq!(
            t(
                b"/l?next=https%3A%2F%2Fapp%2Fcb%3Faccess_token%3Ds&x=1",
                100
            ),
            "/l?next=[redacted]&x=1"
        );
        assert_eq!(
            t(b"/l?location=https://x/y?X-Amz-Signature=s", 100),
            "/l?location=https://x/y?X-Amz-Signature=[redacted]"
        );
        assert_eq!(t(b"/l?next=%2Fcb%3Fa%3D1", 100), "/l?next=%2Fcb%3Fa%3D1");
        assert_eq!(
            t(b"0;url=/cb?access_token=s", 100),
            "0;url=/cb?access_token=[redacted]"
        );
    }

    #[test]
    fn unsafe_chars_are_found() {
        assert_eq!(unsafe_char("ok \\x00 é"), None);
        assert_eq!(unsafe_char("a\rb"), Some((1, '\r')));
        assert_eq!(unsafe_char("a\u{2028}"), Some((1, '\u{2028}')));
        assert_eq!(unsafe_char("\u{85}"), Some((0, '\u{85}')));
    }

    /// The filter and the reference write every character the same way.
    #[test]
    fn reference_matches_the_filter_on_every_character() {
        let (mut theirs, mut buf) = (String::new(), [0; 4]);
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            theirs.clear();
            filter_core::escape::escape_into(&mut theirs, bytes);
            assert_eq!(escape(bytes), theirs, "U+{:04X}", c as u32);
        }
    }

    proptest! {
        /// The units of any bytes are the bytes again, and each `Err` is a byte std finds
        /// outside valid UTF-8.
        #[test]
        fn units_are_the_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let (mut again, mut invalid) = (Vec::new(), Vec::new());
            for unit in units(&bytes) {
                match unit {
                    Ok(c) => again.extend_from_slice(c.to_string().as_bytes()),
                    Err(b) => { again.push(b); invalid.push(b); }
                }
            }
            let std_invalid: Vec<u8> = bytes.utf8_chunks().flat_map(|c| c.invalid().to_vec()).collect();
            prop_assert_eq!(again, bytes);
            prop_assert_eq!(invalid, std_invalid);
        }

        /// The reference's request target agrees with the filter's `:path` line, for targets
        /// made of the bytes that matter: separators, escapes, case, secret names, any byte.
        #[test]
        fn target_reference_matches_the_filter(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    &b"?"[..], b"&", b"=", b"%", b"%7", b"%74", b"%5F", b"+", b"token", b"TOKEN",
                    b"access_token", b"sig", b"s3cr3t", b"\xff", b"\n", b"\\", b"/", b"a",
                    b"#", b"%3F", b"%3D", b"%26", b"%23", b"%253D", b"https://", b"code",
                ]),
                0..16,
            ),
            max in 1usize..64,
        ) {
            let target: Vec<u8> = pieces.concat();
            let config = filter_core::PluginConfig {
                max_logged_value_bytes: max,
                ..filter_core::PluginConfig::default()
            };
            let mut line = String::new();
            filter_core::logline::request_header(&mut line, b":path", &target, &config);
            let theirs = line.strip_prefix("request header --> :path: ").unwrap_or(&line);
            let ours = expected_target(&target, max, &config.redact_query_params);
            prop_assert_eq!(ours, theirs);
        }

        /// The reference agrees with the filter's escaping, and the filter's unescape
        /// inverts it: the table is implemented twice, the same way.
        #[test]
        fn reference_matches_the_filter(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut theirs = String::new();
            filter_core::escape::escape_into(&mut theirs, &bytes);
            prop_assert_eq!(&escape(&bytes), &theirs);
            prop_assert_eq!(filter_core::escape::unescape(&theirs).unwrap(), bytes);
            prop_assert_eq!(unsafe_char(&theirs), None);
        }
    }
}
