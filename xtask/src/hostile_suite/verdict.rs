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
    /// The log lines a failed check shows: the request's stream (none without one).
    pub lines: Vec<String>,
}

impl Verdict {
    /// No check failed yet; `lines`: the request's stream.
    pub fn new(fate: Fate, lines: &[String]) -> Verdict {
        Verdict {
            fate,
            problems: Vec::new(),
            values_checked: 0,
            lines: lines.to_vec(),
        }
    }

    /// Records a failed check, with the request's stream.
    pub fn fail(&mut self, expected: impl Into<String>, got: impl Into<String>) {
        self.problems.push(problem(expected, got, &self.lines));
    }
}
