//! One module per subcommand: flags in, library call, printing out.

pub mod compile;
pub mod explore;
pub mod explore_shards;
pub mod inspect;
pub mod merge;
pub mod paths;
pub mod pipeline;
pub mod run;
pub mod sweep;
pub mod train;

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
