//! One module per subcommand: flags in, library call, printing out.

pub mod compile;
pub mod inspect;
pub mod paths;
pub mod pipeline;
pub mod run;
pub mod train;

/// One line: the error and its causes, joined.
pub fn describe(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
