//! [`ChipConfig::validate`]: the structural invariants a configuration must hold on any chip
//! (the verifier run after the compiler's emit pass and on every file read).
//!
//! [`decode`](super::decode) runs it on every file it reads and [`encode`](super::encode) on
//! every configuration it writes, so the emulator can index the tables without bounds
//! surprises. The limits of one target are `limits`' job ([`ChipConfig::check_target`]).
//!
//! The rules, in the order they are checked (the first broken rule is the error): `time_steps` in
//! `1..=65536` ([`MAX_TIME_STEPS`]); `decay_bits` in `1..=24`; at least one layer, each with
//! neurons and a shape that holds exactly them; at least one core; per core: its layer exists, it
//! has neurons, one threshold and one bias per neuron, layer indices in range, thresholds `>= 1`,
//! `du` and `dv` at most `2^decay_bits`, CSR tables well formed (offsets from 0, monotone, ending
//! at the entry count), synapse rows naming neurons of the core in strictly increasing order, one
//! routing row per neuron; then, once every core's own tables are known good, every route goes to
//! an existing axon of a core of the next layer, at most one axon per destination core; every
//! neuron of every layer sits on exactly one core; no two cores at the same position; the input map
//! has one row per channel of its shape and feeds only existing axons of layer-0 cores; the output
//! map has at least one class, each a distinct neuron of the last layer.
//!
//! Validation allocates only in proportion to the tables actually present, never to a count a
//! (possibly hostile) file declares (a layer of `u32::MAX` neurons is checked without a table
//! of that size), so it is safe on anything [`decode`](super::decode) parsed.

use super::{AxonRef, ChipConfig, ConfigError, CoreConfig, Csr};

/// The most time steps an inference may have (the emulator and the golden model keep state per
/// step; the trainer stops at 1024).
pub const MAX_TIME_STEPS: u32 = 1 << 16;

type Result<T = ()> = std::result::Result<T, ConfigError>;

fn invalid(what: String) -> ConfigError {
    ConfigError::invalid(what)
}

impl ChipConfig {
    /// Checks the structural invariants (see the module docs): every index in range, one layer
    /// per core, every neuron placed exactly once, CSR tables well formed.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for the first broken invariant, naming the core, layer, row or
    /// index.
    pub fn validate(&self) -> Result {
        if self.time_steps == 0 {
            return Err(invalid(
                "time_steps is 0, but an inference needs at least 1 time step".into(),
            ));
        }
        if self.time_steps > MAX_TIME_STEPS {
            return Err(invalid(format!(
                "time_steps is {}, more than the {MAX_TIME_STEPS} a configuration may have",
                self.time_steps
            )));
        }
        if !(1..=24).contains(&self.decay_bits) {
            return Err(invalid(format!(
                "decay_bits is {}, must be between 1 and 24",
                self.decay_bits
            )));
        }
        if self.layers.is_empty() {
            return Err(invalid("the configuration has no layers".into()));
        }
        for (l, layer) in self.layers.iter().enumerate() {
            if layer.neurons == 0 {
                return Err(invalid(format!("layer {l} has no neurons")));
            }
            let held = product(&layer.shape);
            if held != Some(u64::from(layer.neurons)) {
                return Err(invalid(format!(
                    "layer {l} has {} neurons, but its shape {:?} holds {}",
                    layer.neurons,
                    layer.shape,
                    shown(held)
                )));
            }
        }
        if self.cores.is_empty() {
            return Err(invalid("the configuration has no cores".into()));
        }
        for (c, core) in self.cores.iter().enumerate() {
            self.check_core(c, core)?;
        }
        for (c, core) in self.cores.iter().enumerate() {
            self.check_routes(c, core)?;
        }
        self.check_placement()?;
        self.check_positions()?;
        self.check_input()?;
        self.check_output()
    }

    fn check_core(&self, c: usize, core: &CoreConfig) -> Result {
        let layer = self.layers.get(core.layer as usize).ok_or_else(|| {
            invalid(format!(
                "core {c}: layer {} does not exist (the configuration has {} layers)",
                core.layer,
                self.layers.len()
            ))
        })?;
        let n = core.neurons();
        if n == 0 {
            return Err(invalid(format!("core {c} has no neurons")));
        }
        for (len, what) in [
            (core.threshold.len(), "threshold"),
            (core.bias.len(), "bias"),
        ] {
            if len != n {
                return Err(invalid(format!(
                    "core {c}: the {what} list has length {len}, but the core has {n} neurons"
                )));
            }
        }
        for (i, &index) in core.layer_index.iter().enumerate() {
            if index >= layer.neurons {
                return Err(invalid(format!(
                    "core {c}: neuron {i} has layer index {index}, but layer {} has {} neurons",
                    core.layer, layer.neurons
                )));
            }
        }
        if let Some((i, t)) = core.threshold.iter().enumerate().find(|(_, t)| **t < 1) {
            return Err(invalid(format!(
                "core {c}: neuron {i} has threshold {t}, but thresholds must be at least 1"
            )));
        }
        let one = 1u64 << self.decay_bits;
        for (name, value) in [("du", core.params.du), ("dv", core.params.dv)] {
            if u64::from(value) > one {
                return Err(invalid(format!(
                    "core {c}: {name} is {value}, more than 2^decay_bits = {one}"
                )));
            }
        }

        check_csr(&core.synapses, || format!("core {c}: the synapse table"))?;
        for a in 0..core.axons() {
            let mut previous: Option<u32> = None;
            for s in core.synapses.row(a) {
                if s.neuron as usize >= n {
                    return Err(invalid(format!(
                        "core {c}: synapse table row {a} drives neuron {}, but the core has {n} neurons",
                        s.neuron
                    )));
                }
                match previous {
                    Some(p) if p == s.neuron => {
                        return Err(invalid(format!(
                            "core {c}: synapse table row {a} lists neuron {p} twice"
                        )));
                    }
                    Some(p) if p > s.neuron => {
                        return Err(invalid(format!(
                            "core {c}: synapse table row {a} is not sorted by neuron (neuron {} follows neuron {p})",
                            s.neuron
                        )));
                    }
                    _ => previous = Some(s.neuron),
                }
            }
        }

        check_csr(&core.routes, || format!("core {c}: the routing table"))?;
        if core.routes.rows() != n {
            return Err(invalid(format!(
                "core {c}: the routing table has {} rows, but the core has {n} neurons",
                core.routes.rows()
            )));
        }
        Ok(())
    }

    /// Checks the destinations of core `c`'s routes (every core's own tables already checked).
    fn check_routes(&self, c: usize, core: &CoreConfig) -> Result {
        let next = u64::from(core.layer) + 1;
        for i in 0..core.neurons() {
            let row = core.routes.row(i);
            for &route in row {
                let from = || format!("core {c}: neuron {i}");
                let dest = self.destination(route, &from)?;
                if u64::from(dest.layer) != next {
                    return Err(invalid(format!(
                        "{} (layer {}) routes to core {} of layer {}, but spikes of layer {} go only to layer {next}",
                        from(),
                        core.layer,
                        route.core,
                        dest.layer,
                        core.layer
                    )));
                }
            }
        }
        Ok(())
    }

    /// The core `route` points into, if it and its axon exist; `from` names the source.
    fn destination(&self, route: AxonRef, from: &dyn Fn() -> String) -> Result<&CoreConfig> {
        let dest = self.cores.get(route.core as usize).ok_or_else(|| {
            invalid(format!(
                "{} routes to core {}, but the configuration has {} cores",
                from(),
                route.core,
                self.cores.len()
            ))
        })?;
        if route.axon as usize >= dest.axons() {
            return Err(invalid(format!(
                "{} routes to axon {} of core {}, which has {} axons",
                from(),
                route.axon,
                route.core,
                dest.axons()
            )));
        }
        Ok(dest)
    }

    /// Every neuron of every layer sits on exactly one core (cores and indices already checked).
    fn check_placement(&self) -> Result {
        // (layer, layer index, core, neuron on core), sorted: each layer's indices must then
        // read 0, 1, 2, ... exactly.
        let mut placed: Vec<(u32, u32, usize, usize)> = self
            .cores
            .iter()
            .enumerate()
            .flat_map(|(c, core)| {
                core.layer_index
                    .iter()
                    .enumerate()
                    .map(move |(i, &index)| (core.layer, index, c, i))
            })
            .collect();
        placed.sort_unstable();
        let mut at = 0;
        for (l, layer) in self.layers.iter().enumerate() {
            let mut expected = 0u32;
            let mut previous: Option<(u32, usize, usize)> = None;
            while let Some(&(pl, index, c, i)) = placed.get(at) {
                if pl as usize != l {
                    break;
                }
                at += 1;
                match previous {
                    Some((pi, pc, pn)) if pi == index => {
                        return Err(invalid(format!(
                            "neuron {index} of layer {l} is placed twice: as neuron {pn} of core {pc} and neuron {i} of core {c}"
                        )));
                    }
                    _ if index != expected => break,
                    _ => {}
                }
                previous = Some((index, c, i));
                expected += 1;
            }
            if expected != layer.neurons {
                return Err(invalid(format!(
                    "neuron {expected} of layer {l} is on no core"
                )));
            }
        }
        Ok(())
    }

    fn check_positions(&self) -> Result {
        let mut at: Vec<_> = self
            .cores
            .iter()
            .enumerate()
            .map(|(c, core)| (core.position, c))
            .collect();
        at.sort_unstable();
        match at.windows(2).find(|w| w[0].0 == w[1].0) {
            Some(w) => Err(invalid(format!(
                "cores {} and {} both sit at column {}, row {}",
                w[0].1, w[1].1, w[0].0.x, w[0].0.y
            ))),
            None => Ok(()),
        }
    }

    fn check_input(&self) -> Result {
        let input = &self.input;
        check_csr(&input.targets, || "the input map".to_owned())?;
        let lines = input.encoding.lines_per_pixel();
        if !(1..=255).contains(&lines) {
            return Err(invalid(format!(
                "the input's thermometer code has {lines} levels; it takes 1 to 255"
            )));
        }
        let channels = product(&input.shape).and_then(|p| p.checked_mul(u64::from(lines)));
        if channels != Some(input.targets.rows() as u64) {
            return Err(invalid(format!(
                "the input map has {} channel rows, but the input shape {:?} holds {} channels ({} per pixel)",
                input.targets.rows(),
                input.shape,
                shown(channels),
                lines
            )));
        }
        for ch in 0..input.targets.rows() {
            for &route in input.targets.row(ch) {
                let dest = self.destination(route, &|| format!("input channel {ch}"))?;
                if dest.layer != 0 {
                    return Err(invalid(format!(
                        "input channel {ch} routes to core {} of layer {}, but input spikes go only to layer 0",
                        route.core, dest.layer
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_output(&self) -> Result {
        let classes = &self.output.classes;
        if classes.is_empty() {
            return Err(invalid("the output map has no classes".into()));
        }
        let last = self.layers.len() - 1;
        for (k, r) in classes.iter().enumerate() {
            let core = self.cores.get(r.core as usize).ok_or_else(|| {
                invalid(format!(
                    "class {k} is neuron {} of core {}, but the configuration has {} cores",
                    r.neuron,
                    r.core,
                    self.cores.len()
                ))
            })?;
            if r.neuron as usize >= core.neurons() {
                return Err(invalid(format!(
                    "class {k} is neuron {} of core {}, which has {} neurons",
                    r.neuron,
                    r.core,
                    core.neurons()
                )));
            }
            if core.layer as usize != last {
                return Err(invalid(format!(
                    "class {k} is on core {} of layer {}, but the output layer is layer {last}",
                    r.core, core.layer
                )));
            }
        }
        let mut sorted: Vec<_> = classes.iter().zip(0..).collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(invalid(format!(
                "classes {} and {} are both neuron {} of core {}",
                w[0].1, w[1].1, w[0].0.neuron, w[0].0.core
            )));
        }
        Ok(())
    }
}

/// Checks the CSR framing: offsets from 0, monotone, ending at the number of entries. `what`
/// names the table at the start of the message.
fn check_csr<E>(csr: &Csr<E>, what: impl Fn() -> String) -> Result {
    let (Some(&first), Some(&last)) = (csr.offsets.first(), csr.offsets.last()) else {
        return Err(invalid(format!(
            "{} has no offsets (a table of R rows has R + 1)",
            what()
        )));
    };
    if first != 0 {
        return Err(invalid(format!(
            "{} starts at offset {first}, not 0",
            what()
        )));
    }
    if let Some((r, w)) = csr
        .offsets
        .windows(2)
        .enumerate()
        .find(|(_, w)| w[1] < w[0])
    {
        return Err(invalid(format!(
            "{}: row {r} ends at offset {}, before it starts at offset {}",
            what(),
            w[1],
            w[0]
        )));
    }
    if last as usize != csr.entries.len() {
        return Err(invalid(format!(
            "{} ends at offset {last}, but holds {} entries",
            what(),
            csr.entries.len()
        )));
    }
    Ok(())
}

/// The number of elements of a shape, `None` if it overflows 64 bits.
fn product(shape: &[u32]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::from(d)))
}

/// A product for a message.
fn shown(product: Option<u64>) -> String {
    product.map_or_else(|| "more than 2^64".to_owned(), |p| p.to_string())
}

#[cfg(test)]
mod tests;
