//! The default rule for header names: which names it redacts, which it leaves in clear, and
//! the credential headers real services use that it must redact.

/// The default rule: a header name holding one of these, ignoring ASCII case, is redacted
/// (pseudo-headers and [`CLEAR_BY_DEFAULT`] excepted).
pub const NAME_FRAGMENTS: [&str; 15] = [
    "token",
    "secret",
    "passw",
    "apikey",
    "api-key",
    "api_key",
    "auth",
    "session",
    "signature",
    "credential",
    "private",
    "csrf",
    "xsrf",
    "cookie",
    "jwt",
];
/// Names the default rule would redact that are logged in clear.
pub const CLEAR_BY_DEFAULT: [&str; 3] = [
    "www-authenticate",
    "proxy-authenticate",
    "access-control-allow-credentials",
];
/// Credential headers that real services use (issue 17's list): the default rule redacts each.
pub const CREDENTIAL_HEADERS: [&str; 12] = [
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
];

/// Whether the default rule redacts header `name`.
pub fn redacted_by_default_rule(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.starts_with(':')
        && !CLEAR_BY_DEFAULT.contains(&lower.as_str())
        && NAME_FRAGMENTS.iter().any(|f| lower.contains(f))
}
