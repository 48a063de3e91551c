//! The Docker CLI as `cargo xtask compose` drives it: commands with a deadline, their output
//! captured or logged, and one Compose project (its name, files, environment, teardown).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::procs::{self, docker};

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
    armed: Option<usize>,
}

impl Project {
    /// A project named `name` for `dir/docker-compose.yml`, logging to `log`.
    pub fn new(name: &str, dir: &Path, log: PathBuf) -> Project {
        Project {
            name: name.to_string(),
            dir: dir.to_path_buf(),
            files: vec![dir.join("docker-compose.yml")],
            env: Vec::new(),
            log,
            armed: None,
        }
    }

    /// `docker compose -p NAME -f FILE... <args>` in the project's directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("docker");
        cmd.current_dir(&self.dir)
            .args(["compose", "--project-name", &self.name]);
        for file in &self.files {
            cmd.arg("--file").arg(file);
        }
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The same command as one line a person can paste (without [`Project::env`], which
    /// only `up` needs).
    pub fn command_line(&self, args: &str) -> String {
        let files: String = self
            .files
            .iter()
            .map(|file| format!(" --file '{}'", file.display()))
            .collect();
        format!("docker compose --project-name {}{files} {args}", self.name)
    }

    /// Runs a compose command, output to the project's log; fails with the log's end.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Result<()> {
        let what = format!("docker compose {}", args.join(" "));
        procs::run_logged(&mut self.command(args), &self.log, timeout, &what)
    }

    /// A compose command's stdout.
    pub fn output(&self, args: &[&str]) -> Result<String> {
        let what = format!("docker compose {}", args.join(" "));
        procs::output(&mut self.command(args), Duration::from_secs(60), &what)
    }

    /// `(StartedAt, FinishedAt)` of a service's container (running or not), RFC 3339 strings.
    pub fn started_finished(&self, service: &str) -> Result<(String, String)> {
        let ids = self.output(&["ps", "--all", "--quiet", service])?;
        let id = ids.lines().next();
        let id = id.with_context(|| format!("the project has no `{service}` container"))?;
        let format = "{{.State.StartedAt}} {{.State.FinishedAt}}";
        let args = ["inspect", "--format", format, id];
        let times = docker(&args, Duration::from_secs(30))?;
        let (started, finished) = times.trim().split_once(' ').unwrap_or((times.trim(), ""));
        Ok((started.to_string(), finished.to_string()))
    }

    /// From now on, take the project down when this is dropped or on Ctrl-C.
    pub fn arm(&mut self) {
        self.armed = Some(crate::procs::run_on_interrupt(self.command(DOWN)));
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
        for kind in [
            &["container", "ls", "--all"][..],
            &["volume", "ls"],
            &["network", "ls"],
        ] {
            let args = [kind, &["--quiet", "--filter", &label]].concat();
            let ids = docker(&args, Duration::from_secs(30))?;
            left.extend(ids.lines().map(|id| format!("{} {id}", kind[0])));
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
