//! What quantization did to each layer, as data ([`LayerQuantReport`], serializable so the CLI
//! can write it as JSON) and as a stable aligned text table ([`format_report`]).

use serde::{Deserialize, Serialize};

/// What quantization did to one layer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LayerQuantReport {
    /// The layer's name.
    pub name: String,
    /// Number of neurons.
    pub neurons: usize,
    /// Number of synapses kept (after dropping the ones that rounded to 0).
    pub synapses: usize,
    /// Smallest scale of the layer's neurons (integer units per float unit).
    pub scale_min: f64,
    /// Largest scale of the layer's neurons.
    pub scale_max: f64,
    /// Smallest integer threshold.
    pub threshold_min: i32,
    /// Largest integer threshold.
    pub threshold_max: i32,
    /// Largest absolute integer weight kept.
    pub weight_max_abs: i32,
    /// Weights clamped to `[-qmax, qmax]`.
    pub clipped_weights: usize,
    /// Synapses dropped because their weight rounded to 0.
    pub zeroed_weights: usize,
    /// Biases clamped to the current register.
    pub clipped_biases: usize,
    /// Neurons whose scale was lowered so that the threshold fits its register.
    pub threshold_limited: usize,
}

/// The report as a text table: a header line, then one line per layer; columns are aligned
/// (the name left, numbers right) and scales printed with 4 significant digits, so the same
/// report always gives the same text.
pub fn format_report(layers: &[LayerQuantReport]) -> String {
    const HEADER: [&str; 10] = [
        "layer",
        "neurons",
        "synapses",
        "scale",
        "threshold",
        "max |w|",
        "clipped w",
        "zeroed w",
        "clipped b",
        "th limited",
    ];
    let mut rows: Vec<[String; 10]> = vec![HEADER.map(str::to_owned)];
    for r in layers {
        rows.push([
            r.name.clone(),
            r.neurons.to_string(),
            r.synapses.to_string(),
            range(significant(r.scale_min, 4), significant(r.scale_max, 4)),
            range(r.threshold_min.to_string(), r.threshold_max.to_string()),
            r.weight_max_abs.to_string(),
            r.clipped_weights.to_string(),
            r.zeroed_weights.to_string(),
            r.clipped_biases.to_string(),
            r.threshold_limited.to_string(),
        ]);
    }
    let mut widths = [0usize; 10];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, &w)) in row.iter().zip(&widths).enumerate() {
            if i == 0 {
                line.push_str(&format!("{cell:<w$}"));
            } else {
                line.push_str(&format!("  {cell:>w$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `a..b`, or just `a` when both ends are the same.
fn range(a: String, b: String) -> String {
    if a == b { a } else { format!("{a}..{b}") }
}

/// `x` with `digits` significant digits (at least 1) in plain decimal notation: `0.31`, `63.50`,
/// `12700`.
pub(crate) fn significant(x: f64, digits: u32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i64;
    let decimals = (i64::from(digits.max(1)) - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn report(name: &str, scale: (f64, f64), th: (i32, i32)) -> LayerQuantReport {
        LayerQuantReport {
            name: name.to_owned(),
            neurons: 800,
            synapses: 627_190,
            scale_min: scale.0,
            scale_max: scale.1,
            threshold_min: th.0,
            threshold_max: th.1,
            weight_max_abs: 127,
            clipped_weights: 0,
            zeroed_weights: 10,
            clipped_biases: 0,
            threshold_limited: 0,
        }
    }

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.31, 2), "0.31");
        assert_eq!(significant(0.3123, 2), "0.31");
        assert_eq!(significant(63.5, 4), "63.50");
        assert_eq!(significant(12700.0, 4), "12700");
        assert_eq!(significant(0.00123, 2), "0.0012");
        assert_eq!(significant(0.0, 2), "0");
    }

    #[test]
    fn table_is_aligned_and_stable() {
        let layers = [
            report("layer 1 (linear 784->800)", (63.5, 254.0), (64, 254)),
            report("layer 2 (linear 800->10)", (100.0, 100.0), (100, 100)),
        ];
        let text = format_report(&layers);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("layer  "), "{text}");
        assert!(lines[1].contains("63.50..254.0"), "{text}");
        assert!(lines[1].contains("64..254"), "{text}");
        assert!(lines[2].contains("100.0  "), "{text}");
        // Aligned: every line ends at the same column (the last column is right-aligned).
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{text}");
        assert_eq!(text, format_report(&layers));
        // And it serializes for the CLI's JSON report.
        let json = serde_json::to_string(&layers[0]).unwrap();
        assert!(json.contains("\"zeroed_weights\":10"), "{json}");
    }
}
