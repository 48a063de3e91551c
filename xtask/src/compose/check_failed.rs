//! A check of the Docker path that failed (exit 1), told apart from a run that could not happen
//! (exit 2).

/// A check of the Docker path failed (exit 1), as opposed to a run that could not happen (2).
#[derive(Debug)]
pub struct CheckFailed(pub String);

impl std::fmt::Display for CheckFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CheckFailed {}

/// `err` as a failed check.
pub(super) fn failed(err: anyhow::Error) -> anyhow::Error {
    CheckFailed(format!("{err:#}")).into()
}
