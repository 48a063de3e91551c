//! Envoy's log file followed from a mark as it grows: each byte read once, a complete line
//! at a time (the hostile suite), or everything since the mark (the smoke checks' polls).

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
        Ok(complete[..last]
            .split(|b| *b == b'\n')
            .map(<[u8]>::to_vec)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("envoy-model-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("envoy.log")
    }

    #[test]
    fn reads_only_new_complete_lines() {
        let path = scratch("follow");
        std::fs::write(&path, b"one\ntwo\nthr").unwrap();
        let mut follower = LogFollower::open(&path).unwrap();
        assert_eq!(
            follower.new_lines().unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert!(follower.new_lines().unwrap().is_empty());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"ee\n\xff\n").unwrap();
        assert_eq!(
            follower.new_lines().unwrap(),
            vec![b"three".to_vec(), b"\xff".to_vec()]
        );
        assert!(follower.partial.is_empty());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn reads_from_the_mark_or_from_the_start_of_a_shorter_file() {
        let path = scratch("read-from");
        std::fs::write(&path, b"old\nnew\n").unwrap();
        assert_eq!(read_from(&path, 4).unwrap(), b"new\n");
        assert_eq!(read_from(&path, 100).unwrap(), b"old\nnew\n");
        assert!(read_from(&path.with_extension("missing"), 0).is_err());
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
