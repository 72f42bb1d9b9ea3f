//! A human summary of a configuration (what `ttfs inspect` prints): stable text, so tests can
//! compare it with a golden file.

use std::fmt::Write as _;

use super::{ChipConfig, Refractory, Reset, WhileRefractory};

/// The summary of `config`; `file_bytes` is the size of the file it came from, if known.
pub fn summary(config: &ChipConfig, file_bytes: Option<u64>) -> String {
    let mut s = String::new();
    let synapses: usize = config.cores.iter().map(|c| c.synapses.entries.len()).sum();
    let axons: usize = config.cores.iter().map(|c| c.axons()).sum();
    let neurons: usize = config.cores.iter().map(|c| c.neurons()).sum();
    let routes: usize = config.cores.iter().map(|c| c.routes.entries.len()).sum();
    let (w, h) = config.cores.iter().fold((0, 0), |(w, h), c| {
        (w.max(c.position.x + 1), h.max(c.position.y + 1))
    });
    let _ = writeln!(
        s,
        "ttfs chip configuration, format version {}",
        super::CONFIG_VERSION
    );
    let _ = writeln!(
        s,
        "target        {} (hash {:016x})",
        config.target_name, config.target_hash
    );
    let model = if config.model_digest == 0 {
        "none recorded (built by hand)".to_string()
    } else {
        format!("digest {:016x}", config.model_digest)
    };
    let _ = writeln!(s, "model         {model}");
    let pools = match config.pool_lowering {
        super::PoolLowering::SharedAxons => "as shared axons (one axon per pooling window)",
        super::PoolLowering::Synapses => "folded into the synapses of the layer after them",
    };
    let _ = writeln!(s, "avg pools     {pools}");
    if let Some(bytes) = file_bytes {
        let _ = writeln!(s, "file size     {bytes} bytes");
    }
    let _ = writeln!(
        s,
        "time steps    T = {}, decay resolution D = {} bits",
        config.time_steps, config.decay_bits
    );
    let _ = writeln!(
        s,
        "input         {} coding, shape {:?}, {} channels, {} (core, axon) targets",
        config.input.encoding.describe(),
        config.input.shape,
        config.input.targets.rows(),
        config.input.targets.entries.len()
    );
    let _ = writeln!(
        s,
        "output        {} classes, decided by the earliest spike, ties by {}",
        config.output.classes.len(),
        match config.decoding.tie_break {
            super::TieBreak::PotentialAtEnd => "the larger potential after step T",
            super::TieBreak::PotentialAtDecision => "the larger potential at the decision step",
        }
    );
    let _ = writeln!(
        s,
        "cores         {} used, spanning a {w} x {h} block of the mesh",
        config.cores.len()
    );
    let _ = writeln!(
        s,
        "totals        {neurons} neurons, {axons} axons, {synapses} synapses, {routes} routes"
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<5} {:<48} {:>8} {:>6} {:>10} {:>10}  neuron",
        "layer", "name", "neurons", "cores", "synapses", "max |w|"
    );
    for (l, info) in config.layers.iter().enumerate() {
        let cores: Vec<_> = config
            .cores
            .iter()
            .filter(|c| c.layer as usize == l)
            .collect();
        let syn: usize = cores.iter().map(|c| c.synapses.entries.len()).sum();
        let wmax = cores
            .iter()
            .flat_map(|c| c.synapses.entries.iter())
            .map(|e| e.weight.unsigned_abs())
            .max()
            .unwrap_or(0);
        let params = cores
            .first()
            .map(|c| describe_params(c))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "{:<5} {:<48} {:>8} {:>6} {:>10} {:>10}  {}",
            l,
            info.name,
            info.neurons,
            cores.len(),
            syn,
            wmax,
            params
        );
    }
    s
}

fn describe_params(core: &super::CoreConfig) -> String {
    let p = &core.params;
    let refractory = match p.refractory {
        Refractory::UntilEnd => "refractory until the end".to_string(),
        Refractory::Steps(n) => format!("refractory {n} steps"),
    };
    let reset = match p.reset {
        Reset::To(v) => format!("reset to {v}"),
        Reset::Hold => "no reset".to_string(),
    };
    let while_refractory = match p.while_refractory {
        WhileRefractory::Frozen => "frozen after its spike",
        WhileRefractory::Integrate => "integrates after its spike",
    };
    let (tmin, tmax) = core
        .threshold
        .iter()
        .fold((i32::MAX, i32::MIN), |(a, b), &t| (a.min(t), b.max(t)));
    let threshold = if tmin == tmax {
        format!("threshold {tmin}")
    } else {
        format!("thresholds {tmin}..{tmax}")
    };
    format!(
        "du {} dv {}, {threshold}, {reset}, {refractory}, {while_refractory}",
        p.du, p.dv
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The summary of the hand-built sample configuration, compared with
    /// `fixtures/golden/inspect-sample.txt`; `BLESS=1 cargo test` rewrites the file.
    #[test]
    fn summary_matches_the_golden_file() {
        let text = summary(&crate::config::test_configs::sample(), Some(1234));
        let path = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/golden/inspect-sample.txt"
        ));
        if std::env::var_os("BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &text).unwrap();
        }
        let expected = std::fs::read_to_string(path).unwrap();
        assert_eq!(
            text, expected,
            "run BLESS=1 cargo test to accept the new text"
        );
    }
}
