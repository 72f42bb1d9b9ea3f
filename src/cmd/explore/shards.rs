//! `ttfs explore --shard I/N` and its merge: an exploration spread over machines, one slice of
//! the (model, target) pairs each, put back together by `ttfs merge` into exactly the
//! `explore.json` and `explore.svg` one exploration writes (the Pareto marks computed over all
//! the points).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use ttfs_runtime::decision::EarlyExit;
use ttfs_runtime::report::shard::{coverage_problem, slice};

use super::points::{Point, mark_dominated, print_table, write_outputs};

/// The format name written into every `ttfs explore` shard file (2: the early-exit settings
/// as `on`, `off` or `auto`, and a checksum over the contents).
pub const EXPLORE_SHARD_FORMAT: &str = "ttfs-explore-shard-2";

/// The axes of one exploration: every shard of it records the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Space {
    /// The model files, in the order given.
    pub models: Vec<String>,
    /// The targets, as given.
    pub targets: Vec<String>,
    /// The early-exit settings of each (model, target) pair's points.
    pub early_exit: Vec<EarlyExit>,
    /// Test images per point.
    pub images: usize,
    /// Calibration images per compile.
    pub calibrate: usize,
}

impl Space {
    /// The number of (model, target) pairs the shards split.
    fn pairs(&self) -> usize {
        self.models.len() * self.targets.len()
    }
}

/// One shard of an exploration: what `ttfs explore --shard` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExploreShard {
    /// [`EXPLORE_SHARD_FORMAT`].
    pub format: String,
    /// This shard's number, `0..count`.
    pub index: usize,
    /// Shards of the exploration.
    pub count: usize,
    /// The exploration's axes.
    pub space: Space,
    /// This shard's points, in the exploration's order, not yet marked dominated (`None`).
    pub points: Vec<Point>,
    /// FNV-1a 64 of everything above as compact JSON ([`ExploreShard::content_checksum`]).
    pub checksum: u64,
}

/// An exploration shard's contents, everything but the checksum, as the checksum hashes them.
#[derive(Serialize)]
struct Contents<'a> {
    format: &'a str,
    index: usize,
    count: usize,
    space: &'a Space,
    points: &'a [Point],
}

impl ExploreShard {
    /// The shard `index` of `count` of the exploration over `space`, holding `points`, with
    /// its checksum.
    pub fn new(index: usize, count: usize, space: Space, points: Vec<Point>) -> ExploreShard {
        let mut shard = ExploreShard {
            format: EXPLORE_SHARD_FORMAT.to_string(),
            index,
            count,
            space,
            points,
            checksum: 0,
        };
        shard.checksum = shard.content_checksum();
        shard
    }

    /// FNV-1a 64 of the shard's contents as compact JSON (every float written in its shortest
    /// form that reads back exactly, so a file read back hashes the same).
    pub fn content_checksum(&self) -> u64 {
        let contents = Contents {
            format: &self.format,
            index: self.index,
            count: self.count,
            space: &self.space,
            points: &self.points,
        };
        let mut hasher = ttfs_runtime::digest::Fnv1a64::new();
        // Writing into a hasher cannot fail; a failed encoding would only change the checksum.
        let _ = serde_json::to_writer(&mut hasher, &contents);
        hasher.finish()
    }

    /// Writes the shard as `explore.shard-I-of-N.json` in `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(format!(
            "explore.shard-{}-of-{}.json",
            self.index, self.count
        ));
        let json = serde_json::to_string_pretty(self)?;
        ttfs_runtime::atomic::write_atomic(&path, json.as_bytes())
            .with_context(|| format!("{}: could not write the shard", path.display()))?;
        println!("\nwrote {}", path.display());
        Ok(())
    }
}

/// Whether `text` (a shard file's contents) is an exploration's shard rather than a run's.
pub fn is_explore_shard(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Format {
        format: Option<String>,
    }
    serde_json::from_str::<Format>(text)
        .ok()
        .and_then(|f| f.format)
        .is_some_and(|f| f == EXPLORE_SHARD_FORMAT)
}

/// The points of the whole exploration from its shards (in any order), marked dominated.
///
/// # Errors
/// A sentence naming the file: not an exploration shard, another exploration (shard count or
/// axes), a missing or repeated shard, or a shard without the points of its slice.
pub fn merge_points(files: &[(PathBuf, String)]) -> anyhow::Result<Vec<Point>> {
    let mut shards = Vec::with_capacity(files.len());
    for (path, text) in files {
        let shard: ExploreShard = serde_json::from_str(text).with_context(|| {
            format!(
                "{}: not a shard file written by `ttfs explore --shard`",
                path.display()
            )
        })?;
        if shard.format != EXPLORE_SHARD_FORMAT {
            bail!(
                "{}: format \"{}\", expected \"{EXPLORE_SHARD_FORMAT}\"",
                path.display(),
                shard.format
            );
        }
        let found = shard.content_checksum();
        if found != shard.checksum {
            bail!(
                "{}: its contents do not match its checksum ({found:016x}, written {:016x}): it \
                 was edited or damaged after `ttfs explore --shard` wrote it",
                path.display(),
                shard.checksum
            );
        }
        shards.push((path, shard));
    }
    shards.sort_by_key(|(_, s)| s.index);
    let Some((first_path, first)) = shards.first().map(|(p, s)| (*p, s.clone())) else {
        bail!("no shard files given");
    };
    for (path, s) in &shards {
        if s.count != first.count {
            bail!(
                "{}: shard {} of {}, but {} is of {}: not shards of one exploration",
                path.display(),
                s.index,
                s.count,
                first_path.display(),
                first.count
            );
        }
        if s.space != first.space {
            bail!(
                "{}: another exploration than {} (models, targets, early exit or image counts \
                 differ)",
                path.display(),
                first_path.display()
            );
        }
    }
    let indices: Vec<usize> = shards.iter().map(|(_, s)| s.index).collect();
    if let Some(problem) = coverage_problem(first.count, &indices) {
        bail!("explore shards of {}: {problem}", first.count);
    }
    let per_pair = first.space.early_exit.len();
    let mut points = Vec::new();
    for (path, s) in shards {
        let pairs = slice(s.index, s.count, first.space.pairs());
        if s.points.len() != pairs.len() * per_pair {
            bail!(
                "{}: shard {} of {} holds {} points, but its pairs {}..{} make {}",
                path.display(),
                s.index,
                s.count,
                s.points.len(),
                pairs.start,
                pairs.end,
                pairs.len() * per_pair
            );
        }
        points.extend(s.points);
    }
    mark_dominated(&mut points);
    Ok(points)
}

/// `ttfs merge` of exploration shards: `explore.json` and `explore.svg` of the whole space in
/// `out`, and its table.
pub fn merge(files: &[(PathBuf, String)], out: &Path) -> anyhow::Result<()> {
    let points = merge_points(files)?;
    std::fs::create_dir_all(out)
        .with_context(|| format!("cannot create the folder {}", out.display()))?;
    println!(
        "merged {} explore shards: {} points",
        files.len(),
        points.len()
    );
    write_outputs(out, &points)?;
    print_table(&points);
    Ok(())
}
