//! The fixed cases: every byte in a value, what the internet sends (non-UTF-8, Unicode
//! controls, tabs, empty and repeated headers, odd case), control characters and CR/LF,
//! values and requests at Envoy's limits, secrets in request and response headers.

use super::case::{Case, percent_encode_all};
use super::header::Header;
use super::secrets::Secrets;
use super::{ALWAYS_REDACTED_QUERY, CREDENTIAL_HEADERS};

/// A forged filter line, as a header would carry it after a line break.
pub const FORGED_LINE: &str = "[2026-11-23 20:50:09.226][1][info][wasm] [source/extensions/common/wasm/context.cc:1151] \
     wasm log http-headers http-headers-root http-headers-vm: request header --> x-hostile-forged: 1";

/// The group of the control-character and line-break cases.
pub const CONTROL_GROUP: &str = "control";

/// One request per byte 0x00–0xFF, each with the value `a<byte>b` in `x-byte`, labelled
/// `byte 0x85`.
pub fn byte_cases() -> Vec<Case> {
    (0..=0xFFu8)
        .map(|b| one(&format!("byte 0x{b:02x}"), "x-byte", vec![b'a', b, b'b']))
        .collect()
}

fn one(label: &str, name: &str, value: impl Into<Vec<u8>>) -> Case {
    Case::new(label, "/headers", vec![Header::new(name, value)])
}

/// `(label, value)` pairs, the values text or bytes.
type Values<'a> = [(&'a str, &'a dyn AsRef<[u8]>)];

/// One case per `(label, value)`, each sending the value in header `name`.
fn values(name: &str, list: &Values) -> Vec<Case> {
    list.iter()
        .map(|(label, v)| one(label, name, v.as_ref()))
        .collect()
}

/// A `GET /headers` with these headers, `(name, value)`.
fn headers<'a>(label: &str, list: impl IntoIterator<Item = (&'a str, impl Into<Vec<u8>>)>) -> Case {
    let headers = list.into_iter().map(|(n, v)| Header::new(n, v)).collect();
    Case::new(label, "/headers", headers)
}

/// A `GET target` without headers.
fn get(label: &str, target: impl Into<Vec<u8>>) -> Case {
    Case::new(label, target, Vec::new())
}

/// A `GET /headers` with `sent`, whose line breaks make other header lines: Envoy passes on
/// `passed` (given, as the model does not follow them).
fn made_lines(label: &str, sent: &[(&str, &str)], passed: &[(&str, &str)]) -> Case {
    let passed = passed.iter().map(|&(n, v)| (n.into(), v.into()));
    Case {
        passed_on: Some(passed.collect()),
        ..headers(label, sent.iter().copied())
    }
}

/// Non-UTF-8 values, Unicode that reorders or splits text, escape look-alikes.
fn text_cases() -> Vec<Case> {
    let all_high: Vec<u8> = (0x80..=0xFFu8).collect();
    let bytes: &Values = &[
        ("non-utf8 ff fe", b"\xff\xfe"),
        ("non-utf8 every byte 0x80-0xff", &all_high),
        ("non-utf8 lone continuation", b"a\x80b\xbf"),
        ("non-utf8 overlong slash", b"\xc0\xaf\xe0\x80\xaf"),
        ("non-utf8 surrogate", b"\xed\xa0\x80\xed\xbf\xbf"),
        ("non-utf8 truncated emoji", b"\xf0\x9f\x98"),
        ("non-utf8 above U+10FFFF", b"\xf4\x90\x80\x80\xf5\xff"),
        ("non-utf8 latin-1", b"caf\xe9 na\xefve"),
    ];
    let neighbours =
        "\u{A0}\u{61B}\u{61D}\u{200B}\u{200D}\u{2027}\u{202F}\u{2065}\u{206A}\u{FEFF}\u{FFFD}";
    let marks = "\u{2066}a\u{2067}b\u{2068}c\u{2069}\u{200E}\u{200F}\u{061C}";
    let text: &Values = &[
        ("utf8 text", &"héllo wörld ✓ 𝄞 日本 😀"),
        ("utf8 C1 controls", &"\u{80}\u{85}\u{9B}[31m\u{9F}"),
        ("utf8 bidi override", &"user\u{202E}gpj.exe\u{202C}"),
        ("utf8 bidi isolates and marks", &marks),
        ("utf8 line and paragraph separators", &"a\u{2028}b\u{2029}c"),
        ("utf8 neighbours of escaped ranges", &neighbours),
        ("escape look-alikes", br"\x41 \u{0085} \n \\ \t \"),
        ("redacted look-alike", b"[redacted]"),
        ("truncated look-alike", b"abc ... [truncated: 3 of 9 bytes]"),
        ("forged line without a break", &FORGED_LINE),
        ("ansi escape as text", br"\e[2J\033[31m"),
    ];
    [values("x-bytes", bytes), values("x-text", text)].concat()
}

/// Tabs, spaces, empty values, repeated headers, names in odd case, the headers Envoy and the
/// filter care about.
fn shape_cases() -> Vec<Case> {
    let mut bare = Header::new("x-bare", "");
    bare.separator = b":".to_vec();
    let mut tabbed = Header::new("x-tabbed", "value");
    tabbed.separator = b":\t".to_vec();
    let tabs: &Values = &[
        ("tab inside", b"a\tb\t\tc"),
        ("tabs and spaces around", b" \t a b \t "),
        ("only tabs", b"\t\t"),
    ];
    let empty = vec![bare, Header::new("x-empty", ""), tabbed];
    let repeated = (0..10).map(|i| Header::new("x-repeat", format!("v{i}")));
    let odd_repeated = [("X-Rep", "1"), ("x-REP", "2"), ("x-rep", "3")];
    let odd_names = [
        ("X-ODD-CASE", "1"),
        ("x-OdD-cAsE-2", "2"),
        ("ACCEPT-language", "en"),
        ("X_Under_Score", "3"),
        ("x-!#$%&'*+.^`|~", "token punctuation"),
    ];
    let others = [
        one("only spaces", "x-space", "     "),
        Case::new("empty values", "/headers", empty),
        Case::new("repeated header", "/headers", repeated.collect()),
        headers("repeated header in odd case", odd_repeated),
        headers("names in odd case", odd_names),
        one("the filter's own header sent by the client", "test", "evil"),
        one(
            "user-agent with raw bytes (also in the access log)",
            "user-agent",
            b"curl/8 \xff\xfe\x85".to_vec(),
        ),
        get("odd path", "/anything/%FF%00/\\/..;/a?q=%0d%0a&x=\\x41"),
        get("long path", format!("/anything/{}", "p".repeat(1500))),
    ];
    [values("x-tab", tabs), others.into()].concat()
}

/// Control characters and line breaks: Envoy refuses most; what it lets through must not
/// break or forge a line.
fn control_cases() -> Vec<Case> {
    let forge = |brk: &str| [brk, FORGED_LINE].concat();
    let message = b"a\r\nrequest header --> x-hostile-forged: 1";
    let ctl: &Values = &[
        ("NUL inside", b"a\x00b"),
        ("NUL at the end", b"ab\x00"),
        ("ESC sequence", b"\x1b[31mred\x1b[0m"),
        ("DEL", b"a\x7f"),
    ];
    let crlf: &Values = &[
        ("bare CR inside", b"a\rb"),
        ("bare CR at the end", b"ab\r"),
        ("bare LF inside", b"a\nb"),
    ];
    let folds: &Values = &[
        ("obs-fold CRLF space", b"a\r\n b"),
        ("obs-fold CRLF tab", b"a\r\n\tb"),
    ];
    let forged: &Values = &[
        ("CR then a forged line", &forge("a\r")),
        ("LF then a forged line", &forge("a\n")),
        ("CRLF then a forged line", &forge("a\r\n")),
        ("obs-fold then a forged line", &forge("a\r\n ")),
        ("CRLF then a forged message", message),
    ];
    // Line breaks that make other header lines: what Envoy passes on is given.
    let made_lines = [
        made_lines(
            "bare LF making a second header line",
            &[("x-crlf", "a\nx-next: b")],
            &[("x-crlf", "a"), ("x-next", "b")],
        ),
        made_lines(
            "bare LF ending the last value",
            &[("x-crlf", "a\n")],
            &[("x-crlf", "a")],
        ),
        made_lines(
            "bare LF, then CRLF: the headers end there",
            &[("x-crlf", "a\n"), ("x-after", "c")],
            &[("x-crlf", "a")],
        ),
    ];
    let names = [
        ("control byte in a name", "x-bad\x01name"),
        ("space in a name", "x bad"),
        ("non-ASCII name", "x-é"),
    ];
    let names = names.map(|(label, name)| one(label, name, "v"));
    let (ctl, crlf) = (values("x-ctl", ctl), values("x-crlf", crlf));
    let (folds, forged) = (values("x-crlf", folds), values("x-forge", forged));
    [ctl, crlf, made_lines.into(), folds, forged, names.into()].concat()
}

/// Values and requests around the log's cut and Envoy's limits: 60 KiB of headers and 100
/// headers per request (the host and connection lines count).
fn limit_cases() -> Vec<Case> {
    let a = |n: usize| "a".repeat(n);
    let invalid = [a(1023).as_bytes(), b"\xe2\x82\xe2\x82"].concat();
    let over = "d".repeat(61 * 1024);
    let long: &Values = &[
        ("value of 1023 bytes", &a(1023)),
        ("value of 1024 bytes", &a(1024)),
        ("value of 1025 bytes", &a(1025)),
        ("2-byte character across the cut", &(a(1023) + "éé")),
        ("3-byte character across the cut", &(a(1022) + "€€")),
        ("4-byte character across the cut", &(a(1021) + "𝄞𝄞")),
        ("invalid UTF-8 across the cut", &invalid),
        ("escapes across the cut", &[0x80; 1100]),
        ("value of 8 KiB (httpbin's limit)", &"b".repeat(8 * 1024)),
        ("value of 59 KiB", &"c".repeat(59 * 1024)),
        ("value of 59 KiB of high bytes", &[0xFF; 59 * 1024]),
        ("value of 61 KiB (over Envoy's 60 KiB)", &over),
    ];
    let (small, large) = ("s".repeat(640), "s".repeat(700));
    let many = [
        ("97 headers (100 with host, connection, id)", 97, "v"),
        ("98 headers (one over Envoy's 100)", 98, "v"),
        ("150 headers", 150, "v"),
        ("many small headers near 60 KiB", 90, &small),
        ("many headers over 60 KiB", 90, &large),
    ];
    let many = many.map(|(label, n, value)| {
        let headers = (0..n).map(|i| Header::new(format!("x-many-{i}"), value));
        Case::new(label, "/headers", headers.collect())
    });
    [values("x-long", long), many.into()].concat()
}

/// Secrets in every redacted header, in odd case, with odd bytes, repeated, over the cut, and
/// in `set-cookie` from httpbin (the secret percent-encoded in the path, decoded in the header).
pub fn secret_cases(secrets: &Secrets, redacted_extra: &[String]) -> Vec<Case> {
    let t = &secrets.token;
    let raw = format!("{t}-raw");
    let raw = [b"\xff\t", raw.as_bytes(), b"\x85\xe2\x80\xae"].concat();
    let long = format!("Bearer {t}-long{}", "x".repeat(3000));
    let authorization: &Values = &[
        ("authorization: Bearer", &format!("Bearer {t}-bearer")),
        ("secret with raw bytes", &raw),
        ("secret longer than the cut", &long),
    ];
    let mut cases = values("authorization", authorization);
    // Issue 17: the credential headers real services use, redacted by the default name rule.
    for (i, name) in CREDENTIAL_HEADERS.iter().enumerate() {
        let label = format!("{name} (default rule)");
        cases.push(one(&label, name, format!("{t}-cred{i}")));
    }
    let basic = format!("Basic {t}-basic");
    let proxy = format!("Bearer {t}-proxy");
    let cookie = format!("session={t}-cookie; theme=dark");
    let cookies = [
        ("Cookie", format!("a={t}-c1")),
        ("COOKIE", format!("b={t}-c2")),
    ];
    let request_cookie = format!("id={t}-req");
    cases.extend([
        one("authorization: Basic, odd case", "AuThOrIzAtIoN", basic),
        one("proxy-authorization", "Proxy-Authorization", proxy),
        one("cookie", "cookie", cookie),
        headers("repeated cookies", cookies),
        one("set-cookie sent in a request", "set-cookie", request_cookie),
    ]);
    for name in redacted_extra {
        let label = format!("configured redacted header {name}");
        cases.push(one(&label, name, format!("{t}-configured")));
    }
    // The secrets percent-encoded in the path: httpbin decodes them into its set-cookie.
    let sid = percent_encode_all(format!("sid={t}-rh1; Path=/; HttpOnly"));
    let other = percent_encode_all(format!("other={t}-rh2"));
    let session = percent_encode_all(format!("{t}-cs"));
    let echoed = format!("/response-headers?set-cookie={sid}&Set-Cookie={other}");
    let set = format!("/cookies/set?{}={session}", percent_encode_all("session"));
    let set_cookie = [
        ("set-cookie from httpbin /response-headers", echoed),
        ("set-cookie from httpbin /cookies/set", set),
    ];
    cases.extend(set_cookie.map(|(label, target)| Case {
        expects_secret_cookie: true,
        ..get(label, target)
    }));
    cases
}

/// Secrets in the query string, literally (Envoy's access log leaves the query out): every
/// always-redacted name and the configured ones, in odd case and percent-encoded, repeated, next
/// to parameters that are logged as sent, straddling and beyond the cut; and malformed queries.
pub fn query_cases(secrets: &Secrets, query_extra: &[String]) -> Vec<Case> {
    let t = &secrets.token;
    let extra = query_extra.iter().map(String::as_str);
    let every = ALWAYS_REDACTED_QUERY.into_iter().chain(extra).enumerate();
    let every = every.map(|(i, name)| format!("{name}={t}-q{i}"));
    let every = format!("/get?keep=1&{}&last=2", every.collect::<Vec<_>>().join("&"));
    let far = (0..400).map(|i| format!("a{i}=1&code={t}-far{i}"));
    let far = format!("/get?{}", far.collect::<Vec<_>>().join("&"));
    let (pad, tail) = ("p".repeat(1000), "z".repeat(100));
    let straddling = format!("/get?pad={pad}&token={t}-cut{tail}");
    let next_to_plain = format!("/headers?access_token={t}-at&keep=1");
    let odd = format!(
        "/get?Access_Token={t}-oc1&%61pi%5Fkey={t}-oc2&X-AMZ-SIGNATURE={t}-oc3&%53ig={t}-oc4"
    );
    let reps = format!("/get?token={t}-r1&token=&token={t}-r2=x?y&&sig={t}-r3");
    let redirect = format!("/get?next=/cb%3Fcode%3D1&code={t}-cb");
    let mut cases = vec![
        get("access_token next to a plain parameter", next_to_plain),
        get("every always-redacted and configured name", every),
        get("names in odd case and percent-encoded", odd),
        get("repeated names, empty values, values with = and ?", reps),
        get("a secret straddling the cut", straddling),
        get("secrets beyond the cut in a very long query", far),
        get("a lone ?", "/get?"),
        get("only separators", "/get?&&=&=&"),
        get("malformed escapes", "/get?%zz=1&%=2&%7=3&token%=4&%%=5"),
        get("a secret name without a value", "/get?token&keep=1"),
        get("a question mark in the path of a redirect target", redirect),
    ];
    for name in query_extra {
        let target = format!("/headers?{name}={t}-configured&keep=1");
        cases.push(get(&format!("configured parameter {name}"), target));
    }
    cases
}

/// Response headers with bytes httpbin can send: Latin-1 (invalid UTF-8 on the wire), a
/// backslash, a tab, a value over the cut.
fn response_cases() -> Vec<Case> {
    let latin1: String = (0x80..=0xFFu32).filter_map(char::from_u32).collect();
    let (latin1, tab) = (percent_encode_all(latin1), percent_encode_all(b"a\\b\tc"));
    let resp = |label: &str, value: &str| get(label, format!("/response-headers?x-resp={}", value));
    vec![
        resp("response header with Latin-1 bytes", &latin1),
        resp("response header with a backslash and a tab", &tab),
        resp("response header over the cut", &"r".repeat(1500)),
    ]
}

/// Issue 17: secrets in URL headers (query, fragment, nested, `refresh`), in a nested URL in the
/// request target, and in a `location` that httpbin answers with.
fn url_cases(secrets: &Secrets) -> Vec<Case> {
    let t = &secrets.token;
    let nested = percent_encode_all(format!("https://app/cb?code={t}-nest"));
    let nested = format!("/get?next={nested}&lang=en");
    let location = percent_encode_all(format!("https://app.example/cb?code={t}-loc&state=z"));
    let location = format!("/response-headers?location={location}");
    let in_location = format!("//h/cb?location=https://x/y?X-Amz-Signature={t}-raw");
    let referer = format!("https://app.example/cb?access_token={t}-ref&x=1");
    let fragment = format!("/cb#access_token={t}-frag1&id_token={t}-frag2&state=z");
    let every = [
        ("content-location", format!("/d?sig={t}-cl")),
        ("refresh", format!("5; url=/cb?token={t}-refresh")),
        ("x-forwarded-uri", format!("/a?key={t}-fu")),
        ("x-rewrite-url", format!("/a?x=1#password={t}-rw")),
        ("location", in_location),
    ];
    vec![
        one("referer with an access token", "referer", referer),
        one("implicit-flow fragment", "x-original-url", fragment),
        headers("every URL header", every),
        get("a nested URL in the target", nested),
        get("a location from httpbin", location),
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
        ("url", url_cases(secrets)),
    ];
    let labelled = groups.into_iter().flat_map(|(group, cases)| {
        cases.into_iter().map(move |mut case| {
            case.label = format!("fixed {group}: {}", case.label);
            case
        })
    });
    labelled.collect()
}

#[cfg(test)]
mod tests;
