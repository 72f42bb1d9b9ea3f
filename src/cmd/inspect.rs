//! `ttfs inspect`: a human summary of a chip configuration.

use std::path::PathBuf;

use clap::Args;

/// Flags of `ttfs inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The chip configuration (written by `ttfs compile`).
    config: PathBuf,
    /// Also check it against this target (a JSON file or a shipped target's name).
    #[arg(long, short)]
    target: Option<String>,
}

/// Runs `ttfs inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let config = ttfs_runtime::config::read(&args.config)?;
    let bytes = std::fs::metadata(&args.config).map(|m| m.len()).ok();
    print!("{}", ttfs_runtime::config::summary(&config, bytes));
    if let Some(name) = args.target {
        let crate::stage::TargetFile { path, target, .. } = crate::paths::resolve_target(&name)?;
        config
            .check_target(&target)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
        println!(
            "\nfits target \"{}\" ({}): every core within its limits",
            target.name,
            path.display()
        );
    }
    Ok(())
}
