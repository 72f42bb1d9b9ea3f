//! Where the CLI finds its inputs: shipped targets by name, the embedded MNIST folder, and the
//! files it writes next to another.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::stage::TargetFile;

/// A folder shipped in the source tree: `rel` under the working directory if it exists there,
/// else under the tree this binary was built from.
fn shipped(rel: &str) -> PathBuf {
    let local = Path::new(rel);
    if local.exists() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The embedded MNIST folder (`fixtures/mnist`).
pub fn default_mnist_dir() -> PathBuf {
    shipped("fixtures/mnist")
}

/// The names of the shipped targets (`fixtures/targets/*.json`), sorted.
pub fn shipped_targets() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shipped("fixtures/targets"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension()? == "json").then(|| p.file_stem()?.to_str().map(String::from))?
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The file of the shipped target `name` (`fixtures/targets/NAME.json`; it may not exist).
pub fn shipped_target_path(name: &str) -> PathBuf {
    shipped("fixtures/targets").join(format!("{name}.json"))
}

/// Loads a target given as a JSON path or as the name of a shipped target: the one place a
/// target the user typed becomes a [`TargetFile`].
pub fn resolve_target(arg: &str) -> anyhow::Result<TargetFile> {
    let as_path = Path::new(arg);
    let path = if as_path.exists() {
        as_path.to_path_buf()
    } else {
        let named = shipped_target_path(arg);
        if !arg.contains(['/', '.']) && named.exists() {
            named
        } else {
            bail!(
                "target '{arg}' is neither a file nor a shipped target; shipped targets: {}",
                shipped_targets().join(", ")
            );
        }
    };
    let target = ttfs_runtime::target::load(&path)?;
    Ok(TargetFile {
        given: arg.to_string(),
        path,
        target,
    })
}

/// The test-data folder: `--data` if given, else the embedded MNIST for an MNIST model.
pub fn resolve_data(data: Option<&Path>, dataset: &str) -> anyhow::Result<PathBuf> {
    match (data, dataset) {
        (Some(dir), _) => Ok(dir.to_path_buf()),
        (None, "mnist") => Ok(default_mnist_dir()),
        (None, other) => bail!(
            "--data DIR is required for a model trained on '{other}' (only MNIST is embedded): \
             {}; or --limit 0 to skip calibration",
            data_hint(other)
        ),
    }
}

/// Where the IDX files of a data set that is not embedded come from, for the `--data` hints.
pub fn data_hint(dataset: &str) -> String {
    match dataset {
        "fashion-mnist" => {
            "a folder with the four Fashion-MNIST IDX files (train- and t10k- images \
             and labels, optionally gzipped, from github.com/zalandoresearch/fashion-mnist)"
                .to_string()
        }
        other => format!("a folder with the four IDX files of {other}"),
    }
}

/// The file name of `path` without its extension, or `fallback` when it has none (it names
/// every output derived from that file).
pub fn file_stem(path: &Path, fallback: &str) -> String {
    path.file_stem().map_or_else(
        || fallback.to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// `path` without its extension, followed by `suffix` (`runs/m.safetensors` and
/// `.curves.svg` -> `runs/m.curves.svg`), as the trainer names its side files.
pub fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.with_extension("").into_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `path` with its extension replaced by `ext` (e.g. `chip.bin` -> `chip.map.json`).
pub fn sibling(path: &Path, ext: &str) -> PathBuf {
    path.with_extension(ext)
}
