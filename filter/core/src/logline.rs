//! The filter's log lines, built into a caller's reusable buffer.
//!
//! ```text
//! request header --> <name>: <value>
//! response header <-- <name>: <value>
//! <context id> finished
//! ```
//!
//! Names and values are escaped with [`escape_into`]. The value of a redacted header
//! ([`PluginConfig::is_redacted`]) is logged as exactly `[redacted]`. A value longer than
//! `max_logged_value_bytes` is cut: its first bytes (moved back to a character boundary so that no
//! UTF-8 character is split), escaped, then ` ... [truncated: <shown> of <total> bytes]`. In a
//! request target (`:path`), the values of secret query parameters are `[redacted]`
//! ([`crate::redaction`]), in the part shown after the cut.

use crate::config::PluginConfig;
use crate::escape::escape_into;
use crate::header_map::{HeaderMap, MapError};
use crate::redaction::{self, NameGate, REDACTED};

use crate::text::{char_len, push_decimal, push_truncated};

pub const REQUEST_PREFIX: &str = "request header --> ";
pub const RESPONSE_PREFIX: &str = "response header <-- ";
pub const FINISHED_SUFFIX: &str = " finished";

/// Appends e.g. `request header --> name: value` (escaped, redacted, cut as configured) to `out`.
pub fn request_header(out: &mut String, name: &[u8], value: &[u8], config: &PluginConfig) {
    out.push_str(REQUEST_PREFIX);
    header(out, name, value, config, NameGate::ALL);
}

/// Appends e.g. `response header <-- name: value` (escaped, redacted, cut as configured) to `out`.
pub fn response_header(out: &mut String, name: &[u8], value: &[u8], config: &PluginConfig) {
    out.push_str(RESPONSE_PREFIX);
    header(out, name, value, config, NameGate::ALL);
}

/// Appends `<context_id> finished` to `out`.
pub fn finished(out: &mut String, context_id: u32) {
    push_decimal(out, context_id as usize);
    out.push_str(FINISHED_SUFFIX);
}

/// Which header map a line describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `request header --> …`
    Request,
    /// `response header <-- …`
    Response,
}

/// Builds the line for every header of `serialized` (a header map as the host serializes it for
/// `proxy_get_header_map_pairs`), in order, into `line` (cleared before each) and hands each to
/// `emit`. The whole map is checked first: a malformed one emits nothing and is the error.
pub fn header_lines(
    serialized: &[u8],
    direction: Direction,
    config: &PluginConfig,
    line: &mut String,
    emit: &mut dyn FnMut(&str),
) -> Result<(), MapError> {
    let gate = config.name_gate();
    header_lines_with_gate(serialized, direction, config, gate, line, emit)
}

/// [`header_lines`] with `config`'s [`NameGate`] built once beforehand (the module builds it
/// when it is configured, not for every map).
pub fn header_lines_with_gate(
    serialized: &[u8],
    direction: Direction,
    config: &PluginConfig,
    gate: NameGate,
    line: &mut String,
    emit: &mut dyn FnMut(&str),
) -> Result<(), MapError> {
    let prefix = match direction {
        Direction::Request => REQUEST_PREFIX,
        Direction::Response => RESPONSE_PREFIX,
    };
    for (name, value) in HeaderMap::parse(serialized)? {
        line.clear();
        line.push_str(prefix);
        header(line, name, value, config, gate);
        emit(line);
    }
    Ok(())
}

/// Appends the warning for a failed host call, e.g. `http_headers: can't set request header test:
/// host status 2 (BadArgument)`: `what`, `subject` (a configured header name, so a valid token)
/// and the status.
pub fn host_failure(out: &mut String, what: &str, subject: &str, status: u32) {
    out.push_str("http_headers: ");
    out.push_str(what);
    if !subject.is_empty() {
        out.push(' ');
        out.push_str(subject);
    }
    out.push_str(": host status ");
    push_decimal(out, status as usize);
    out.push_str(" (");
    out.push_str(status_name(status));
    out.push(')');
}

/// Appends the warning for a header map the host sent malformed, e.g. `http_headers: malformed
/// header map at byte 4: ...`.
pub fn malformed_map(out: &mut String, error: &MapError) {
    out.push_str("http_headers: malformed header map at byte ");
    push_decimal(out, error.offset);
    out.push_str(": ");
    out.push_str(error.problem);
}

/// The proxy-wasm ABI 0.2.1 name of a host status.
fn status_name(status: u32) -> &'static str {
    match status {
        0 => "Ok",
        1 => "NotFound",
        2 => "BadArgument",
        3 => "SerializationFailure",
        4 => "ParseFailure",
        5 => "BadExpression",
        6 => "InvalidMemoryAccess",
        7 => "Empty",
        8 => "CasMismatch",
        9 => "ResultMismatch",
        10 => "InternalFailure",
        11 => "BrokenConnection",
        12 => "Unimplemented",
        _ => "unknown",
    }
}

/// `gate`: `config`'s [`NameGate`] (or one that lets more names through).
fn header(out: &mut String, name: &[u8], value: &[u8], config: &PluginConfig, gate: NameGate) {
    escape_into(out, name);
    out.push_str(": ");
    let may_be = gate.may_be(name);
    if (may_be.redacted && redaction::is_redacted_name(&config.redact_headers, name))
        || redaction::matches_default_rule(name, &config.unredacted_headers)
    {
        out.push_str(REDACTED);
        return;
    }
    let shown = cut_point(value, config.max_logged_value_bytes);
    let shown_bytes = value.get(..shown).unwrap_or(value);
    if may_be.url && config.is_url_header(name) {
        redaction::escape_url_into(out, shown_bytes, &config.redact_query_params);
    } else {
        escape_into(out, shown_bytes);
    }
    if shown < value.len() {
        push_truncated(out, shown, value.len());
    }
}

/// How many bytes of `value` to show: all of it if it fits in `max`, else `max` moved back to the
/// start of a valid UTF-8 character that would straddle the cut.
fn cut_point(value: &[u8], max: usize) -> usize {
    if value.len() <= max {
        return value.len();
    }
    for back in 1..=3 {
        let Some(rest) = max.checked_sub(back).and_then(|start| value.get(start..)) else {
            break;
        };
        if rest.first().is_some_and(|&b| b & 0xC0 == 0x80) {
            continue; // a continuation byte: the character starts further back
        }
        return if char_len(rest) > back {
            max - back
        } else {
            max
        };
    }
    max
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn config(max: usize) -> PluginConfig {
        PluginConfig {
            max_logged_value_bytes: max,
            ..PluginConfig::default()
        }
    }

    fn request(name: &[u8], value: &[u8], max: usize) -> String {
        let mut out = String::new();
        request_header(&mut out, name, value, &config(max));
        out
    }

    #[test]
    fn plain_lines() {
        let c = PluginConfig::default();
        let mut out = String::new();
        request_header(&mut out, b":path", b"/headers", &c);
        assert_eq!(out, "request header --> :path: /headers");
        out.clear();
        response_header(&mut out, b":status", b"200", &c);
        assert_eq!(out, "response header <-- :status: 200");
        out.clear();
        response_header(&mut out, b"x-empty", b"", &c);
        assert_eq!(out, "response header <-- x-empty: ");
    }

    /// A header map as the host serializes it: count, then (name len, value len) pairs, then
    /// each name and value followed by NUL.
    fn serialized(headers: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (headers.len() as u32).to_le_bytes().to_vec();
        for (name, value) in headers {
            out.extend((name.len() as u32).to_le_bytes());
            out.extend((value.len() as u32).to_le_bytes());
        }
        for (name, value) in headers {
            out.extend(*name);
            out.push(0);
            out.extend(*value);
            out.push(0);
        }
        out
    }

    #[test]
    fn header_lines_for_a_map() {
        let map = serialized(&[
            (b":status", b"200"),
            (b"set-cookie", b"a=b"),
            (b"x", b"\xff"),
        ]);
        let mut lines = Vec::new();
        let mut line = String::from("left over");
        header_lines(
            &map,
            Direction::Response,
            &PluginConfig::default(),
            &mut line,
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
        assert_eq!(
            lines,
            [
                "response header <-- :status: 200",
                "response header <-- set-cookie: [redacted]",
                "response header <-- x: \\xff",
            ]
        );
    }

    #[test]
    fn header_lines_redact_names_of_every_length_as_the_single_line_functions_do() {
        let long = "x-".repeat(40);
        let config = PluginConfig {
            redact_headers: vec!["a".into(), "x-secret".into(), long.clone()],
            ..PluginConfig::default()
        };
        let upper = long.to_uppercase();
        let headers: &[(&[u8], &[u8])] = &[
            (b"A", b"1"),
            (b"b", b"2"),
            (b"x-secret", b"3"),
            (b"x-public", b"4"),
            (long.as_bytes(), b"5"),
            (upper.as_bytes(), b"6"),
            (&long.as_bytes()[1..], b"7"),
            (b":path", b"/?token=1"),
            (b":pat", b"/?token=1"),
        ];
        let mut lines = Vec::new();
        header_lines(
            &serialized(headers),
            Direction::Request,
            &config,
            &mut String::new(),
            &mut |l| lines.push(l.to_string()),
        )
        .unwrap();
        let one_by_one: Vec<String> = headers
            .iter()
            .map(|(name, value)| {
                let mut out = String::new();
                request_header(&mut out, name, value, &config);
                out
            })
            .collect();
        assert_eq!(lines, one_by_one);
        let redacted = lines.iter().filter(|l| l.ends_with(": [redacted]")).count();
        assert_eq!(redacted, 4, "{lines:#?}");
        assert!(lines[7].ends_with("token=[redacted]"), "{}", lines[7]);
        assert!(lines[8].ends_with("token=1"), "{}", lines[8]);
    }

    #[test]
    fn header_lines_of_a_malformed_map_emit_nothing() {
        let mut map = serialized(&[(b"a", b"1"), (b"b", b"2")]);
        map.pop();
        let mut emitted = 0;
        let error = header_lines(
            &map,
            Direction::Request,
            &PluginConfig::default(),
            &mut String::new(),
            &mut |_| emitted += 1,
        )
        .unwrap_err();
        assert_eq!(emitted, 0);
        let mut out = String::new();
        malformed_map(&mut out, &error);
        assert!(
            out.starts_with("http_headers: malformed header map at byte "),
            "{out}"
        );
    }

    #[test]
    fn host_failure_names_the_status() {
        let mut out = String::new();
        host_failure(&mut out, "can't set request header", "test", 2);
        assert_eq!(
            out,
            "http_headers: can't set request header test: host status 2 (BadArgument)"
        );
        out.clear();
        host_failure(&mut out, "can't read the headers", "", 99);
        assert_eq!(
            out,
            "http_headers: can't read the headers: host status 99 (unknown)"
        );
    }

    #[test]
    fn appends_to_the_buffer() {
        let mut out = String::from(">");
        finished(&mut out, 2);
        assert_eq!(out, ">2 finished");
    }

    #[test]
    fn finished_numbers() {
        for (id, text) in [(0, "0"), (7, "7"), (10, "10"), (4294967295, "4294967295")] {
            let mut out = String::new();
            finished(&mut out, id);
            assert_eq!(out, format!("{text} finished"));
        }
    }

    #[test]
    fn escapes_names_and_values() {
        assert_eq!(
            request(b"x-a\nb", b"v\r\n\xff\\", 1024),
            "request header --> x-a\\nb: v\\r\\n\\xff\\\\"
        );
    }

    #[test]
    fn redacts_defaults_and_configured_case_insensitively() {
        let mut c = PluginConfig::default();
        c.redact_headers.push("x-user".into());
        for name in [
            &b"authorization"[..],
            b"Cookie",
            b"proxy-authorization",
            b"SET-COOKIE",
            b"x-user",
            b"X-API-KEY",
        ] {
            let mut out = String::new();
            response_header(&mut out, name, b"secret value", &c);
            let expected = format!(
                "response header <-- {}: [redacted]",
                String::from_utf8_lossy(name)
            );
            assert_eq!(out, expected);
        }
        let mut out = String::new();
        request_header(&mut out, b"x-user-2", b"shown", &c);
        assert_eq!(out, "request header --> x-user-2: shown");
    }

    /// Issue 17: the credential headers real services use are redacted by the default rule,
    /// with the Go example's configuration; the everyday headers stay in clear.
    #[test]
    fn credential_headers_are_redacted_by_default_and_everyday_ones_are_not() {
        let c =
            PluginConfig::parse(br#"{"header": "x-wasm-header", "value": "demo-wasm"}"#).unwrap();
        for name in [
            "x-api-key",
            "api-key",
            "x-auth-token",
            "x-access-token",
            "x-refresh-token",
            "x-amz-security-token",
            "x-goog-api-key",
            "x-vault-token",
            "private-token",
            "x-csrf-token",
            "x-client-secret",
            "x-hub-signature-256",
            "X-Session-Id",
            "x-password",
            "passwd",
            "x-goog-iap-jwt-assertion",
            "x-xsrf-token",
            "authentication-info",
            "x-apikey",
            "x-api_key",
            "x-credentials",
            "x-private-key",
            "cookie2",
            "authorization",
            "proxy-authorization",
            "cookie",
            "set-cookie",
        ] {
            let mut out = String::new();
            request_header(&mut out, name.as_bytes(), b"s3cr3t", &c);
            assert_eq!(out, format!("request header --> {name}: [redacted]"));
        }
        for name in EVERYDAY {
            let mut out = String::new();
            response_header(&mut out, name.as_bytes(), b"v", &c);
            assert_eq!(out, format!("response header <-- {name}: v"));
        }
    }

    /// The headers checked to stay in clear under the default rule (README's list).
    const EVERYDAY: [&str; 44] = [
        ":authority",
        ":path",
        ":method",
        ":scheme",
        ":status",
        "host",
        "content-type",
        "content-length",
        "content-encoding",
        "accept",
        "accept-encoding",
        "accept-language",
        "user-agent",
        "x-request-id",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "forwarded",
        "traceparent",
        "tracestate",
        "x-b3-traceid",
        "x-amzn-trace-id",
        "www-authenticate",
        "proxy-authenticate",
        "access-control-allow-credentials",
        "access-control-allow-origin",
        "access-control-allow-headers",
        "cache-control",
        "date",
        "server",
        "etag",
        "vary",
        "origin",
        "connection",
        "if-none-match",
        "last-modified",
        "x-envoy-upstream-service-time",
        "x-envoy-expected-rq-timeout-ms",
        "sec-websocket-key",
        "sec-fetch-mode",
        "strict-transport-security",
        "content-security-policy",
        "x-smoke-id",
    ];

    #[test]
    fn a_name_kept_in_clear_is_logged_and_redact_headers_still_adds() {
        let c = PluginConfig::parse(
            br#"{"unredacted_headers": ["X-Session-Affinity"], "redact_headers": ["x-user"]}"#,
        )
        .unwrap();
        let line = |name: &str| {
            let mut out = String::new();
            request_header(&mut out, name.as_bytes(), b"v", &c);
            out
        };
        assert_eq!(
            line("x-session-affinity"),
            "request header --> x-session-affinity: v"
        );
        assert_eq!(
            line("x-session-id"),
            "request header --> x-session-id: [redacted]"
        );
        assert_eq!(line("x-user"), "request header --> x-user: [redacted]");
    }

    /// Issue 17: every URL-valued header has its secret parameters redacted, in the query and
    /// in the fragment, absolute or relative, and nested URLs that carry one.
    #[test]
    fn url_headers_have_secret_parameters_redacted() {
        let c = PluginConfig::parse(br#"{"url_headers": ["x-next"]}"#).unwrap();
        let line = |name: &str, value: &str| {
            let mut out = String::new();
            response_header(&mut out, name.as_bytes(), value.as_bytes(), &c);
            out.strip_prefix("response header <-- ")
                .unwrap_or(&out)
                .to_string()
        };
        for (name, value, logged) in [
            (
                "referer",
                "https://app.example/cb?access_token=S3&x=1",
                "https://app.example/cb?access_token=[redacted]&x=1",
            ),
            (
                "location",
                "https://app.example/cb?code=S3&state=z",
                "https://app.example/cb?code=[redacted]&state=z",
            ),
            (
                "Location",
                "https://app.example/cb#access_token=S3&id_token=S3&state=z",
                "https://app.example/cb#access_token=[redacted]&id_token=[redacted]&state=z",
            ),
            ("content-location", "/d?sig=S3", "/d?sig=[redacted]"),
            (
                "refresh",
                "5; url=/cb?token=S3",
                "5; url=/cb?token=[redacted]",
            ),
            ("x-forwarded-uri", "/a?key=S3", "/a?key=[redacted]"),
            (
                "x-original-url",
                "//h/a?password=S3",
                "//h/a?password=[redacted]",
            ),
            ("x-rewrite-url", "a?secret=S3", "a?secret=[redacted]"),
            ("x-next", "/a#jwt=S3", "/a#jwt=[redacted]"),
            (
                ":path",
                "/login?next=https%3A%2F%2Fapp%2Fcb%3Fcode%3DS3&lang=en",
                "/login?next=[redacted]&lang=en",
            ),
            (
                ":path",
                "/r?location=https://x/y?X-Amz-Signature=S3",
                "/r?location=https://x/y?X-Amz-Signature=[redacted]",
            ),
            (":path", "/r?state=a%3D1%26code%3DS3", "/r?state=[redacted]"),
            // Not secret: logged exactly as before.
            (
                "referer",
                "https://app.example/a?b=1#top",
                "https://app.example/a?b=1#top",
            ),
            (
                "location",
                "/next?url=%2Fhome%3Fa%3D1",
                "/next?url=%2Fhome%3Fa%3D1",
            ),
            ("x-other", "/a?token=S3", "/a?token=S3"),
        ] {
            assert_eq!(line(name, value), format!("{name}: {logged}"), "{value}");
        }
    }

    #[test]
    fn request_targets_have_secret_query_values_redacted() {
        let c = PluginConfig::default();
        let mut out = String::new();
        request_header(&mut out, b":path", b"/cb?access_token=abc&keep=1", &c);
        assert_eq!(
            out,
            "request header --> :path: /cb?access_token=[redacted]&keep=1"
        );
        out.clear();
        request_header(&mut out, b"x-envoy-original-path", b"/a?sig=x", &c);
        assert_eq!(
            out,
            "request header --> x-envoy-original-path: /a?sig=[redacted]"
        );
        // Other headers are values like any other, even when they look like a target.
        out.clear();
        request_header(&mut out, b"x-path", b"/a?sig=x", &c);
        assert_eq!(out, "request header --> x-path: /a?sig=x");
    }

    #[test]
    fn a_cut_target_is_redacted_in_the_part_shown() {
        // Cut inside the secret value: what is shown of it is redacted; the sizes are the raw ones.
        assert_eq!(
            request(b":path", b"/p?keep=1&token=abcdefgh", 18),
            "request header --> :path: /p?keep=1&token=[redacted] ... [truncated: 18 of 24 bytes]"
        );
        // Cut inside the name: no byte of the value is shown.
        assert_eq!(
            request(b":path", b"/p?keep=1&token=abcdefgh", 13),
            "request header --> :path: /p?keep=1&tok ... [truncated: 13 of 24 bytes]"
        );
        // Redacting `:path` itself still wins.
        let mut c = config(8);
        c.redact_headers.push(":path".into());
        let mut out = String::new();
        request_header(&mut out, b":path", b"/p?token=abcdefgh", &c);
        assert_eq!(out, "request header --> :path: [redacted]");
    }

    #[test]
    fn redaction_wins_over_truncation() {
        let long = [b'a'; 100];
        assert_eq!(
            request(b"authorization", &long, 4),
            "request header --> authorization: [redacted]"
        );
    }

    #[test]
    fn cuts_long_values() {
        assert_eq!(request(b"a", b"abcdef", 6), "request header --> a: abcdef");
        assert_eq!(
            request(b"a", b"abcdefg", 6),
            "request header --> a: abcdef ... [truncated: 6 of 7 bytes]"
        );
        assert_eq!(
            request(b"a", b"\n\n\n", 1),
            "request header --> a: \\n ... [truncated: 1 of 3 bytes]"
        );
    }

    #[test]
    fn cut_does_not_split_characters() {
        // "é" is 2 bytes, "€" 3 bytes, "𝄞" 4 bytes.
        assert_eq!(
            request(b"a", "aé".as_bytes(), 2),
            "request header --> a: a ... [truncated: 1 of 3 bytes]"
        );
        assert_eq!(
            request(b"a", "a€b".as_bytes(), 3),
            "request header --> a: a ... [truncated: 1 of 5 bytes]"
        );
        assert_eq!(
            request(b"a", "𝄞𝄞".as_bytes(), 7),
            "request header --> a: 𝄞 ... [truncated: 4 of 8 bytes]"
        );
        assert_eq!(
            request(b"a", "𝄞".as_bytes(), 1),
            "request header --> a:  ... [truncated: 0 of 4 bytes]"
        );
        // Exactly at a boundary: nothing moves.
        assert_eq!(
            request(b"a", "éé".as_bytes(), 2),
            "request header --> a: é ... [truncated: 2 of 4 bytes]"
        );
    }

    #[test]
    fn cut_inside_invalid_utf8_stays_put() {
        // A lead byte without its continuation, or stray continuations: cut at the limit.
        assert_eq!(
            request(b"a", b"a\xc3\xc3\xc3", 2),
            "request header --> a: a\\xc3 ... [truncated: 2 of 4 bytes]"
        );
        assert_eq!(
            request(b"a", b"\x80\x80\x80\x80\x80", 3),
            "request header --> a: \\x80\\x80\\x80 ... [truncated: 3 of 5 bytes]"
        );
    }

    #[test]
    fn cut_point_never_exceeds_inputs() {
        let samples: [&[u8]; 4] = [b"", "a𝄞é€".as_bytes(), b"\xf0\x9d\x84", b"\xff\xfe\xfd\xfc"];
        for value in samples {
            for max in 1..10 {
                let cut = cut_point(value, max);
                assert!(cut <= value.len() && cut <= max.max(value.len()));
                if value.len() > max {
                    assert!(cut <= max && cut + 3 >= max, "{value:?} {max} {cut}");
                }
            }
        }
    }
}
