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

use super::header::Header;
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
    // Each unit of `units` as the table writes it.
    let escaped = |unit| match unit {
        Ok(c @ ('\\' | '\t' | '\n' | '\r')) => c.escape_default().to_string(),
        Ok(c @ ('\u{0}'..='\u{1F}' | '\u{7F}')) => format!("\\x{:02x}", c as u32),
        Ok(c) if written_as_code_point(c) => format!("\\u{{{:04X}}}", c as u32),
        Ok(c) => c.to_string(),
        Err(b) => format!("\\x{b:02x}"),
    };
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
        while let Some(&sep) = part.get(at) {
            out.push(char::from(sep));
            let rest = &part[at + 1..];
            let end = rest.iter().position(separator).unwrap_or(rest.len());
            let param = &rest[..end];
            let eq = param.iter().position(|&b| b == b'=');
            let secret_name = eq.is_some_and(|eq| is_secret_name(&param[..eq], secret));
            let redacted = eq.filter(|&eq| secret_name || nested_secret(&param[eq + 1..], secret));
            out += &match redacted {
                Some(eq) => escape(&param[..=eq]) + "[redacted]",
                None => escape(param),
            };
            // A secret name's value runs to the next `&` (over `?` and `#`), any other to the
            // next separator.
            let amp = rest.iter().position(|&b| b == b'&').unwrap_or(rest.len());
            at += 1 + if secret_name { amp } else { end };
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
mod tests;
