//! Load on a running Envoy, and what it costs the Envoy process: `wrk` (Debian's load
//! generator) driven with a small Lua script that reports its figures as JSON, and the
//! process's CPU time and resident memory read from `/proc`.
//!
//! Used by `cargo xtask bench` (CPU per request, latency) and `cargo xtask soak` (errors,
//! memory growth, requests per second).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::procs::{self, Service};
use crate::stack::Envoy;
use crate::tools::WRK_INSTALL_HINT;

/// The line prefix of the script's JSON report on wrk's stdout.
const REPORT_PREFIX: &str = "xtask-wrk-report: ";

/// wrk's Lua script: counts responses outside 2xx (wrk itself counts only >= 400) and,
/// when done, prints one JSON line with the totals, the errors and the latency percentiles.
const SCRIPT: &str = include_str!("wrk-report.lua");

/// The load generator: Debian's `wrk`.
#[derive(Debug, Clone)]
pub struct Wrk {
    /// The binary.
    pub path: PathBuf,
    /// `wrk -v`'s first words, e.g. `wrk debian/4.1.0-3+b2 [epoll]`.
    pub version: String,
    /// The Lua script, written once into the command's scratch directory.
    script: PathBuf,
}

/// What a run did, as wrk counted it (the script's JSON report).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct LoadResult {
    /// Responses received.
    pub requests: u64,
    /// The run's length, microseconds.
    pub duration_us: u64,
    /// Responses whose status was not 2xx.
    pub non_2xx: u64,
    /// Connect, read and write errors.
    pub socket_errors: u64,
    /// Requests that got no answer within the timeout.
    pub timeouts: u64,
    /// Median latency, microseconds.
    pub p50_us: u64,
    /// 99th percentile latency, microseconds.
    pub p99_us: u64,
}

impl LoadResult {
    /// Responses per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 * 1e6 / self.duration_us.max(1) as f64
    }

    /// Adds the counts of a later run (its latency percentiles are not added up).
    pub fn add(&mut self, later: &LoadResult) {
        self.requests += later.requests;
        self.duration_us += later.duration_us;
        self.non_2xx += later.non_2xx;
        self.socket_errors += later.socket_errors;
        self.timeouts += later.timeouts;
    }

    /// Anything that is not a 2xx answer: non-2xx, socket errors, timeouts.
    pub fn failures(&self) -> u64 {
        self.non_2xx + self.socket_errors + self.timeouts
    }
}

impl Wrk {
    /// Finds `wrk` on PATH and writes its script into `scratch`; fails with how to install it.
    pub fn find(scratch: &Path) -> Result<Wrk> {
        let path = which::which("wrk").context(WRK_INSTALL_HINT)?;
        // `wrk -v` prints its version then the usage, and exits 1.
        let out = Command::new(&path).arg("-v").output();
        let out = out.with_context(|| format!("running {} -v", path.display()))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let first = text.lines().next().unwrap_or_default();
        let version = first.split(" Copyright").next().map(str::trim);
        let version = version.filter(|v| v.starts_with("wrk"));
        let version = version.unwrap_or("wrk (unknown version)").to_string();
        std::fs::create_dir_all(scratch)?;
        let script = scratch.join("wrk-report.lua");
        std::fs::write(&script, SCRIPT).with_context(|| format!("writing {}", script.display()))?;
        Ok(Wrk {
            path,
            version,
            script,
        })
    }

    /// Sends `GET path` to `envoy` on `connections` connections (each with one request in
    /// flight) for `seconds` (at least 1), calling `during` every half second while it runs (to
    /// sample memory); wrk is stopped if `during` fails. Fails if Envoy exited meanwhile.
    pub fn run(
        &self,
        envoy: &mut Envoy,
        path: &str,
        connections: u32,
        seconds: u64,
        mut during: impl FnMut() -> Result<()>,
    ) -> Result<LoadResult> {
        let url = format!("{}{path}", envoy.url());
        let seconds = seconds.max(1);
        let output = self.script.with_file_name("wrk.out");
        let _ = std::fs::remove_file(&output);
        let mut cmd = Command::new(&self.path);
        cmd.args(["--threads", "1", "--timeout", "10s"])
            .args(["--connections", &connections.to_string()])
            .args(["--duration", &format!("{seconds}s")])
            .arg("--script")
            .arg(&self.script)
            .arg(&url);
        // wrk stops by itself after `seconds`; the guard stops it sooner on an error.
        let mut wrk = Service::spawn("wrk", &mut cmd, &output, &output, libc::SIGKILL)?;
        let mut next = Instant::now() + Duration::from_millis(500);
        let mut status = None;
        let limit = Duration::from_secs(seconds + 30);
        procs::poll(limit, Duration::from_millis(20), || {
            status = wrk.exited();
            if status.is_none() && Instant::now() >= next {
                during()?;
                next += Duration::from_millis(500);
            }
            Ok(status.is_some())
        })?;
        let status =
            status.with_context(|| format!("wrk did not finish within {} s", limit.as_secs()))?;
        if !envoy.is_running() {
            let log = envoy.log().display();
            bail!("Envoy exited during the load; its log: {log}");
        }
        let text = std::fs::read_to_string(&output).unwrap_or_default();
        parse_report(&text).with_context(|| {
            format!("wrk ({status}) gave no report for {url}; its output:\n{text}")
        })
    }
}

/// Reads the script's JSON line out of wrk's stdout.
pub fn parse_report(stdout: &str) -> Result<LoadResult> {
    let line = stdout.lines().find_map(|l| l.strip_prefix(REPORT_PREFIX));
    let line = line.context("no report line")?;
    serde_json::from_str(line).with_context(|| format!("parsing `{line}`"))
}

/// CPU time (user + system, all threads) the process `pid` has used so far, from
/// `/proc/<pid>/stat` (in clock ticks, usually 10 ms each).
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let ticks = read_proc(pid, "stat", parse_stat_ticks)?;
    procs::clock_ticks(ticks).context("sysconf(_SC_CLK_TCK) failed")
}

/// The resident memory of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    read_proc(pid, "status", parse_vm_rss)
}

/// `/proc/<pid>/<file>`, read and parsed.
fn read_proc(pid: u32, file: &str, parse: fn(&str) -> Option<u64>) -> Result<u64> {
    let path = format!("/proc/{pid}/{file}");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse(&text).with_context(|| format!("parsing {path}: {text}"))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    Some(procs::stat_field(stat, 14)? + procs::stat_field(stat, 15)?)
}

/// `VmRSS:   12345 kB` → bytes.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_script_report_among_wrk_output() {
        let stdout = "Running 1s test @ http://127.0.0.1:1/\n  1 threads and 8 connections\n\
            xtask-wrk-report: {\"requests\": 827, \"duration_us\": 1001191, \"non_2xx\": 3, \
            \"socket_errors\": 1, \"timeouts\": 0, \"p50_us\": 3250, \"p99_us\": 31747}\n";
        let got = parse_report(stdout).unwrap();
        assert_eq!(
            got,
            LoadResult {
                requests: 827,
                duration_us: 1_001_191,
                non_2xx: 3,
                socket_errors: 1,
                timeouts: 0,
                p50_us: 3250,
                p99_us: 31747,
            }
        );
        assert_eq!(got.failures(), 4);
        assert!((got.rps() - 826.0).abs() < 1.0, "{}", got.rps());
    }

    #[test]
    fn a_missing_report_is_an_error() {
        assert!(parse_report("unable to connect to 127.0.0.1:1 Connection refused\n").is_err());
    }

    #[test]
    fn stat_ticks_count_after_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let stat =
            "4242 (envoy (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0";
        assert_eq!(parse_stat_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_stat_ticks("4242 (envoy) S 1"), None);
    }

    #[test]
    fn vm_rss_in_bytes() {
        let status = "Name:\tenvoy\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 1 kB\n";
        assert_eq!(parse_vm_rss(status), Some(51200 * 1024));
        assert_eq!(parse_vm_rss("Name:\tenvoy\n"), None);
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).unwrap() > 0);
        cpu_time(pid).unwrap();
    }
}
