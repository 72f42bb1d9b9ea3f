//! Pictures the CLI writes next to its JSON reports, as SVG (plotters): each `draw_*` renders
//! one into a [`Picture`], and the command writes it with its other outputs in one step.

mod core_map;
mod curves;
mod energy;
mod latency;
mod pareto;
mod raster;
mod tradeoff;
mod weights;

use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

pub use core_map::draw_core_map;
pub use curves::draw_training_curves;
pub use energy::{EnergyBars, draw_energy};
pub use latency::draw_latency;
pub use pareto::{DesignPoint, draw_design_space};
pub use raster::{Raster, draw_raster};
pub use tradeoff::{TradeOffPoint, draw_trade_off};
pub use weights::{WeightLayer, draw_weight_histogram};

/// Why a picture could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Drawing failed.
    #[error("{path}: could not draw the picture: {message}", path = path.display())]
    Draw {
        /// The picture's path.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
    /// A value to draw is infinite or not a number: no axis can hold it (plotters' tick
    /// search never ends on an infinite range).
    #[error("{path}: cannot draw {what}: {value} is not a finite number", path = path.display())]
    NotFinite {
        /// The picture's path.
        path: PathBuf,
        /// What the value is.
        what: &'static str,
        /// The value.
        value: f64,
    },
}

/// Refuses `values` unless every one is finite: every picture checks what it puts on an axis
/// before drawing.
fn finite(
    path: &Path,
    what: &'static str,
    values: impl IntoIterator<Item = f64>,
) -> Result<(), PictureError> {
    match values.into_iter().find(|v| !v.is_finite()) {
        Some(value) => Err(PictureError::NotFinite {
            path: path.to_owned(),
            what,
            value,
        }),
        None => Ok(()),
    }
}

/// A rendered picture and the file it is meant for; the caller writes it together with the
/// other outputs of its command ([`ttfs_runtime::atomic::write_all_atomic`]).
#[derive(Clone, Debug)]
pub struct Picture {
    /// Where it goes.
    pub path: PathBuf,
    /// The SVG text.
    pub svg: String,
}

/// A qualitative palette (Okabe-Ito, readable by colour-blind readers), cycled by layer.
pub fn layer_color(layer: usize) -> RGBColor {
    const PALETTE: [RGBColor; 7] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
        RGBColor(240, 228, 66),
    ];
    PALETTE[layer % PALETTE.len()]
}

/// How many characters of a layer's name every legend shows ([`short_name`]).
pub const LEGEND_CHARS: usize = 38;

/// A layer's name as the pictures show it, in at most `max` characters: whole if it fits, else
/// without what was folded into the layer (`layer 5 (linear 3136->256, ...)`), else cut with
/// `...`. One rule for every legend, so a layer reads the same in all of them.
pub fn short_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    if let (Some(open), Some(comma)) = (name.find('('), name.find(", ")) {
        if open < comma {
            let short = format!("{}, ...)", &name[..comma]);
            if short.chars().count() <= max {
                return short;
            }
        }
    }
    let keep = max.saturating_sub(3);
    format!("{}...", name.chars().take(keep).collect::<String>())
}

/// `v` rounded to a whole number with thousands separators: `1234567.8` -> `1,234,568`.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0.0 && digits != "0" {
        out.insert(0, '-');
    }
    out
}

/// An axis tick label that shows whole numbers only (blank between them).
fn whole(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// A drawing area of an SVG being rendered.
type Area<'a> =
    plotters::drawing::DrawingArea<plotters::backend::SVGBackend<'a>, plotters::coord::Shift>;

/// A white SVG canvas of `size` pixels drawn into `svg`, with `title` across its top: the whole
/// canvas (for marks in the margins) and the area under the title. Every picture starts here.
fn titled_canvas<'a>(
    svg: &'a mut String,
    size: (u32, u32),
    title: &str,
) -> Result<(Area<'a>, Area<'a>), String> {
    use plotters::prelude::*;
    let full = SVGBackend::with_string(svg, size).into_drawing_area();
    full.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = full
        .titled(title, ("sans-serif", 20))
        .map_err(|e| e.to_string())?;
    Ok((full, root))
}

/// Renders a picture for `path` into an SVG string with `render`; a drawing error names the
/// path.
fn render_svg(
    path: &Path,
    render: impl FnOnce(&mut String) -> Result<(), String>,
) -> Result<Picture, PictureError> {
    let mut svg = String::new();
    render(&mut svg).map_err(|message| PictureError::Draw {
        path: path.to_owned(),
        message,
    })?;
    Ok(Picture {
        path: path.to_owned(),
        svg,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(-1000.0), "-1,000");
    }

    /// An infinite value used to hang `ttfs run` in plotters' tick search on an infinite axis:
    /// every picture now refuses it, naming the file, and promptly (the drawing runs on a
    /// thread that must answer within the timeout).
    #[test]
    fn pictures_refuse_infinite_values_instead_of_hanging() {
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let path = Path::new("x.svg");
            let bars = EnergyBars {
                parts: vec![("synaptic ops", 1.0), ("static", f64::INFINITY)],
                total_pj: f64::INFINITY,
                ann_pj: Some(3.0),
                sparse_ann_pj: None,
                sop_pj: 1.0,
            };
            let point = DesignPoint {
                target: "t".into(),
                model: "m".into(),
                early_exit: false,
                accuracy: 0.9,
                energy_nj: f64::INFINITY,
                latency_us: 1.0,
                dominated: false,
            };
            let errors = [
                draw_energy(path, &bars, "e").map(|_| ()),
                draw_latency(path, &[1.0, f64::INFINITY], 1.0, 2.0, "l").map(|_| ()),
                draw_latency(path, &[1.0], f64::NAN, 2.0, "l").map(|_| ()),
                draw_design_space(path, &[point], "d").map(|_| ()),
            ]
            .map(|r| r.map_err(|e| e.to_string()));
            let _ = send.send(errors);
        });
        let errors = receive
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the pictures answer within a minute");
        assert_eq!(
            errors,
            [
                Err(
                    "x.svg: cannot draw the energy per inference: inf is not a finite number"
                        .into()
                ),
                Err("x.svg: cannot draw the latency: inf is not a finite number".into()),
                Err("x.svg: cannot draw the latency: NaN is not a finite number".into()),
                Err("x.svg: cannot draw a design point: inf is not a finite number".into()),
            ]
        );
    }

    #[test]
    fn long_layer_names_lose_their_folded_details_first() {
        let name = "layer 5 (linear 3136->256, avg_pool2d 2 folded in)";
        assert_eq!(short_name(name, 60), name);
        assert_eq!(short_name(name, 40), "layer 5 (linear 3136->256, ...)");
        assert_eq!(short_name(name, 20), "layer 5 (linear 3...");
        assert_eq!(short_name("input (host)", 5), "in...");
    }
}
