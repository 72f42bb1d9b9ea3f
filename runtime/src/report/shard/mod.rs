//! Runs spread over many machines: `ttfs run --shard I/N` runs the `I`-th of `N` contiguous
//! slices of the images and writes a [`Shard`] (every per-inference [`Record`], the per-neuron
//! firing counts and what the run was); [`merge`] puts the shards of one run back together as
//! the [`Inferences`] of a single run over all the images, from which [`super::summarize`]
//! builds exactly the report one run would have (accuracy, every mean, the percentiles of the
//! merged records, the verdicts), the wall-clock timing aside.
//!
//! Nothing in a shard is taken on trust: every shard carries a checksum over its contents
//! ([`Shard::sealed`]), checked before anything else, so a record, an accuracy or a timing
//! edited after the run is refused; and once the configuration and target are known,
//! [`Merged::check`] holds every record against them (classes, layers, steps, ranges, the
//! energy the target gives the counters), so shards of another network are refused too.

mod check;

use serde::{Deserialize, Serialize};

use super::{FiringCounts, Inferences, Record, Sources, Timing};
use crate::digest::Fnv1a64;

/// A digest of `config` (FNV-1a 64 of its encoding): every shard of a run records it, and
/// `ttfs merge` checks the configuration it reads against it.
pub fn config_digest(config: &crate::config::ChipConfig) -> u64 {
    crate::digest::Fnv1a64::hash_bytes(&postcard::to_stdvec(config).unwrap_or_default())
}

/// The most shards a run may be split into (as `--shard` takes them).
pub const MAX_SHARDS: usize = 1_000_000;

/// The most images a run's shards may number (far beyond any test set).
pub const MAX_IMAGES: usize = 1 << 32;

/// The format name written into every shard file (2: with a checksum over the contents).
pub const SHARD_FORMAT: &str = "ttfs-shard-2";

/// The `index`-th of `count` contiguous slices of `images` items: `[lo, hi)`, the first
/// `images % count` slices one longer.
pub fn slice(index: usize, count: usize, images: usize) -> std::ops::Range<usize> {
    let count = count.max(1);
    let (base, extra) = (images / count, images % count);
    let lo = index * base + index.min(extra);
    let hi = lo + base + usize::from(index < extra);
    lo.min(images)..hi.min(images)
}

/// `I/N` as `(I, N)`, with `N >= 1` and `I < N`.
///
/// # Errors
/// A sentence naming the rule broken.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("'{text}' is not I/N (e.g. 0/4: the first of 4 shards)"))?;
    let parse = |s: &str, what: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{text}': {what} '{s}' is not a whole number"))
    };
    let (i, n) = (parse(i, "the shard")?, parse(n, "the count")?);
    if n == 0 || n > 1_000_000 {
        return Err(format!("'{text}': the count must be 1 to 1,000,000"));
    }
    if i >= n {
        return Err(format!("'{text}': shards are numbered 0 to {}", n - 1));
    }
    Ok((i, n))
}

/// One shard of a run: what `ttfs run --shard` writes and `ttfs merge` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Shard {
    /// [`SHARD_FORMAT`].
    pub format: String,
    /// This shard's number, `0..count`.
    pub index: usize,
    /// Shards of the run.
    pub count: usize,
    /// Images of the whole run.
    pub images: usize,
    /// The first image of this shard (its records are images `first_image..`).
    pub first_image: usize,
    /// A digest of the configuration run (every shard of a run has the same).
    pub config_digest: u64,
    /// Whether each inference stopped at its first output spike.
    pub early_exit: bool,
    /// The golden model compared against, if any (its file, as the report names it).
    pub golden_model: Option<String>,
    /// Where the run came from.
    pub sources: Sources,
    /// One record per image of the slice, in image order.
    pub records: Vec<Record>,
    /// Per layer, per neuron: in how many of this slice's inferences it fired.
    pub firing: FiringCounts,
    /// This shard's wall clock.
    pub timing: Timing,
    /// FNV-1a 64 of everything above ([`Shard::sealed`]).
    pub checksum: u64,
}

/// A shard's contents, everything but the checksum, as the checksum hashes them.
#[derive(Serialize)]
struct Contents<'a> {
    format: &'a str,
    index: usize,
    count: usize,
    images: usize,
    first_image: usize,
    config_digest: u64,
    early_exit: bool,
    golden_model: &'a Option<String>,
    sources: &'a Sources,
    records: &'a [Record],
    firing: &'a FiringCounts,
    timing: &'a Timing,
}

impl Shard {
    /// FNV-1a 64 of the shard's contents (postcard: every value exact, floats by their bits).
    pub fn content_checksum(&self) -> u64 {
        let contents = Contents {
            format: &self.format,
            index: self.index,
            count: self.count,
            images: self.images,
            first_image: self.first_image,
            config_digest: self.config_digest,
            early_exit: self.early_exit,
            golden_model: &self.golden_model,
            sources: &self.sources,
            records: &self.records,
            firing: &self.firing,
            timing: &self.timing,
        };
        let mut hasher = Fnv1a64::new();
        // Writing into a hasher cannot fail; a failed encoding would only change the checksum.
        let _ = postcard::to_io(&contents, &mut hasher);
        hasher.finish()
    }

    /// The shard with its checksum set: what `ttfs run --shard` writes.
    #[must_use]
    pub fn sealed(mut self) -> Shard {
        self.checksum = self.content_checksum();
        self
    }

    /// Checks that the shard's numbering is one a run gives: at most [`MAX_SHARDS`] shards,
    /// its index below their count, at most [`MAX_IMAGES`] images, its records inside them.
    ///
    /// # Errors
    /// [`ShardError::Bounds`] naming the field and its limit.
    pub fn check_bounds(&self) -> Result<(), ShardError> {
        let bound = |what, value: usize, limit: usize| {
            if value <= limit {
                Ok(())
            } else {
                Err(ShardError::Bounds {
                    index: self.index,
                    what,
                    value,
                    limit,
                })
            }
        };
        bound("the shard count", self.count, MAX_SHARDS)?;
        bound(
            "the shard's index",
            self.index,
            self.count.saturating_sub(1),
        )?;
        bound("the image count", self.images, MAX_IMAGES)?;
        bound("the first image", self.first_image, self.images)?;
        bound(
            "the record count",
            self.records.len(),
            self.images - self.first_image,
        )
    }

    /// Checks the shard's format and that its contents match its checksum.
    ///
    /// # Errors
    /// [`ShardError::Format`], [`ShardError::Checksum`].
    pub fn verify(&self) -> Result<(), ShardError> {
        if self.format != SHARD_FORMAT {
            return Err(ShardError::Format {
                index: self.index,
                found: self.format.clone(),
            });
        }
        let found = self.content_checksum();
        if found != self.checksum {
            return Err(ShardError::Checksum {
                index: self.index,
                found,
                written: self.checksum,
            });
        }
        Ok(())
    }
}

/// Why shards cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// No shard given.
    #[error("no shard to merge")]
    Empty,
    /// A shard's contents do not match its checksum: edited or damaged after it was written.
    #[error(
        "shard {index}: its contents do not match its checksum ({found:016x}, written \
         {written:016x}): it was edited or damaged after `ttfs run --shard` wrote it"
    )]
    Checksum {
        /// The shard's index.
        index: usize,
        /// The checksum of its contents as read.
        found: u64,
        /// The checksum it carries.
        written: u64,
    },
    /// A record (or the firing counts) breaks what the configuration and target allow.
    #[error("image {image}: {problem}")]
    Record {
        /// The image (numbered as in the whole run).
        image: usize,
        /// What is wrong, naming the value and the limit.
        problem: String,
    },
    /// The firing counts do not fit the configuration.
    #[error("firing counts: {0}")]
    Firing(String),
    /// A shard's numbering is out of any range a run gives.
    #[error("shard {index}: {what} is {value}, at most {limit}")]
    Bounds {
        /// The shard's index.
        index: usize,
        /// The field.
        what: &'static str,
        /// Its value.
        value: usize,
        /// Its largest value.
        limit: usize,
    },
    /// A file is not a shard of this format.
    #[error("shard {index}: format '{found}', expected '{SHARD_FORMAT}'")]
    Format {
        /// The shard's index.
        index: usize,
        /// The format it names.
        found: String,
    },
    /// The shards come from different runs.
    #[error(
        "shard {index} of {count} is from another run than shard {first_index}: its {what} differs"
    )]
    OtherRun {
        /// The shard that differs.
        index: usize,
        /// Its shard count.
        count: usize,
        /// The shard it was compared with.
        first_index: usize,
        /// What differs.
        what: &'static str,
    },
    /// A shard is missing or given twice.
    #[error("shards of {count}: {problem}")]
    Coverage {
        /// Shards of the run.
        count: usize,
        /// Which are missing or repeated.
        problem: String,
    },
    /// A shard does not hold the slice its number says.
    #[error("shard {index} of {count} holds images {first}..{end}, but its slice is {lo}..{hi}")]
    Slice {
        /// The shard.
        index: usize,
        /// Shards of the run.
        count: usize,
        /// Its first image.
        first: usize,
        /// One past its last.
        end: usize,
        /// The slice's first image.
        lo: usize,
        /// One past the slice's last.
        hi: usize,
    },
}

/// Which of the shards `0..count` are missing or repeated in `sorted` (shard numbers in
/// ascending order), as "missing 1, 3; given twice: 2"; `None` when each is there once. The
/// one rule for run shards and for `ttfs explore` shards.
pub fn coverage_problem(count: usize, sorted: &[usize]) -> Option<String> {
    let expected: Vec<usize> = (0..count).collect();
    if sorted == expected {
        return None;
    }
    let missing: Vec<String> = expected
        .iter()
        .filter(|i| !sorted.contains(i))
        .map(ToString::to_string)
        .collect();
    let repeated: Vec<String> = sorted
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].to_string())
        .collect();
    let mut problem = Vec::new();
    if !missing.is_empty() {
        problem.push(format!("missing {}", missing.join(", ")));
    }
    if !repeated.is_empty() {
        problem.push(format!("given twice: {}", repeated.join(", ")));
    }
    Some(problem.join("; "))
}

/// What the shards were, once merged.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    /// The records and firing counts of the whole run, in image order.
    pub inferences: Inferences,
    /// The configuration digest all shards share.
    pub config_digest: u64,
    /// Early exit, as every shard ran.
    pub early_exit: bool,
    /// The golden model all shards were compared against.
    pub golden_model: Option<String>,
    /// Where the run came from.
    pub sources: Sources,
    /// The shards' timings: the most threads any shard ran on, and the seconds of all
    /// machines summed (the rates are over that sum).
    pub timing: Timing,
}

/// Merges the shards of one run (in any order) into the run over all its images.
///
/// # Errors
/// [`ShardError`]: no shard, another format, a checksum that does not match, shards of
/// different runs (count, images, configuration, early exit, golden model, sources, layer
/// sizes), a missing or repeated shard, or a shard whose records are not its slice.
pub fn merge(mut shards: Vec<Shard>) -> Result<Merged, ShardError> {
    shards.sort_by_key(|s| s.index);
    for s in &shards {
        s.verify()?;
        s.check_bounds()?;
    }
    let first = shards.first().ok_or(ShardError::Empty)?.clone();
    for s in &shards {
        let differs = |what| ShardError::OtherRun {
            index: s.index,
            count: s.count,
            first_index: first.index,
            what,
        };
        if s.count != first.count {
            return Err(differs("shard count"));
        }
        if s.images != first.images {
            return Err(differs("image count"));
        }
        if s.config_digest != first.config_digest {
            return Err(differs("configuration"));
        }
        if s.early_exit != first.early_exit {
            return Err(differs("early exit"));
        }
        if s.golden_model != first.golden_model {
            return Err(differs("golden model"));
        }
        if s.sources != first.sources {
            return Err(differs("configuration, target or data files"));
        }
        let sizes = |f: &FiringCounts| f.iter().map(Vec::len).collect::<Vec<_>>();
        if sizes(&s.firing) != sizes(&first.firing) {
            return Err(differs("layer shape"));
        }
    }
    let indices: Vec<usize> = shards.iter().map(|s| s.index).collect();
    if let Some(problem) = coverage_problem(first.count, &indices) {
        return Err(ShardError::Coverage {
            count: first.count,
            problem,
        });
    }
    let mut records = Vec::with_capacity(first.images);
    let mut firing = first.firing.clone();
    for layer in &mut firing {
        layer.fill(0);
    }
    let mut timing = Timing {
        threads: 0,
        wall_seconds: 0.0,
        inferences_per_second: 0.0,
        synaptic_ops_per_second: 0.0,
    };
    for s in shards {
        let range = slice(s.index, s.count, s.images);
        // Within MAX_IMAGES (check_bounds): no overflow.
        let end = s.first_image + s.records.len();
        if s.first_image != range.start || end != range.end {
            return Err(ShardError::Slice {
                index: s.index,
                count: s.count,
                first: s.first_image,
                end,
                lo: range.start,
                hi: range.end,
            });
        }
        for (total, part) in firing.iter_mut().zip(&s.firing) {
            for (t, p) in total.iter_mut().zip(part) {
                // Saturated, a count above the records is refused by `Merged::check`.
                *t = t.saturating_add(*p);
            }
        }
        timing.threads = timing.threads.max(s.timing.threads);
        timing.wall_seconds += s.timing.wall_seconds;
        records.extend(s.records);
    }
    let ops: f64 = records.iter().map(|r| r.counters.synaptic_ops as f64).sum();
    let wall = timing.wall_seconds.max(1e-9);
    timing.inferences_per_second = records.len() as f64 / wall;
    timing.synaptic_ops_per_second = ops / wall;
    Ok(Merged {
        inferences: Inferences { records, firing },
        config_digest: first.config_digest,
        early_exit: first.early_exit,
        golden_model: first.golden_model,
        sources: first.sources,
        timing,
    })
}

#[cfg(test)]
mod tests;
