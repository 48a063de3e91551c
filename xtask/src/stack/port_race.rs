//! Ports taken between being picked and being bound: the error that says so and the retry.

use std::io::ErrorKind;

use anyhow::Result;

/// A port picked as free can be taken by another process before ours binds it (tests run
/// in parallel). When the ports were picked here (`picked`), a start that failed on a
/// taken port is tried again with new ones, up to three times.
pub(super) fn retry_on_port_race<T>(
    picked: bool,
    mut start: impl FnMut() -> Result<T>,
) -> Result<T> {
    for _ in 1..3 {
        match start() {
            Err(err) if picked && is_port_taken(&err) => continue,
            done => return done,
        }
    }
    start()
}

/// Whether a start-up error is a port another process holds: an I/O error of kind
/// `AddrInUse` anywhere in its chain ([`crate::ports::claim`] and [`port_taken_if`] make them).
fn is_port_taken(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == ErrorKind::AddrInUse)
}

/// `message` as an error, of kind `AddrInUse` when `taken` (the log of the process that
/// failed said it could not bind its port: the only way to learn it from another process).
pub(super) fn port_taken_if(taken: bool, message: String) -> anyhow::Error {
    if taken {
        anyhow::Error::new(std::io::Error::new(ErrorKind::AddrInUse, message))
    } else {
        anyhow::anyhow!(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port race is known by the error's kind, not by its words: an `AddrInUse` error in
    /// any language is retried, and a message that merely quotes the words is not.
    #[test]
    fn port_races_are_retried_by_error_kind() {
        let attempts = |err: fn() -> anyhow::Error| {
            let mut tries = 0;
            let _ = retry_on_port_race(true, || -> Result<()> {
                tries += 1;
                Err(err())
            });
            tries
        };
        let taken = || {
            anyhow::Error::new(std::io::Error::new(
                ErrorKind::AddrInUse,
                "Adresse bereits in Verwendung",
            ))
            .context("starting Envoy")
        };
        assert_eq!(attempts(taken), 3);
        let quoted = || {
            anyhow::anyhow!(
                "invalid plugin configuration: add_response_headers.x-a: \"Address already in use\""
            )
        };
        assert_eq!(attempts(quoted), 1);
        assert!(is_port_taken(&port_taken_if(true, "x".into())));
        assert!(!is_port_taken(&port_taken_if(false, "x".into())));
    }
}
