//! The run's secret: a random token, new for every run (not derived from the seed), that
//! every secret value the suite sends contains. If the token appears anywhere in Envoy's log,
//! a secret leaked.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// Letters and digits: a token looks the same raw and escaped, so one search finds both.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// The token and the secrets made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// 24 random letters and digits, prefixed `S3cr3t` so that a leak is recognisable.
    pub token: String,
}

impl Secrets {
    /// A fresh random token (the OS's hash keys, the clock and the process id).
    pub fn random() -> Secrets {
        let mut token = String::from("S3cr3t");
        for round in 0..4u64 {
            let mut hasher = RandomState::new().build_hasher();
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            hasher.write_u128(nanos);
            hasher.write_u32(std::process::id());
            hasher.write_u64(round);
            let mut bits = hasher.finish();
            for _ in 0..6 {
                token.push(char::from(
                    ALPHABET[(bits % ALPHABET.len() as u64) as usize],
                ));
                bits /= ALPHABET.len() as u64;
            }
        }
        Secrets { token }
    }

    /// A fixed token, for tests of the checks.
    pub fn fixed(token: &str) -> Secrets {
        Secrets {
            token: token.to_string(),
        }
    }

    /// A secret value: the token followed by `suffix` (which makes each secret distinct).
    pub fn secret(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.token)
    }

    /// Where the token occurs in `log` (byte offsets), at most `max` of them.
    pub fn find_in(&self, log: &[u8], max: usize) -> Vec<usize> {
        if self.token.is_empty() {
            return Vec::new();
        }
        memchr::memmem::find_iter(log, &self.token)
            .take(max)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_plain() {
        let (a, b) = (Secrets::random(), Secrets::random());
        assert_ne!(a.token, b.token);
        assert_eq!(a.token.len(), 30);
        assert!(a.token.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn finds_a_leak() {
        let s = Secrets::fixed("S3cr3tXYZ");
        let log = b"ok\nauthorization: Bearer S3cr3tXYZ-1\nS3cr3tXY\n";
        assert_eq!(s.find_in(log, 10), vec![25]);
        assert!(s.find_in(b"S3cr3tXY", 10).is_empty());
    }
}
