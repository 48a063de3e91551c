//! What is always redacted, whatever the configuration says: the marker logged in place of a
//! secret, the header names and the query parameter names. A leaf: `redaction` re-exports it
//! and `redaction/url.rs` reads it.

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
