//! Pictures the CLI writes next to its JSON reports, as SVG (plotters): each `draw_*` renders
//! one into a [`Picture`], and the command writes it with its other outputs in one step.

mod core_map;
mod energy;
mod latency;
mod raster;
mod tradeoff;
mod weights;

use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

pub use core_map::draw_core_map;
pub use energy::{EnergyBars, draw_energy};
pub use latency::draw_latency;
pub use raster::{Raster, draw_raster};
pub use tradeoff::{TradeOffPoint, draw_trade_off};
pub use weights::draw_weight_histogram;

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

/// An axis tick label that shows whole numbers only (blank between them).
fn whole(v: &f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
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
