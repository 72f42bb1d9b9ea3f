//! One module per subcommand: the flags as the user typed them, checked once into the
//! validated values of [`crate::stage`], whose stages run the library, print and write.

pub mod compile;
pub mod explore;
pub mod inspect;
pub mod merge;
pub mod pipeline;
pub mod run;
pub mod sweep;
pub mod train;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use ttfs_runtime::decision::EarlyExit;

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
