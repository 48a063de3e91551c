//! The hostile corpus: requests that try the filter with every byte, odd shapes, Envoy's
//! limits and secrets, written byte by byte ([`case`]); the fixed cases ([`fixed`]), the
//! generated ones ([`generate`]), the run's secret ([`secrets`]) and the independent model
//! of what Envoy passes on and what the filter should log ([`reference`](mod@reference)).
//! `cargo xtask hostile` sends them through the real Envoy; filter-host's tests run them
//! through the module in-process.

pub mod case;
pub mod fixed;
pub mod generate;
pub mod redaction_rule;
pub mod reference;
pub mod secrets;

pub use case::{Case, Header};
pub use redaction_rule::{
    CLEAR_BY_DEFAULT, CREDENTIAL_HEADERS, NAME_FRAGMENTS, redacted_by_default_rule,
};
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
/// A random seed (from the OS's hash keys).
pub fn random_seed() -> u64 {
    secrets::random_number() % 1_000_000_000
}
