//! The structural checks of a configuration: each invariant broken once, named in the error.

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
