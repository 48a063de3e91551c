//! The scratch copy `cargo xtask compose` runs in: the work tree's files as a fresh clone
//! has them (no `target/`, no `.venv`), owned by a normal user, never the user's own files.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, ensure};

/// The uid and gid the copy belongs to: the invoking user, or when run as root, the user
/// behind `sudo` (`SUDO_UID`), else 1000: a normal user, as on a developer's machine.
pub fn owner() -> (u32, u32) {
    // SAFETY: getuid and getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if uid != 0 {
        return (uid, gid);
    }
    let from_sudo = |name: &str| std::env::var(name).ok()?.parse().ok().filter(|id| *id != 0);
    from_sudo("SUDO_UID")
        .zip(from_sudo("SUDO_GID"))
        .unwrap_or((1000, 1000))
}

/// Copies the files git would put in a clone of `source` (tracked, plus new files that are
/// not ignored: the work in progress) into `dest`, keeping the modes of files and
/// directories, owned by `owner`. Returns how many files were copied.
pub fn copy_tree(source: &Path, dest: &Path, (uid, gid): (u32, u32)) -> Result<usize> {
    let out = Command::new("git")
        .current_dir(source)
        .args(["ls-files", "-z", "--cached", "--others"])
        .arg("--exclude-standard")
        .output()
        .context("running git ls-files (is git installed, and is this a git clone?)")?;
    ensure!(
        out.status.success(),
        "git ls-files failed in {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    let files = String::from_utf8(out.stdout).context("a file name that is not UTF-8")?;
    let mut copied = 0;
    for rel in files.split('\0').filter(|r| !r.is_empty()) {
        let (from, to) = (source.join(rel), dest.join(rel));
        // A tracked file deleted in the work tree is not part of the copy.
        let Ok(meta) = std::fs::symlink_metadata(&from) else {
            continue;
        };
        let parent = to.parent().unwrap_or(dest);
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else {
            copy(&from, &to)?;
        }
        copied += 1;
    }
    for path in walk(dest) {
        if std::fs::symlink_metadata(&path)?.is_dir() {
            let rel = path.strip_prefix(dest)?;
            std::fs::set_permissions(&path, std::fs::metadata(source.join(rel))?.permissions())?;
        }
        std::os::unix::fs::lchown(&path, Some(uid), Some(gid))
            .with_context(|| format!("giving {} to uid {uid}", path.display()))?;
    }
    Ok(copied)
}

/// Copies the file `from` to `to` (into the tree copy, into a build context).
pub fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

/// Every path under `root` (itself included) that is not owned by `uid`, with its owner:
/// what a normal user could not delete or write after the containers ran.
pub fn not_owned_by(root: &Path, uid: u32) -> Vec<(PathBuf, u32)> {
    walk(root)
        .filter_map(|path| {
            let owner = std::fs::symlink_metadata(&path).ok()?.uid();
            (owner != uid).then_some((path, owner))
        })
        .collect()
}

/// `root` and everything below it, without following symbolic links.
fn walk(root: &Path) -> impl Iterator<Item = PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .map(walkdir::DirEntry::into_path)
}

/// The scratch directory (the tree copy, the override file): removed when dropped or on
/// Ctrl-C, unless kept.
pub struct ScratchDir {
    /// The directory.
    pub path: PathBuf,
    /// The Ctrl-C registration of its removal (None: kept).
    on_interrupt: Option<usize>,
}

impl ScratchDir {
    /// Creates `path`; `keep` leaves it behind.
    pub fn new(path: PathBuf, keep: bool) -> Result<ScratchDir> {
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut rm = Command::new("rm");
        rm.arg("-rf").arg(&path);
        let on_interrupt = (!keep).then(|| crate::procs::run_on_interrupt(rm));
        Ok(ScratchDir { path, on_interrupt })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if let Some(id) = self.on_interrupt.take() {
            crate::procs::forget_on_interrupt(id);
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-scratch-{name}-{}",
            crate::procs::unique_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn finds_what_another_user_owns() {
        let dir = temp("owners");
        std::fs::create_dir_all(dir.join("target/debug")).unwrap();
        std::fs::write(dir.join("envoy.yaml"), "x").unwrap();
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        assert!(not_owned_by(&dir, me).is_empty());
        let other = if me == 0 { 1000 } else { 0 };
        let found = not_owned_by(&dir, other);
        assert!(
            found
                .iter()
                .any(|(p, uid)| p.ends_with("target") && *uid == me),
            "{found:?}"
        );
        assert_eq!(found.len(), 4, "{found:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn copies_what_a_clone_has_and_nothing_ignored() {
        let dest = temp("copy");
        let tree = dest.join("tree");
        let root = crate::paths::root();
        let copied = copy_tree(&root, &tree, owner()).unwrap();
        assert!(copied > 20, "{copied} files");
        assert!(tree.join("docker-compose.yml").is_file());
        assert!(tree.join("filter/src/lib.rs").is_file());
        assert!(!tree.join("target").exists(), "target/ is ignored");
        assert!(!tree.join(".venv").exists(), ".venv is ignored");
        assert!(not_owned_by(&tree, owner().0).is_empty());
        std::fs::remove_dir_all(&dest).unwrap();
    }
}
