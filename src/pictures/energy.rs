//! The energy picture of `ttfs run`: one horizontal bar per component of the chip's mean energy
//! per inference (in nJ), then the chip's total and two reference bars: the same network as a
//! conventional ANN (MACs x 4.6 pJ) and the common SNN estimate (synaptic ops x 0.9 pJ). Each
//! bar carries its value; a legend below the chart names the three kinds of bar.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Picture, PictureError, finite, layer_color, render_svg, thousands, titled_canvas};

/// What the energy picture shows, in pJ per inference.
pub struct EnergyBars {
    /// The chip's energy by component, in the report's order.
    pub parts: Vec<(&'static str, f64)>,
    /// The chip's total.
    pub total_pj: f64,
    /// The same network as a conventional ANN, if the configuration carries MAC counts.
    pub ann_pj: Option<f64>,
    /// The same ANN with only its nonzero weights' MACs, when that is fewer (a pruned model).
    pub sparse_ann_pj: Option<f64>,
    /// Synaptic operations x 0.9 pJ.
    pub sop_pj: f64,
}

/// The three kinds of bar: (legend text, colour).
const KINDS: [(&str, usize); 3] = [
    ("chip, by component (counters x the target's energy_pj)", 0),
    ("chip, total", 5),
    (
        "references: the same network as an ANN, and the SOP-count estimate",
        2,
    ),
];

/// Draws `bars` as an SVG at `path` (atomically), titled `title`.
pub fn draw_energy(path: &Path, bars: &EnergyBars, title: &str) -> Result<Picture, PictureError> {
    let values = bars.parts.iter().map(|&(_, pj)| pj);
    let baselines = [bars.ann_pj, bars.sparse_ann_pj].into_iter().flatten();
    finite(
        path,
        "the energy per inference",
        values.chain([bars.total_pj, bars.sop_pj]).chain(baselines),
    )?;
    render_svg(path, |svg| render(svg, bars, title))
}

/// One bar: its name, value in nJ, text and kind (index into [`KINDS`]).
struct Bar {
    name: String,
    nj: f64,
    text: String,
    kind: usize,
}

/// `pj` in nJ with one decimal and thousands separators: `2712262.3` -> `2,712.3 nJ`.
fn nj_text(pj: f64) -> String {
    let tenths = (pj / 100.0).round();
    let whole = (tenths / 10.0).trunc();
    format!(
        "{}.{} nJ",
        thousands(whole),
        (tenths - whole * 10.0).abs() as u8
    )
}

fn rows(b: &EnergyBars) -> Vec<Bar> {
    let total = b.total_pj;
    let share = |pj: f64| {
        if total > 0.0 { 100.0 * pj / total } else { 0.0 }
    };
    let mut rows: Vec<Bar> = b
        .parts
        .iter()
        .map(|&(name, pj)| Bar {
            name: name.to_string(),
            nj: pj / 1000.0,
            text: format!("{} ({:.1}%)", nj_text(pj), share(pj)),
            kind: 0,
        })
        .collect();
    rows.push(Bar {
        name: "chip total".to_string(),
        nj: total / 1000.0,
        text: nj_text(total),
        kind: 1,
    });
    let vs_chip = |pj: f64| {
        if total > 0.0 {
            format!("{} ({:.2}x the chip)", nj_text(pj), pj / total)
        } else {
            nj_text(pj)
        }
    };
    if let Some(ann) = b.ann_pj {
        rows.push(Bar {
            name: "ANN: MACs x 4.6 pJ".to_string(),
            nj: ann / 1000.0,
            text: vs_chip(ann),
            kind: 2,
        });
    }
    if let Some(sparse) = b.sparse_ann_pj {
        rows.push(Bar {
            name: "ANN, nonzero weights only".to_string(),
            nj: sparse / 1000.0,
            text: vs_chip(sparse),
            kind: 2,
        });
    }
    rows.push(Bar {
        name: "SNN estimate: SOPs x 0.9 pJ".to_string(),
        nj: b.sop_pj / 1000.0,
        text: vs_chip(b.sop_pj),
        kind: 2,
    });
    rows
}

fn render(svg: &mut String, bars: &EnergyBars, title: &str) -> Result<(), String> {
    let rows = rows(bars);
    let k = rows.len() as u32;
    let size = (1000u32, 130 + 48 * k + 60);
    let (full, root) = titled_canvas(svg, size, title)?;
    let (chart_area, legend_area) = root.split_vertically(size.1 - 30 - 70);
    let max = rows.iter().map(|r| r.nj).fold(0.0, f64::max).max(0.001);
    // Whole nJ on the axis, unless the bars are too short for them.
    let decimals = if max >= 10.0 {
        0
    } else if max >= 0.1 {
        2
    } else {
        4
    };
    // Room to the right of the longest bar for its value.
    let x_max = max * 1.45;
    // Row i is drawn between i and i + 1 from the top (the y axis points down).
    let mut chart = ChartBuilder::on(&chart_area)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(210)
        .build_cartesian_2d(0.0..x_max, f64::from(k)..0.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("energy per inference (nJ)")
        .x_labels(7)
        .y_labels(0)
        .x_label_formatter(&|v| {
            if decimals == 0 {
                thousands(*v)
            } else {
                format!("{v:.decimals$}")
            }
        })
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            let y = i as f64;
            Rectangle::new(
                [(0.0, y + 0.18), (r.nj, y + 0.82)],
                layer_color(KINDS[r.kind].1).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    let value_style = TextStyle::from(("sans-serif", 14).into_font())
        .pos(Pos::new(HPos::Left, VPos::Center))
        .color(&BLACK);
    chart
        .draw_series(rows.iter().enumerate().map(|(i, r)| {
            Text::new(
                r.text.clone(),
                (r.nj + x_max * 0.01, i as f64 + 0.5),
                value_style.clone(),
            )
        }))
        .map_err(|e| e.to_string())?;
    // The bars' names, right-aligned against the y axis.
    let name_style = TextStyle::from(("sans-serif", 14).into_font())
        .pos(Pos::new(HPos::Right, VPos::Center))
        .color(&BLACK);
    for (i, r) in rows.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, i as f64 + 0.5));
        full.draw(&Text::new(r.name.clone(), (x - 8, y), name_style.clone()))
            .map_err(|e| e.to_string())?;
    }

    for (j, (text, color)) in KINDS.iter().enumerate() {
        let (x, y) = (225, 8 + 22 * j as i32);
        legend_area
            .draw(&Rectangle::new(
                [(x, y), (x + 16, y + 14)],
                layer_color(*color).filled(),
            ))
            .map_err(|e| e.to_string())?;
        legend_area
            .draw(&Text::new(*text, (x + 24, y), ("sans-serif", 14)))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::nj_text;

    #[test]
    fn values_read_in_nanojoules() {
        assert_eq!(nj_text(2_712_262.3), "2,712.3 nJ");
        assert_eq!(nj_text(844.4), "0.8 nJ");
        assert_eq!(nj_text(0.0), "0.0 nJ");
        assert_eq!(nj_text(999_960.0), "1,000.0 nJ");
    }
}
