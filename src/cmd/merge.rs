//! `ttfs merge`: the shards of one run (`ttfs run --shard I/N`, on as many machines as there
//! are shards) back into the report of a single run over all the images, exactly as one run
//! would have written it (accuracy, every mean, percentiles of the merged records, the
//! single-spike and golden verdicts; only the wall-clock timing sums the shards'). Writes
//! `<stem>.run.json` and its energy and latency pictures. Given the shards of an exploration
//! (`ttfs explore --shard I/N`), it writes that exploration's `explore.json` and `explore.svg`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use ttfs_runtime::report::shard::{Shard, config_digest, merge};
use ttfs_runtime::report::{GoldenSummary, format_report, summarize};

use super::explore::shards::is_explore_shard;
use crate::paths::resolve_target;
use crate::stage::run::outputs::{Charts, Outputs, verdicts};

/// Flags of `ttfs merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The shard files (`<stem>.shard-I-of-N.json`, or `explore.shard-I-of-N.json`), all N of
    /// one run or one exploration, in any order.
    #[arg(required = true, value_name = "SHARD")]
    shards: Vec<PathBuf>,
    /// The configuration the shards ran [default: the path they name].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The target description [default: the file the shards name].
    #[arg(long, short)]
    target: Option<String>,
    /// Folder for `<stem>.run.json` and the pictures [default: beside the first shard].
    #[arg(long, short, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Report single-spike violations without failing.
    #[arg(long)]
    allow_violations: bool,
}

/// Runs `ttfs merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    let mut files = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: could not read the shard", path.display()))?;
        files.push((path.clone(), text));
    }
    let beside_first = || args.shards[0].parent().map(PathBuf::from);
    if files
        .first()
        .is_some_and(|(_, text)| is_explore_shard(text))
    {
        if args.config.is_some() || args.target.is_some() {
            bail!("--config and --target are for the shards of a run, not of an exploration");
        }
        let out = args.out.clone().or_else(beside_first).unwrap_or_default();
        return super::explore::shards::merge(&files, &out);
    }
    let mut shards = Vec::with_capacity(files.len());
    for (path, text) in &files {
        let shard: Shard = serde_json::from_str(text).with_context(|| {
            format!(
                "{}: not a shard file written by `ttfs run --shard` or `ttfs explore --shard`",
                path.display()
            )
        })?;
        shard.verify().with_context(|| path.display().to_string())?;
        shards.push(shard);
    }
    let merged = merge(shards).context("the shards do not make one run")?;
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(&merged.sources.config));
    let config = ttfs_runtime::config::read(&config_path)?;
    if config_digest(&config) != merged.config_digest {
        bail!(
            "{}: not the configuration the shards ran (its digest is {:016x}, theirs {:016x}); \
             pass the one they ran with --config",
            config_path.display(),
            config_digest(&config),
            merged.config_digest
        );
    }
    let target_name = args
        .target
        .clone()
        .unwrap_or_else(|| merged.sources.target_file.clone());
    let target = resolve_target(&target_name)?.target;
    config
        .check_target(&target)
        .with_context(|| format!("{}: {target_name}", config_path.display()))?;
    merged.check(&config, &target).with_context(|| {
        format!(
            "the shards are not a run of {} on {target_name}",
            config_path.display()
        )
    })?;
    let records = &merged.inferences.records;
    let golden = merged
        .golden_model
        .clone()
        .map(|model| GoldenSummary::of(model, records.iter().filter_map(|r| r.golden.as_ref())));
    let report = summarize(
        &merged.inferences,
        &config,
        &target,
        merged.early_exit,
        merged.sources.clone(),
        golden,
        merged.timing.clone(),
    );
    println!(
        "merged {} shards: {} inferences of {} on target \"{}\"\n",
        args.shards.len(),
        report.images,
        config_path.display(),
        target.name
    );
    print!("{}", format_report(&report));
    let out = args.out.clone().or_else(beside_first);
    let outputs = Outputs::new(&config_path, out.as_deref())?;
    Charts::of(&outputs, &target, &report)?.write(&outputs)?;
    println!(
        "\nwrote {}, {}, {}",
        outputs.json.display(),
        outputs.energy.display(),
        outputs.latency.display()
    );
    verdicts(&report, args.allow_violations, &outputs.json)
}
