//! Output folders: one writer at a time, and files that appear whole or not at all.
//!
//! Two commands writing the same folder at once would interleave their files (one's `summary.json` beside the
//! other's `timeseries.csv`), so every command that writes a folder first [`claim`]s it: an OS lock on
//! [`LOCK`] inside it, held until the command ends. The OS drops the lock with the process, so a folder whose
//! writer was killed can be claimed again at once (`sweep --resume` relies on it). Claiming also proves the
//! folder writable before any simulation is spent on results that could not be saved.
//!
//! [`write_atomic`] writes a file under a temporary name and renames it, and removes the temporary file when
//! anything fails (a full disk among others), so a folder never holds a half-written file under either name.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The lock file each output folder holds; not a result.
pub const LOCK: &str = ".vpcsim.lock";

/// A file that could not be written (or a folder that could not be made), and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl FileError {
    /// Maps an I/O error on `path`.
    pub fn at(path: &Path) -> impl FnOnce(io::Error) -> FileError + use<> {
        let path = path.to_path_buf();
        move |source| FileError { path, source }
    }
}

/// Why a folder could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("{} is in use by another vpcsim (lock {LOCK})", dir.display())]
    InUse { dir: PathBuf },
    #[error(transparent)]
    File(#[from] FileError),
}

/// The claim on an output folder: the folder is this process's to write until the claim is dropped.
#[derive(Debug)]
pub struct Claim {
    /// Holds the OS lock; closing it releases the lock.
    _lock: File,
}

/// Creates `dir` if needed, locks it for this process, and checks that a file can be created in it.
pub fn claim(dir: &Path) -> Result<Claim, ClaimError> {
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    let path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(FileError::at(&path))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(ClaimError::InUse {
                dir: dir.to_path_buf(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(FileError::at(&path)(e).into()),
    }
    // An existing lock file opens on a folder that no longer takes new files: try one.
    let probe = dir.join(".vpcsim.probe");
    File::create(&probe).map_err(FileError::at(&probe))?;
    fs::remove_file(&probe).map_err(FileError::at(&probe))?;
    Ok(Claim { _lock: lock })
}

/// Writes `bytes` to `path` through `.NAME.partial` beside it and a rename; on failure the temporary file is
/// removed and the error names `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let tmp = partial_name(path);
    let written = File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    written.map_err(|source| {
        // Best effort: the error that matters is the one that stopped the write.
        let _ = fs::remove_file(&tmp);
        FileError {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Removes `path` (a file or a folder with its contents) if it exists.
pub fn remove(path: &Path) -> Result<(), FileError> {
    let removed = if path.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match removed {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(FileError::at(path)(e)),
        _ => Ok(()),
    }
}

/// The temporary name a file is written under before it is renamed to `path`: `.NAME.partial` beside it.
pub fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vpcsim-folder-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file_and_names_the_target() {
        let dir = scratch("failed-write");
        // A non-empty folder under the target name: the data is written, the rename fails.
        let target = dir.join("summary.json");
        fs::create_dir_all(target.join("x")).unwrap();
        let e = write_atomic(&target, b"{}").unwrap_err();
        assert_eq!(e.path, target);
        assert!(
            e.to_string().starts_with(&target.display().to_string()),
            "{e}"
        );
        assert_eq!(
            names(&dir),
            ["summary.json"],
            "the .partial file is removed"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_replaces_the_file_whole() {
        let dir = scratch("write");
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("a.csv");
        write_atomic(&target, b"old").unwrap();
        write_atomic(&target, b"new").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&dir), ["a.csv"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_claimed_folder_is_refused_until_its_claim_is_dropped() {
        let dir = scratch("claim");
        let first = claim(&dir).unwrap();
        let second = claim(&dir).unwrap_err();
        assert_eq!(
            second.to_string(),
            format!(
                "{} is in use by another vpcsim (lock .vpcsim.lock)",
                dir.display()
            )
        );
        drop(first);
        claim(&dir).unwrap();
        assert_eq!(names(&dir), [LOCK], "the probe file is removed");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_refused_naming_it() {
        let dir = scratch("not-a-folder");
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        let e = claim(&file.join("out")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&file.join("out").display().to_string()),
            "{e}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
