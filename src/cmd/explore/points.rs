//! The points of an exploration and what is made of them: the Pareto marks, `explore.json`
//! with `explore.svg`, and the table. One exploration and the merge of its shards write them
//! the same way.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::pictures::{DesignPoint, draw_design_space};

/// One point of the design space, as `explore.json` holds it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Point {
    /// The model file.
    pub model: String,
    /// The target's name.
    pub target: String,
    /// Whether the run stopped at the first output spike.
    pub early_exit: bool,
    /// Why the point has no figures (the rest is then empty): the compiler's refusal, when
    /// the model does not fit the target, or an early exit that would change decisions.
    pub refused: Option<String>,
    /// Test accuracy on the chip.
    pub accuracy: Option<f64>,
    /// Mean energy per inference, nJ.
    pub energy_nj: Option<f64>,
    /// The same network as a dense float ANN (MACs x 4.6 pJ), nJ.
    pub ann_nj: Option<f64>,
    /// The ANN at the model's weight sparsity (nonzero MACs x 4.6 pJ), nJ.
    pub sparse_ann_nj: Option<f64>,
    /// Mean latency per inference, us.
    pub latency_us: Option<f64>,
    /// Mean time steps run.
    pub steps_run: Option<f64>,
    /// Mean synaptic ops per inference.
    pub synaptic_ops: Option<f64>,
    /// Mean neuron updates per inference.
    pub neuron_updates: Option<f64>,
    /// Cores used.
    pub cores: Option<u64>,
    /// Inferences whose every spike equalled the golden model's, of those compared.
    pub golden_equal: Option<String>,
    /// Another fitting point is at least as accurate and at most as costly, and better in one;
    /// `None` until every point of the exploration is known (in a shard's file).
    pub dominated: Option<bool>,
    /// The two `ttfs` invocations that reproduce the point.
    pub commands: Vec<String>,
}

/// A point the compiler refused.
pub fn refused_point(
    model: &Path,
    target: &str,
    early_exit: bool,
    reason: &str,
    compile: &str,
) -> Point {
    Point {
        model: model.display().to_string(),
        target: target.to_string(),
        early_exit,
        refused: Some(reason.to_string()),
        accuracy: None,
        energy_nj: None,
        ann_nj: None,
        sparse_ann_nj: None,
        latency_us: None,
        steps_run: None,
        synaptic_ops: None,
        neuron_updates: None,
        cores: None,
        golden_equal: None,
        dominated: None,
        commands: vec![compile.to_string()],
    }
}

/// The file name of a model without its extension, which names its points' files.
pub fn stem(path: &Path) -> String {
    crate::paths::file_stem(path, "model")
}

/// Marks every fitting point that another fitting point dominates: at least as accurate and
/// at most as costly in energy, and strictly better in one of the two; every other point,
/// refused ones included, is marked not dominated.
pub fn mark_dominated(points: &mut [Point]) {
    let scores: Vec<Option<(f64, f64)>> =
        points.iter().map(|p| p.accuracy.zip(p.energy_nj)).collect();
    let dominated = ttfs_runtime::report::pareto::dominated(&scores);
    for (point, dominated) in points.iter_mut().zip(dominated) {
        point.dominated = Some(dominated);
    }
}

/// Writes `explore.json` and `explore.svg` together (both or neither).
pub fn write_outputs(dir: &Path, points: &[Point]) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(points)?;
    let json_path = dir.join("explore.json");
    let svg_path = dir.join("explore.svg");
    let drawn: Vec<DesignPoint> = points
        .iter()
        .filter_map(|p| {
            Some(DesignPoint {
                target: p.target.clone(),
                model: stem(Path::new(&p.model)),
                early_exit: p.early_exit,
                accuracy: p.accuracy?,
                energy_nj: p.energy_nj?,
                latency_us: p.latency_us?,
                dominated: p.dominated == Some(true),
            })
        })
        .collect();
    let svg = draw_design_space(
        &svg_path,
        &drawn,
        "design space: accuracy on the chip against energy and latency per inference",
    )?;
    ttfs_runtime::atomic::write_all_atomic(&[
        (&json_path, json.as_bytes()),
        (&svg_path, svg.svg.as_bytes()),
    ])?;
    println!("\nwrote {} and {}", json_path.display(), svg_path.display());
    Ok(())
}

/// Why a point has no figures, as its table row says it: the reason without the model's file
/// that the row already names ("... does not compile: layer 1 (linear 784->800) has a bias"
/// becomes "layer 1 (linear 784->800) has a bias").
fn refusal(p: &Point) -> &str {
    let reason = p.refused.as_deref().unwrap_or("no figures");
    reason
        .strip_prefix(p.model.as_str())
        .and_then(|rest| rest.split_once(": "))
        .map_or(reason, |(_, why)| why)
}

/// One line per point; the ANN column is the same network's at the model's weight sparsity
/// (nonzero MACs x 4.6 pJ).
pub fn print_table(points: &[Point]) {
    println!(
        "\n{:<24} {:<10} {:<10} {:>9} {:>11} {:>11} {:>11} {:>6}  front",
        "model", "target", "early exit", "accuracy", "energy nJ", "ANN nJ", "latency us", "cores"
    );
    for p in points {
        let model = stem(Path::new(&p.model));
        let exit = if p.early_exit { "on" } else { "off" };
        match (&p.refused, p.accuracy, p.energy_nj, p.latency_us) {
            (None, Some(acc), Some(energy), Some(latency)) => println!(
                "{model:<24} {:<10} {exit:<10} {:>8.2}% {energy:>11.1} {:>11} {latency:>11.1} {:>6}  {}",
                p.target,
                100.0 * acc,
                p.sparse_ann_nj
                    .map_or("-".to_string(), |x| format!("{x:.1}")),
                p.cores.unwrap_or(0),
                match p.dominated {
                    Some(true) => "no",
                    Some(false) => "yes",
                    None => "(shard)",
                }
            ),
            _ => println!(
                "{model:<24} {:<10} {exit:<10} refused: {}",
                p.target,
                refusal(p)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn point(accuracy: f64, energy: f64) -> Point {
        Point {
            accuracy: Some(accuracy),
            energy_nj: Some(energy),
            ..refused_point(Path::new("m"), "t", true, "", "")
        }
    }

    #[test]
    fn a_point_is_dominated_only_by_one_as_good_on_both_and_better_on_one() {
        let mut points = vec![
            point(0.98, 500.0), // front: the cheapest
            point(0.99, 900.0), // front: the most accurate
            point(0.98, 600.0), // dominated by the first (same accuracy, more energy)
            point(0.97, 800.0), // dominated by both
            point(0.99, 900.0), // equal to the second: neither dominates the other
            refused_point(Path::new("m"), "t", true, "too wide", "ttfs compile"),
        ];
        mark_dominated(&mut points);
        let dominated: Vec<bool> = points.iter().map(|p| p.dominated == Some(true)).collect();
        assert_eq!(dominated, vec![false, false, true, true, false, false]);
    }
}
