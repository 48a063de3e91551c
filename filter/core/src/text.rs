//! Numbers and messages appended to a `String` without `core::fmt`.
//!
//! `format!`, `write!` and `to_string()` each pull formatting machinery into the wasm module
//! (see the crate notes on module size); the filter builds its log lines and error messages with
//! these instead. Nothing here allocates beyond growing `out`.

/// Appends `n` in decimal.
pub fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    for &d in digits.get(at..).unwrap_or_default() {
        out.push(char::from(d));
    }
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
    fn concatenation() {
        assert_eq!(concat(&["a", "", "bc"]), "abc");
        assert_eq!(concat(&[]), "");
    }
}
