//! Envoy's log file followed from a mark as it grows: each byte read once, a complete line at a
//! time (the hostile suite), or everything since the mark (the smoke checks' polls).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The file from `offset` on, or from its start when it is shorter (truncated or replaced).
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(if offset <= len { offset } else { 0 }))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a growing file from where it stopped last time, a complete line at a time.
pub struct LogFollower {
    path: PathBuf,
    file: File,
    /// What follows the last `\n` read (after Envoy stopped: a line cut short).
    pub partial: Vec<u8>,
}

impl LogFollower {
    /// Starts at the beginning of `path`.
    pub fn open(path: &Path) -> Result<LogFollower> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        Ok(LogFollower {
            path: path.to_path_buf(),
            file,
            partial: Vec::new(),
        })
    }

    /// The complete lines written since the last call (without their `\n`).
    pub fn new_lines(&mut self) -> Result<Vec<Vec<u8>>> {
        self.file
            .read_to_end(&mut self.partial)
            .with_context(|| format!("reading {}", self.path.display()))?;
        let Some(last) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(last + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let lines = complete[..last].split(|b| *b == b'\n');
        Ok(lines.map(<[u8]>::to_vec).collect())
    }
}
