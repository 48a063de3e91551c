//! The suite's figures and failures, and how they are printed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use envoy_model::figures::seconds;
use thousands::Separable;

use super::checks::{Fate, Outcome, Problem};
use filter_testing::hostile::case::Case;
use filter_testing::hostile::fixed::CONTROL_GROUP;
use filter_testing::hostile::reference::escape;

/// One failed check, with what it takes to reproduce and understand it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `#17 generated (seed 42)`, or `around request 17` for a check on the log.
    pub request: String,
    /// The request as sent, escaped (`None` for log-wide checks).
    pub case: Option<String>,
    /// What failed.
    pub problem: Problem,
}

/// The figures of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The generator's seed.
    pub seed: u64,
    /// Hostile requests sent.
    pub requests: usize,
    /// Of those, how many the filter logged.
    pub reached: usize,
    /// Of those, how many Envoy refused, per status (`closed`: closed without an answer).
    pub refused: BTreeMap<String, usize>,
    /// Of those, how many did neither (each is a failure).
    pub other: usize,
    /// Normal requests sent after each hostile one, all expected to pass.
    pub probes: usize,
    /// Lines of Envoy's log read and checked.
    pub log_lines: usize,
    /// Of those, lines the filter wrote.
    pub filter_lines: usize,
    /// Logged header values compared with what they should be.
    pub values_checked: usize,
    /// What happened to each byte in a header value, `a<byte>b` (from the fixed byte cases):
    /// `refused by Envoy (400)` (or `(connection closed)`), `reached the filter as sent`
    /// (logged as sent, escaped as documented), `reached the filter changed by Envoy` (e.g. CR
    /// dropped on the way), or `neither refused nor logged (failures)`.
    pub bytes: BTreeMap<u8, String>,
    /// The other fixed cases sent.
    pub fixed: usize,
    /// Those Envoy refused, `control: NUL inside (400)`.
    pub fixed_refused: Vec<String>,
    /// A line for each control or line break case that reached the filter: how its header
    /// was logged.
    pub controls_logged: Vec<String>,
    /// Failed checks; a passing run has none.
    pub failures: Vec<Failure>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// No check failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Records a failed check of `request` (`case`: the request as sent, escaped).
    pub fn fail(&mut self, request: impl Into<String>, case: Option<String>, problem: Problem) {
        self.failures.push(Failure {
            request: request.into(),
            case,
            problem,
        });
    }

    /// Counts a hostile request's fate.
    pub fn count(&mut self, fate: &Fate) {
        match fate {
            Fate::Reached(_) => self.reached += 1,
            Fate::Refused(status) => *self.refused.entry(refused_key(*status)).or_default() += 1,
            Fate::Other(_) => self.other += 1,
        }
    }

    /// Requests Envoy refused.
    pub fn refused_total(&self) -> usize {
        self.refused.values().sum()
    }

    /// `hostile: 2,143 requests (seed 42): 1,987 reached the filter, 156 refused by Envoy
    /// (400: 150, 431: 6), 0 failures; …`.
    pub fn figures(&self) -> String {
        let shown =
            |(status, n): (&String, &usize)| format!("{status}: {}", n.separate_with_commas());
        let per_status: Vec<String> = self.refused.iter().map(shown).collect();
        let per_status = Some(per_status.join(", ")).filter(|s| !s.is_empty());
        let neither =
            (self.other > 0).then(|| format!(", {} neither", self.other.separate_with_commas()));
        format!(
            "hostile: {} requests (seed {}): {} reached the filter, {} refused by Envoy ({}){}, {} failures; \
             {} probe requests after them; {} log lines checked ({} from the filter, {} values \
             compared) in {}",
            self.requests.separate_with_commas(),
            self.seed,
            self.reached.separate_with_commas(),
            self.refused_total().separate_with_commas(),
            per_status.as_deref().unwrap_or("none"),
            neither.unwrap_or_default(),
            self.failures.len().separate_with_commas(),
            self.probes.separate_with_commas(),
            self.log_lines.separate_with_commas(),
            self.filter_lines.separate_with_commas(),
            self.values_checked.separate_with_commas(),
            seconds(self.elapsed),
        )
    }

    /// Which bytes in a header value Envoy refused, changed, or passed to the filter as sent
    /// (a line per fate, in alphabetical order).
    pub fn byte_table(&self) -> String {
        let mut groups: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        for (byte, fate) in &self.bytes {
            groups.entry(fate).or_default().push(*byte);
        }
        let line = |(fate, bytes): (&str, Vec<u8>)| {
            format!("  bytes in a value {fate}: {}\n", ranges(&bytes))
        };
        groups.into_iter().map(line).collect()
    }

    /// Notes what happened to the fixed case `case` for the tables: a byte case's fate; for
    /// another, its count, its refusal, or (a control that reached the filter) the filter's
    /// line for its first header.
    pub fn note_fixed(&mut self, case: &Case, outcome: &Outcome) {
        let first = case.headers.first();
        let lines = &outcome.request_lines;
        let logged = first.and_then(|h| lines.iter().find(|(n, _)| *n == h.lower_name()));
        let label = case.label.trim_start_matches("fixed ");
        let hex = label.strip_prefix("bytes: byte 0x");
        if let Some(byte) = hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
            // Logged as sent: the value, `a<byte>b`, escaped as documented.
            let as_sent = logged.map(|(_, v)| v.clone()) == first.map(|h| escape(&h.value));
            let fate = match &outcome.fate {
                Fate::Refused(None) => "refused by Envoy (connection closed)".to_string(),
                Fate::Refused(Some(status)) => format!("refused by Envoy ({status})"),
                Fate::Other(_) => "neither refused nor logged (failures)".to_string(),
                Fate::Reached(_) if as_sent => "reached the filter as sent".to_string(),
                Fate::Reached(_) => "reached the filter changed by Envoy".to_string(),
            };
            self.bytes.insert(byte, fate);
            return;
        }
        self.fixed += 1;
        let control = label.strip_prefix(&format!("{CONTROL_GROUP}: "));
        match (&outcome.fate, control) {
            (Fate::Refused(status), _) => {
                let refused = format!("{label} ({})", refused_key(*status));
                self.fixed_refused.push(refused);
            }
            (Fate::Reached(status), Some(what)) => {
                let logged = logged.map(|(n, v)| format!("{n}: {v}"));
                let logged = cut(logged.as_deref().unwrap_or("(no line for its header)"), 120);
                let line = format!("  {what}: reached the filter ({status}), logged `{logged}`\n");
                self.controls_logged.push(line);
            }
            _ => {}
        }
    }

    /// The figures, the tables (the bytes; which fixed cases Envoy refused, and how the
    /// controls and line breaks it let through were logged) and every failure with EXPECTED,
    /// GOT and the log lines.
    pub fn render(&self) -> String {
        let mut out = self.byte_table();
        if self.fixed > 0 {
            let (count, refused) = (self.fixed_refused.len(), self.fixed_refused.join("; "));
            let reached = self.fixed - count;
            let _ = writeln!(
                out,
                "  fixed cases: {reached} reached the filter, {count} refused by Envoy: {refused}"
            );
            out += &self.controls_logged.concat();
        }
        for failure in &self.failures {
            let _ = writeln!(out, "✗ {}", failure.request);
            if let Some(case) = &failure.case {
                let _ = writeln!(out, "  request:  {case}");
            }
            let problem = &failure.problem;
            let (expected, got) = around_difference(&problem.expected, &problem.got);
            let _ = writeln!(out, "  EXPECTED: {expected}\n  GOT:      {got}");
            if !problem.lines.is_empty() {
                let _ = writeln!(out, "  log lines:");
                for line in problem.lines.iter().take(40) {
                    let _ = writeln!(out, "    {}", cut(line, 400));
                }
            }
        }
        let _ = writeln!(out, "{}", self.figures());
        out
    }
}

/// How a refusal is counted: its status, or `closed` (closed without an answer).
fn refused_key(status: Option<u16>) -> String {
    status.map_or("closed".to_string(), |s| s.to_string())
}

/// Both texts in full when short; else the part around their first difference.
fn around_difference(expected: &str, got: &str) -> (String, String) {
    const SHORT: usize = 300;
    let (e, g): (Vec<char>, Vec<char>) = (expected.chars().collect(), got.chars().collect());
    if e.len() <= SHORT && g.len() <= SHORT {
        return (expected.to_string(), got.to_string());
    }
    let at = e.iter().zip(&g).take_while(|(a, b)| a == b).count();
    let start = at.saturating_sub(80);
    let window = |text: &[char]| {
        let end = (start + 200).min(text.len());
        let shown: String = text[start.min(end)..end].iter().collect();
        let before = (start > 0).then(|| format!("…({start} chars) "));
        let after = (end < text.len()).then(|| format!(" …({} more chars)", text.len() - end));
        [before.unwrap_or_default(), shown, after.unwrap_or_default()].concat()
    };
    let got = format!("{}   (first difference at char {at})", window(&g));
    (window(&e), got)
}

/// `0x00–0x08, 0x0a`.
fn ranges(bytes: &[u8]) -> String {
    let runs = bytes.chunk_by(|a, b| a.checked_add(1) == Some(*b));
    let text = runs.map(|run| match run {
        [one] => format!("0x{one:02x}"),
        [first, .., last] => format!("0x{first:02x}–0x{last:02x}"),
        [] => String::new(),
    });
    text.collect::<Vec<_>>().join(", ")
}

fn cut(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{} …", &line[..at]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_the_figures() {
        let mut summary = Summary {
            seed: 42,
            requests: 2143,
            reached: 1987,
            probes: 2143,
            log_lines: 58012,
            filter_lines: 50000,
            values_checked: 40000,
            ..Summary::default()
        };
        summary.refused.insert("400".into(), 150);
        summary.refused.insert("431".into(), 6);
        assert_eq!(
            summary.figures(),
            "hostile: 2,143 requests (seed 42): 1,987 reached the filter, 156 refused by Envoy \
             (400: 150, 431: 6), 0 failures; 2,143 probe requests after them; 58,012 log lines \
             checked (50,000 from the filter, 40,000 values compared) in 0.00 s"
        );
        assert!(summary.passed());
    }

    #[test]
    fn long_texts_show_their_first_difference() {
        let expected = format!("{} ... [truncated: 1024 of 2000 bytes]", "a".repeat(1024));
        let got = "a".repeat(2000);
        let (e, g) = around_difference(&expected, &got);
        assert_eq!(
            e,
            format!(
                "…(944 chars) {} ... [truncated: 1024 of 2000 bytes]",
                "a".repeat(80)
            )
        );
        assert!(
            g.ends_with("…(856 more chars)   (first difference at char 1024)"),
            "{g}"
        );
        assert_eq!(
            around_difference("a", "b"),
            ("a".to_string(), "b".to_string())
        );
    }

    #[test]
    fn groups_bytes_into_ranges() {
        let mut summary = Summary::default();
        for b in 0..=0xFFu8 {
            let fate = match b {
                0x0D => "reached the filter changed by Envoy",
                0x00..=0x08 | 0x0A..=0x1F | 0x7F => "refused by Envoy (400)",
                _ => "reached the filter as sent",
            };
            summary.bytes.insert(b, fate.to_string());
        }
        assert_eq!(
            summary.byte_table(),
            "  bytes in a value reached the filter as sent: 0x09, 0x20–0x7e, 0x80–0xff\n\
             \x20 bytes in a value reached the filter changed by Envoy: 0x0d\n\
             \x20 bytes in a value refused by Envoy (400): 0x00–0x08, 0x0a–0x0c, 0x0e–0x1f, 0x7f\n"
        );
    }
}
