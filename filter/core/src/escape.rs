//! Reversible escaping of arbitrary header bytes for log lines, so that no header can forge a line.
//!
//! Header names and values reach the filter as raw bytes: they may hold invalid UTF-8, line breaks,
//! terminal controls or Unicode characters that reorder or split text. [`escape_into`] writes them
//! so that the logged text is one line, shows what was sent, and can be turned back into the exact
//! bytes with [`unescape`]:
//!
//! | bytes sent                                                            | logged as                                 |
//! |-----------------------------------------------------------------------|-------------------------------------------|
//! | `\` (0x5C)                                                            | `\\`                                      |
//! | HTAB (0x09)                                                           | `\t`                                      |
//! | LF (0x0A)                                                             | `\n`                                      |
//! | CR (0x0D)                                                             | `\r`                                      |
//! | any other ASCII control, 0x00–0x1F, and DEL (0x7F)                    | `\xNN`, two lower-case hex digits         |
//! | each byte that is not part of valid UTF-8                             | `\xNN`, two lower-case hex digits         |
//! | C1 controls U+0080–U+009F                                             | `\u{XXXX}`, four upper-case hex digits    |
//! | ALM U+061C, LRM U+200E, RLM U+200F                                    | `\u{XXXX}`                                |
//! | LINE and PARAGRAPH SEPARATOR U+2028, U+2029                           | `\u{XXXX}`                                |
//! | bidi embeddings and overrides U+202A–U+202E                           | `\u{XXXX}`                                |
//! | bidi isolates U+2066–U+2069                                           | `\u{XXXX}`                                |
//! | every other character (printable ASCII, other valid UTF-8)            | itself                                    |
//!
//! The escaped characters above U+007F are exactly Unicode's C1 controls (general category Cc),
//! separators Zl and Zp, and the Bidi_Control property.
//!
//! Since `\` itself is escaped, a backslash in the output always starts one of the escapes above.
//! A `\xNN` with NN below 0x80 stands for an ASCII control byte, at or above 0x80 for a byte of
//! invalid UTF-8; `\u{XXXX}` stands for the UTF-8 encoding of that character.
//!
//! Fast path: a value made only of 0x20–0x7E without `\` (almost every real header) is appended as
//! one slice after a single scan.

use crate::text::push_hex;

/// Appends `bytes` to `out`, escaped as documented in the module table.
pub fn escape_into(out: &mut String, bytes: &[u8]) {
    if is_plain(bytes) {
        // SAFETY: every byte is in 0x20..=0x7E, so the slice is ASCII and therefore valid UTF-8.
        out.push_str(unsafe { core::str::from_utf8_unchecked(bytes) });
        return;
    }
    for chunk in bytes.utf8_chunks() {
        escape_str(out, chunk.valid());
        for &byte in chunk.invalid() {
            push_byte_escape(out, byte);
        }
    }
}

/// Whether every byte is one the fast path passes through unchanged. Eight bytes at a time (a
/// `u64` is one wasm load): this scan is most of what a header line costs the module.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // The high bit of each byte of `v` that is zero (exact when no byte has its high bit set).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut le = [0; 8];
        le.copy_from_slice(word);
        let x = u64::from_le_bytes(le);
        // Any byte >= 0x80, < 0x20, == 0x7F or == `\`.
        let special = x
            | x.wrapping_sub(ONES * 0x20)
            | zero(x ^ (ONES * 0x7F))
            | zero(x ^ (ONES * u64::from(b'\\')));
        if special & HIGH != 0 {
            return false;
        }
    }
    words.remainder().iter().all(|&b| is_plain_ascii(b))
}

/// True for the bytes the fast path passes through unchanged.
#[inline]
fn is_plain_ascii(b: u8) -> bool {
    (0x20..=0x7E).contains(&b) && b != b'\\'
}

/// Escapes valid UTF-8, appending runs of unescaped characters as slices.
fn escape_str(out: &mut String, s: &str) {
    let mut run_start = 0;
    for (at, c) in s.char_indices() {
        let escape = match c {
            '\\' => "\\\\",
            '\t' => "\\t",
            '\n' => "\\n",
            '\r' => "\\r",
            '\0'..='\u{1F}' | '\u{7F}' | '\u{80}'..='\u{9F}' => "",
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' => "",
            '\u{2066}'..='\u{2069}' => "",
            _ => continue,
        };
        out.push_str(s.get(run_start..at).unwrap_or_default());
        run_start = at + c.len_utf8();
        if !escape.is_empty() {
            out.push_str(escape);
        } else if c.is_ascii() {
            push_byte_escape(out, c as u8);
        } else {
            push_char_escape(out, c);
        }
    }
    out.push_str(s.get(run_start..).unwrap_or_default());
}

/// `\xNN`, lower-case.
fn push_byte_escape(out: &mut String, byte: u8) {
    out.push_str("\\x");
    push_hex(out, u32::from(byte), 2, false);
}

/// `\u{XXXX}`, upper-case; only used for characters below U+10000.
fn push_char_escape(out: &mut String, c: char) {
    out.push_str("\\u{");
    push_hex(out, u32::from(c), 4, true);
    out.push('}');
}

/// Why [`unescape`] rejected its input: the byte offset of the bad escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnescapeError {
    /// Byte offset in the escaped text of the `\` that starts the bad escape.
    pub offset: usize,
}

impl core::fmt::Display for UnescapeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid escape at byte {}", self.offset)
    }
}

impl std::error::Error for UnescapeError {}

/// Turns text written by [`escape_into`] back into the original bytes.
pub fn unescape(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        if b != b'\\' {
            out.push(b);
            at += 1;
            continue;
        }
        let bad = UnescapeError { offset: at };
        let rest = bytes.get(at + 1..).unwrap_or_default();
        let consumed = match rest.first() {
            Some(b'\\') => push(&mut out, b'\\'),
            Some(b't') => push(&mut out, b'\t'),
            Some(b'n') => push(&mut out, b'\n'),
            Some(b'r') => push(&mut out, b'\r'),
            Some(b'x') => {
                let value = rest.get(1..3).and_then(parse_hex).ok_or(bad)?;
                out.push(value as u8);
                4
            }
            Some(b'u') => {
                let close = rest.iter().position(|&c| c == b'}').ok_or(bad)?;
                let hex = rest.get(2..close).filter(|_| rest.get(1) == Some(&b'{'));
                let code = hex.and_then(parse_hex).ok_or(bad)?;
                let c = char::from_u32(code).ok_or(bad)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                close + 2
            }
            _ => return Err(bad),
        };
        at += consumed;
    }
    Ok(out)
}

/// Pushes the byte of a two-character escape and returns how much of the text it consumed.
fn push(out: &mut Vec<u8>, b: u8) -> usize {
    out.push(b);
    2
}

fn parse_hex(hex: &[u8]) -> Option<u32> {
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    hex.iter().try_fold(0u32, |acc, &h| {
        let digit = char::from(h).to_digit(16)?;
        Some(acc << 4 | digit)
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_word_scan_agrees_with_the_byte_scan() {
        for len in [0, 1, 7, 8, 9, 16, 17, 24] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let expected = bytes.iter().all(|&b| is_plain_ascii(b));
                    assert_eq!(is_plain(&bytes), expected, "{b:#04x} at {at} of {len}");
                }
            }
        }
        // Each special byte next to every other byte, so that borrows cross byte boundaries.
        for a in 0..=255u8 {
            for b in [0x00, 0x1F, 0x20, 0x5C, 0x7E, 0x7F, 0x80, 0xFF] {
                let bytes = [a, b, b'x', b'y', a, b'z', b, a];
                let expected = bytes.iter().all(|&b| is_plain_ascii(b));
                assert_eq!(is_plain(&bytes), expected, "{bytes:x?}");
            }
        }
    }

    fn esc(bytes: &[u8]) -> String {
        let mut out = String::new();
        escape_into(&mut out, bytes);
        out
    }

    #[test]
    fn plain_ascii_passes_through() {
        assert_eq!(esc(b"application/json; q=0.9"), "application/json; q=0.9");
        assert_eq!(esc(b""), "");
        assert_eq!(esc(b" ~"), " ~");
    }

    #[test]
    fn appends_without_clearing() {
        let mut out = String::from("x=");
        escape_into(&mut out, b"a\nb");
        assert_eq!(out, "x=a\\nb");
    }

    #[test]
    fn table_entries() {
        assert_eq!(esc(b"a\\b"), "a\\\\b");
        assert_eq!(esc(b"\t\n\r"), "\\t\\n\\r");
        assert_eq!(esc(b"\x00\x01\x1b\x1f\x7f"), "\\x00\\x01\\x1b\\x1f\\x7f");
        assert_eq!(esc(b"\xff\xfe"), "\\xff\\xfe");
        assert_eq!(esc("\u{85}".as_bytes()), "\\u{0085}");
        assert_eq!(esc("\u{9F}".as_bytes()), "\\u{009F}");
        assert_eq!(
            esc("\u{200E}\u{200F}\u{2028}\u{2029}".as_bytes()),
            "\\u{200E}\\u{200F}\\u{2028}\\u{2029}"
        );
        assert_eq!(
            esc("\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}".as_bytes()),
            "\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{202E}"
        );
        assert_eq!(
            esc("\u{2066}\u{2067}\u{2068}\u{2069}".as_bytes()),
            "\\u{2066}\\u{2067}\\u{2068}\\u{2069}"
        );
    }

    #[test]
    fn every_bidi_control_is_escaped() {
        // Unicode's Bidi_Control property (PropList.txt): ALM, LRM, RLM, the embeddings and
        // overrides, the isolates.
        let bidi_controls = ['\u{061C}', '\u{200E}', '\u{200F}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}');
        for c in bidi_controls {
            let expected = format!("a\\u{{{:04X}}}b", u32::from(c));
            assert_eq!(
                esc(format!("a{c}b").as_bytes()),
                expected,
                "U+{:04X}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn other_unicode_passes_through() {
        assert_eq!(
            esc("héllo wörld ✓ 𝄞 日本".as_bytes()),
            "héllo wörld ✓ 𝄞 日本"
        );
        // Neighbours of the escaped ranges stay as they are.
        assert_eq!(
            esc("\u{A0}\u{61B}\u{61D}\u{200D}\u{2027}\u{202F}\u{2065}\u{206A}".as_bytes()),
            "\u{A0}\u{61B}\u{61D}\u{200D}\u{2027}\u{202F}\u{2065}\u{206A}"
        );
    }

    #[test]
    fn mixed_valid_and_invalid_utf8() {
        // "é" valid, then a lone lead byte, then a truncated 3-byte sequence, then "ok".
        assert_eq!(esc(b"\xc3\xa9\xc3(\xe2\x82ok"), "é\\xc3(\\xe2\\x82ok");
        // Overlong encodings and surrogates are invalid UTF-8: every byte is escaped.
        assert_eq!(esc(b"\xc0\xaf"), "\\xc0\\xaf");
        assert_eq!(esc(b"\xed\xa0\x80"), "\\xed\\xa0\\x80");
    }

    #[test]
    fn forged_log_line_stays_on_one_line() {
        let hostile = b"x\r\nrequest header --> authorization: secret";
        let out = esc(hostile);
        assert!(!out.contains('\n') && !out.contains('\r'));
        assert_eq!(out, "x\\r\\nrequest header --> authorization: secret");
    }

    #[test]
    fn round_trips_every_byte_and_pair() {
        for a in 0..=255u8 {
            let one = [a];
            assert_eq!(unescape(&esc(&one)).unwrap(), one);
            for b in 0..=255u8 {
                let two = [a, b, b'\\', a];
                assert_eq!(unescape(&esc(&two)).unwrap(), two, "{two:?}");
            }
        }
    }

    #[test]
    fn round_trips_unicode_samples() {
        for s in [
            "\u{80}\u{9F}",
            "a\u{2028}b\u{202E}c\u{2069}",
            "\\u{0085}",
            "\\x41",
            "𝄞\u{1F600}",
        ] {
            assert_eq!(unescape(&esc(s.as_bytes())).unwrap(), s.as_bytes());
        }
    }

    #[test]
    fn output_never_holds_controls() {
        let mut all = Vec::new();
        for b in 0..=255u8 {
            all.push(b);
        }
        all.extend_from_slice("\u{85}\u{2028}\u{202E}".as_bytes());
        let out = esc(&all);
        assert!(out.chars().all(|c| !c.is_control()));
        assert!(!out.contains(['\u{2028}', '\u{2029}', '\u{202E}']));
        assert_eq!(unescape(&out).unwrap(), all);
    }

    #[test]
    fn unescape_rejects_bad_escapes() {
        for bad in [
            "\\",
            "\\q",
            "\\x4",
            "\\xzz",
            "\\u{",
            "\\u{}",
            "\\u0041",
            "\\u{D800}",
            "\\u{1100000}",
        ] {
            assert!(unescape(bad).is_err(), "{bad}");
        }
        assert_eq!(unescape("ab\\q"), Err(UnescapeError { offset: 2 }));
    }
}
