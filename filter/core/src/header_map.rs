//! Zero-copy reading of the header map the host serializes for `proxy_get_header_map_pairs`.
//!
//! Format (all integers little-endian `u32`):
//!
//! ```text
//! count
//! count × (name length, value length)
//! count × (name bytes, NUL, value bytes, NUL)
//! ```
//!
//! [`HeaderMap::parse`] checks the whole buffer once (sizes, terminators, exact length) and never
//! panics; the map then iterates over `(name, value)` slices borrowed from the buffer, with no
//! allocation. An empty buffer is an empty map.

/// Why a serialized header map was rejected; `logline::malformed_map` words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapError {
    /// Byte offset where the buffer stopped making sense.
    pub offset: usize,
    pub problem: &'static str,
}

/// A checked, borrowed serialized header map: an iterator over its `(name, value)` pairs in the
/// host's order.
#[derive(Debug, Clone)]
pub struct HeaderMap<'a> {
    /// The size table of the pairs not yet read: 8 bytes each.
    sizes: &'a [u8],
    /// Their names and values with their NUL terminators.
    data: &'a [u8],
}

fn read_u32(buf: &[u8], at: usize) -> Option<usize> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    let array: [u8; 4] = bytes.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(array)).ok()
}

impl<'a> HeaderMap<'a> {
    /// Checks `buf` and returns a view of it.
    pub fn parse(buf: &'a [u8]) -> Result<HeaderMap<'a>, MapError> {
        let fail = |offset, problem| Err(MapError { offset, problem });
        if buf.is_empty() {
            return Ok(HeaderMap {
                sizes: &[],
                data: &[],
            });
        }
        let Some(count) = read_u32(buf, 0) else {
            return fail(0, "shorter than its 4-byte entry count");
        };
        let table_end = count
            .checked_mul(8)
            .and_then(|n| n.checked_add(4))
            .filter(|&end| end <= buf.len());
        let Some(table_end) = table_end else {
            return fail(0, "entry count larger than the buffer allows");
        };
        let sizes = buf.get(4..table_end).unwrap_or_default();
        let data = buf.get(table_end..).unwrap_or_default();
        let mut at = 0usize;
        for pair in sizes.chunks_exact(8) {
            for half in [0, 4] {
                let len = read_u32(pair, half).unwrap_or(usize::MAX);
                let end = at.checked_add(len).filter(|&end| end < data.len());
                let Some(end) = end else {
                    return fail(table_end + at, "a name or value runs past the end");
                };
                if data.get(end) != Some(&0) {
                    return fail(table_end + end, "a name or value is not followed by NUL");
                }
                at = end + 1;
            }
        }
        if at != data.len() {
            return fail(table_end + at, "bytes after the last entry");
        }
        Ok(HeaderMap { sizes, data })
    }

    /// Takes `len` bytes and the NUL after them from the front of `data`.
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(..len)?;
        self.data = self.data.get(len.checked_add(1)?..)?;
        Some(bytes)
    }
}

impl<'a> Iterator for HeaderMap<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let name_len = read_u32(self.sizes, 0)?;
        let value_len = read_u32(self.sizes, 4)?;
        self.sizes = self.sizes.get(8..)?;
        let name = self.take(name_len)?;
        let value = self.take(value_len)?;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.sizes.len() / 8;
        (n, Some(n))
    }
}

impl ExactSizeIterator for HeaderMap<'_> {}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    static SERIALIZED_MAP: &[u8] = &[
        // num entries
        4, 0, 0, 0,
        // len (":method", "GET")
        7, 0, 0, 0, 3, 0, 0, 0,
        // len (":path", "/bytes/1")
        5, 0, 0, 0, 8, 0, 0, 0,
        // len ("x-bin", "\xff\xfe")
        5, 0, 0, 0, 2, 0, 0, 0,
        // len ("x-empty", "")
        7, 0, 0, 0, 0, 0, 0, 0,
        // ":method"
        58, 109, 101, 116, 104, 111, 100, 0,
        // "GET"
        71, 69, 84, 0,
        // ":path"
        58, 112, 97, 116, 104, 0,
        // "/bytes/1"
        47, 98, 121, 116, 101, 115, 47, 49, 0,
        // "x-bin"
        120, 45, 98, 105, 110, 0,
        // "\xff\xfe" (not UTF-8)
        0xff, 0xfe, 0,
        // "x-empty"
        120, 45, 101, 109, 112, 116, 121, 0,
        // ""
        0,
    ];

    const PAIRS: [(&[u8], &[u8]); 4] = [
        (b":method", b"GET"),
        (b":path", b"/bytes/1"),
        (b"x-bin", b"\xff\xfe"),
        (b"x-empty", b""),
    ];

    /// Serializes like the host does, to build fixtures.
    fn serialize(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = (pairs.len() as u32).to_le_bytes().to_vec();
        for (name, value) in pairs {
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        }
        for (name, value) in pairs {
            out.extend_from_slice(name);
            out.push(0);
            out.extend_from_slice(value);
            out.push(0);
        }
        out
    }

    #[test]
    fn reads_the_fixture() {
        let map = HeaderMap::parse(SERIALIZED_MAP).unwrap();
        assert_eq!(map.len(), 4);
        assert_eq!(map.collect::<Vec<_>>(), PAIRS);
        assert_eq!(serialize(&PAIRS), SERIALIZED_MAP);
    }

    #[test]
    fn pairs_borrow_from_the_buffer() {
        let map = HeaderMap::parse(SERIALIZED_MAP).unwrap();
        let range = SERIALIZED_MAP.as_ptr_range();
        for (name, value) in map {
            assert!(range.contains(&name.as_ptr()) && range.contains(&value.as_ptr()));
        }
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(HeaderMap::parse(&[]).unwrap().len(), 0);
        let mut zero = HeaderMap::parse(&[0, 0, 0, 0]).unwrap();
        assert_eq!((zero.len(), zero.next()), (0, None));
    }

    #[test]
    fn every_truncation_is_rejected() {
        for end in 1..SERIALIZED_MAP.len() {
            let cut = SERIALIZED_MAP.get(..end).unwrap();
            assert!(
                HeaderMap::parse(cut).is_err(),
                "prefix of {end} bytes accepted"
            );
        }
    }

    #[test]
    fn hostile_buffers_are_rejected() {
        let mut extra = SERIALIZED_MAP.to_vec();
        extra.push(0);
        assert_eq!(
            HeaderMap::parse(&extra).unwrap_err().offset,
            SERIALIZED_MAP.len()
        );

        // Count far beyond the buffer (would overflow a naive `4 + count * 8` on 32 bits).
        let huge = [0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 1, 0, 0, 0];
        assert_eq!(HeaderMap::parse(&huge).unwrap_err().offset, 0);

        // A length that points past the end, and one near usize::MAX on 32 bits.
        let mut long = serialize(&[(b"a", b"b")]);
        long[4] = 200;
        assert!(HeaderMap::parse(&long).is_err());
        let mut max = serialize(&[(b"a", b"b")]);
        max[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(HeaderMap::parse(&max).is_err());

        // Missing NUL terminators.
        let mut no_nul = serialize(&[(b"a", b"b")]);
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert!(HeaderMap::parse(&no_nul).is_err());
        let mut no_nul = serialize(&[(b"a", b"b")]);
        no_nul[13] = b'x'; // the NUL after the name
        assert!(HeaderMap::parse(&no_nul).is_err());
    }

    #[test]
    fn every_byte_flip_is_handled() {
        // No input makes it panic; whatever it accepts iterates to exactly len() entries.
        for at in 0..SERIALIZED_MAP.len() {
            for value in [0u8, 1, 7, 0x7f, 0x80, 0xff] {
                let mut buf = SERIALIZED_MAP.to_vec();
                buf[at] = value;
                if let Ok(map) = HeaderMap::parse(&buf) {
                    assert_eq!(map.clone().count(), map.len());
                }
            }
        }
    }

    #[test]
    fn values_may_hold_nul_if_sizes_say_so() {
        let buf = serialize(&[(b"a", b"x\0y")]);
        let map = HeaderMap::parse(&buf).unwrap();
        assert_eq!(map.collect::<Vec<_>>(), [(&b"a"[..], &b"x\0y"[..])]);
    }

    #[test]
    fn many_entries_round_trip() {
        let names: Vec<Vec<u8>> = (0..300).map(|i| format!("h{i}").into_bytes()).collect();
        let pairs: Vec<(&[u8], &[u8])> = names.iter().map(|n| (&n[..], &n[1..])).collect();
        let buf = serialize(&pairs);
        assert_eq!(HeaderMap::parse(&buf).unwrap().collect::<Vec<_>>(), pairs);
    }
}
