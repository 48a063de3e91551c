//! A check of the Docker path that failed (exit 1), told apart from a run that could not happen
//! (exit 2).

/// A check of the Docker path failed (exit 1), as opposed to a run that could not happen (2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckFailed(pub String);

/// `err` as a failed check.
pub(super) fn failed(err: anyhow::Error) -> anyhow::Error {
    CheckFailed(format!("{err:#}")).into()
}
