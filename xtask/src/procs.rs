//! Processes the loop starts (Envoy, gunicorn) and the promise to stop them on every path:
//! a [`Service`] guard stops its process group on drop, a Ctrl-C handler stops all of
//! them, and the kernel stops them if this process dies (`PR_SET_PDEATHSIG`). That signal
//! follows the *thread* that spawned the child: start a [`Service`] on a thread that outlives
//! it (the main thread), never on a short-lived one. Shorter commands run to completion with
//! their output in a log ([`run_logged`]).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};

/// Process groups alive right now, for the Ctrl-C handler.
static LIVE_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// [`LIVE_GROUPS`], locked (a panic while it was held left nothing half-changed).
fn live_groups() -> MutexGuard<'static, Vec<i32>> {
    LIVE_GROUPS.lock().unwrap_or_else(PoisonError::into_inner)
}
/// The exit code after Ctrl-C: 130 (interrupted), unless a command has a result to give.
static EXIT_CODE_ON_INTERRUPT: AtomicI32 = AtomicI32::new(130);

/// Makes Ctrl-C exit with `code` from now on: `cargo xtask run --watch` runs until Ctrl-C, and
/// its outcome is that of its last report.
pub fn exit_on_interrupt_with(code: i32) {
    EXIT_CODE_ON_INTERRUPT.store(code, Ordering::SeqCst);
}

/// Commands the Ctrl-C handler runs after stopping the groups (a Compose project's `down`);
/// a registration's id is its index, and a forgotten one is `None`.
static ON_INTERRUPT: Mutex<Vec<Option<Command>>> = Mutex::new(Vec::new());

/// Runs `command` on Ctrl-C, until [`forget_on_interrupt`]; returns the registration's id.
pub fn run_on_interrupt(command: Command) -> usize {
    let mut commands = ON_INTERRUPT.lock().unwrap_or_else(PoisonError::into_inner);
    commands.push(Some(command));
    commands.len() - 1
}

/// Drops a [`run_on_interrupt`] registration.
pub fn forget_on_interrupt(id: usize) {
    let _ = ON_INTERRUPT.lock().map(|mut commands| commands[id] = None);
}

/// A running process (and its children) that is stopped when the guard is dropped.
pub struct Service {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stop_signal: i32,
}

/// Opens `path` to append to (a child's output; a lock file), created if missing.
pub fn append_log(path: &Path) -> Result<File> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Starts `cmd` (`what`, for messages) without stdin, its stdout appended to `out` and its
/// stderr to `err` (one file when they are the same path).
fn spawn_logged(cmd: &mut Command, out: &Path, err: &Path, what: &str) -> Result<Child> {
    // Both opened to append: one file when they are the same path, each write at its end.
    let (stdout, stderr) = (append_log(out)?, append_log(err)?);
    log::debug!("{what}: {cmd:?}, output to {}", err.display());
    cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    cmd.spawn().with_context(|| {
        let program = cmd.get_program();
        format!("{what}: could not start {program:?} (is it installed and on PATH?)")
    })
}

/// `cmd`, set to be killed by the kernel when the thread that spawns it ends
/// (`PR_SET_PDEATHSIG`; spawn it from the main thread).
pub fn die_with_parent(cmd: &mut Command) -> &mut Command {
    // SAFETY: only an async-signal-safe call between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        })
    }
}

/// Polls `done` every `every` for up to `timeout` (`Duration::MAX`: no limit): whether it
/// came true.
pub fn poll(
    timeout: Duration,
    every: Duration,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<bool> {
    let deadline = Instant::now().checked_add(timeout);
    while !done()? {
        if deadline.is_some_and(|deadline| Instant::now() > deadline) {
            return Ok(false);
        }
        std::thread::sleep(every);
    }
    Ok(true)
}

/// "the end of <log>:" and the log's last `lines` lines, indented: what an error about a
/// child shows of its output.
pub fn log_end(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = envoy_model::envoy_log::last_lines(&text, lines);
    format!("the end of {}:\n  {}", log.display(), last.join("\n  "))
}

/// Runs `cmd` with stdout and stderr appended to `log`, killing it after `timeout`
/// (`Duration::MAX`: never; pip and apt-get are given that: they take as long as the network);
/// on failure the error holds the log's last 20 lines.
pub fn run_logged(cmd: &mut Command, log: &Path, timeout: Duration, what: &str) -> Result<()> {
    run_to(cmd, log, log, timeout, what).map_err(|e| anyhow!("{e:#}; {}", log_end(log, 20)))
}

/// Runs `cmd` (`what`, for messages), killing it after `timeout`: its stdout, or an error
/// with the first non-empty line of its stderr (the error; help follows it).
pub fn output(cmd: &mut Command, timeout: Duration, what: &str) -> Result<String> {
    let base = std::env::temp_dir().join(format!("xtask-{}", unique_suffix()));
    let (out, err) = (base.with_extension("out"), base.with_extension("err"));
    let result = run_to(cmd, &out, &err, timeout, what);
    let read = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    };
    let (stdout, stderr) = (read(&out), read(&err));
    let line = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    result.map_err(|e| anyhow!("{e:#}: {}", line.unwrap_or("no message")))?;
    Ok(stdout)
}

/// `docker <args>`: its stdout, or an error with the first line of its stderr.
pub fn docker(args: &[&str], timeout: Duration) -> Result<String> {
    let what = format!("docker {}", args.join(" "));
    output(Command::new("docker").args(args), timeout, &what)
}

/// `<pid>-<milliseconds since the epoch>-<n>`: unique on this machine for names and files,
/// also between threads of this process (`n` counts the calls).
pub fn unique_suffix() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let since_epoch = std::time::UNIX_EPOCH.elapsed().unwrap_or_default();
    format!("{}-{}-{n}", std::process::id(), since_epoch.as_millis())
}

/// Runs `cmd`, stdout appended to `out` and stderr to `err` (which may be the same file),
/// killing it after `limit` (`Duration::MAX`: none).
fn run_to(cmd: &mut Command, out: &Path, err: &Path, limit: Duration, what: &str) -> Result<()> {
    let mut child = spawn_logged(cmd, out, err, what)?;
    let finished = poll(limit, Duration::from_millis(50), || {
        Ok(child.try_wait()?.is_some())
    })?;
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
        bail!("{what} did not finish within {} s", limit.as_secs());
    }
    let status = child.wait()?;
    ensure!(status.success(), "{what} failed ({status})");
    Ok(())
}

impl Service {
    /// Starts `cmd` in its own process group, its stdout appended to `stdout_log` and its
    /// stderr to `log` (the same file or not: Envoy's stdout access log is written in buffered
    /// chunks that may end mid-line, which would splice into its stderr log lines).
    /// `stop_signal` asks it to stop (Envoy: SIGTERM; httpbin: SIGKILL, it keeps no state).
    pub fn spawn(
        name: &'static str,
        cmd: &mut Command,
        stdout_log: &Path,
        log: &Path,
        stop_signal: i32,
    ) -> Result<Service> {
        die_with_parent(cmd.process_group(0));
        let child = spawn_logged(cmd, stdout_log, log, &format!("starting {name}"))?;
        live_groups().push(child.id() as i32);
        Ok(Service {
            name,
            child,
            log: log.to_path_buf(),
            stop_signal,
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The file holding the process's output.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the process group to stop, waits up to 5 s, then kills what is left of it
    /// (the leader's children too). Idempotent.
    pub fn stop(&mut self) {
        let pgid = self.child.id() as i32;
        let started = Instant::now();
        if self.exited().is_none() {
            unsafe { libc::kill(-pgid, self.stop_signal) };
            let stopped = || Ok(self.exited().is_some());
            let _ = poll(Duration::from_secs(5), Duration::from_millis(20), stopped);
        }
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let status = self.child.wait();
        let (name, ms) = (self.name, started.elapsed().as_millis());
        log::debug!("stopped {name} (pid {pgid}) in {ms} ms: {status:?}");
        live_groups().retain(|g| *g != pgid);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

/// On Ctrl-C (or SIGTERM), stops every live service, runs the [`run_on_interrupt`] commands
/// (a Compose project's teardown) and exits with 130, or with the code given to
/// [`exit_on_interrupt_with`].
pub fn stop_all_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        let groups = live_groups().clone();
        for (signal, then_wait) in [(libc::SIGTERM, 300), (libc::SIGKILL, 0)] {
            for pgid in &groups {
                unsafe { libc::kill(-pgid, signal) };
            }
            std::thread::sleep(Duration::from_millis(then_wait));
        }
        let mut commands = ON_INTERRUPT.lock().unwrap_or_else(PoisonError::into_inner);
        // Last registered first, as guards drop.
        for command in commands.iter_mut().rev().flatten() {
            let _ = command.output(); // its output discarded
        }
        eprintln!("\ninterrupted: stopped {} process group(s)", groups.len());
        std::process::exit(EXIT_CODE_ON_INTERRUPT.load(Ordering::SeqCst));
    });
}

/// Field `field` of a `/proc/<pid>/stat` line, numbered as proc(5) numbers them (3, the state,
/// or later). The command name (field 2, in parentheses) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
pub fn stat_field(stat: &str, field: usize) -> Option<u64> {
    let mut after_name = stat.rsplit_once(')')?.1.split_whitespace();
    after_name.nth(field.checked_sub(3)?)?.parse().ok()
}

/// `count` clock ticks (`/proc`'s unit, usually 10 ms) as a duration.
pub fn clock_ticks(count: u64) -> Option<Duration> {
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| Duration::from_secs_f64(count as f64 / per_second as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_shows_the_end_of_its_log_and_a_slow_one_is_stopped() {
        let log = std::env::temp_dir().join(format!("xtask-procs-{}.log", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo one; echo two; echo three >&2; exit 3"]);
        let err = run_logged(&mut failing, &log, Duration::MAX, "the script").unwrap_err();
        let expected = format!("the end of {}:\n  one\n  two\n  three", log.display());
        assert!(err.to_string().starts_with("the script failed"), "{err}");
        assert!(err.to_string().ends_with(&expected), "{err}");
        let mut slow = Command::new("sleep");
        slow.arg("5");
        let timeout = Duration::from_millis(100);
        let err = run_logged(&mut slow, &log, timeout, "sleep").unwrap_err();
        assert!(err.to_string().starts_with("sleep did not finish"), "{err}");
        let _ = std::fs::remove_file(&log);
    }
}
