//! What the filter never logs in clear: the one home for redaction.
//!
//! - [`REDACTED`]: the marker logged in place of a secret value.
//! - Headers: [`DEFAULT_REDACTED`] (always redacted, whatever the configuration says), the
//!   default name rule ([`matches_default_rule`]: a name holding one of
//!   [`SECRET_NAME_FRAGMENTS`], ASCII case-insensitively, unless it is one of
//!   [`DEFAULT_UNREDACTED_HEADERS`] or configured in clear) and [`is_redacted_name`] (whether a
//!   name is one of a list).
//! - URLs: [`DEFAULT_URL_HEADERS`], the headers whose value is a URL, logged with
//!   [`escape_url_into`] (`url`: the values of secret query and fragment parameters, and nested
//!   URLs that carry one, redacted; the rest escaped as any value). A parameter is secret when
//!   its name is one of [`DEFAULT_REDACTED_QUERY_PARAMS`] or the configured ones
//!   ([`is_secret_param`]). The name rule is not applied to parameter names: their lists are
//!   longer, and a rule's false positives (`author`, `oauth_callback`) would hide values people
//!   read in logs.
//! - [`NameGate`]: the filter, built once per configuration, that spares most header names the
//!   list walks.
//!
//! Imported one way: the log lines (`logline`) and the configuration use this module; this
//! module uses only the escaping (`escape`).

mod always;
mod url;

pub use always::{DEFAULT_REDACTED, DEFAULT_REDACTED_QUERY_PARAMS, REDACTED};
pub use url::{escape_url_into, is_secret_param};

/// Headers whose value is a URL (absolute or relative), whose query and fragment are redacted:
/// the request target, the headers that carry a URL in common HTTP (RFC 9110's `referer`,
/// `location`, `content-location`; the HTML `refresh` header's `url=` part, which is its last),
/// and those that proxies and frameworks use to pass the original URL on.
pub const DEFAULT_URL_HEADERS: [&str; 9] = [
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

/// The default name rule: a header name holding one of these (ASCII case-insensitively) is
/// secret. After the log scrubbers people trust: Rails'
/// `filter_parameters`, Sentry's data scrubbing, the OWASP Logging Cheat Sheet.
pub const SECRET_NAME_FRAGMENTS: [&str; 15] = [
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

/// Everyday headers that the name rule would match, kept in clear: challenges and a CORS flag,
/// which carry no secret. Pseudo-headers (`:authority`) are never matched by the rule.
pub const DEFAULT_UNREDACTED_HEADERS: [&str; 3] = [
    "www-authenticate",
    "proxy-authenticate",
    "access-control-allow-credentials",
];

/// The letters of each fragment (see [`letters`]), computed at compile time.
#[allow(clippy::indexing_slicing)] // evaluated by the compiler: an index out of range can't build
const FRAGMENT_LETTERS: [u32; SECRET_NAME_FRAGMENTS.len()] = {
    let mut out = [0; SECRET_NAME_FRAGMENTS.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = letters(SECRET_NAME_FRAGMENTS[i].as_bytes());
        i += 1;
    }
    out
};

/// A bit per byte value modulo 32, which is the same for a letter in either case: a name can
/// hold a fragment only if it has all of the fragment's bits. One pass over the name and one
/// AND per fragment spare almost every name the substring search (`cargo xtask bench
/// --instructions`). For the fragments, at compile time; names go through [`name_letters`].
#[allow(clippy::indexing_slicing)] // `i < bytes.len()`; only used in constants (and tests)
const fn letters(bytes: &[u8]) -> u32 {
    let mut bits = 0;
    let mut i = 0;
    while i < bytes.len() {
        bits |= 1 << (bytes[i] & 31);
        i += 1;
    }
    bits
}

/// Letters that groups of fragments share, each a subset of the [`letters`] of every fragment
/// of its group: a name that has the letters of no group holds no fragment, found with eight
/// ANDs and no loop (a loop over [`FRAGMENT_LETTERS`] costs about 20 wasm instructions a
/// fragment; the groups are chosen so that everyday names such as `x-forwarded-proto`,
/// `content-length` and `x-request-id` have none).
const GROUPS: [u32; 8] = [
    letters(b"ke"),      // token, cookie, apikey, api-key, api_key
    letters(b"passw"),   // passw
    letters(b"jwt"),     // jwt
    letters(b"aut"),     // auth, signature
    letters(b"cr"),      // secret, credential, csrf
    letters(b"xsrf"),    // xsrf
    letters(b"session"), // session
    letters(b"private"), // private
];

/// Whether `name` holds one of [`SECRET_NAME_FRAGMENTS`], ASCII case-insensitively.
pub fn matches_name_rule(name: &[u8]) -> bool {
    let missing = !name_letters(name);
    let [g0, g1, g2, g3, g4, g5, g6, g7] = GROUPS;
    let has = |group: u32| group & missing == 0;
    if !(has(g0) || has(g1) || has(g2) || has(g3) || has(g4) || has(g5) || has(g6) || has(g7)) {
        return false;
    }
    SECRET_NAME_FRAGMENTS
        .iter()
        .zip(&FRAGMENT_LETTERS)
        .any(|(fragment, needed)| {
            needed & missing == 0
                && name
                    .windows(fragment.len())
                    .any(|w| w.eq_ignore_ascii_case(fragment.as_bytes()))
        })
}

/// [`letters`] of a name, four bytes a load (`wrapping_shl` takes the shift modulo 32, as wasm's
/// `i32.shl` does, so a byte needs no mask): a name of 4 bytes or more is read as whole words
/// plus a last one that overlaps (a byte seen twice changes nothing in an OR).
fn name_letters(name: &[u8]) -> u32 {
    if name.len() < 4 {
        return name
            .iter()
            .fold(0, |bits, &b| bits | 1u32.wrapping_shl(u32::from(b)));
    }
    let mut words = name.chunks_exact(4);
    let mut bits = 0;
    for word in &mut words {
        bits |= word_letters(word);
    }
    if let Some(last) = name
        .get(name.len() - 4..)
        .filter(|_| !words.remainder().is_empty())
    {
        bits |= word_letters(last);
    }
    bits
}

/// [`letters`] of four bytes (a slice of another length has none: never the case here, and no
/// panic path, which would bring `core::fmt` into the module).
#[inline(always)]
fn word_letters(word: &[u8]) -> u32 {
    let &[a, b, c, d] = word else {
        return 0;
    };
    let w = u32::from_le_bytes([a, b, c, d]);
    1u32.wrapping_shl(w)
        | 1u32.wrapping_shl(w >> 8)
        | 1u32.wrapping_shl(w >> 16)
        | 1u32.wrapping_shl(w >> 24)
}

/// Whether header `name` is redacted by the default rule: it matches [`matches_name_rule`],
/// is not a pseudo-header, and is not one of `unredacted` (lower-case names kept in clear, which
/// start with [`DEFAULT_UNREDACTED_HEADERS`]).
pub fn matches_default_rule(name: &[u8], unredacted: &[String]) -> bool {
    name.first() != Some(&b':') && matches_name_rule(name) && !is_redacted_name(unredacted, name)
}

/// Whether header `name` is one of `redacted` (lower-case names), ASCII case-insensitively.
pub fn is_redacted_name(redacted: &[String], name: &[u8]) -> bool {
    // The length first, inline: most names differ in it (a header line's most costly check
    // after the escaping, `cargo xtask bench --instructions --profile`).
    redacted.iter().any(|redacted| {
        redacted.len() == name.len() && redacted.as_bytes().eq_ignore_ascii_case(name)
    })
}

/// A filter over header names, built once per configuration: a name that is in none of its sets
/// is in neither list (`redact_headers`, `url_headers`), so most names skip both list walks.
/// One bit per name, from its length and its first and last bytes in either case (the factors
/// were chosen so that none of the benchmark's and of the everyday headers' names shares a bit
/// with a default list: `cargo xtask bench --instructions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameGate {
    redacted: u64,
    urls: u64,
}

impl NameGate {
    /// Lets every name through to both list walks.
    pub const ALL: NameGate = NameGate {
        redacted: u64::MAX,
        urls: u64::MAX,
    };

    /// The gate for the names of `redacted` and `urls`.
    pub fn new(redacted: &[String], urls: &[String]) -> NameGate {
        let bits = |names: &[String]| {
            names
                .iter()
                .fold(0, |bits, n| bits | gate_bit(n.as_bytes()))
        };
        NameGate {
            redacted: bits(redacted),
            urls: bits(urls),
        }
    }

    /// Which of the lists `name` may be in, from one computation of its bit (once per list was
    /// 15,280 wasm instructions per request at info, once for both 14,928: `cargo xtask bench
    /// --instructions`).
    pub fn may_be(&self, name: &[u8]) -> MayBe {
        let bit = gate_bit(name);
        MayBe {
            redacted: self.redacted & bit != 0,
            url: self.urls & bit != 0,
        }
    }
}

/// Which lists a header name may be in, after a [`NameGate`]: a list it may not be in needs no
/// walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MayBe {
    /// It may be one of the redacted names.
    pub redacted: bool,
    /// It may be one of the URL headers.
    pub url: bool,
}

/// A name's bit in a [`NameGate`]: the same for a name in either case.
fn gate_bit(name: &[u8]) -> u64 {
    1 << gate_index(name)
}

/// The index of a name's bit: 0 to 63.
const fn gate_index(name: &[u8]) -> usize {
    let (first, last) = match name {
        [first, .., last] => (*first, *last),
        [only] => (*only, *only),
        [] => return 0,
    };
    (name.len() * 3 + (first | 0x20) as usize * 8 + (last | 0x20) as usize * 9) & 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_ignoring_case_and_nothing_else() {
        let names = ["x-token".to_string(), "cookie".to_string()];
        assert!(is_redacted_name(&names, b"X-Token") && is_redacted_name(&names, b"COOKIE"));
        assert!(!is_redacted_name(&names, b"x-token2") && !is_redacted_name(&names, b""));
    }

    #[test]
    fn the_gate_lets_every_listed_name_through_in_either_case() {
        let long = "x".repeat(70);
        let redacted = ["ab".to_string(), long.clone(), String::new()];
        let urls = [":path".to_string()];
        let gate = NameGate::new(&redacted, &urls);
        for name in [&b"ab"[..], b"AB", long.as_bytes(), b""] {
            assert!(gate.may_be(name).redacted, "{name:?}");
        }
        assert!(gate.may_be(b":PATH").url && NameGate::ALL.may_be(b"x").url);
        let defaults = NameGate::new(&strings(&DEFAULT_REDACTED), &strings(&DEFAULT_URL_HEADERS));
        for everyday in [
            ":authority",
            ":method",
            ":scheme",
            ":status",
            "content-type",
        ] {
            let name = everyday.as_bytes();
            assert!(
                defaults.may_be(name)
                    == MayBe {
                        redacted: false,
                        url: false
                    },
                "{everyday}"
            );
        }
    }

    #[test]
    fn every_fragment_is_in_a_group_and_name_letters_are_letters() {
        let groups = GROUPS;
        for fragment in SECRET_NAME_FRAGMENTS {
            let needed = letters(fragment.as_bytes());
            assert!(groups.iter().any(|g| g & !needed == 0), "{fragment}");
            assert_eq!(fragment, fragment.to_ascii_lowercase());
        }
        for name in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "x-forwarded-proto",
            "X-Api-Key",
            "0123456789",
        ] {
            assert_eq!(
                name_letters(name.as_bytes()),
                letters(name.as_bytes()),
                "{name}"
            );
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }
}
