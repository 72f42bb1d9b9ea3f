//! The target description: one JSON file per chip under `fixtures/targets/`
//! (its fields: the README's "Target descriptions"; its bounds: [`limits`]).
//!
//! A target is a 2-D mesh of identical neuro-cores. Every field is required and every unit is in
//! the field's name (`timing_cycles`, `energy_pj`, `clock_mhz`, `static_mw`), so a file reads on
//! its own. Unknown fields are refused, so a typo cannot silently fall back to a default.
//!
//! Reading goes in two steps, as in ripgrep's raw/validated split: serde checks the shape (missing
//! field, unknown field, wrong type, with serde's line and column), then [`Target::validate`]
//! checks the ranges, so every range rule and its message live in one place. Every error names the
//! file and, for range errors, the dotted field (`core.weight_bits`).
//!
//! The format has no version field because its fields are fixed (unknown ones are refused); the
//! compiled chip configuration instead carries [`Target::hash`], a stable FNV-1a 64 of the
//! canonical JSON, so a configuration can refuse a target it was not compiled for.

use std::fmt::Display;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::digest::Fnv1a64;

/// The largest value each size of a target may declare. Generous beside every published chip
/// (Loihi: 128 cores, 1024 neurons and 4096 axons per core; TrueNorth: 64 x 64 cores), and
/// small enough that every size the toolchain derives from them (cores, links, cycles, the
/// core map) is computed without overflow and fits in memory.
pub mod limits {
    /// `mesh.cols` and `mesh.rows`: at most 65,536 cores.
    pub const MESH_SIDE: u32 = 256;
    /// `core.max_neurons`.
    pub const NEURONS: u32 = 1 << 20;
    /// `core.max_axons`.
    pub const AXONS: u32 = 1 << 20;
    /// `core.max_synapses`.
    pub const SYNAPSES: u32 = 1 << 26;
    /// `core.fifo_depth`.
    pub const FIFO_DEPTH: u32 = 1 << 20;
    /// `core.synapse_lanes`.
    pub const SYNAPSE_LANES: u32 = 1 << 16;
    /// Every `timing_cycles` count.
    pub const CYCLES: u32 = 1 << 20;
    /// `timing_cycles.clock_mhz` (1 THz).
    pub const CLOCK_MHZ: f64 = 1e6;
    /// The slowest `timing_cycles.clock_mhz` (1 kHz, below any chip's): every duration and
    /// static energy derived from a cycle count (at most 2^64) stays finite.
    pub const MIN_CLOCK_MHZ: f64 = 1e-3;
    /// Every `energy_pj` cost of one operation (1 uJ).
    pub const ENERGY_PJ: f64 = 1e6;
    /// `energy_pj.static_mw` (1 kW).
    pub const STATIC_MW: f64 = 1e6;
}

/// Why a target description could not be read, parsed or accepted.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The file could not be read or written.
    #[error("{origin}: {source}")]
    Io {
        /// The file.
        origin: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON is malformed or does not have the target's shape (missing or unknown field,
    /// wrong type); serde's message keeps the line and column.
    #[error("{origin}: {source}")]
    Json {
        /// The file (or other origin of the text).
        origin: String,
        /// The serde error, with line and column.
        source: serde_json::Error,
    },
    /// A field is outside its allowed range.
    #[error("{origin}: {field} is {value}, must be {rule}")]
    Invalid {
        /// The file (or other origin of the text).
        origin: String,
        /// The dotted field name, e.g. `core.weight_bits`.
        field: &'static str,
        /// The offending value, as text.
        value: String,
        /// The rule it breaks, e.g. `between 1 and 16`.
        rule: String,
    },
}

/// A chip: a mesh of identical neuro-cores, what each core holds, and its cost model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Short name, e.g. `loihi`.
    pub name: String,
    /// One paragraph: what this target models and which numbers are assumptions.
    pub description: String,
    /// Where the numbers come from (chip, paper, table); at least one.
    pub sources: Vec<String>,
    /// The 2-D mesh of cores.
    pub mesh: Mesh,
    /// What one core holds.
    pub core: Core,
    /// What the neuron circuit supports.
    pub neuron: NeuronCaps,
    /// Latency of each operation, in clock cycles, and the clock.
    pub timing_cycles: Timing,
    /// Energy of each operation, in picojoules, and the static power.
    pub energy_pj: Energy,
}

/// The network-on-chip: `cols x rows` cores, XY routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mesh {
    /// Cores along x.
    pub cols: u32,
    /// Cores along y.
    pub rows: u32,
}

/// Capacity and word widths of one neuro-core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Core {
    /// Neurons (compartments) per core.
    pub max_neurons: u32,
    /// Distinct input lines (axons) per core.
    pub max_axons: u32,
    /// Synapse memory entries per core.
    pub max_synapses: u32,
    /// Width of a signed weight, 1..=16.
    pub weight_bits: u32,
    /// Width of the signed, saturating membrane potential register, 2..=32.
    pub potential_bits: u32,
    /// Width of the synaptic current register, 2..=32.
    pub current_bits: u32,
    /// Width of the threshold register, 2..=32.
    pub threshold_bits: u32,
    /// Depth of the input event queue, in events.
    pub fifo_depth: u32,
    /// Synapses processed per cycle.
    pub synapse_lanes: u32,
}

/// What the neuron circuit supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronCaps {
    /// Resolution of the fixed-point decay factors, in bits (e.g. 12), 1..=24.
    pub decay_bits: u32,
    /// Whether a per-neuron bias current is supported.
    pub bias: bool,
    /// Longest refractory period, in time steps; `None` (JSON `null`) means "until reset".
    /// Required: the key must be present, with a number or `null`.
    #[serde(deserialize_with = "required_option")]
    pub max_refractory_steps: Option<u32>,
    /// Whether each neuron has its own threshold register (`false`: one threshold per core,
    /// so the compiler quantizes with one scale per layer).
    pub per_neuron_threshold: bool,
    /// When a neuron's state is updated (JSON `"every_step"` or `"on_input"`; absent means
    /// every step, as in targets written before it existed).
    #[serde(default)]
    pub update: NeuronUpdateMode,
}

/// When the chip updates a neuron.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuronUpdateMode {
    /// Every live neuron of every core, every time step (a core sweeps its compartments, as
    /// Loihi, TrueNorth and Xylo do).
    #[default]
    EveryStep,
    /// Only a neuron that an event reached in the time step (an event-driven chip such as
    /// SynSense's Speck / DYNAP-CNN). Exact only for neurons whose state cannot change without
    /// input ([`crate::neuron::NeuronParams::still_without_input`]).
    OnInput,
}

impl NeuronUpdateMode {
    /// The JSON spelling, for reports.
    pub fn name(self) -> &'static str {
        match self {
            NeuronUpdateMode::EveryStep => "every_step",
            NeuronUpdateMode::OnInput => "on_input",
        }
    }
}

/// Deserializes an `Option` without serde's "missing means `None`" default, so the key stays
/// required (serde only applies that default to fields without `deserialize_with`).
fn required_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Option::<u32>::deserialize(d)
}

/// Latency of each operation, in clock cycles, and the clock frequency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// Fixed cost of dequeuing one input event.
    pub event_overhead: u32,
    /// One synaptic operation (per lane), at least 1.
    pub synop: u32,
    /// One neuron state update, at least 1.
    pub neuron_update: u32,
    /// Emitting one spike into the network.
    pub spike_inject: u32,
    /// One mesh hop, at least 1.
    pub hop: u32,
    /// The end-of-step barrier across the chip.
    pub barrier: u32,
    /// Injecting one input spike from the host.
    pub host_inject: u32,
    /// Clock frequency in MHz, finite and > 0.
    pub clock_mhz: f64,
}

/// Energy of each operation, in picojoules, and the whole chip's static power.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energy {
    /// One synaptic operation.
    pub synop: f64,
    /// One neuron state update.
    pub neuron_update: f64,
    /// Emitting one spike.
    pub spike_inject: f64,
    /// One mesh hop.
    pub hop: f64,
    /// Injecting one input spike from the host.
    pub host_inject: f64,
    /// Static power of the whole chip, in mW.
    pub static_mw: f64,
}

/// Reads, parses and validates the target description at `path`.
///
/// # Errors
/// [`TargetError::Io`] if the file cannot be read, [`TargetError::Json`] if it is not a target's
/// JSON, [`TargetError::Invalid`] if a field is out of range; each names `path`.
pub fn load(path: &Path) -> Result<Target, TargetError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::Io {
        origin: origin.clone(),
        source,
    })?;
    parse(&text, &origin)
}

/// Parses and validates a target description; `origin` (usually the file name) prefixes every
/// error message.
///
/// # Errors
/// [`TargetError::Json`] if `text` is not a target's JSON, [`TargetError::Invalid`] if a field is
/// out of range.
pub fn parse(text: &str, origin: &str) -> Result<Target, TargetError> {
    let target: Target = serde_json::from_str(text).map_err(|source| TargetError::Json {
        origin: origin.to_owned(),
        source,
    })?;
    target.check(origin)?;
    Ok(target)
}

impl Target {
    /// Checks every range rule (the bounds are in [`limits`]); errors are prefixed with
    /// `target "<name>"`. [`parse`] and [`load`] already call this, with the file name.
    ///
    /// # Errors
    /// [`TargetError::Invalid`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), TargetError> {
        self.check(&format!("target \"{}\"", self.name))
    }

    /// Total number of cores on the mesh.
    #[must_use]
    pub fn cores(&self) -> u64 {
        u64::from(self.mesh.cols) * u64::from(self.mesh.rows)
    }

    /// A stable FNV-1a 64 hash of the canonical JSON (`serde_json::to_string` of the struct, fields
    /// in declaration order); the chip configuration carries it to pin the target it was compiled
    /// for. Any change to any field changes it.
    #[must_use]
    pub fn hash(&self) -> u64 {
        let mut h = Fnv1a64::new();
        // The struct holds only strings, integers, floats, booleans and options, which serde_json
        // always serializes, and the writer never fails, so the result carries no information.
        let _ = serde_json::to_writer(&mut h, self);
        h.finish()
    }

    /// The description as pretty-printed JSON (the form shipped in `fixtures/targets/`).
    #[must_use]
    pub fn to_json_pretty(&self) -> String {
        // Cannot fail for this struct (see `hash`); fall back to an empty string rather than panic.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the description to `path` as pretty JSON ([`crate::atomic::write_atomic`]).
    ///
    /// # Errors
    /// [`TargetError::Io`] naming `path`.
    #[cfg(test)]
    pub(crate) fn save(&self, path: &Path) -> Result<(), TargetError> {
        let mut text = self.to_json_pretty();
        text.push('\n');
        crate::atomic::write_atomic(path, text.as_bytes()).map_err(|e| TargetError::Io {
            origin: path.display().to_string(),
            source: e.into(),
        })
    }

    fn check(&self, origin: &str) -> Result<(), TargetError> {
        let bad = |field: &'static str, value: &dyn Display, rule: String| TargetError::Invalid {
            origin: origin.to_owned(),
            field,
            value: value.to_string(),
            rule,
        };
        let range = |field: &'static str, v: u32, lo: u32, hi: u32| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(bad(field, &v, format!("between {lo} and {hi}")))
            }
        };
        let at_least_1 = |field: &'static str, v: u32, hi: u32| range(field, v, 1, hi);
        let bounded = |field: &'static str, v: f64, hi: f64| {
            if v.is_finite() && v >= 0.0 && v <= hi {
                Ok(())
            } else {
                Err(bad(
                    field,
                    &v,
                    format!("finite, at least 0 and at most {hi}"),
                ))
            }
        };

        if self.name.trim().is_empty() {
            return Err(bad("name", &"empty", "non-empty".to_owned()));
        }
        if self.sources.is_empty() || self.sources.iter().any(|s| s.trim().is_empty()) {
            return Err(bad(
                "sources",
                &"empty",
                "a non-empty list of non-empty citations".to_owned(),
            ));
        }
        at_least_1("mesh.cols", self.mesh.cols, limits::MESH_SIDE)?;
        at_least_1("mesh.rows", self.mesh.rows, limits::MESH_SIDE)?;

        let c = &self.core;
        at_least_1("core.max_neurons", c.max_neurons, limits::NEURONS)?;
        at_least_1("core.max_axons", c.max_axons, limits::AXONS)?;
        at_least_1("core.max_synapses", c.max_synapses, limits::SYNAPSES)?;
        if !(2..=16).contains(&c.weight_bits) {
            return Err(bad(
                "core.weight_bits",
                &c.weight_bits,
                "between 2 and 16 (quantization needs a symmetric signed range, at least \
                 -1..=1)"
                    .to_owned(),
            ));
        }
        range("core.potential_bits", c.potential_bits, 2, 32)?;
        range("core.current_bits", c.current_bits, 2, 32)?;
        range("core.threshold_bits", c.threshold_bits, 2, 32)?;
        if c.potential_bits < c.weight_bits {
            return Err(bad(
                "core.potential_bits",
                &c.potential_bits,
                format!("at least core.weight_bits ({})", c.weight_bits),
            ));
        }
        at_least_1("core.fifo_depth", c.fifo_depth, limits::FIFO_DEPTH)?;
        at_least_1("core.synapse_lanes", c.synapse_lanes, limits::SYNAPSE_LANES)?;

        range("neuron.decay_bits", self.neuron.decay_bits, 1, 24)?;

        let t = &self.timing_cycles;
        for (field, v) in [
            ("timing_cycles.event_overhead", t.event_overhead),
            ("timing_cycles.spike_inject", t.spike_inject),
            ("timing_cycles.barrier", t.barrier),
            ("timing_cycles.host_inject", t.host_inject),
        ] {
            range(field, v, 0, limits::CYCLES)?;
        }
        at_least_1("timing_cycles.synop", t.synop, limits::CYCLES)?;
        at_least_1(
            "timing_cycles.neuron_update",
            t.neuron_update,
            limits::CYCLES,
        )?;
        at_least_1("timing_cycles.hop", t.hop, limits::CYCLES)?;
        let clock = t.clock_mhz;
        if !(clock.is_finite() && (limits::MIN_CLOCK_MHZ..=limits::CLOCK_MHZ).contains(&clock)) {
            return Err(bad(
                "timing_cycles.clock_mhz",
                &clock,
                format!(
                    "finite, from {} (1 kHz) to {} (1 THz)",
                    limits::MIN_CLOCK_MHZ,
                    limits::CLOCK_MHZ
                ),
            ));
        }

        let e = &self.energy_pj;
        for (field, v) in [
            ("energy_pj.synop", e.synop),
            ("energy_pj.neuron_update", e.neuron_update),
            ("energy_pj.spike_inject", e.spike_inject),
            ("energy_pj.hop", e.hop),
            ("energy_pj.host_inject", e.host_inject),
        ] {
            bounded(field, v, limits::ENERGY_PJ)?;
        }
        bounded("energy_pj.static_mw", e.static_mw, limits::STATIC_MW)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
