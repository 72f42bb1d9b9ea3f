//! The one atomic write of the toolchain: every file ttfs writes (models, checkpoints, chip
//! configurations, targets, reports, logs, pictures) goes through [`write_atomic`], so a reader
//! or a kill never finds half a file.
//!
//! The bytes go to a fresh temporary file beside the target (`.{name}.{pid}.{n}.tmp`, created
//! with `create_new`, so two writers never share one), are synced to the disk, and the file is
//! renamed over the target: the target is the old file or the complete new one, never a mix.
//! The directory is then synced (best effort: not every file system can), so the rename itself
//! survives a power cut. On any error the temporary file is removed and nothing new is left.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The step of [`write_atomic`] that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStep {
    /// Creating the temporary file (no file name, no such folder, no permission).
    CreateTemp,
    /// Writing or syncing the temporary file (a full disk).
    Write,
    /// Renaming it over the target (the target is a folder, another file system).
    Rename,
}

impl WriteStep {
    /// What the step does, as the object of "cannot ...": `create a temporary file`.
    pub fn action(self) -> &'static str {
        match self {
            WriteStep::CreateTemp => "create a temporary file",
            WriteStep::Write => "write the temporary file",
            WriteStep::Rename => "rename the temporary file over it",
        }
    }
}

/// Why [`write_atomic`] failed: the step and the file system's error (the caller names the file).
#[derive(Debug, thiserror::Error)]
#[error("cannot {}: {source}", step.action())]
pub struct AtomicWriteError {
    /// The step that failed.
    pub step: WriteStep,
    /// The file system's error.
    #[source]
    pub source: std::io::Error,
}

impl From<AtomicWriteError> for std::io::Error {
    /// The error as an `io::Error` of the same kind whose message names the step.
    fn from(e: AtomicWriteError) -> Self {
        std::io::Error::new(e.source.kind(), e)
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, synced, then renamed over
/// it; the temporary file is removed on any error.
///
/// # Errors
/// [`AtomicWriteError`] with the step that failed; `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AtomicWriteError> {
    let temp = write_temp(path, bytes)?;
    match fs::rename(&temp, path) {
        Ok(()) => {
            sync_folder(&temp);
            Ok(())
        }
        Err(source) => {
            // Best effort: the first error is the one worth reporting.
            let _ = fs::remove_file(&temp);
            Err(AtomicWriteError {
                step: WriteStep::Rename,
                source,
            })
        }
    }
}

/// Writes `bytes` to a fresh temporary file beside `path` and syncs it; returns its path. On
/// an error the temporary file is removed.
fn write_temp(path: &Path, bytes: &[u8]) -> Result<PathBuf, AtomicWriteError> {
    let fail = |step| move |source| AtomicWriteError { step, source };
    let (mut file, temp) = create_temp(path).map_err(fail(WriteStep::CreateTemp))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(fail(WriteStep::Write));
    drop(file);
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written.map(|()| temp)
}

/// A file of [`write_all_atomic`] that could not be written: which, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct FileWriteError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub error: AtomicWriteError,
}

/// Writes several files as one step (a command's outputs: a configuration, its report and its
/// pictures): every file goes to its own temporary file beside its target and is synced, and
/// only when all are written are they renamed over their targets, in order. A failure before
/// the renames (a full disk, a missing folder) leaves every target as it was and removes the
/// temporary files; only a rename failing after an earlier one succeeded (which a file system
/// does not do for files in one folder short of a crash) could leave some new and some old.
///
/// # Errors
/// [`FileWriteError`] naming the first file that failed and the step.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), FileWriteError> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let cleanup = |temps: &[(PathBuf, &Path)]| {
        for (temp, _) in temps {
            let _ = fs::remove_file(temp);
        }
    };
    for &(path, bytes) in files {
        match write_temp(path, bytes) {
            Ok(temp) => temps.push((temp, path)),
            Err(error) => {
                cleanup(&temps);
                return Err(FileWriteError {
                    path: path.to_path_buf(),
                    error,
                });
            }
        }
    }
    // A folder in a target's place is the one rename failure that can be seen coming: refuse
    // it before any target is replaced.
    if let Some((_, path)) = temps.iter().find(|(_, path)| path.is_dir()) {
        let path = path.to_path_buf();
        cleanup(&temps);
        return Err(FileWriteError {
            error: AtomicWriteError {
                step: WriteStep::Rename,
                source: std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "a folder is in the way",
                ),
            },
            path,
        });
    }
    for (i, (temp, path)) in temps.iter().enumerate() {
        if let Err(source) = fs::rename(temp, path) {
            cleanup(&temps[i..]);
            return Err(FileWriteError {
                path: path.to_path_buf(),
                error: AtomicWriteError {
                    step: WriteStep::Rename,
                    source,
                },
            });
        }
    }
    let mut folders: Vec<&Path> = temps.iter().map(|(temp, _)| folder_of(temp)).collect();
    folders.dedup();
    for folder in folders {
        sync_folder_at(folder);
    }
    Ok(())
}

/// Creates `.{name}.{pid}.{n}.tmp` beside `path`, with a name no one else holds.
fn create_temp(path: &Path) -> std::io::Result<(fs::File, PathBuf)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path has no file name",
        )
    })?;
    let folder = folder_of(path);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = folder.join(format!(
            ".{}.{}.{n}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The folder `path` sits in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// Syncs the folder of `file` so a rename into it is durable; silently skipped where the
/// platform or file system cannot open or sync a folder.
fn sync_folder(file: &Path) {
    sync_folder_at(folder_of(file));
}

/// Syncs `folder` (best effort, as [`sync_folder`]).
fn sync_folder_at(folder: &Path) {
    if let Ok(folder) = fs::File::open(folder) {
        let _ = folder.sync_all();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["report.json"]);
    }

    #[test]
    fn each_failing_step_is_named_and_leaves_nothing_new() {
        let dir = tempfile::tempdir().unwrap();
        // No file name.
        let e = write_atomic(Path::new("/"), b"x").unwrap_err();
        assert_eq!(e.step, WriteStep::CreateTemp);
        assert_eq!(
            e.to_string(),
            "cannot create a temporary file: the path has no file name"
        );
        // A folder that does not exist.
        let e = write_atomic(&dir.path().join("no/such/folder/x"), b"x").unwrap_err();
        assert_eq!(e.step, WriteStep::CreateTemp);
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        // The target is a folder: the temporary file is written, the rename fails and the
        // temporary file is removed.
        let occupied = dir.path().join("occupied");
        fs::create_dir(&occupied).unwrap();
        let e = write_atomic(&occupied, b"x").unwrap_err();
        assert_eq!(e.step, WriteStep::Rename);
        assert!(
            e.to_string()
                .starts_with("cannot rename the temporary file over it: "),
            "{e}"
        );
        assert_eq!(names(dir.path()), ["occupied"]);
        // As an io::Error: the same kind, the step in the message.
        let io: std::io::Error = e.into();
        assert!(io.to_string().contains("rename the temporary file"), "{io}");
    }

    #[test]
    fn a_group_is_written_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.bin"), dir.path().join("b.json"));
        write_all_atomic(&[(&a, b"1"), (&b, b"2")]).unwrap();
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"1".to_vec(), b"2".to_vec())
        );
        // The third file's folder does not exist: nothing of the new group lands.
        let c = dir.path().join("missing/c.svg");
        let e = write_all_atomic(&[(&a, b"new"), (&b, b"new"), (&c, b"new")]).unwrap_err();
        assert_eq!(e.path, c);
        assert_eq!(e.error.step, WriteStep::CreateTemp);
        assert!(
            e.to_string()
                .contains("missing/c.svg: cannot create a temporary file"),
            "{e}"
        );
        assert_eq!(
            (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
            (b"1".to_vec(), b"2".to_vec())
        );
        assert_eq!(names(dir.path()), ["a.bin", "b.json"]);
        // A folder in the second file's place: refused before the first is replaced.
        fs::create_dir(dir.path().join("d")).unwrap();
        let d = dir.path().join("d");
        let e = write_all_atomic(&[(&a, b"new"), (&d, b"new")]).unwrap_err();
        assert_eq!(
            (e.path.as_path(), e.error.step),
            (d.as_path(), WriteStep::Rename)
        );
        assert_eq!(fs::read(&a).unwrap(), b"1");
        assert_eq!(names(dir.path()), ["a.bin", "b.json", "d"]);
    }

    #[test]
    fn a_bare_file_name_writes_into_the_working_folder() {
        assert_eq!(folder_of(Path::new("x.json")), Path::new("."));
        assert_eq!(folder_of(Path::new("a/x.json")), Path::new("a"));
    }
}
