//! What the filter never logs in clear: the one home for redaction.
//!
//! - [`REDACTED`]: the marker logged in place of a secret value.
//! - [`DEFAULT_REDACTED`] and [`DEFAULT_REDACTED_QUERY_PARAMS`]: the headers and query
//!   parameters always redacted, whatever the configuration says (it can only add names).
//! - [`is_redacted_name`]: whether a header name is one of a list (ASCII case-insensitive).
//! - [`TARGET_HEADERS`] and [`is_target_header`]: the headers whose value is a request target,
//!   logged with [`escape_target_into`] (`url`: the values of secret query parameters
//!   redacted, the rest escaped as any value).
//! - [`special_lengths`] and [`length_bit`]: the name-length filter that spares most header
//!   names both checks.
//!
//! Imported one way: the log lines (`logline`) and the configuration use this module; this
//! module uses only the escaping (`escape`).

mod url;

pub use url::escape_target_into;

/// Logged in place of a secret value.
pub const REDACTED: &str = "[redacted]";

/// Headers always redacted, whatever the configuration says.
pub const DEFAULT_REDACTED: [&str; 4] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "set-cookie",
];

/// Query parameters whose values are always redacted in a logged request target: names that
/// commonly carry credentials (OAuth and OpenID tokens and codes, API keys, passwords, session
/// ids, and the signatures and credentials of AWS, Google Cloud and Azure signed URLs).
pub const DEFAULT_REDACTED_QUERY_PARAMS: [&str; 24] = [
    "access_token",
    "id_token",
    "refresh_token",
    "token",
    "code",
    "client_secret",
    "client_assertion",
    "api_key",
    "apikey",
    "key",
    "password",
    "passwd",
    "secret",
    "auth",
    "jwt",
    "session",
    "sessionid",
    "signature",
    "sig",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
];

/// Headers whose value is a request target, whose query is redacted.
pub const TARGET_HEADERS: [&str; 2] = [":path", "x-envoy-original-path"];

/// Whether header `name` is one of `redacted` (lower-case names), ASCII case-insensitively.
pub fn is_redacted_name(redacted: &[String], name: &[u8]) -> bool {
    // The length first, inline: most names differ in it (a header line's most costly check
    // after the escaping, `cargo xtask bench --instructions --profile`).
    redacted.iter().any(|redacted| {
        redacted.len() == name.len() && redacted.as_bytes().eq_ignore_ascii_case(name)
    })
}

/// Whether header `name` carries a request target (ASCII case-insensitive).
pub fn is_target_header(name: &[u8]) -> bool {
    TARGET_HEADERS
        .iter()
        .any(|target| target.len() == name.len() && target.as_bytes().eq_ignore_ascii_case(name))
}

/// Every name length: each name gets the redaction and request-target checks.
pub const ALL_LENGTHS: u64 = u64::MAX;

/// The bit of a name's length in a set of lengths (63: 63 bytes or more).
pub fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// The lengths of the `redacted` and request-target names: a name of another length needs
/// neither check (computed once per map; it halves what a header line costs beside escaping,
/// `cargo xtask bench --instructions`).
pub fn special_lengths(redacted: &[String]) -> u64 {
    let targets = TARGET_HEADERS.iter().map(|t| t.len());
    let targets = targets.fold(0, |bits, len| bits | length_bit(len));
    let redacted = redacted.iter().map(String::len);
    redacted.fold(targets, |bits, len| bits | length_bit(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_headers() {
        assert!(is_target_header(b":path") && is_target_header(b"X-Envoy-Original-Path"));
        assert!(!is_target_header(b"referer") && !is_target_header(b":path2"));
    }

    #[test]
    fn names_match_ignoring_case_and_nothing_else() {
        let names = ["x-token".to_string(), "cookie".to_string()];
        assert!(is_redacted_name(&names, b"X-Token") && is_redacted_name(&names, b"COOKIE"));
        assert!(!is_redacted_name(&names, b"x-token2") && !is_redacted_name(&names, b""));
    }

    #[test]
    fn special_lengths_hold_every_redacted_and_target_length() {
        let long = "x".repeat(70);
        let bits = special_lengths(&["ab".to_string(), long]);
        for len in [2, 5, 21, 63] {
            assert!(bits & length_bit(len) != 0, "{len}");
        }
        assert!(bits & length_bit(3) == 0 && bits & length_bit(100) != 0);
    }
}
