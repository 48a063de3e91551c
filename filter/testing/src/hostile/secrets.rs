//! The run's secret: a random token, new for every run (not derived from the seed), that
//! every secret value the suite sends contains. If the token appears anywhere in Envoy's log,
//! a secret leaked.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Letters and digits: a token looks the same raw and escaped, so one search finds both.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A random number from the OS's hash keys (each call hashes with new keys).
pub fn random_number() -> u64 {
    RandomState::new().hash_one(std::process::id())
}

/// The token and the secrets made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// 24 random letters and digits, prefixed `S3cr3t` so that a leak is recognisable.
    pub token: String,
}

impl Secrets {
    /// A fresh random token.
    pub fn random() -> Secrets {
        let pick = |_| char::from(ALPHABET[random_number() as usize % ALPHABET.len()]);
        Secrets {
            token: "S3cr3t".chars().chain((0..24).map(pick)).collect(),
        }
    }

    /// A secret value: the token followed by `suffix` (which makes each secret distinct).
    pub fn secret(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.token)
    }

    /// Where the token first occurs in `log` (a byte offset).
    pub fn find_in(&self, log: &[u8]) -> Option<usize> {
        memchr::memmem::find(log, self.token.as_bytes())
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
        let s = Secrets {
            token: "S3cr3tXYZ".into(),
        };
        let log = b"ok\nauthorization: Bearer S3cr3tXYZ-1\nS3cr3tXY\n";
        assert_eq!(s.find_in(log), Some(25));
        assert_eq!(s.find_in(b"S3cr3tXY"), None);
    }
}
