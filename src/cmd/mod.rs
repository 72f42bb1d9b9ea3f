//! One module per subcommand: the flags as the user typed them, checked once into the
//! validated values of [`crate::stage`], whose stages run the library, print and write.

pub mod compile;
pub mod explore;
pub mod inspect;
pub mod merge;
pub mod nir;
pub mod pipeline;
pub mod run;
pub mod sweep;
pub mod train;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use ttfs_compiler::model::{Integrity, Model};
use ttfs_runtime::decision::EarlyExit;

/// `--strict`: refuse, rather than warn about, an input that cannot be checked (a model file
/// without a digest). Set once by `main` before any command runs.
pub static STRICT: AtomicBool = AtomicBool::new(false);

/// Reads `path` as a model, the one-line error naming the file and what was expected: a
/// model file written by `ttfs train`, or a NIR file (named `.nir`, or HDF5 by its first
/// bytes) imported under `nir` (its notes printed on stderr). A model file without a digest
/// (written before digests existed) cannot be checked: one line on stderr says so, or with
/// `--strict` it is refused.
pub fn read_model(path: &Path, nir: &ttfs_nir::ImportOptions) -> anyhow::Result<Model> {
    let file = ttfs_nir::read_model(path, nir)?;
    for note in &file.notes {
        eprintln!("note: {}: {note}", path.display());
    }
    if file.integrity == Integrity::Unchecked {
        let what = format!(
            "{}: the file carries no digest, so an edit to it cannot be detected (a model \
             written before digests existed)",
            path.display()
        );
        if STRICT.load(Ordering::Relaxed) {
            bail!("{what}; --strict refuses it: write it again with a current `ttfs train`");
        }
        eprintln!("warning: {what}; --strict refuses such a file");
    }
    Ok(file.model)
}

/// The values of every `--early-exit` flag (`auto`, `on`, `off`, each with its line of help),
/// parsed into the runtime's one early-exit setting.
pub fn early_exit_values() -> impl TypedValueParser<Value = EarlyExit> {
    PossibleValuesParser::new(
        EarlyExit::ALL.map(|(_, name, help)| PossibleValue::new(name).help(help)),
    )
    .try_map(|name: String| name.parse::<EarlyExit>())
}

/// One line: the error and its causes, joined; a cause whose text the line already holds (an
/// error that prints its source itself) is not repeated.
pub fn describe(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
