//! The vocabulary of a checked request: what happened to it ([`Fate`]), each check that
//! failed ([`Problem`]) and the whole [`Verdict`].

/// What happened to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// The filter logged its stream; the client got this status.
    Reached(u16),
    /// Envoy refused it with this 4xx status, or closed the connection (`None`).
    Refused(Option<u16>),
    /// Neither: what happened (always with a failure), e.g. `503 without the filter's lines`.
    Other(String),
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What should have been.
    pub expected: String,
    /// What was.
    pub got: String,
    /// The log lines that show it.
    pub lines: Vec<String>,
}

pub fn problem(expected: impl Into<String>, got: impl Into<String>, lines: &[String]) -> Problem {
    Problem {
        expected: expected.into(),
        got: got.into(),
        lines: lines.to_vec(),
    }
}

/// What the checks of one request found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Reached the filter or refused by Envoy.
    pub fate: Fate,
    /// The checks that failed.
    pub problems: Vec<Problem>,
    /// Logged header values compared with what they should be.
    pub values_checked: usize,
}

impl Verdict {
    /// No check failed yet.
    pub fn new(fate: Fate) -> Verdict {
        Verdict {
            fate,
            problems: Vec::new(),
            values_checked: 0,
        }
    }

    /// Records a failed check with the log lines that show it (the request's stream; a
    /// passing request copies none).
    pub fn fail(&mut self, expected: impl Into<String>, got: impl Into<String>, lines: &[String]) {
        self.problems.push(problem(expected, got, lines));
    }
}
