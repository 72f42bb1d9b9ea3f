//! The emulator against the golden model on the trained MLP: every neuron's spike time, every
//! decision and the counters the golden model also keeps.

use ttfs_compiler::compile::{CompileOptions, compile};
use ttfs_compiler::golden::{GoldenModel, GoldenRun};
use ttfs_runtime::emulator::{Emulator, Inference, RunOptions};

use crate::common::{mlp, mnist_test, target};

/// The emulator's inference `e` of image `i` equals the golden model's `g`: every spike, the
/// decision and its step, the output potentials; and no neuron fired twice on the chip.
fn assert_same_inference(i: usize, e: &Inference, g: &GoldenRun) {
    assert_eq!(e.spikes, g.spikes, "image {i}: spikes");
    assert_eq!(e.decision.class, g.decision.class, "image {i}");
    assert_eq!(e.decision.step, g.decision.step, "image {i}");
    assert_eq!(e.output_potential, g.output_potential, "image {i}");
    assert!(e.violations.is_empty(), "image {i}: {:?}", e.violations);
}

#[test]
fn mlp_on_loihi_emulator_equals_golden_spike_for_spike() {
    let model = mlp();
    let loihi = target("loihi");
    let compiled = compile(&model, &loihi, &CompileOptions::default()).unwrap();
    let config = &compiled.mapping.config;
    let mut emulator = Emulator::new(config, &loihi).unwrap();
    let mut golden = GoldenModel::new(&compiled.quantized.network);
    let (images, _) = mnist_test(50);
    for (i, image) in images.iter().enumerate() {
        let e = emulator.run(image, RunOptions::default()).unwrap();
        let g = golden.run(image).unwrap();
        assert_same_inference(i, &e, &g);
        assert_eq!(
            e.counters.synaptic_ops_per_layer, g.synaptic_ops,
            "image {i}"
        );
        assert_eq!(
            e.counters.neuron_updates_per_layer, g.neuron_updates,
            "image {i}"
        );
        assert!(e.counters.cycles > 0);
    }
}

/// The shipped Fashion-MNIST MLP with thermometer input (4 lines per pixel, a first layer with
/// a persistent current) on MNIST-shaped images: the same spikes and decisions on the chip as
/// in the golden model, and the host sends each pixel's `round(p * 4 / 255)` lines.
#[test]
fn thermometer_mlp_on_loihi_emulator_equals_golden_spike_for_spike() {
    let path = crate::common::repo("fixtures/models/fashion-mlp-thermometer.safetensors");
    let model = ttfs_compiler::model::read(&path).unwrap();
    let loihi = target("loihi");
    let compiled = compile(&model, &loihi, &CompileOptions::default()).unwrap();
    let config = &compiled.mapping.config;
    let encoding = config.input.encoding;
    assert_eq!(
        encoding,
        ttfs_runtime::config::InputEncoding::Thermometer { levels: 4 }
    );
    assert_eq!(config.input.targets.rows(), 784 * 4);
    let mut emulator = Emulator::new(config, &loihi).unwrap();
    let mut golden = GoldenModel::new(&compiled.quantized.network);
    let (images, _) = mnist_test(10);
    let mut first_layer_spikes = 0;
    for (i, image) in images.iter().enumerate() {
        let e = emulator.run(image, RunOptions::default()).unwrap();
        let g = golden.run(image).unwrap();
        assert_same_inference(i, &e, &g);
        let lines: u64 = image
            .iter()
            .map(|&p| u64::from(encoding.active_lines(p)))
            .sum();
        // Each active line goes to every core of the first layer that reads it.
        assert!(e.counters.host_packets >= lines, "image {i}");
        first_layer_spikes += g.spikes[0].len();
    }
    assert!(first_layer_spikes > 100, "the first layer fires");
}
