//! The loop's step lines: a spinner while a person waits, then one line with the time taken.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// One step of a command (`setup`, `build`, `httpbin`, `envoy`, …).
pub struct Step {
    label: &'static str,
    started: Instant,
    spinner: ProgressBar,
}

impl Step {
    /// Shows `label  what…` with a spinner (on a terminal; silent otherwise).
    pub fn start(label: &'static str, what: &str) -> Step {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<8} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_prefix(label);
        spinner.set_message(what.to_string());
        spinner.enable_steady_tick(Duration::from_millis(100));
        Step {
            label,
            started: Instant::now(),
            spinner,
        }
    }

    /// Replaces the spinner with `✓ label  summary  (1.2 s)` and returns the time taken.
    pub fn done(self, summary: &str) -> Duration {
        let took = self.started.elapsed();
        self.spinner.finish_and_clear();
        eprintln!("✓ {:<8} {summary}  ({})", self.label, seconds(took));
        took
    }
}

impl Drop for Step {
    /// A step dropped on an error path leaves no spinner behind; the caller reports why.
    fn drop(&mut self) {
        self.spinner.finish_and_clear();
    }
}

/// `1.23 s`.
pub fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}
