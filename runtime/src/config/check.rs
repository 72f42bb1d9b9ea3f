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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::super::test_configs::sample;
    use super::super::{AxonRef, Csr};
    use super::*;

    /// The message of the `Invalid` error `validate` gives for `sample()` changed by `f`.
    fn broken(f: impl FnOnce(&mut ChipConfig)) -> String {
        let mut config = sample();
        f(&mut config);
        match config.validate() {
            Err(ConfigError::Invalid { what }) => what,
            other => panic!("expected an Invalid error, got {other:?}"),
        }
    }

    #[test]
    fn the_sample_is_valid() {
        sample().validate().unwrap();
    }

    #[test]
    fn zero_time_steps() {
        assert_eq!(
            broken(|c| c.time_steps = 0),
            "time_steps is 0, but an inference needs at least 1 time step"
        );
    }

    #[test]
    fn time_steps_beyond_the_bound() {
        // 1.5 billion steps once passed and made the emulator ask for 35 GB (found by fuzzing).
        assert_eq!(
            broken(|c| c.time_steps = 1_462_146_686),
            "time_steps is 1462146686, more than the 65536 a configuration may have"
        );
        assert!(broken(|c| c.time_steps = MAX_TIME_STEPS + 1).contains("more than the 65536"));
    }

    #[test]
    fn decay_bits_out_of_range() {
        let msg = "must be between 1 and 24";
        assert_eq!(
            broken(|c| c.decay_bits = 0),
            format!("decay_bits is 0, {msg}")
        );
        assert_eq!(
            broken(|c| c.decay_bits = 25),
            format!("decay_bits is 25, {msg}")
        );
    }

    #[test]
    fn no_layers() {
        assert_eq!(
            broken(|c| c.layers.clear()),
            "the configuration has no layers"
        );
    }

    #[test]
    fn a_layer_without_neurons() {
        assert_eq!(
            broken(|c| c.layers[1].neurons = 0),
            "layer 1 has no neurons"
        );
    }

    #[test]
    fn a_layer_shape_that_does_not_hold_its_neurons() {
        assert_eq!(
            broken(|c| c.layers[0].shape = vec![2, 3]),
            "layer 0 has 4 neurons, but its shape [2, 3] holds 6"
        );
        assert_eq!(
            broken(|c| c.layers[0].shape = vec![u32::MAX; 3]),
            "layer 0 has 4 neurons, but its shape [4294967295, 4294967295, 4294967295] holds \
             more than 2^64"
        );
    }

    #[test]
    fn no_cores() {
        assert_eq!(
            broken(|c| c.cores.clear()),
            "the configuration has no cores"
        );
    }

    #[test]
    fn a_core_of_a_missing_layer() {
        assert_eq!(
            broken(|c| c.cores[2].layer = 5),
            "core 2: layer 5 does not exist (the configuration has 2 layers)"
        );
    }

    #[test]
    fn a_core_without_neurons() {
        assert_eq!(
            broken(|c| c.cores[2].layer_index.clear()),
            "core 2 has no neurons"
        );
    }

    #[test]
    fn threshold_and_bias_lists_of_the_wrong_length() {
        assert_eq!(
            broken(|c| c.cores[1].threshold.push(3)),
            "core 1: the threshold list has length 3, but the core has 2 neurons"
        );
        assert_eq!(
            broken(|c| {
                c.cores[1].bias.pop();
            }),
            "core 1: the bias list has length 1, but the core has 2 neurons"
        );
    }

    #[test]
    fn a_layer_index_out_of_range() {
        assert_eq!(
            broken(|c| c.cores[1].layer_index[1] = 4),
            "core 1: neuron 1 has layer index 4, but layer 0 has 4 neurons"
        );
    }

    #[test]
    fn a_threshold_below_one() {
        assert_eq!(
            broken(|c| c.cores[0].threshold[1] = 0),
            "core 0: neuron 1 has threshold 0, but thresholds must be at least 1"
        );
    }

    #[test]
    fn decay_factors_above_one() {
        assert_eq!(
            broken(|c| c.cores[2].params.du = 4097),
            "core 2: du is 4097, more than 2^decay_bits = 4096"
        );
        assert_eq!(
            broken(|c| c.cores[0].params.dv = 5000),
            "core 0: dv is 5000, more than 2^decay_bits = 4096"
        );
    }

    #[test]
    fn malformed_csr_offsets() {
        let table = "core 0: the synapse table";
        assert_eq!(
            broken(|c| c.cores[0].synapses.offsets.clear()),
            format!("{table} has no offsets (a table of R rows has R + 1)")
        );
        assert_eq!(
            broken(|c| c.cores[0].synapses.offsets[0] = 1),
            format!("{table} starts at offset 1, not 0")
        );
        assert_eq!(
            broken(|c| c.cores[0].synapses.offsets = vec![0, 2, 1, 6, 8]),
            format!("{table}: row 1 ends at offset 1, before it starts at offset 2")
        );
        assert_eq!(
            broken(|c| {
                c.cores[0].synapses.entries.pop();
            }),
            format!("{table} ends at offset 8, but holds 7 entries")
        );
        assert_eq!(
            broken(|c| c.cores[1].routes.offsets[0] = 1),
            "core 1: the routing table starts at offset 1, not 0"
        );
        assert_eq!(
            broken(|c| c.input.targets.entries.push(AxonRef { core: 0, axon: 0 })),
            "the input map ends at offset 8, but holds 9 entries"
        );
    }

    #[test]
    fn a_synapse_to_a_missing_neuron() {
        assert_eq!(
            broken(|c| c.cores[0].synapses.entries[3].neuron = 2),
            "core 0: synapse table row 1 drives neuron 2, but the core has 2 neurons"
        );
    }

    #[test]
    fn a_synapse_row_out_of_order_or_with_a_repeat() {
        assert_eq!(
            broken(|c| c.cores[0].synapses.entries.swap(2, 3)),
            "core 0: synapse table row 1 is not sorted by neuron (neuron 0 follows neuron 1)"
        );
        assert_eq!(
            broken(|c| c.cores[0].synapses.entries[3].neuron = 0),
            "core 0: synapse table row 1 lists neuron 0 twice"
        );
    }

    #[test]
    fn a_routing_table_without_a_row_per_neuron() {
        assert_eq!(
            broken(|c| c.cores[2].routes = Csr::from_rows(vec![vec![]])),
            "core 2: the routing table has 1 rows, but the core has 2 neurons"
        );
    }

    #[test]
    fn a_route_to_a_missing_core_or_axon() {
        assert_eq!(
            broken(|c| c.cores[0].routes.entries[1].core = 3),
            "core 0: neuron 1 routes to core 3, but the configuration has 3 cores"
        );
        assert_eq!(
            broken(|c| c.cores[0].routes.entries[1].axon = 4),
            "core 0: neuron 1 routes to axon 4 of core 2, which has 4 axons"
        );
    }

    #[test]
    fn a_route_that_skips_or_stays_in_a_layer() {
        assert_eq!(
            broken(|c| c.cores[0].routes.entries[1] = AxonRef { core: 1, axon: 0 }),
            "core 0: neuron 1 (layer 0) routes to core 1 of layer 0, but spikes of layer 0 go \
             only to layer 1"
        );
        // The output layer routes nowhere.
        assert_eq!(
            broken(|c| c.cores[2].routes =
                Csr::from_rows(vec![vec![], vec![AxonRef { core: 0, axon: 0 }]])),
            "core 2: neuron 1 (layer 1) routes to core 0 of layer 0, but spikes of layer 1 go \
             only to layer 2"
        );
    }

    #[test]
    fn a_neuron_placed_twice() {
        assert_eq!(
            broken(|c| c.cores[1].layer_index = vec![1, 3]),
            "neuron 1 of layer 0 is placed twice: as neuron 1 of core 0 and neuron 0 of core 1"
        );
    }

    #[test]
    fn a_neuron_on_no_core() {
        let grow = |c: &mut ChipConfig| {
            c.layers[0].neurons = 5;
            c.layers[0].shape = vec![5];
        };
        assert_eq!(broken(grow), "neuron 4 of layer 0 is on no core");
        assert_eq!(
            broken(|c| {
                grow(c);
                c.cores[1].layer_index = vec![4, 2];
            }),
            "neuron 3 of layer 0 is on no core"
        );
        // A huge declared layer is refused without a table of its size.
        assert_eq!(
            broken(|c| {
                c.layers[1].neurons = u32::MAX;
                c.layers[1].shape = vec![u32::MAX];
            }),
            "neuron 2 of layer 1 is on no core"
        );
    }

    #[test]
    fn two_cores_at_one_position() {
        assert_eq!(
            broken(|c| c.cores[2].position = c.cores[0].position),
            "cores 0 and 2 both sit at column 0, row 0"
        );
    }

    #[test]
    fn an_input_map_that_does_not_match_its_shape() {
        assert_eq!(
            broken(|c| c.input.shape = vec![1, 2, 3]),
            "the input map has 4 channel rows, but the input shape [1, 2, 3] holds 6 channels (1 per pixel)"
        );
        // A thermometer code of 2 lines per pixel needs 8 rows for the 4 pixels of [1, 2, 2].
        assert_eq!(
            broken(|c| c.input.encoding = crate::config::InputEncoding::Thermometer { levels: 2 }),
            "the input map has 4 channel rows, but the input shape [1, 2, 2] holds 8 channels (2 per pixel)"
        );
        for levels in [0, 256] {
            assert_eq!(
                broken(|c| c.input.encoding = crate::config::InputEncoding::Thermometer { levels }),
                format!("the input's thermometer code has {levels} levels; it takes 1 to 255")
            );
        }
    }

    #[test]
    fn an_input_to_a_missing_axon_or_past_layer_0() {
        assert_eq!(
            broken(|c| c.input.targets.entries[7] = AxonRef { core: 1, axon: 9 }),
            "input channel 3 routes to axon 9 of core 1, which has 4 axons"
        );
        assert_eq!(
            broken(|c| c.input.targets.entries[0] = AxonRef { core: 2, axon: 0 }),
            "input channel 0 routes to core 2 of layer 1, but input spikes go only to layer 0"
        );
    }

    #[test]
    fn no_classes() {
        assert_eq!(
            broken(|c| c.output.classes.clear()),
            "the output map has no classes"
        );
    }

    #[test]
    fn a_class_on_a_missing_core_or_neuron() {
        assert_eq!(
            broken(|c| c.output.classes[1].core = 7),
            "class 1 is neuron 1 of core 7, but the configuration has 3 cores"
        );
        assert_eq!(
            broken(|c| c.output.classes[1].neuron = 2),
            "class 1 is neuron 2 of core 2, which has 2 neurons"
        );
    }

    #[test]
    fn a_class_outside_the_last_layer() {
        assert_eq!(
            broken(|c| c.output.classes[0].core = 0),
            "class 0 is on core 0 of layer 0, but the output layer is layer 1"
        );
    }

    #[test]
    fn two_classes_on_one_neuron() {
        assert_eq!(
            broken(|c| c.output.classes[1] = c.output.classes[0]),
            "classes 0 and 1 are both neuron 0 of core 2"
        );
    }
}
