//! Numbers and messages appended to a `String` without `core::fmt`.
//!
//! `format!`, `write!` and `to_string()` each pull formatting machinery into the wasm module
//! (see the crate notes on module size); the filter builds its log lines and error messages with
//! these instead. Nothing here allocates beyond growing `out`.

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, n: usize) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Appends the low `digits` nibbles of `n` in hex, most significant first, upper- or lower-case.
pub fn push_hex(out: &mut String, n: u32, digits: u32, upper: bool) {
    let table = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    for i in (0..digits).rev() {
        let nibble = n.checked_shr(4 * i).unwrap_or(0) & 0xF;
        out.push(char::from(
            table.get(nibble as usize).copied().unwrap_or(b'0'),
        ));
    }
}

/// Appends what follows a cut text: ` ... [truncated: <shown> of <total> bytes]`.
pub fn push_truncated(out: &mut String, shown: usize, total: usize) {
    out.push_str(" ... [truncated: ");
    push_decimal(out, shown);
    out.push_str(" of ");
    push_decimal(out, total);
    out.push_str(" bytes]");
}

/// Most bytes of a name or value from the configuration that an error message quotes.
pub const QUOTED_MAX_BYTES: usize = 64;

/// The part of `text` an error message quotes: all of it, or its first [`QUOTED_MAX_BYTES`]
/// moved back to a character boundary.
pub fn quoted_part(text: &str) -> &str {
    let mut end = text.len().min(QUOTED_MAX_BYTES);
    // Back over UTF-8 continuation bytes (0b10xx_xxxx) to the start of the straddling character.
    while text.as_bytes().get(end).is_some_and(|&b| b & 0xC0 == 0x80) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Length of the character `bytes` starts with: 1 if they don't start with valid UTF-8.
pub fn char_len(bytes: &[u8]) -> usize {
    let len = match bytes.first() {
        Some(0xC2..=0xDF) => 2,
        Some(0xE0..=0xEF) => 3,
        Some(0xF0..=0xF4) => 4,
        _ => return 1,
    };
    match bytes.get(..len).map(core::str::from_utf8) {
        Some(Ok(_)) => len,
        _ => 1,
    }
}

/// The concatenation of `parts`.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal() {
        for (n, text) in [
            (0, "0"),
            (7, "7"),
            (10, "10"),
            (u32::MAX as usize, "4294967295"),
        ] {
            let mut out = String::from(">");
            push_decimal(&mut out, n);
            assert_eq!(out, format!(">{text}"), "EXPECTED >{text} GOT {out}");
        }
    }

    #[test]
    fn hex() {
        let mut out = String::new();
        push_hex(&mut out, 0xab, 2, false);
        push_hex(&mut out, 0x202e, 4, true);
        push_hex(&mut out, 0x7, 4, true);
        assert_eq!(out, "ab202E0007");
    }

    #[test]
    fn truncated_notice() {
        let mut out = String::from("abc");
        push_truncated(&mut out, 3, 1_000_000);
        assert_eq!(out, "abc ... [truncated: 3 of 1000000 bytes]");
    }

    #[test]
    fn quoted_part_keeps_characters_whole() {
        assert_eq!(quoted_part("short"), "short");
        let exact = "a".repeat(QUOTED_MAX_BYTES);
        assert_eq!(quoted_part(&exact), exact);
        assert_eq!(quoted_part(&format!("{exact}b")), exact);
        // 63 bytes, then a 2-byte character that would straddle the cut.
        let straddling = format!("{}é", "a".repeat(QUOTED_MAX_BYTES - 1));
        assert_eq!(quoted_part(&straddling).len(), QUOTED_MAX_BYTES - 1);
    }

    #[test]
    fn concatenation() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
        assert_eq!(concat(&[]), "");
    }
}
