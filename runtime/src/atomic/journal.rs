//! The journal that makes a group write all or none across a kill.
//!
//! Renaming several files is several steps, and a process killed between two of them would
//! leave new files beside old ones. So before its first rename a group write records every
//! (temporary file, target) pair in a journal beside its first target
//! (`.ttfs-group.{pid}.{n}.journal`, itself written atomically), and removes the journal after
//! its last rename. A journal left behind by a process that is gone names a group that was
//! interrupted between its renames: every temporary file it lists is complete and synced, so
//! [`complete_interrupted`] renames the ones still there over their targets, which makes the
//! group all new, and removes the journal. Every write calls it for the folders it writes
//! into, and so does reading a chip configuration, before anything else.
//!
//! Temporary files without a journal are writes killed before their renames: their targets
//! are all old, and the next write of the same target removes them ([`remove_stale`]).

use std::fs;
use std::path::{Path, PathBuf};

/// A journal's file name starts so (then the pid, a counter and `.journal`).
const PREFIX: &str = ".ttfs-group.";

/// Whether the process `pid` is still running, so its files are its own business. Where the
/// system cannot tell (no `/proc`), every other process counts as gone.
fn running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    proc.is_dir() && proc.join(pid.to_string()).exists()
}

/// The pid in a file name `{prefix}{pid}.{rest}`, if the name is so.
fn pid_after(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.split('.').next()?.parse().ok()
}

/// The journal's text: one `[temporary file, target]` pair of absolute paths per group member,
/// as JSON; `None` when a path is not UTF-8 (the group is then written without a journal).
pub(super) fn journal_text(pairs: &[(PathBuf, &Path)]) -> Option<String> {
    let absolute = |p: &Path| std::path::absolute(p).ok()?.to_str().map(str::to_string);
    let listed: Option<Vec<[String; 2]>> = pairs
        .iter()
        .map(|(temp, target)| Some([absolute(temp)?, absolute(target)?]))
        .collect();
    serde_json::to_string(&listed?).ok()
}

/// The name of a new journal of this process.
pub(super) fn journal_name(n: u64) -> String {
    format!("{PREFIX}{}.{n}.journal", std::process::id())
}

/// Completes every group write in `folder` that a process now gone left between its renames
/// (see the module docs), and returns the targets it completed. Best effort: a journal that
/// cannot be read or a rename that fails is left for the next call.
pub fn complete_interrupted(folder: &Path) -> Vec<PathBuf> {
    let mut completed = Vec::new();
    let Ok(entries) = fs::read_dir(folder) else {
        return completed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".journal") || pid_after(&name, PREFIX).is_none_or(running) {
            continue;
        }
        let journal = entry.path();
        let Ok(text) = fs::read_to_string(&journal) else {
            continue;
        };
        let Ok(pairs) = serde_json::from_str::<Vec<[PathBuf; 2]>>(&text) else {
            continue;
        };
        let mut done = true;
        for [temp, target] in &pairs {
            if temp.exists() {
                match fs::rename(temp, target) {
                    Ok(()) => completed.push(target.clone()),
                    Err(_) => done = false,
                }
            }
        }
        if done {
            let _ = fs::remove_file(&journal);
        }
    }
    completed
}

/// Removes the temporary files beside `target` (`.{name}.{pid}.{n}.tmp`) that a process now
/// gone left: a write killed before its renames, whose target is still the old file. Run
/// after [`complete_interrupted`], which needs the temporary files its journals list.
pub fn remove_stale(target: &Path) {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return;
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(super::folder_of(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.ends_with(".tmp") && pid_after(&file, &prefix).is_some_and(|pid| !running(pid)) {
            let _ = fs::remove_file(entry.path());
        }
    }
}
