//! The energy model, in one place: what an inference costs on a target (its counters priced by
//! the target's `energy_pj`, plus static power over its duration; ARCHITECTURE.md, "Energy and
//! latency"), its
//! latency at the target's clock, and the conventional-network figures it is compared with.

use serde::Serialize;

use crate::emulator::Counters;
use crate::target::Target;

/// Energy of one 32-bit float multiply-accumulate at 45 nm: 3.7 pJ multiply + 0.9 pJ add
/// (Horowitz, ISSCC 2014).
pub const ANN_MAC_PJ: f64 = 4.6;
/// The energy per synaptic operation many SNN papers assume (a 45 nm float add, Horowitz).
pub const SOP_PJ: f64 = 0.9;

/// Energy of one inference in picojoules, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Energy {
    /// Synaptic operations x `energy_pj.synop`.
    pub synaptic_ops_pj: f64,
    /// Neuron updates x `energy_pj.neuron_update`.
    pub neuron_updates_pj: f64,
    /// Packets x `energy_pj.spike_inject`.
    pub spike_inject_pj: f64,
    /// Hops x `energy_pj.hop`.
    pub hops_pj: f64,
    /// Host packets x `energy_pj.host_inject`.
    pub host_input_pj: f64,
    /// `static_mw` x the inference's duration.
    pub static_pj: f64,
    /// The sum.
    pub total_pj: f64,
}

impl Energy {
    /// The energy of `counters` on `target`.
    pub fn of(counters: &Counters, target: &Target) -> Self {
        let e = &target.energy_pj;
        let synaptic_ops_pj = counters.synaptic_ops as f64 * e.synop;
        let neuron_updates_pj = counters.neuron_updates as f64 * e.neuron_update;
        let spike_inject_pj = counters.packets as f64 * e.spike_inject;
        let hops_pj = counters.hops as f64 * e.hop;
        let host_input_pj = counters.host_packets as f64 * e.host_inject;
        // mW x us = nJ = 1000 pJ.
        let static_pj = e.static_mw * latency_us(counters.cycles, target) * 1000.0;
        Self {
            synaptic_ops_pj,
            neuron_updates_pj,
            spike_inject_pj,
            hops_pj,
            host_input_pj,
            static_pj,
            total_pj: synaptic_ops_pj
                + neuron_updates_pj
                + spike_inject_pj
                + hops_pj
                + host_input_pj
                + static_pj,
        }
    }
}

/// `cycles` in microseconds at the target's clock.
pub fn latency_us(cycles: u64, target: &Target) -> f64 {
    cycles_to_us(cycles as f64, target)
}

/// A (mean or percentile) cycle count in microseconds at the target's clock.
pub fn cycles_to_us(cycles: f64, target: &Target) -> f64 {
    cycles / target.timing_cycles.clock_mhz
}

impl Energy {
    /// The parts of the total, each with its name in reports, in this order: synaptic ops,
    /// neuron updates, spike injection, hops, host input, static.
    pub fn parts(&self) -> [(&'static str, f64); 6] {
        [
            ("synaptic ops", self.synaptic_ops_pj),
            ("neuron updates", self.neuron_updates_pj),
            ("spike injection", self.spike_inject_pj),
            ("hops", self.hops_pj),
            ("host input", self.host_input_pj),
            ("static", self.static_pj),
        ]
    }
}

/// The same network as a conventional (non-spiking) one, against the chip.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnnComparison {
    /// Multiply-accumulates per inference (the configuration's `ann_macs`; 0 if it has none).
    pub macs: u64,
    /// Energy per MAC assumed, pJ.
    pub pj_per_mac: f64,
    /// `macs x pj_per_mac`, or `None` when the configuration carries no MAC counts.
    pub ann_pj: Option<f64>,
    /// The chip's mean energy per inference (the target's energy model), pJ.
    pub chip_pj: f64,
    /// `ann_pj / chip_pj`: how many times less the chip spends.
    pub ann_over_chip: Option<f64>,
    /// Multiply-accumulates of nonzero weights only: the same network as an ANN at the same
    /// weight sparsity (equal to `macs` for a dense model; 0 if unknown).
    pub nonzero_macs: u64,
    /// `nonzero_macs x pj_per_mac`, or `None` when unknown: the fair baseline for a pruned
    /// model, which a dense ANN would flatter.
    pub sparse_ann_pj: Option<f64>,
    /// `sparse_ann_pj / chip_pj`.
    pub sparse_ann_over_chip: Option<f64>,
    /// Energy per synaptic operation of the common SNN estimate, pJ.
    pub pj_per_sop: f64,
    /// Mean synaptic operations per inference x `pj_per_sop`.
    pub sop_pj: f64,
    /// `ann_pj / sop_pj`.
    pub ann_over_sop: Option<f64>,
}

impl AnnComparison {
    /// The comparison for a network of `macs` multiply-accumulates, `nonzero_macs` of them
    /// with a nonzero weight (0: unknown), whose chip run costs `chip_pj` and `synaptic_ops`
    /// synaptic operations per inference (means).
    pub fn new(macs: u64, nonzero_macs: u64, chip_pj: f64, synaptic_ops: f64) -> Self {
        let ann_pj = (macs > 0).then_some(macs as f64 * ANN_MAC_PJ);
        let sparse_ann_pj = (nonzero_macs > 0).then_some(nonzero_macs as f64 * ANN_MAC_PJ);
        let sop_pj = synaptic_ops * SOP_PJ;
        let ratio = |a: Option<f64>, b: f64| a.filter(|_| b > 0.0).map(|a| a / b);
        Self {
            macs,
            pj_per_mac: ANN_MAC_PJ,
            ann_pj,
            chip_pj,
            ann_over_chip: ratio(ann_pj, chip_pj),
            nonzero_macs,
            sparse_ann_pj,
            sparse_ann_over_chip: ratio(sparse_ann_pj, chip_pj),
            pj_per_sop: SOP_PJ,
            sop_pj,
            ann_over_sop: ratio(ann_pj, sop_pj),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn tiny() -> Target {
        crate::target::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/targets/tiny.json"
        )))
        .unwrap()
    }

    #[test]
    fn every_counter_is_priced_once_and_the_parts_sum_to_the_total() {
        let mut target = tiny();
        target.energy_pj.synop = 2.0;
        target.energy_pj.neuron_update = 3.0;
        target.energy_pj.spike_inject = 5.0;
        target.energy_pj.hop = 7.0;
        target.energy_pj.host_inject = 11.0;
        target.energy_pj.static_mw = 13.0;
        target.timing_cycles.clock_mhz = 100.0;
        let counters = Counters {
            synaptic_ops: 1,
            neuron_updates: 10,
            packets: 100,
            hops: 1000,
            host_packets: 10_000,
            cycles: 200,
            ..Counters::default()
        };
        let e = Energy::of(&counters, &target);
        // 200 cycles at 100 MHz = 2 us; 13 mW x 2 us = 26 nJ.
        assert_eq!(latency_us(200, &target), 2.0);
        let expected = [2.0, 30.0, 500.0, 7000.0, 110_000.0, 26_000.0];
        let parts = e.parts();
        for ((_, pj), want) in parts.iter().zip(expected) {
            assert!((pj - want).abs() < 1e-9, "{parts:?}");
        }
        assert!((e.total_pj - expected.iter().sum::<f64>()).abs() < 1e-9);
        assert_eq!(parts[0].0, "synaptic ops");
        assert_eq!(parts[5].0, "static");
    }

    #[test]
    fn the_ann_comparison_is_unknown_without_mac_counts() {
        let a = AnnComparison::new(1000, 250, 2300.0, 100.0);
        assert_eq!(a.ann_pj, Some(4600.0));
        assert_eq!(a.ann_over_chip, Some(2.0));
        // The ANN at the same weight sparsity: 250 nonzero MACs x 4.6 pJ = 1150 pJ.
        assert_eq!(a.sparse_ann_pj, Some(1150.0));
        assert_eq!(a.sparse_ann_over_chip, Some(0.5));
        assert!((a.sop_pj - 90.0).abs() < 1e-12);
        let none = AnnComparison::new(0, 0, 2300.0, 100.0);
        assert_eq!(
            (none.ann_pj, none.ann_over_chip, none.ann_over_sop),
            (None, None, None)
        );
        assert_eq!(
            (none.sparse_ann_pj, none.sparse_ann_over_chip),
            (None, None)
        );
        let idle = AnnComparison::new(1000, 1000, 0.0, 0.0);
        assert_eq!((idle.ann_over_chip, idle.ann_over_sop), (None, None));
    }
}
