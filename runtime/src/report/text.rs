//! The stable text form of a [`RunReport`]: aligned columns, fixed decimals, nothing that
//! depends on the wall clock (the timing line is printed separately).

use std::fmt::Write as _;

use super::{GoldenSummary, RunReport, Verdict};

/// The report as the terminal shows it.
pub fn format_report(r: &RunReport) -> String {
    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = write_report(&mut s, r);
    s
}

fn write_report(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let t = r.time_steps;
    writeln!(
        s,
        "accuracy            {:.2}% ({} of {}){}",
        100.0 * r.accuracy,
        r.correct,
        r.images,
        if r.early_exit { " at early exit" } else { "" }
    )?;

    let l = &r.latency;
    writeln!(
        s,
        "\nlatency per inference   {:>12} {:>12} {:>12}",
        "mean", "p50", "p99"
    )?;
    writeln!(
        s,
        "  cycles                {:>12.1} {:>12.0} {:>12.0}",
        l.cycles.mean, l.cycles.p50, l.cycles.p99
    )?;
    writeln!(
        s,
        "  microseconds          {:>12.3} {:>12.3} {:>12.3}   (clock {} MHz)",
        l.microseconds.mean, l.microseconds.p50, l.microseconds.p99, l.clock_mhz
    )?;
    writeln!(
        s,
        "  decision step         {:>12.3}   of T = {t}; {} inference{} without an output spike \
         (counted as T + 1 = {})",
        l.decision_step_mean,
        l.no_output_spike,
        plural(l.no_output_spike),
        t + 1
    )?;
    writeln!(
        s,
        "  outputs tied          {:>12.3}   fire at the decision step; the tie break (potential) \
         decided {} of {}",
        l.tied_mean, l.decided_by_tie_break, r.images
    )?;
    writeln!(s, "  steps run             {:>12.3}", l.steps_run_mean)?;

    let e = &r.energy;
    writeln!(
        s,
        "\nenergy per inference    {:>12.3} nJ   (mean; counters x the target's energy_pj)",
        e.total_nj
    )?;
    for part in &e.breakdown {
        writeln!(
            s,
            "  {:<21} {:>12.1} pJ {:>6.2}%",
            part.name, part.pj, part.percent
        )?;
    }

    let c = &r.counters;
    writeln!(s, "\nper inference (mean)")?;
    for (name, v) in [
        ("synaptic ops", c.synaptic_ops),
        ("neuron updates", c.neuron_updates),
        ("packets", c.packets),
        ("host packets", c.host_packets),
        ("hops", c.hops),
        ("contention cycles", c.contention_cycles),
        ("stall cycles", c.stall_cycles),
    ] {
        writeln!(s, "  {name:<21} {v:>12.1}")?;
    }
    writeln!(
        s,
        "  {:<21} {:>12}   (largest over inferences; queue depth {})",
        "peak FIFO depth", c.peak_fifo_depth, c.fifo_depth
    )?;

    let width = r
        .layers
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        s,
        "\n{:<w$} {:>8} {:>12} {:>13} {:>16} {:>8} {:>8}",
        "layer",
        "neurons",
        "spikes/inf",
        "spikes/neuron",
        "synaptic ops/inf",
        "silent",
        "always",
        w = width + 2
    )?;
    for layer in &r.layers {
        writeln!(
            s,
            "  {:<w$} {:>8} {:>12.2} {:>13.4} {:>16.1} {:>8} {:>8}",
            layer.name,
            layer.neurons,
            layer.spikes_per_inference,
            layer.spikes_per_neuron,
            layer.synaptic_ops_per_inference,
            layer.silent_neurons,
            layer.always_firing_neurons,
            w = width
        )?;
    }
    writeln!(
        s,
        "  (silent: neurons that fired in none of the {} inferences; always: in every one)",
        r.images
    )?;

    let a = &r.ann;
    writeln!(
        s,
        "\nagainst a conventional ANN of the same network (32-bit float MAC = {} pJ at 45 nm, \
         Horowitz ISSCC 2014)",
        a.pj_per_mac
    )?;
    let ann_text = format!("{} MACs x {} pJ", a.macs, a.pj_per_mac);
    match a.ann_pj {
        Some(ann) => writeln!(
            s,
            "  {:<10} {ann_text:<30} {:>12.3} nJ   ANN / chip = {}",
            "ANN",
            ann / 1000.0,
            times(a.ann_over_chip)
        )?,
        None => writeln!(
            s,
            "  {:<10} unknown: the configuration carries no MAC counts (recompile it)",
            "ANN"
        )?,
    }
    if let Some(sparse) = a.sparse_ann_pj.filter(|_| a.nonzero_macs < a.macs) {
        let sparse_text = format!("{} nonzero MACs x {} pJ", a.nonzero_macs, a.pj_per_mac);
        writeln!(
            s,
            "  {:<10} {sparse_text:<30} {:>12.3} nJ   ANN / chip = {}   (the ANN at the same weight sparsity)",
            "sparse ANN",
            sparse / 1000.0,
            times(a.sparse_ann_over_chip)
        )?;
    }
    writeln!(
        s,
        "  {:<10} {:<30} {:>12.3} nJ",
        "chip",
        "counters x the target's energy",
        a.chip_pj / 1000.0
    )?;
    let sop_text = format!("{:.1} SOPs x {} pJ", c.synaptic_ops, a.pj_per_sop);
    writeln!(
        s,
        "  {:<10} {sop_text:<30} {:>12.3} nJ   ANN / SOP  = {}   (the common SNN estimate)",
        "SOP count",
        a.sop_pj / 1000.0,
        times(a.ann_over_sop)
    )?;

    writeln!(s)?;
    write_verdict(s, &r.single_spike)?;
    if let Some(g) = &r.golden {
        write_golden(s, g)?;
    }
    Ok(())
}

fn write_verdict(s: &mut String, v: &Verdict) -> std::fmt::Result {
    if v.verified {
        return writeln!(
            s,
            "single-spike: verified, no neuron fired twice in {} inferences",
            v.inferences
        );
    }
    writeln!(
        s,
        "!!! SINGLE-SPIKE VIOLATED: {} of {} inferences had a neuron that fired more than once \
         ({} violations in all) !!!",
        v.violating_inferences, v.inferences, v.violations
    )?;
    for x in &v.first {
        writeln!(
            s,
            "!!!   image {}: {}, neuron {} fired at steps {:?}",
            x.image, x.layer_name, x.index, x.steps
        )?;
    }
    Ok(())
}

fn write_golden(s: &mut String, g: &GoldenSummary) -> std::fmt::Result {
    writeln!(
        s,
        "golden model: spike times equal on {} of {} inferences (every neuron), decisions equal \
         on {}",
        g.spikes_equal, g.compared, g.decisions_equal
    )?;
    if let Some(d) = &g.first_spike_difference {
        writeln!(
            s,
            "!!! first spike difference: image {}, {}, neuron {}: emulator steps {:?}, golden \
             steps {:?}",
            d.image, d.layer_name, d.neuron, d.emulator_steps, d.golden_steps
        )?;
    }
    if let Some(d) = &g.first_decision_difference {
        writeln!(
            s,
            "!!! first decision difference: image {}: emulator class {} at step {}, golden class \
             {} at step {}",
            d.image,
            d.emulator_class,
            step(d.emulator_step),
            d.golden_class,
            step(d.golden_step)
        )?;
    }
    Ok(())
}

fn step(t: Option<u32>) -> String {
    t.map_or_else(|| "none".to_string(), |t| t.to_string())
}

fn times(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x"))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
