//! The generated corpus: proptest strategies for hostile requests, drawn from a ChaCha RNG
//! seeded with the run's seed, so that `--seed S` gives the same requests again (only the
//! secret token, random per run, differs).
//!
//! A value is a concatenation of pieces: plain text, escape look-alikes, raw bytes
//! 0x80–0xFF, Unicode characters (any, or the ones the escaping treats specially), tabs and
//! spaces, sometimes a CR (Envoy drops it), an obsolete line fold, a byte Envoy refuses, a
//! line break before a forged log line, or a run long enough to be cut. Names are tokens in
//! odd case; some are redacted and carry a secret. Some requests have many headers, ask
//! httpbin for a `set-cookie` holding a secret, or carry a secret in a query parameter whose
//! name is always redacted, in odd case or percent-encoded, among other parameters.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::case::{Case, percent_encode_all};
use super::fixed::FORGED_LINE;
use super::header::Header;
use super::reference::refused_in_value;
use super::secrets::Secrets;
use super::{ALWAYS_REDACTED_QUERY, CREDENTIAL_HEADERS, URL_HEADERS};

/// The Unicode characters the escaping table names, and their neighbours.
const SPECIAL_CHARS: &[char] = &[
    '\u{80}', '\u{85}', '\u{9F}', '\u{A0}', '\u{61B}', '\u{61C}', '\u{61D}', '\u{200B}',
    '\u{200D}', '\u{200E}', '\u{200F}', '\u{2027}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}',
    '\u{202C}', '\u{202D}', '\u{202E}', '\u{202F}', '\u{2065}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{206A}', '\u{FEFF}', '\u{FFFD}', 'é', '€', '𝄞', '日', '😀',
];
/// Text that looks like the log's own syntax.
const LOOK_ALIKES: &[&str] = &[
    "\\",
    "\\\\",
    "\\x41",
    "\\xff",
    "\\u{0085}",
    "\\n",
    "\\r\\n",
    "\\t",
    "[redacted]",
    " ... [truncated: 3 of 9 bytes]",
    ": ",
    "request header --> ",
    "response header <-- ",
    "7 finished",
    "wasm log",
];
/// Common header names, sent in odd case. Not `referer` (Envoy drops one that is not a URL),
/// nor `user-agent` (the access log prints it raw: a forged line in it would be the access
/// log's, and the fixed cases try raw bytes there).
const COMMON_NAMES: &[&str] = &[
    "accept",
    "accept-language",
    "accept-encoding",
    "origin",
    "cache-control",
    "pragma",
    "if-none-match",
    "dnt",
    "x-custom",
];
/// Token characters for generated names (RFC 9110).
const TOKEN: &[u8] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

/// A piece of a value, weighted so that most requests reach the filter; with `breaking`, it
/// may also be a byte Envoy refuses or a line break before a forged line.
fn piece(breaking: bool) -> BoxedStrategy<Vec<u8>> {
    // Any character but the controls Envoy refuses (those come from their own piece).
    let any_char = any::<char>().prop_filter("a control Envoy refuses", |c| {
        !(c.is_ascii() && refused_in_value(*c as u8))
    });
    let text = |chars: Vec<char>| String::from_iter(chars).into_bytes();
    let safe = prop_oneof![
        30 => vec(0x20u8..=0x7E, 0..24),
        8 => select(LOOK_ALIKES).prop_map(Vec::from),
        10 => vec(0x80u8..=0xFF, 1..8),
        6 => vec(any_char, 1..4).prop_map(text),
        8 => vec(select(SPECIAL_CHARS), 1..4).prop_map(text),
        5 => select(&[" ", "\t", "  ", " \t "][..]).prop_map(Vec::from),
        2 => Just(b"\r".to_vec()),
        1 => select(&["\r\n ", "\r\n\t"][..]).prop_map(Vec::from),
        2 => (1000usize..1100, select(&["a", "é", "€", "𝄞", "\u{85}", "\\"][..]))
            .prop_map(|(n, unit)| unit.repeat(n / unit.len()).into_bytes()),
        1 => (2000usize..20_000).prop_map(|n| vec![b'z'; n]),
    ];
    if !breaking {
        return safe.boxed();
    }
    // The bytes Envoy refuses in a value; not LF, which ends the line instead (the fixed
    // cases try it).
    let refusable = |b: &u8| refused_in_value(*b) && *b != b'\n';
    let refused: Vec<u8> = (0..=0x7Fu8).filter(refusable).collect();
    prop_oneof![
        73 => safe,
        1 => select(refused).prop_map(|b| vec![b]),
        1 => select(&["\r", "\n", "\r\n", "\r\n "][..])
            .prop_map(|brk| [brk, FORGED_LINE].concat().into_bytes()),
    ]
    .boxed()
}

/// A name: `x-h-<token>` or a common name, in odd case.
fn name() -> impl Strategy<Value = String> {
    let generated =
        vec(select(TOKEN), 1..12).prop_map(|t| format!("x-h-{}", String::from_utf8_lossy(&t)));
    let common = select(COMMON_NAMES).prop_map(str::to_string);
    (prop_oneof![4 => generated, 1 => common], any::<u64>())
        .prop_map(|(name, bits)| odd_case(&name, bits))
}

/// Upper-cases the letters whose bit in `bits` is set.
fn odd_case(name: &str, bits: u64) -> String {
    let upper = |(i, c): (usize, char)| match bits >> (i % 64) & 1 {
        1 => c.to_ascii_uppercase(),
        _ => c,
    };
    name.chars().enumerate().map(upper).collect()
}

/// A header; one in thirteen is a redacted one (a name of `redacted` in odd case) holding a
/// secret.
fn header(
    mut redacted: Vec<String>,
    secrets: &Secrets,
    breaking: bool,
) -> impl Strategy<Value = Header> + use<> {
    let separator = select(&[": ", ":", ":\t", ":  "][..]);
    let header = |name: String, separator: &str, pieces: Vec<Vec<u8>>| Header {
        separator: separator.into(),
        ..Header::new(name, pieces.concat())
    };
    let plain = (name(), separator.clone(), vec(piece(breaking), 0..4))
        .prop_map(move |(name, sep, pieces)| header(name, sep, pieces));
    let secrets_in_values = secrets.clone();
    redacted.extend(CREDENTIAL_HEADERS.map(String::from));
    let names = (select(redacted), any::<u64>());
    let pieces = vec(piece(breaking), 0..2);
    let secret = (names, separator, pieces, any::<u32>()).prop_map(
        move |((name, bits), sep, mut pieces, n)| {
            let secret = secrets_in_values.secret(&format!("-g{n}")).into_bytes();
            pieces.insert(pieces.len() / 2, secret);
            header(odd_case(&name, bits), sep, pieces)
        },
    );
    let secrets = secrets.clone();
    let url =
        (select(url_valued()), any::<u64>(), any::<u32>()).prop_map(move |(name, bits, n)| {
            // Envoy drops a `referer` that is not a valid URL or holds a fragment (RFC 9110): those
            // go in another URL header, so that every header sent reaches the filter.
            let dropped = name == "referer" && matches!(n % 6, 1 | 2 | 4);
            let name = if dropped { "x-original-url" } else { name };
            let value = vec![url_with_secret(n, &secrets)];
            header(odd_case(name, bits), ": ", value)
        });
    prop_oneof![12 => plain, 1 => secret, 1 => url]
}

/// The request headers whose value is a URL: [`URL_HEADERS`] but the request target's two,
/// which the generator writes as the target itself.
fn url_valued() -> Vec<&'static str> {
    let not_target = |name: &&str| !matches!(*name, ":path" | "x-envoy-original-path");
    URL_HEADERS.into_iter().filter(not_target).collect()
}

/// A URL carrying a secret (`n` picks where): in a query, in a fragment, in a nested URL
/// (percent-encoded, or not), after `refresh`'s `url=`.
fn url_with_secret(n: u32, secrets: &Secrets) -> Vec<u8> {
    let secret = secrets.secret(&format!("-u{n}"));
    let url = match n % 6 {
        0 => format!("https://app.example/cb?code={secret}&state=z"),
        1 => format!("/cb#access_token={secret}&state=z"),
        2 => format!("https://app.example/cb?state=z#id_token={secret}"),
        3 => {
            let inner = format!("https://app/cb?code={secret}");
            format!("/login?next={}", percent_encode_all(inner))
        }
        4 => format!("0; url=/cb?Access_Token={secret}"),
        _ => format!("//x/y?location=https://x/z?X-Amz-Signature={secret}&a=1"),
    };
    url.into_bytes()
}

/// A request (unlabelled): a path, some with a secret, and a few headers or many.
fn request(redacted: Vec<String>, secrets: &Secrets) -> impl Strategy<Value = Case> + use<> {
    let few = vec(header(redacted.clone(), secrets, true), 0..10);
    // Many headers: near Envoy's limit of 100 (97 more fit) and its 60 KiB, without the
    // pieces that make a 400 (the limits are what these try).
    let many = vec(header(redacted, secrets, false), 60..104);
    let secrets = secrets.clone();
    (0u8..24, any::<u32>(), prop_oneof![15 => few, 1 => many]).prop_map(
        move |(path_choice, n, headers)| Case {
            // httpbin answers these two with a cookie holding the secret.
            expects_secret_cookie: matches!(path_choice, 16..=19),
            ..Case::new("", path(path_choice, n, &secrets), headers)
        },
    )
}

/// The path `choice` picks (`n` varies it).
fn path(choice: u8, n: u32, secrets: &Secrets) -> String {
    let secret = |tag: &str| secrets.secret(&format!("-{tag}{n}"));
    let cookie = percent_encode_all(secret("p"));
    match choice {
        0..=9 => "/headers".to_string(),
        10..=12 => "/get".to_string(),
        13..=14 => format!("/anything/{n:x}/a%2Fb;c=d?e=f&g=%FF"),
        15 => "/status/204".to_string(),
        16..=17 => format!("/response-headers?set-cookie=id%3D{cookie}"),
        18..=19 => format!("/cookies/set?{}={cookie}", percent_encode_all("session")),
        20..=21 => query_secret_path(n, secrets),
        22 => {
            let inner = format!("https://app/cb?state=z&code={}", secret("n"));
            format!("/get?next={}", percent_encode_all(inner))
        }
        _ => {
            let url = format!("https://app/cb?code={}&state=z", secret("l"));
            format!("/response-headers?location={}", percent_encode_all(url))
        }
    }
}

/// `/get?<before><name>=<secret><after>`: an always-redacted parameter name chosen by `n`, each
/// of its characters as is, upper-cased, lower-cased or percent-encoded, between other
/// parameters; the secret literal.
fn query_secret_path(n: u32, secrets: &Secrets) -> String {
    let name = ALWAYS_REDACTED_QUERY[n as usize % ALWAYS_REDACTED_QUERY.len()];
    let spelled = |(i, c): (usize, char)| match (n >> (8 + (i % 12) * 2)) & 3 {
        0 => c.to_string(),
        1 => c.to_ascii_uppercase().to_string(),
        2 => c.to_ascii_lowercase().to_string(),
        _ => format!("%{:02X}", c as u32),
    };
    let odd: String = name.chars().enumerate().map(spelled).collect();
    let before = ["", "a=1&", "&", "x&"][(n >> 4) as usize % 4];
    let after = ["", "&keep=1", "&&", "&b=%FF"][(n >> 6) as usize % 4];
    let secret = secrets.secret(&format!("-q{n}"));
    format!("/get?{before}{odd}={secret}{after}")
}

/// The endless sequence of generated cases for `seed`, made one at a time; case `i` is the
/// same whatever follows. `redacted` are the names whose values are secrets (the
/// always-redacted ones and the configured ones).
pub fn corpus(
    seed: u64,
    secrets: &Secrets,
    redacted: &[String],
) -> impl Iterator<Item = Case> + use<> {
    let key: Vec<u8> = (0..4u64)
        .flat_map(|i| (seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes())
        .collect();
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = request(redacted.to_vec(), secrets);
    (0..).map(move |index| {
        let tree = strategy.new_tree(&mut runner);
        let mut case = tree.map_or_else(|_| Case::new("", "/headers", Vec::new()), |t| t.current());
        case.label = format!("generated #{index} (seed {seed})");
        case
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted() -> Vec<String> {
        [
            "authorization",
            "proxy-authorization",
            "cookie",
            "x-api-key",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    /// The first `count` cases of the corpus.
    fn cases(seed: u64, count: usize, secrets: &Secrets, redacted: &[String]) -> Vec<Case> {
        corpus(seed, secrets, redacted).take(count).collect()
    }

    #[test]
    fn same_seed_same_requests() {
        let secrets = Secrets {
            token: "S3cr3tT".into(),
        };
        let a = cases(42, 50, &secrets, &redacted());
        let b = cases(42, 80, &secrets, &redacted());
        assert_eq!(a[..], b[..50]);
        let c = cases(43, 50, &secrets, &redacted());
        assert_ne!(a, c);
    }

    #[test]
    fn the_corpus_covers_the_classes() {
        let secrets = Secrets {
            token: "S3cr3tT".into(),
        };
        let all = cases(7, 2000, &secrets, &redacted());
        let values: Vec<&[u8]> = all
            .iter()
            .flat_map(|c| &c.headers)
            .map(|h| h.value.as_slice())
            .collect();
        let any = |f: &dyn Fn(&[u8]) -> bool| values.iter().filter(|v| f(v)).count();
        assert!(any(&|v| v.iter().any(|b| *b >= 0x80)) > 500);
        assert!(any(&|v| v.contains(&b'\r')) > 50);
        assert!(any(&|v| v.iter().any(|b| refused_in_value(*b))) > 20);
        // A line break only as a fold, or before a forged line (a 400): never one that makes
        // another valid header line, which the reference model does not follow.
        let lone_lf = |v: &[u8]| {
            (0..v.len())
                .any(|i| v[i] == b'\n' && !v.get(i + 1).is_some_and(|b| b" \t[".contains(b)))
        };
        assert_eq!(any(&lone_lf), 0);
        // Most requests reach the filter: about one in ten holds what makes Envoy refuse it.
        let breaks = |v: &[u8]| {
            v.iter().any(|b| refused_in_value(*b) && *b != b'\n')
                || v.windows(2).any(|w| w == b"\n[")
        };
        let refusable = all
            .iter()
            .filter(|c| c.headers.iter().any(|h| breaks(&h.value)))
            .count();
        assert!((100..300).contains(&refusable), "{refusable} of 2000");
        assert!(any(&|v| v.len() > 1024) > 50);
        assert!(any(&|v| v.windows(7).any(|w| w == b"S3cr3tT")) > 100);
        assert!(any(&|v| v.is_empty()) > 50);
        assert!(all.iter().filter(|c| c.headers.len() > 97).count() > 5);
        assert!(all.iter().filter(|c| c.expects_secret_cookie).count() > 200);
        let mut in_query = 0;
        for case in &all {
            let path = String::from_utf8_lossy(&case.path);
            let (before, query) = path.split_once('?').unwrap_or((&path, ""));
            assert!(!before.contains("S3cr3tT"), "{path}");
            in_query += usize::from(query.contains("S3cr3tT"));
        }
        assert!(in_query > 100, "{in_query}");
        // Secrets in nested URLs (percent-encoded in `next=` and `location=`) and in URL headers.
        let nested = all
            .iter()
            .filter(|c| {
                c.path.starts_with(b"/get?next=")
                    || c.path.starts_with(b"/response-headers?location=")
            })
            .count();
        assert!(nested > 100, "{nested}");
        let url_headers = all
            .iter()
            .flat_map(|c| &c.headers)
            .filter(|h| {
                url_valued()
                    .iter()
                    .any(|n| n.as_bytes().eq_ignore_ascii_case(&h.name))
            })
            .count();
        assert!(url_headers > 500, "{url_headers}");
    }

    #[test]
    fn query_secrets_hide_their_names() {
        let secrets = Secrets {
            token: "S3cr3tT".into(),
        };
        let paths: Vec<String> = (0..2000u32)
            .map(|n| query_secret_path(n, &secrets))
            .collect();
        assert!(paths.iter().any(|p| p.contains("%")));
        assert!(
            paths
                .iter()
                .any(|p| p.contains("ACCESS") || p.contains("Access"))
        );
        for path in &paths {
            assert!(
                path.starts_with("/get?") && path.contains("=S3cr3tT-q"),
                "{path}"
            );
        }
    }
}
