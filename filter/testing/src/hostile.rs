//! The hostile corpus: requests that try the filter with every byte, odd shapes, Envoy's
//! limits and secrets, written byte by byte ([`case`]); the fixed cases ([`fixed`]), the
//! generated ones ([`generate`]), the run's secret ([`secrets`]) and the independent model
//! of what Envoy passes on and what the filter should log ([`reference`](mod@reference)).
//! `cargo xtask hostile` sends them through the real Envoy; filter-host's tests run them
//! through the module in-process.

pub mod case;
pub mod fixed;
pub mod generate;
pub mod header;
pub mod reference;
pub mod secrets;

pub use case::Case;
pub use header::Header;
pub use secrets::Secrets;

/// Always redacted, whatever the configuration says (README, "Plugin configuration").
pub const ALWAYS_REDACTED: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];
/// Query parameters whose values are always redacted in a logged request target (README,
/// "Plugin configuration").
pub const ALWAYS_REDACTED_QUERY: [&str; 24] = [
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
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "X-Goog-Signature",
    "X-Goog-Credential",
];
/// Headers whose value is a URL: the values of secret query and fragment parameters are
/// `[redacted]` (README, "How values are logged").
pub const URL_HEADERS: [&str; 9] = [
    ":path",
    "x-envoy-original-path",
    "referer",
    "location",
    "content-location",
    "refresh",
    "x-forwarded-uri",
    "x-original-url",
    "x-rewrite-url",
];
// The default rule for header names: which names it redacts, which it leaves in clear, and
// the credential headers real services use that it must redact.

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

/// A random seed (from the OS's hash keys).
pub fn random_seed() -> u64 {
    secrets::random_number() % 1_000_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_rule() {
        for name in CREDENTIAL_HEADERS {
            assert!(redacted_by_default_rule(name), "{name}");
        }
        for name in [
            ":authority",
            "www-authenticate",
            "content-type",
            "x-request-id",
        ] {
            assert!(!redacted_by_default_rule(name), "{name}");
        }
    }
}
