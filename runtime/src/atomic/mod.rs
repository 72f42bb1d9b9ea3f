//! The one atomic write of the toolchain: every file ttfs writes (models, checkpoints, chip
//! configurations, targets, reports, logs, pictures) goes through [`write_atomic`], so a reader
//! or a kill never finds half a file.
//!
//! The bytes go to a fresh temporary file beside the target (`.{name}.{pid}.{n}.tmp`, created
//! with `create_new`, so two writers never share one), are synced to the disk, and the file is
//! renamed over the target: the target is the old file or the complete new one, never a mix.
//! The directory is then synced (best effort: not every file system can), so the rename itself
//! survives a power cut. On any error the temporary file is removed and nothing new is left.
//!
//! Several files written as one step ([`write_all_atomic`]: a configuration with its report and
//! pictures) are all new or all old even across a kill: a journal ([`journal`]) records the
//! group before its first rename, and whatever writes or reads there next completes a group
//! that was interrupted between its renames and removes the temporary files of writes killed
//! before them.

pub mod journal;

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
    journal::complete_interrupted(folder_of(path));
    journal::remove_stale(path);
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
    let mut folders: Vec<&Path> = files.iter().map(|(path, _)| folder_of(path)).collect();
    folders.sort_unstable();
    folders.dedup();
    for &folder in &folders {
        journal::complete_interrupted(folder);
    }
    for (path, _) in files {
        journal::remove_stale(path);
    }
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
    fault_point("journal");
    // The journal goes beside the first target, before the first rename (a group of one
    // needs none: its one rename is atomic).
    let journal = match (temps.len() > 1, journal::journal_text(&temps)) {
        (true, Some(text)) => {
            let first = temps[0].1;
            let path = folder_of(first).join(journal::journal_name(
                COUNTER.fetch_add(1, Ordering::Relaxed),
            ));
            match write_temp(&path, text.as_bytes()).and_then(|temp| {
                fs::rename(&temp, &path).map_err(|source| AtomicWriteError {
                    step: WriteStep::Rename,
                    source,
                })
            }) {
                Ok(()) => {
                    sync_folder_at(folder_of(first));
                    Some(path)
                }
                Err(error) => {
                    cleanup(&temps);
                    return Err(FileWriteError {
                        path: path.clone(),
                        error,
                    });
                }
            }
        }
        _ => None,
    };
    for (i, (temp, path)) in temps.iter().enumerate() {
        fault_point(&format!("rename:{i}"));
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
    for folder in folders {
        sync_folder_at(folder);
    }
    if let Some(journal) = journal {
        let _ = fs::remove_file(&journal);
        sync_folder_at(folder_of(&journal));
    }
    Ok(())
}

/// With the `fault-injection` feature (the tests' build only), aborts the process, as a `kill
/// -9` would, at the point of a group write that `TTFS_FAULT_ABORT_AT` names: `journal`
/// (every temporary file written, nothing renamed, no journal yet) or `rename:K` (the journal
/// written, `K` of the files renamed).
fn fault_point(point: &str) {
    #[cfg(feature = "fault-injection")]
    if std::env::var("TTFS_FAULT_ABORT_AT").is_ok_and(|at| at == point) {
        std::process::abort();
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = point;
}

/// Numbers this process's temporary files and journals.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates `.{name}.{pid}.{n}.tmp` beside `path`, with a name no one else holds.
fn create_temp(path: &Path) -> std::io::Result<(fs::File, PathBuf)> {
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
mod tests;
