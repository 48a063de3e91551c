//! The loop's step lines: a spinner while a person waits, then one line with the time taken.

use std::time::Duration;

use envoy_model::figures::seconds;
use indicatif::{ProgressBar, ProgressStyle};

/// One step of a command (`setup`, `build`, `httpbin`, `envoy`, …): a spinner that keeps its
/// label (the prefix) and its start.
pub struct Step(ProgressBar);

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
        // Field 22 (starttime, clock ticks after boot); fields after the `)` of the command name.
        let after_name = stat.rsplit_once(')')?.1;
        let start_ticks: f64 = after_name.split_whitespace().nth(19)?.parse().ok()?;
        let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
        let uptime: f64 = uptime.split_whitespace().next()?.parse().ok()?;
        // SAFETY: sysconf has no preconditions.
        let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let age = uptime - start_ticks / ticks_per_second as f64;
        (ticks_per_second > 0 && age >= 0.0).then(|| Duration::from_secs_f64(age))
    };
    age().unwrap_or(fallback)
}
