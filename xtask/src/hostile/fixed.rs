//! The fixed cases: every byte in a value, what the internet sends (non-UTF-8, Unicode
//! controls, tabs, empty and repeated headers, odd case), control characters and CR/LF,
//! values and requests at Envoy's limits, secrets in request and response headers.

use super::case::{Case, Header, percent_encode_all};
use super::secrets::Secrets;

/// A forged filter line, as a header would carry it after a line break.
pub const FORGED_LINE: &str = "[2026-11-23 20:50:09.226][1][info][wasm] [source/extensions/common/wasm/context.cc:1151] \
     wasm log http-headers http-headers-root http-headers-vm: request header --> x-hostile-forged: 1";

/// The label of the case that sends byte `b` in a value: `byte 0x85`.
pub fn byte_label(b: u8) -> String {
    format!("byte 0x{b:02x}")
}

/// One request per byte 0x00–0xFF, each with the value `a<byte>b` in `x-byte`.
pub fn byte_cases() -> Vec<Case> {
    (0..=0xFFu8)
        .map(|b| {
            Case::new(
                byte_label(b),
                "/headers",
                vec![Header::new("x-byte", vec![b'a', b, b'b'])],
            )
        })
        .collect()
}

/// `case`, with the headers Envoy passes on given (line breaks the model does not follow).
fn passed_on(mut case: Case, headers: &[(&str, &str)]) -> Case {
    case.passed_on = Some(
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
    );
    case
}

fn one(label: &str, name: &str, value: impl Into<Vec<u8>>) -> Case {
    Case::new(label, "/headers", vec![Header::new(name, value)])
}

/// Non-UTF-8 values, Unicode that reorders or splits text, escape look-alikes.
fn text_cases() -> Vec<Case> {
    let all_high: Vec<u8> = (0x80..=0xFFu8).collect();
    vec![
        one("non-utf8 ff fe", "x-bytes", b"\xff\xfe".to_vec()),
        one("non-utf8 every byte 0x80-0xff", "x-bytes", all_high),
        one(
            "non-utf8 lone continuation",
            "x-bytes",
            b"a\x80b\xbf".to_vec(),
        ),
        one(
            "non-utf8 overlong slash",
            "x-bytes",
            b"\xc0\xaf\xe0\x80\xaf".to_vec(),
        ),
        one(
            "non-utf8 surrogate",
            "x-bytes",
            b"\xed\xa0\x80\xed\xbf\xbf".to_vec(),
        ),
        one(
            "non-utf8 truncated emoji",
            "x-bytes",
            b"\xf0\x9f\x98".to_vec(),
        ),
        one(
            "non-utf8 above U+10FFFF",
            "x-bytes",
            b"\xf4\x90\x80\x80\xf5\xff".to_vec(),
        ),
        one("non-utf8 latin-1", "x-bytes", b"caf\xe9 na\xefve".to_vec()),
        one("utf8 text", "x-text", "héllo wörld ✓ 𝄞 日本 😀".as_bytes()),
        one(
            "utf8 C1 controls",
            "x-text",
            "\u{80}\u{85}\u{9B}[31m\u{9F}".as_bytes(),
        ),
        one(
            "utf8 bidi override",
            "x-text",
            "user\u{202E}gpj.exe\u{202C}".as_bytes(),
        ),
        one(
            "utf8 bidi isolates and marks",
            "x-text",
            "\u{2066}a\u{2067}b\u{2068}c\u{2069}\u{200E}\u{200F}\u{061C}".as_bytes(),
        ),
        one(
            "utf8 line and paragraph separators",
            "x-text",
            "a\u{2028}b\u{2029}c".as_bytes(),
        ),
        one(
            "utf8 neighbours of escaped ranges",
            "x-text",
            "\u{A0}\u{61B}\u{61D}\u{200B}\u{200D}\u{2027}\u{202F}\u{2065}\u{206A}\u{FEFF}\u{FFFD}"
                .as_bytes(),
        ),
        one(
            "escape look-alikes",
            "x-text",
            r"\x41 \u{0085} \n \\ \t \".as_bytes(),
        ),
        one("redacted look-alike", "x-text", "[redacted]"),
        one(
            "truncated look-alike",
            "x-text",
            "abc ... [truncated: 3 of 9 bytes]",
        ),
        one("forged line without a break", "x-text", FORGED_LINE),
        one("ansi escape as text", "x-text", r"\e[2J\033[31m"),
    ]
}

/// Tabs, spaces, empty values, repeated headers, names in odd case, the headers Envoy and the
/// filter care about.
fn shape_cases() -> Vec<Case> {
    let mut bare = Header::new("x-bare", "");
    bare.separator = b":".to_vec();
    let mut tabbed = Header::new("x-tabbed", "value");
    tabbed.separator = b":\t".to_vec();
    vec![
        one("tab inside", "x-tab", "a\tb\t\tc"),
        one("tabs and spaces around", "x-tab", " \t a b \t "),
        one("only tabs", "x-tab", "\t\t"),
        one("only spaces", "x-space", "     "),
        Case::new(
            "empty values",
            "/headers",
            vec![bare, Header::new("x-empty", ""), tabbed],
        ),
        Case::new(
            "repeated header",
            "/headers",
            (0..10)
                .map(|i| Header::new("x-repeat", format!("v{i}")))
                .collect(),
        ),
        Case::new(
            "repeated header in odd case",
            "/headers",
            vec![
                Header::new("X-Rep", "1"),
                Header::new("x-REP", "2"),
                Header::new("x-rep", "3"),
            ],
        ),
        Case::new(
            "names in odd case",
            "/headers",
            vec![
                Header::new("X-ODD-CASE", "1"),
                Header::new("x-OdD-cAsE-2", "2"),
                Header::new("ACCEPT-language", "en"),
                Header::new("X_Under_Score", "3"),
                Header::new("x-!#$%&'*+.^`|~", "token punctuation"),
            ],
        ),
        one("the filter's own header sent by the client", "test", "evil"),
        one(
            "user-agent with raw bytes (also in the access log)",
            "user-agent",
            b"curl/8 \xff\xfe\x85".to_vec(),
        ),
        Case::new(
            "odd path",
            "/anything/%FF%00/\\/..;/a?q=%0d%0a&x=\\x41",
            Vec::new(),
        ),
        Case::new(
            "long path",
            format!("/anything/{}", "p".repeat(1500)),
            Vec::new(),
        ),
    ]
}

/// Control characters and line breaks: Envoy refuses most; what it lets through must not
/// break or forge a line.
fn control_cases() -> Vec<Case> {
    let mut cases = vec![
        one("NUL inside", "x-ctl", b"a\x00b".to_vec()),
        one("NUL at the end", "x-ctl", b"ab\x00".to_vec()),
        one("ESC sequence", "x-ctl", b"\x1b[31mred\x1b[0m".to_vec()),
        one("DEL", "x-ctl", b"a\x7f".to_vec()),
        one("bare CR inside", "x-crlf", b"a\rb".to_vec()),
        one("bare CR at the end", "x-crlf", b"ab\r".to_vec()),
        one("bare LF inside", "x-crlf", b"a\nb".to_vec()),
        passed_on(
            one(
                "bare LF making a second header line",
                "x-crlf",
                b"a\nx-next: b".to_vec(),
            ),
            &[("x-crlf", "a"), ("x-next", "b")],
        ),
        passed_on(
            one("bare LF ending the last value", "x-crlf", b"a\n".to_vec()),
            &[("x-crlf", "a")],
        ),
        passed_on(
            Case::new(
                "bare LF, then CRLF: the headers end there",
                "/headers",
                vec![
                    Header::new("x-crlf", b"a\n".to_vec()),
                    Header::new("x-after", "c"),
                ],
            ),
            &[("x-crlf", "a")],
        ),
        one("obs-fold CRLF space", "x-crlf", b"a\r\n b".to_vec()),
        one("obs-fold CRLF tab", "x-crlf", b"a\r\n\tb".to_vec()),
        one(
            "CR then a forged line",
            "x-forge",
            [b"a\r", FORGED_LINE.as_bytes()].concat(),
        ),
        one(
            "LF then a forged line",
            "x-forge",
            [b"a\n", FORGED_LINE.as_bytes()].concat(),
        ),
        one(
            "CRLF then a forged line",
            "x-forge",
            [b"a\r\n", FORGED_LINE.as_bytes()].concat(),
        ),
        one(
            "obs-fold then a forged line",
            "x-forge",
            [b"a\r\n ", FORGED_LINE.as_bytes()].concat(),
        ),
        one(
            "CRLF then a forged message",
            "x-forge",
            b"a\r\nrequest header --> x-hostile-forged: 1".to_vec(),
        ),
    ];
    let mut bad_name = Header::new("x-bad\x01name", "v");
    bad_name.name = b"x-bad\x01name".to_vec();
    cases.push(Case::new(
        "control byte in a name",
        "/headers",
        vec![bad_name],
    ));
    cases.push(Case::new(
        "space in a name",
        "/headers",
        vec![Header::new("x bad", "v")],
    ));
    cases.push(Case::new(
        "non-ASCII name",
        "/headers",
        vec![Header::new(b"x-\xc3\xa9".to_vec(), "v")],
    ));
    cases
}

/// Values and requests around the log's cut and Envoy's limits: 60 KiB of headers and 100
/// headers per request (the host and connection lines count).
fn limit_cases() -> Vec<Case> {
    let repeat = |unit: &str, n: usize| unit.repeat(n).into_bytes();
    let many = |n: usize, value: &str| {
        (0..n)
            .map(|i| Header::new(format!("x-many-{i}"), value))
            .collect::<Vec<_>>()
    };
    vec![
        one("value of 1023 bytes", "x-long", repeat("a", 1023)),
        one("value of 1024 bytes", "x-long", repeat("a", 1024)),
        one("value of 1025 bytes", "x-long", repeat("a", 1025)),
        one(
            "2-byte character across the cut",
            "x-long",
            [repeat("a", 1023), repeat("é", 2)].concat(),
        ),
        one(
            "3-byte character across the cut",
            "x-long",
            [repeat("a", 1022), repeat("€", 2)].concat(),
        ),
        one(
            "4-byte character across the cut",
            "x-long",
            [repeat("a", 1021), repeat("𝄞", 2)].concat(),
        ),
        one(
            "invalid UTF-8 across the cut",
            "x-long",
            [repeat("a", 1023), b"\xe2\x82\xe2\x82".to_vec()].concat(),
        ),
        one("escapes across the cut", "x-long", vec![0x80; 1100]),
        one(
            "value of 8 KiB (httpbin's limit)",
            "x-long",
            repeat("b", 8 * 1024),
        ),
        one("value of 59 KiB", "x-long", repeat("c", 59 * 1024)),
        one(
            "value of 59 KiB of high bytes",
            "x-long",
            vec![0xFF; 59 * 1024],
        ),
        one(
            "value of 61 KiB (over Envoy's 60 KiB)",
            "x-long",
            repeat("d", 61 * 1024),
        ),
        Case::new(
            "97 headers (100 with host, connection, id)",
            "/headers",
            many(97, "v"),
        ),
        Case::new(
            "98 headers (one over Envoy's 100)",
            "/headers",
            many(98, "v"),
        ),
        Case::new("150 headers", "/headers", many(150, "v")),
        Case::new(
            "many small headers near 60 KiB",
            "/headers",
            many(90, &"s".repeat(640)),
        ),
        Case::new(
            "many headers over 60 KiB",
            "/headers",
            many(90, &"s".repeat(700)),
        ),
    ]
}

/// Secrets in every redacted header, in odd case, with odd bytes, repeated, over the cut, and
/// in `set-cookie` from httpbin (the secret percent-encoded in the path, decoded in the header).
pub fn secret_cases(secrets: &Secrets, redacted_extra: &[String]) -> Vec<Case> {
    let s = |suffix: &str| secrets.secret(suffix);
    let mut cases = vec![
        one(
            "authorization: Bearer",
            "authorization",
            format!("Bearer {}", s("-bearer")),
        ),
        one(
            "authorization: Basic, odd case",
            "AuThOrIzAtIoN",
            format!("Basic {}", s("-basic")),
        ),
        one(
            "proxy-authorization",
            "Proxy-Authorization",
            format!("Bearer {}", s("-proxy")),
        ),
        one(
            "cookie",
            "cookie",
            format!("session={}; theme=dark", s("-cookie")),
        ),
        Case::new(
            "repeated cookies",
            "/headers",
            vec![
                Header::new("Cookie", format!("a={}", s("-c1"))),
                Header::new("COOKIE", format!("b={}", s("-c2"))),
            ],
        ),
        one(
            "secret with raw bytes",
            "authorization",
            [
                b"\xff\t".to_vec(),
                s("-raw").into_bytes(),
                b"\x85\xe2\x80\xae".to_vec(),
            ]
            .concat(),
        ),
        one(
            "secret longer than the cut",
            "authorization",
            format!("Bearer {}{}", s("-long"), "x".repeat(3000)),
        ),
        one(
            "set-cookie sent in a request",
            "set-cookie",
            format!("id={}", s("-req")),
        ),
    ];
    for name in redacted_extra {
        cases.push(one(
            &format!("configured redacted header {name}"),
            name,
            s("-configured"),
        ));
    }
    let mut set_cookie = Case::new(
        "set-cookie from httpbin /response-headers",
        format!(
            "/response-headers?set-cookie={}&Set-Cookie={}",
            percent_encode_all(format!("sid={}; Path=/; HttpOnly", s("-rh1")).as_bytes()),
            percent_encode_all(format!("other={}", s("-rh2")).as_bytes())
        ),
        Vec::new(),
    );
    set_cookie.expects_secret_cookie = true;
    cases.push(set_cookie);
    let mut cookies_set = Case::new(
        "set-cookie from httpbin /cookies/set",
        format!(
            "/cookies/set?{}={}",
            percent_encode_all(b"session"),
            percent_encode_all(s("-cs").as_bytes())
        ),
        Vec::new(),
    );
    cookies_set.expects_secret_cookie = true;
    cases.push(cookies_set);
    cases
}

/// Secrets in the query string, literally (Envoy's access log leaves the query out): every
/// always-redacted name and the configured ones, in odd case and percent-encoded, repeated, next
/// to parameters that are logged as sent, straddling and beyond the cut; and malformed queries.
pub fn query_cases(secrets: &Secrets, query_extra: &[String]) -> Vec<Case> {
    let s = |suffix: &str| secrets.secret(suffix);
    let get = |label: &str, target: String| Case::new(label, target, Vec::new());
    let every: Vec<String> = super::stream_lines::ALWAYS_REDACTED_QUERY
        .iter()
        .chain(
            query_extra
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .iter(),
        )
        .enumerate()
        .map(|(i, name)| format!("{name}={}", s(&format!("-q{i}"))))
        .collect();
    let mut cases = vec![
        get(
            "access_token next to a plain parameter",
            format!("/headers?access_token={}&keep=1", s("-at")),
        ),
        get(
            "every always-redacted and configured name",
            format!("/get?keep=1&{}&last=2", every.join("&")),
        ),
        get(
            "names in odd case and percent-encoded",
            format!(
                "/get?Access_Token={}&%61pi%5Fkey={}&X-AMZ-SIGNATURE={}&%53ig={}",
                s("-oc1"),
                s("-oc2"),
                s("-oc3"),
                s("-oc4")
            ),
        ),
        get(
            "repeated names, empty values, values with = and ?",
            format!(
                "/get?token={}&token=&token={}=x?y&&sig={}",
                s("-r1"),
                s("-r2"),
                s("-r3")
            ),
        ),
        get(
            "a secret straddling the cut",
            format!(
                "/get?pad={}&token={}{}",
                "p".repeat(1000),
                s("-cut"),
                "z".repeat(100)
            ),
        ),
        get(
            "secrets beyond the cut in a very long query",
            format!(
                "/get?{}",
                (0..400)
                    .map(|i| format!("a{i}=1&code={}", s(&format!("-far{i}"))))
                    .collect::<Vec<_>>()
                    .join("&")
            ),
        ),
        get("a lone ?", "/get?".into()),
        get("only separators", "/get?&&=&=&".into()),
        get(
            "malformed escapes",
            "/get?%zz=1&%=2&%7=3&token%=4&%%=5".into(),
        ),
        get("a secret name without a value", "/get?token&keep=1".into()),
        get(
            "a question mark in the path of a redirect target",
            format!("/get?next=/cb%3Fcode%3D1&code={}", s("-cb")),
        ),
    ];
    for name in query_extra {
        cases.push(get(
            &format!("configured parameter {name}"),
            format!("/headers?{name}={}&keep=1", s("-configured")),
        ));
    }
    cases
}

/// Response headers with bytes httpbin can send: Latin-1 (invalid UTF-8 on the wire), a
/// backslash, a tab, a value over the cut.
fn response_cases() -> Vec<Case> {
    let latin1: String = (0x80..=0xFFu32).filter_map(char::from_u32).collect();
    let encode = |text: &str| percent_encode_all(text.as_bytes());
    vec![
        Case::new(
            "response header with Latin-1 bytes",
            format!("/response-headers?x-resp={}", encode(&latin1)),
            Vec::new(),
        ),
        Case::new(
            "response header with a backslash and a tab",
            format!("/response-headers?x-resp={}", encode("a\\b\tc")),
            Vec::new(),
        ),
        Case::new(
            "response header over the cut",
            format!("/response-headers?x-resp={}", "r".repeat(1500)),
            Vec::new(),
        ),
    ]
}

/// Every fixed case, in order: bytes, text, shapes, controls, limits, secrets, query secrets,
/// responses. Their labels read `fixed <group>: <what>`, e.g. `fixed control: bare CR inside`.
/// `redacted_extra` and `query_extra` are the configured names beyond the always-redacted ones.
pub fn cases(secrets: &Secrets, redacted_extra: &[String], query_extra: &[String]) -> Vec<Case> {
    let groups = [
        ("bytes", byte_cases()),
        ("text", text_cases()),
        ("shape", shape_cases()),
        (CONTROL_GROUP, control_cases()),
        ("limit", limit_cases()),
        ("secret", secret_cases(secrets, redacted_extra)),
        ("query", query_cases(secrets, query_extra)),
        ("response", response_cases()),
    ];
    let mut all = Vec::new();
    for (group, cases) in groups {
        all.extend(cases.into_iter().map(|mut case| {
            case.label = format!("fixed {group}: {}", case.label);
            case
        }));
    }
    all
}

/// The group of the control-character and line-break cases.
pub const CONTROL_GROUP: &str = "control";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_once_and_secrets_never_literal_before_the_query() {
        let secrets = Secrets::fixed("S3cr3tTEST");
        let all = cases(
            &secrets,
            &["x-api-key".to_string()],
            &["session_id".to_string()],
        );
        assert_eq!(
            all.iter()
                .filter(|c| c.label.starts_with("fixed bytes: byte 0x"))
                .count(),
            256
        );
        for case in &all {
            let path = String::from_utf8_lossy(&case.path);
            let before_query = path.split('?').next().unwrap_or_default();
            assert!(!before_query.contains("S3cr3t"), "{}: {path}", case.label);
        }
        let query_secrets = all
            .iter()
            .filter(|c| String::from_utf8_lossy(&c.path).contains("S3cr3tTEST"))
            .count();
        assert!(query_secrets >= 8, "{query_secrets}");
        let secret_headers = all
            .iter()
            .flat_map(|c| &c.headers)
            .filter(|h| String::from_utf8_lossy(&h.value).contains("S3cr3tTEST"))
            .count();
        assert!(secret_headers >= 9, "{secret_headers}");
    }
}
