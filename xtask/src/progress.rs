//! The loop's step lines: a spinner while a person waits, then one line with the time taken.

use std::time::Duration;

use envoy_model::figures::seconds;

use crate::procs;
use indicatif::{ProgressBar, ProgressStyle};

/// One step of a command (`setup`, `build`, `httpbin`, `envoy`, …): a spinner that keeps its
/// label (the prefix) and its start.
pub struct Step(ProgressBar);

impl Step {
    /// Shows `label  what…` with a spinner (on a terminal; silent otherwise).
    pub fn start(label: &'static str, what: &str) -> Step {
        let style = ProgressStyle::with_template("{spinner} {prefix:<8} {msg} {elapsed}");
        let spinner = ProgressBar::new_spinner()
            .with_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()))
            .with_prefix(label)
            .with_message(what.to_string());
        spinner.enable_steady_tick(Duration::from_millis(100));
        Step(spinner)
    }

    /// Replaces the spinner with `✓ label  summary  (1.2 s)`.
    pub fn done(self, summary: &str) {
        self.0.finish_and_clear();
        let took = seconds(self.0.elapsed());
        eprintln!("✓ {:<8} {summary}  ({took})", self.0.prefix());
    }
}

impl Drop for Step {
    /// A step dropped on an error path leaves no spinner behind; the caller reports why.
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// How long ago the command was typed: since this process started, read from `/proc`. `cargo
/// run` (and so `cargo xtask`) replaces itself with the binary, keeping its process, so this
/// includes cargo's own build check. Falls back to `fallback` where `/proc` can't say.
pub fn since_command_started(fallback: Duration) -> Duration {
    let age = || -> Option<Duration> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Field 22: starttime, in clock ticks after boot.
        let started = procs::clock_ticks(procs::stat_field(&stat, 22)?)?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let uptime = Duration::try_from_secs_f64(uptime.split_whitespace().next()?.parse().ok()?);
        uptime.ok()?.checked_sub(started)
    };
    age().unwrap_or(fallback)
}
