//! The run report's summaries and their text form.

use super::*;

#[test]
fn silent_and_always_firing_neurons_are_counted_over_the_inferences() {
    // 4 inferences: neuron 0 never fired, 1 in all 4, 2 in 3.
    assert_eq!(firing_extremes(&[0, 4, 3], 4), (1, 1));
    // No inference: every neuron is silent, none fired always.
    assert_eq!(firing_extremes(&[0, 0], 0), (2, 0));
}

#[test]
fn nearest_rank_percentiles() {
    let v: Vec<f64> = (1..=100).map(f64::from).collect();
    let s = spread(&v);
    assert_eq!((s.p50, s.p99, s.min, s.max), (50.0, 99.0, 1.0, 100.0));
    assert!((s.mean - 50.5).abs() < 1e-12);
    let s = spread(&[3.0, 1.0, 2.0]);
    assert_eq!((s.p50, s.p99), (2.0, 3.0));
    let s = spread(&[7.0]);
    assert_eq!((s.p50, s.p99), (7.0, 7.0));
}
