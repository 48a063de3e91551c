use super::*;
use proptest::prelude::*;

#[test]
fn the_table() {
    assert_eq!(escape(b"plain text ~"), "plain text ~");
    assert_eq!(escape(b"a\\b\t\n\r"), "a\\\\b\\t\\n\\r");
    assert_eq!(escape(b"\x00\x1b\x1f\x7f"), "\\x00\\x1b\\x1f\\x7f");
    assert_eq!(escape(b"\xff\xfe\xc0\xaf"), "\\xff\\xfe\\xc0\\xaf");
    assert_eq!(escape(b"\xed\xa0\x80"), "\\xed\\xa0\\x80");
    assert_eq!(
        escape("\u{85}\u{202E}\u{2069}".as_bytes()),
        "\\u{0085}\\u{202E}\\u{2069}"
    );
    assert_eq!(
        escape("é€𝄞\u{A0}\u{200D}\u{FEFF}".as_bytes()),
        "é€𝄞\u{A0}\u{200D}\u{FEFF}"
    );
    assert_eq!(escape(b"\xe2\x82ok"), "\\xe2\\x82ok");
}

#[test]
fn every_bidi_control_is_escaped_and_unsafe() {
    let bidi: Vec<char> = unicode_set(r"\p{Bidi_Control}")
        .into_iter()
        .flat_map(|(first, last)| first..=last)
        .collect();
    assert!(
        bidi.contains(&'\u{061C}') && bidi.contains(&'\u{2069}'),
        "{bidi:?}"
    );
    for c in bidi {
        let text = c.to_string();
        assert_eq!(escape(text.as_bytes()), format!("\\u{{{:04X}}}", c as u32));
        assert_eq!(unsafe_char(&text), Some((0, c)));
    }
}

#[test]
fn envoy_normalisation() {
    assert_eq!(envoy_value(b" \t a b \t"), b"a b");
    assert_eq!(envoy_value(b"a\rb\r"), b"ab");
    assert_eq!(envoy_value(b" \r a"), b"a");
    assert_eq!(envoy_value(b"a\r\n b"), b"a b");
    assert_eq!(envoy_value(b"a\r\n\tb"), b"a\tb");
    assert_eq!(envoy_value(b"\t\t"), b"");
    assert_eq!(envoy_value(b"\xff "), b"\xff");
}

#[test]
fn envoy_joins_inline_headers() {
    let h = |n: &str, v: &str| (n.to_string(), v.as_bytes().to_vec());
    let sent = [
        Header::new("accept", "one"),
        Header::new("x-a", "1"),
        Header::new("Accept", " "),
        Header::new("cookie", "a"),
        Header::new("accept", "two "),
        Header::new("cookie", "b"),
        Header::new("pragma", ""),
        Header::new("PRAGMA", "p"),
    ];
    assert_eq!(
        envoy_headers(&sent),
        [
            h("accept", "one,two"),
            h("x-a", "1"),
            h("cookie", "a"),
            h("cookie", "b"),
            h("pragma", "p")
        ]
    );
}

#[test]
fn the_cut() {
    assert_eq!(expected_logged(b"abcdef", 6), "abcdef");
    assert_eq!(
        expected_logged(b"abcdefg", 6),
        "abcdef ... [truncated: 6 of 7 bytes]"
    );
    assert_eq!(
        expected_logged("a€b".as_bytes(), 3),
        "a ... [truncated: 1 of 5 bytes]"
    );
    assert_eq!(
        expected_logged("𝄞𝄞".as_bytes(), 7),
        "𝄞 ... [truncated: 4 of 8 bytes]"
    );
    assert_eq!(
        expected_logged(b"a\xc3\xc3\xc3", 2),
        "a\\xc3 ... [truncated: 2 of 4 bytes]"
    );
    assert_eq!(
        expected_logged(b"\n\n\n", 1),
        "\\n ... [truncated: 1 of 3 bytes]"
    );
}

#[test]
fn the_query_redaction() {
    let secret = ["access_token".to_string(), "x-amz-signature".to_string()];
    let t = |target: &[u8], max: usize| expected_target(target, max, &secret);
    assert_eq!(
        t(b"/a?access_token=s&keep=1", 100),
        "/a?access_token=[redacted]&keep=1"
    );
    assert_eq!(
        t(b"/a?X-Amz-Signature=s", 100),
        "/a?X-Amz-Signature=[redacted]"
    );
    assert_eq!(
        t(b"/a?%61ccess%5Ftoken=s", 100),
        "/a?%61ccess%5Ftoken=[redacted]"
    );
    assert_eq!(t(b"/a?access_token", 100), "/a?access_token");
    assert_eq!(t(b"/a?&&=&%zz=1", 100), "/a?&&=&%zz=1");
    assert_eq!(t(b"/a\\b?x=\xff", 100), "/a\\\\b?x=\\xff");
    assert_eq!(
        t(b"/a?access_token=secret", 18),
        "/a?access_token=[redacted] ... [truncated: 18 of 22 bytes]"
    );
    assert_eq!(
        t(b"/a?access_token=secret", 8),
        "/a?acces ... [truncated: 8 of 22 bytes]"
    );
    // Fragments, absolute URLs, a secret value over `#` and `?`, nested URLs.
    assert_eq!(
        t(b"https://app/cb#access_token=s&state=z", 100),
        "https://app/cb#access_token=[redacted]&state=z"
    );
    assert_eq!(
        t(b"/cb?a=1#access_token=s#x?y&b=2", 100),
        "/cb?a=1#access_token=[redacted]&b=2"
    );
    assert_eq!(
        t(
            b"/l?next=https%3A%2F%2Fapp%2Fcb%3Faccess_token%3Ds&x=1",
            100
        ),
        "/l?next=[redacted]&x=1"
    );
    assert_eq!(
        t(b"/l?location=https://x/y?X-Amz-Signature=s", 100),
        "/l?location=https://x/y?X-Amz-Signature=[redacted]"
    );
    assert_eq!(t(b"/l?next=%2Fcb%3Fa%3D1", 100), "/l?next=%2Fcb%3Fa%3D1");
    assert_eq!(
        t(b"0;url=/cb?access_token=s", 100),
        "0;url=/cb?access_token=[redacted]"
    );
}

#[test]
fn unsafe_chars_are_found() {
    assert_eq!(unsafe_char("ok \\x00 é"), None);
    assert_eq!(unsafe_char("a\rb"), Some((1, '\r')));
    assert_eq!(unsafe_char("a\u{2028}"), Some((1, '\u{2028}')));
    assert_eq!(unsafe_char("\u{85}"), Some((0, '\u{85}')));
}

/// The filter and the reference write every character the same way.
#[test]
fn reference_matches_the_filter_on_every_character() {
    let (mut theirs, mut buf) = (String::new(), [0; 4]);
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        theirs.clear();
        filter_core::escape::escape_into(&mut theirs, bytes);
        assert_eq!(escape(bytes), theirs, "U+{:04X}", c as u32);
    }
}

proptest! {
    /// The units of any bytes are the bytes again, and each `Err` is a byte std finds
    /// outside valid UTF-8.
    #[test]
    fn units_are_the_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
        let (mut again, mut invalid) = (Vec::new(), Vec::new());
        for unit in units(&bytes) {
            match unit {
                Ok(c) => again.extend_from_slice(c.to_string().as_bytes()),
                Err(b) => { again.push(b); invalid.push(b); }
            }
        }
        let std_invalid: Vec<u8> = bytes.utf8_chunks().flat_map(|c| c.invalid().to_vec()).collect();
        prop_assert_eq!(again, bytes);
        prop_assert_eq!(invalid, std_invalid);
    }

    /// The reference's request target agrees with the filter's `:path` line, for targets
    /// made of the bytes that matter: separators, escapes, case, secret names, any byte.
    #[test]
    fn target_reference_matches_the_filter(
        pieces in proptest::collection::vec(
            proptest::sample::select(vec![
                &b"?"[..], b"&", b"=", b"%", b"%7", b"%74", b"%5F", b"+", b"token", b"TOKEN",
                b"access_token", b"sig", b"s3cr3t", b"\xff", b"\n", b"\\", b"/", b"a",
                b"#", b"%3F", b"%3D", b"%26", b"%23", b"%253D", b"https://", b"code",
            ]),
            0..16,
        ),
        max in 1usize..64,
    ) {
        let target: Vec<u8> = pieces.concat();
        let config = filter_core::PluginConfig {
            max_logged_value_bytes: max,
            ..filter_core::PluginConfig::default()
        };
        let mut line = String::new();
        filter_core::logline::request_header(&mut line, b":path", &target, &config);
        let theirs = line.strip_prefix("request header --> :path: ").unwrap_or(&line);
        let ours = expected_target(&target, max, &config.redact_query_params);
        prop_assert_eq!(ours, theirs);
    }

    /// The reference agrees with the filter's escaping, and the filter's unescape
    /// inverts it: the table is implemented twice, the same way.
    #[test]
    fn reference_matches_the_filter(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut theirs = String::new();
        filter_core::escape::escape_into(&mut theirs, &bytes);
        prop_assert_eq!(&escape(&bytes), &theirs);
        prop_assert_eq!(filter_core::escape::unescape(&theirs).unwrap(), bytes);
        prop_assert_eq!(unsafe_char(&theirs), None);
    }
}
