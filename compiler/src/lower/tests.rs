#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::ir::FoldedNetwork;
use crate::model::test_models::{
    XorShift, random_model, random_tensors, tiny_linear, with_tensors,
};
use crate::model::{InputEncoding, WeightNorm};

fn linear(i: usize, o: usize) -> LayerSpec {
    LayerSpec::Linear {
        in_features: i,
        out_features: o,
        weight_norm: None,
        affine_scale: false,
        bias: false,
    }
}

fn pool(kernel: usize, stride: usize) -> LayerSpec {
    LayerSpec::AvgPool2d { kernel, stride }
}

fn conv(i: usize, o: usize, k: usize, stride: usize, padding: usize, bias: bool) -> LayerSpec {
    LayerSpec::Conv2d {
        in_channels: i,
        out_channels: o,
        kernel: [k, k],
        stride,
        padding,
        weight_norm: None,
        affine_scale: false,
        bias,
    }
}

/// The IR invariants of every layer: the routing serves the previous layer (or the input),
/// one axon per source without shared axons; monotone offsets, targets in range and strictly
/// increasing within a row.
fn check_invariants(net: &FoldedNetwork) {
    let mut sources = net.input.channels();
    for layer in &net.layers {
        let m = &layer.synapses;
        match &layer.routing {
            Routing::Direct => assert_eq!(m.axons, sources, "{}", layer.name),
            Routing::Shared(shared) => {
                assert_eq!(shared.sources(), sources, "{}", layer.name);
                assert!(shared.axon.iter().all(|&a| (a as usize) < m.axons));
            }
        }
        assert_eq!(m.targets, layer.neurons(), "{}", layer.name);
        assert_eq!(layer.shape.iter().product::<usize>(), layer.neurons());
        assert_eq!(m.offsets.len(), m.axons + 1);
        assert_eq!(m.offsets[m.axons], m.target.len());
        assert_eq!(m.weight.len(), m.target.len());
        for j in 0..m.axons {
            assert!(m.offsets[j] <= m.offsets[j + 1]);
            let row: Vec<u32> = m.row(j).map(|(t, _)| t).collect();
            assert!(
                row.windows(2).all(|p| p[0] < p[1]),
                "{}: row {j}",
                layer.name
            );
            assert!(row.iter().all(|&t| (t as usize) < m.targets));
        }
        sources = layer.neurons();
    }
}

#[test]
fn a_2x2_average_pool_folds_into_a_linear_layer_as_a_quarter_weight_per_pixel() {
    // Input [1, 2, 2] -> avg pool 2 -> [1, 1, 1] -> flatten -> linear 1 -> 2 with weights
    // [2] and [-6]: each of the 4 pixels drives both neurons, with 2/4 and -6/4.
    let model = with_tensors(
        vec![1, 2, 2],
        vec![pool(2, 2), LayerSpec::Flatten, linear(1, 2)],
        vec![("layers.2.weight", vec![2, 1], vec![2.0, -6.0])],
    );
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    check_invariants(&net);
    assert_eq!(net.input.shape, [1, 2, 2]);
    assert_eq!(net.input.encoding, config::InputEncoding::Latency);
    assert_eq!((net.time_steps, net.threshold), (4, 1.0));
    assert_eq!(net.tie_break, config::TieBreak::PotentialAtEnd);
    assert_eq!(net.layers.len(), 1);
    let layer = &net.layers[0];
    assert_eq!(layer.name, "layer 2 (linear 1->2, avg_pool2d 2 folded in)");
    assert_eq!(layer.model_layer, 2);
    assert_eq!(layer.shape, vec![2]);
    assert_eq!(layer.bias, vec![0.0, 0.0]);
    let m = &layer.synapses;
    assert_eq!((m.axons, m.targets), (4, 2));
    assert_eq!(m.offsets, vec![0, 2, 4, 6, 8]);
    assert_eq!(m.target, vec![0, 1, 0, 1, 0, 1, 0, 1]);
    assert_eq!(m.weight, vec![0.5, -1.5, 0.5, -1.5, 0.5, -1.5, 0.5, -1.5]);
}

#[test]
fn overlapping_pools_sum_the_weights_of_a_pixel_reached_twice() {
    // Input [1, 3, 3] -> avg pool 2 stride 1 -> [1, 2, 2] -> linear 4 -> 1, all weights 1.
    // The centre pixel is in all four windows (4/4 = 1), an edge pixel in two (1/2), a
    // corner in one (1/4).
    let model = with_tensors(
        vec![1, 3, 3],
        vec![pool(2, 1), LayerSpec::Flatten, linear(4, 1)],
        vec![("layers.2.weight", vec![1, 4], vec![1.0; 4])],
    );
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    check_invariants(&net);
    let layer = &net.layers[0];
    assert_eq!(
        layer.name,
        "layer 2 (linear 4->1, avg_pool2d 2 stride 1 folded in)"
    );
    assert_eq!(layer.synapses.offsets, (0..=9).collect::<Vec<_>>());
    assert_eq!(
        layer.synapses.weight,
        vec![0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]
    );
}

#[test]
fn as_shared_axons_a_2x2_pool_is_one_axon_that_every_pixel_of_its_window_drives() {
    // The model of the test above: one axon carrying 2/4 and -6/4, driven by all 4 pixels.
    let model = with_tensors(
        vec![1, 2, 2],
        vec![pool(2, 2), LayerSpec::Flatten, linear(1, 2)],
        vec![("layers.2.weight", vec![2, 1], vec![2.0, -6.0])],
    );
    let net = lower(&model, PoolLowering::SharedAxons).unwrap();
    check_invariants(&net);
    assert_eq!(net.pool_lowering, PoolLowering::SharedAxons);
    let layer = &net.layers[0];
    assert_eq!(
        layer.name,
        "layer 2 (linear 1->2, avg_pool2d 2 as shared axons)"
    );
    let m = &layer.synapses;
    assert_eq!((m.axons, m.targets), (1, 2));
    assert_eq!(m.row(0).collect::<Vec<_>>(), [(0, 0.5), (1, -1.5)]);
    assert_eq!(
        layer.routing,
        Routing::Shared(SharedAxons {
            offsets: vec![0, 1, 2, 3, 4],
            axon: vec![0; 4],
        })
    );
}

#[test]
fn as_shared_axons_overlapping_and_stacked_pools_route_a_pixel_once_per_path() {
    // [1, 2, 3] -> pool 2 stride 1 -> [1, 1, 2]: windows over columns 0-1 and 1-2, so the
    // middle column drives both axons; weights [4, 8] become 1 and 2 per spike.
    let model = with_tensors(
        vec![1, 2, 3],
        vec![pool(2, 1), LayerSpec::Flatten, linear(2, 1)],
        vec![("layers.2.weight", vec![1, 2], vec![4.0, 8.0])],
    );
    let net = lower(&model, PoolLowering::SharedAxons).unwrap();
    check_invariants(&net);
    let layer = &net.layers[0];
    assert_eq!(
        layer.name,
        "layer 2 (linear 2->1, avg_pool2d 2 stride 1 as shared axons)"
    );
    assert_eq!(layer.synapses.weight, vec![1.0, 2.0]);
    assert_eq!(
        layer.routing,
        Routing::Shared(SharedAxons {
            offsets: vec![0, 1, 3, 4, 5, 7, 8],
            axon: vec![0, 0, 1, 1, 0, 0, 1, 1],
        })
    );
    // [1, 3, 3] -> pool 2 stride 1 -> pool 2 stride 1 -> [1, 1, 1]: one axon of weight 16 / 16
    // per path; the centre lies in all four first windows (4 paths), an edge pixel in two, a
    // corner in one: the other lowering folds them into weights of 16 x 4/16, 2/16 and 1/16.
    let model = with_tensors(
        vec![1, 3, 3],
        vec![pool(2, 1), pool(2, 1), LayerSpec::Flatten, linear(1, 1)],
        vec![("layers.3.weight", vec![1, 1], vec![16.0])],
    );
    let net = lower(&model, PoolLowering::SharedAxons).unwrap();
    check_invariants(&net);
    let layer = &net.layers[0];
    assert_eq!(layer.synapses.weight, vec![1.0]);
    let Routing::Shared(shared) = &layer.routing else {
        panic!("{:?}", layer.routing);
    };
    let paths: Vec<usize> = shared.offsets.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(paths, [1, 2, 1, 2, 4, 2, 1, 2, 1]);
    let folded = lower(&model, PoolLowering::Synapses).unwrap();
    let weights: Vec<f32> = paths.iter().map(|&p| p as f32).collect();
    assert_eq!(folded.layers[0].synapses.weight, weights);
}

#[test]
fn as_shared_axons_thermometer_lines_drive_their_own_line_of_each_window() {
    // [1, 2, 2] thermometer with 2 levels -> pool 2 -> linear 1 -> 1 of weight 4: one pooled
    // axon becomes 2 lines of weight 4 / 4 / 2 = 0.5; channel 2j + k drives line k.
    let mut model = with_tensors(
        vec![1, 2, 2],
        vec![pool(2, 2), LayerSpec::Flatten, linear(1, 1)],
        vec![("layers.2.weight", vec![1, 1], vec![4.0])],
    );
    model.description.input.encoding = InputEncoding::Thermometer { levels: 2 };
    let net = lower(&model, PoolLowering::SharedAxons).unwrap();
    check_invariants(&net);
    let layer = &net.layers[0];
    assert_eq!(layer.synapses.axons, 2);
    assert_eq!(layer.synapses.weight, vec![0.5, 0.5]);
    assert_eq!(
        layer.routing,
        Routing::Shared(SharedAxons {
            offsets: (0..=8).collect(),
            axon: vec![0, 1, 0, 1, 0, 1, 0, 1],
        })
    );
}

#[test]
fn a_pool_after_a_pool_composes() {
    // [1, 4, 4] -> pool 2 -> pool 2 -> [1, 1, 1]: each pixel counts 1/16; weight 16 -> 1.
    let model = with_tensors(
        vec![1, 4, 4],
        vec![pool(2, 2), pool(2, 2), LayerSpec::Flatten, linear(1, 1)],
        vec![("layers.3.weight", vec![1, 1], vec![16.0])],
    );
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    let layer = &net.layers[0];
    assert_eq!(
        layer.name,
        "layer 3 (linear 1->1, avg_pool2d 2 + avg_pool2d 2 folded in)"
    );
    assert_eq!(layer.synapses.weight, vec![1.0; 16]);
    assert_eq!(layer.synapses.target, vec![0; 16]);
}

#[test]
fn a_padded_stride_2_convolution_has_exactly_the_synapses_worked_out_by_hand() {
    // Input [1, 3, 3], pixel (y, x) is source 3y + x. Conv 1 -> 2, kernel 2, stride 2,
    // padding 1: the padded input is 5x5 and the output 2x2; output (oy, ox) reads input
    // rows 2oy - 1 + ky and columns 2ox - 1 + kx. Kernel of channel 0 is [[1, 2], [3, 4]],
    // of channel 1 [[5, 6], [7, 8]]. Targets row-major in [2, 2, 2]:
    // - (0, 0): rows -1, 0 and columns -1, 0: only pixel (0, 0), with tap (1, 1) = 4;
    // - (0, 1): rows -1, 0, columns 1, 2: pixel (0, 1) tap (1, 0) = 3, (0, 2) tap (1, 1) = 4;
    // - (1, 0): rows 1, 2, columns -1, 0: pixel (1, 0) tap (0, 1) = 2, (2, 0) tap (1, 1) = 4;
    // - (1, 1): rows 1, 2, columns 1, 2: pixels 4, 5, 7, 8 with taps 1, 2, 3, 4.
    // Channel 1 is the same with 4 added to each weight.
    let model = with_tensors(
        vec![1, 3, 3],
        vec![conv(1, 2, 2, 2, 1, true)],
        vec![
            (
                "layers.0.weight",
                vec![2, 1, 2, 2],
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            ),
            ("layers.0.shift", vec![2], vec![0.25, -0.5]),
        ],
    );
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    check_invariants(&net);
    let layer = &net.layers[0];
    assert_eq!(layer.name, "layer 0 (conv2d 1->2 k2)");
    assert_eq!(layer.shape, vec![2, 2, 2]);
    assert_eq!(
        layer.bias,
        vec![0.25, 0.25, 0.25, 0.25, -0.5, -0.5, -0.5, -0.5]
    );
    let channel_0 = vec![
        vec![(0, 4.0)],
        vec![(1, 3.0), (2, 4.0)],
        vec![(3, 2.0), (6, 4.0)],
        vec![(4, 1.0), (5, 2.0), (7, 3.0), (8, 4.0)],
    ];
    let channel_1: Vec<Vec<(u32, f32)>> = channel_0
        .iter()
        .map(|l: &Vec<(u32, f32)>| l.iter().map(|&(s, w)| (s, w + 4.0)).collect())
        .collect();
    let expected: Vec<_> = channel_0.into_iter().chain(channel_1).collect();
    assert_eq!(layer.synapses.fan_in(), expected);
    assert_eq!(layer.synapses.len(), 18);
    // Pixel 8 (bottom right) drives only output (1, 1) of each channel.
    assert_eq!(
        layer.synapses.row(8).collect::<Vec<_>>(),
        vec![(3, 4.0), (7, 8.0)]
    );
}

#[test]
fn a_small_cnn_has_the_synapse_count_of_the_closed_form() {
    // c4k3p1 - a2 - c8k3p1 - a2 - f16 - f10 on [1, 28, 28]. Along one side of n with k3 p1,
    // the in-bounds (output, tap) pairs are 3n - 2: 82 for n = 28, 40 for n = 14.
    // conv 1: 4 * 82^2 = 26896. conv 2 after the pool: 8 * 4 * 40^2 * 4 (each pooled value
    // is 4 neurons) = 204800. linear 392 -> 16 after the pool: 16 * 392 * 4 = 25088.
    // linear 16 -> 10: 160.
    let layers = vec![
        conv(1, 4, 3, 1, 1, true),
        pool(2, 2),
        conv(4, 8, 3, 1, 1, false),
        pool(2, 2),
        LayerSpec::Flatten,
        linear(8 * 7 * 7, 16),
        linear(16, 10),
    ];
    let mut rng = XorShift::new(1);
    let mut model = with_tensors(vec![1, 28, 28], layers, Vec::new());
    model.tensors = random_tensors(&model.description.layers, &mut rng);
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    check_invariants(&net);
    let counts: Vec<usize> = net.layers.iter().map(|l| l.synapses.len()).collect();
    assert_eq!(counts, vec![26_896, 204_800, 25_088, 160]);
    let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "layer 0 (conv2d 1->4 k3)",
            "layer 2 (conv2d 4->8 k3, avg_pool2d 2 folded in)",
            "layer 5 (linear 392->16, avg_pool2d 2 folded in)",
            "layer 6 (linear 16->10)",
        ]
    );
    assert_eq!(net.layers[1].shape, vec![8, 14, 14]);
}

#[test]
fn random_models_lower_to_well_formed_networks() {
    let mut rng = XorShift::new(99);
    for _ in 0..50 {
        let model = random_model(&mut rng);
        let net = lower(&model, PoolLowering::Synapses).unwrap();
        check_invariants(&net);
        let weighted = model.description.layers.iter().filter(|l| l.is_weighted());
        assert_eq!(net.layers.len(), weighted.count());
    }
}

#[test]
fn max_pooling_is_refused_and_named() {
    let model = with_tensors(
        vec![1, 2, 2],
        vec![
            LayerSpec::MaxPool2d {
                kernel: 2,
                stride: 2,
            },
            LayerSpec::Flatten,
            linear(1, 2),
        ],
        vec![("layers.2.weight", vec![2, 1], vec![1.0, 1.0])],
    );
    let err = lower(&model, PoolLowering::Synapses).unwrap_err();
    assert!(matches!(err, LowerError::MaxPool { layer: 0 }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("layer 0 (max_pool2d) is max pooling"),
        "{text}"
    );
    assert!(text.ends_with("retrain with --pool avg"), "{text}");
}

#[test]
fn direct_input_is_refused() {
    let mut model = tiny_linear(None, None, None);
    model.description.input.encoding = InputEncoding::Direct;
    let err = lower(&model, PoolLowering::Synapses).unwrap_err();
    assert!(matches!(err, LowerError::DirectInput), "{err}");
    assert_eq!(
        err.to_string(),
        "the model takes direct (analog) input, which needs a host-side analog front end this chip does not have; retrain with --input thermometer (the grey levels as spikes, into a first layer with a persistent current) or --input latency"
    );
}

#[test]
fn thermometer_input_repeats_each_pixel_row_per_line_with_the_weight_divided() {
    // Weight rows [1, 2, 3] and [0, 0, 6] over 3 pixels, 4 lines per pixel: 12 sources, line
    // `4 * j + k` of pixel j carries w / 4 to the same targets as pixel j did.
    let mut model = tiny_linear(None, None, None);
    model.description.input.encoding = InputEncoding::Thermometer { levels: 4 };
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    check_invariants(&net);
    assert_eq!(
        net.input.encoding,
        config::InputEncoding::Thermometer { levels: 4 }
    );
    assert_eq!((net.input.pixels(), net.input.channels()), (3, 12));
    assert!(net.input.first_layer_current_persists());
    assert!(
        net.layers[0]
            .name
            .ends_with(", thermometer input: 4 lines per pixel)"),
        "{}",
        net.layers[0].name
    );
    let rows: Vec<Vec<(u32, f32)>> = (0..12)
        .map(|j| net.layers[0].synapses.row(j).collect())
        .collect();
    for k in 0..4 {
        // Zero weights stay synapses, as in every lowering ("drops nothing").
        assert_eq!(rows[k], [(0, 0.25), (1, 0.0)], "pixel 0 line {k}");
        assert_eq!(rows[4 + k], [(0, 0.5), (1, 0.0)], "pixel 1 line {k}");
        assert_eq!(rows[8 + k], [(0, 0.75), (1, 1.5)], "pixel 2 line {k}");
    }
    // The latency-coded model keeps one channel per pixel and a current of one step.
    let latency = lower(&tiny_linear(None, None, None), PoolLowering::Synapses).unwrap();
    assert_eq!(latency.input.channels(), 3);
    assert!(!latency.input.first_layer_current_persists());
}

#[test]
fn thermometer_levels_out_of_range_are_refused() {
    for levels in [0, 256] {
        let mut model = tiny_linear(None, None, None);
        model.description.input.encoding = InputEncoding::Thermometer { levels };
        let err = lower(&model, PoolLowering::Synapses).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("input.encoding.thermometer.levels must be 1 to 255, found {levels}")
        );
    }
}

#[test]
fn model_errors_pass_through() {
    let mut model = tiny_linear(
        Some(WeightNorm {
            gain: 1.0,
            eps: 1e-5,
        }),
        None,
        None,
    );
    model.tensors.remove("layers.1.weight");
    let err = lower(&model, PoolLowering::Synapses).unwrap_err();
    assert!(matches!(err, LowerError::Model(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "layer 1 (linear): tensor layers.1.weight is missing"
    );
}

/// The ETTFS paper's MNIST CNN (c32k3-a2-c64k3-a2-f256-f10, padding 1) with its pools folded
/// into the synapses has the synapse count of each layer worked out by hand (its lowering time
/// is the `compiler/lower-cnn-synapses` benchmark).
#[test]
fn the_paper_cnn_lowers_to_its_synapse_counts() {
    let layers = vec![
        conv(1, 32, 3, 1, 1, true),
        pool(2, 2),
        conv(32, 64, 3, 1, 1, true),
        pool(2, 2),
        LayerSpec::Flatten,
        linear(3136, 256),
        linear(256, 10),
    ];
    let mut rng = XorShift::new(5);
    let mut model = with_tensors(vec![1, 28, 28], layers, Vec::new());
    model.tensors = random_tensors(&model.description.layers, &mut rng);
    let net = lower(&model, PoolLowering::Synapses).unwrap();
    let counts: Vec<usize> = net.layers.iter().map(|l| l.synapses.len()).collect();
    // 32 * 82^2, 64 * 32 * 40^2 * 4, 256 * 3136 * 4, 2560.
    assert_eq!(counts, vec![215_168, 13_107_200, 3_211_264, 2_560]);
}
