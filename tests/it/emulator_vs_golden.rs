//! The emulator against the golden model on the trained MLP: every neuron's spike time, every
//! decision and the counters the golden model also keeps.

use ttfs_compiler::compile::compile;
use ttfs_compiler::golden::GoldenModel;
use ttfs_runtime::emulator::{Emulator, RunOptions};

use crate::common::{mlp, mnist_test, target};

#[test]
fn mlp_on_loihi_emulator_equals_golden_spike_for_spike() {
    let model = mlp();
    let loihi = target("loihi");
    let compiled = compile(&model, &loihi).unwrap();
    let config = &compiled.mapping.config;
    let mut emulator = Emulator::new(config, &loihi).unwrap();
    let mut golden = GoldenModel::new(&compiled.quantized.network);
    let (images, _) = mnist_test(50);
    for (i, image) in images.iter().enumerate() {
        let e = emulator.run(image, RunOptions::default()).unwrap();
        let g = golden.run(image).unwrap();
        assert_eq!(e.spikes, g.spikes, "image {i}: spikes");
        assert_eq!(e.decision.class, g.decision.class, "image {i}");
        assert_eq!(e.decision.step, g.decision.step, "image {i}");
        assert_eq!(e.output_potential, g.output_potential, "image {i}");
        assert_eq!(
            e.counters.synaptic_ops_per_layer, g.synaptic_ops,
            "image {i}"
        );
        assert_eq!(
            e.counters.neuron_updates_per_layer, g.neuron_updates,
            "image {i}"
        );
        assert!(e.violations.is_empty(), "image {i}: {:?}", e.violations);
        assert!(e.counters.cycles > 0);
    }
}
