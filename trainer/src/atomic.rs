//! Writing a file so that a kill never leaves half of it behind.

use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary file beside it (`path` + `.tmp`) and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
