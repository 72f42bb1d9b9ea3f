//! The validated half of every subcommand: each stage takes values already resolved and
//! checked (a loaded target, a read model, a loaded test split, a training configuration the
//! trainer accepted), runs the library, prints what it did and writes its files. The flag
//! structs of `cmd/` only turn what the user typed into these values, once; the pipeline, the
//! sweep and the explorations build the same values themselves and call the same stages, so no
//! stage is reached through another's flags and no target is resolved twice.
//!
//! - [`train`]: a checked training run ([`TrainJob`]) with progress bars and its curves.
//! - [`compile`]: a model onto a resolved target ([`CompileJob`]), the configuration and its
//!   reports written.
//! - [`run`]: a configuration on the emulator ([`RunJob`]), its report, pictures and verdicts.

pub mod compile;
pub mod run;
pub mod train;

use std::path::{Path, PathBuf};

use ttfs_data::{Dataset, Split};
use ttfs_runtime::target::Target;

pub use compile::{CompileJob, CompileOutput};
pub use run::RunJob;
pub use train::TrainJob;

/// A target description and the file it was loaded from (named in reports and messages).
#[derive(Clone, Debug)]
pub struct TargetFile {
    /// The target as the user gave it: a shipped target's name or a path (echoed in messages
    /// and in the commands that reproduce a point).
    pub given: String,
    /// The description's file.
    pub path: PathBuf,
    /// The description, validated.
    pub target: Target,
}

/// The test split of a data set and the folder it was loaded from.
#[derive(Clone, Debug)]
pub struct TestSet {
    /// The folder of the IDX files.
    pub dir: PathBuf,
    /// The images and labels.
    pub data: Dataset,
}

impl TestSet {
    /// Loads the test split of the IDX files in `dir`.
    ///
    /// # Errors
    /// The data crate's error, naming the file.
    pub fn load(dir: &Path) -> anyhow::Result<TestSet> {
        Ok(TestSet {
            dir: dir.to_path_buf(),
            data: Dataset::load(dir, Split::Test)?,
        })
    }
}
