//! A check of the Docker path that failed (exit 1), told apart from a run that could not
//! happen (exit 2), and the `check!` macro that fails one.

/// Fails the check (a [`CheckFailed`] with the formatted message) unless the condition holds.
macro_rules! check {
    ($condition:expr, $($message:tt)+) => {
        anyhow::ensure!($condition, $crate::compose::check_failed::CheckFailed(format!($($message)+)))
    };
}

/// A check of the Docker path failed (exit 1), as opposed to a run that could not happen (2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// `err` as a failed check.
pub fn failed(err: anyhow::Error) -> anyhow::Error {
    CheckFailed(format!("{err:#}")).into()
}
