//! The core map: the target's mesh, each used core filled with its layer's colour, darker the
//! fuller it is (utilization = the largest of its neuron, axon and synapse fractions), free
//! positions left grey; a legend names the layers.

use std::path::Path;

use plotters::prelude::*;
use ttfs_compiler::map::MappingReport;

use super::{
    LEGEND_CHARS, Picture, PictureError, layer_color, render_svg, short_name, titled_canvas, whole,
};

/// Draws `report` as an SVG at `path` (atomically), titled `title`.
pub fn draw_core_map(
    path: &Path,
    report: &MappingReport,
    title: &str,
) -> Result<Picture, PictureError> {
    render_svg(path, |svg| render(svg, report, title))
}

/// A core of `layer` used to `utilization` of its tightest limit: 35% opacity when empty, the
/// full colour at a limit.
fn shade(layer: usize, utilization: f64) -> RGBAColor {
    layer_color(layer).mix(0.35 + 0.65 * utilization.clamp(0.0, 1.0))
}

fn render(svg: &mut String, report: &MappingReport, title: &str) -> Result<(), String> {
    let (cols, rows) = (report.cols, report.rows);
    // Square cells, between 6 and 60 pixels, in a picture at most about 900 pixels wide.
    let cell = (800 / cols.max(rows)).clamp(6, 60);
    let legend_width = 440;
    let size = (
        cols * cell + 120 + legend_width,
        (rows * cell + 130).max(300),
    );
    let (_, root) = titled_canvas(svg, size, title)?;
    let (map_area, legend_area) = root.split_horizontally(size.0 - legend_width);
    let mut chart = ChartBuilder::on(&map_area)
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..f64::from(cols), f64::from(rows)..0f64)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("mesh column x")
        .y_desc("mesh row y")
        .x_labels((cols as usize).min(16))
        .y_labels((rows as usize).min(16))
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .draw()
        .map_err(|e| e.to_string())?;
    let gap = 0.06;
    let free = (0..rows).flat_map(|y| (0..cols).map(move |x| (x, y)));
    chart
        .draw_series(free.map(|(x, y)| {
            let (x, y) = (f64::from(x), f64::from(y));
            Rectangle::new(
                [(x + gap, y + gap), (x + 1.0 - gap, y + 1.0 - gap)],
                RGBColor(235, 235, 235).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(report.cores.iter().map(|c| {
            let (x, y) = (f64::from(c.x), f64::from(c.y));
            Rectangle::new(
                [(x + gap, y + gap), (x + 1.0 - gap, y + 1.0 - gap)],
                shade(c.layer, c.utilization).filled(),
            )
        }))
        .map_err(|e| e.to_string())?;

    legend_area
        .draw(&Text::new(
            "layers (cores, most binding limit)",
            (10, 20),
            ("sans-serif", 15),
        ))
        .map_err(|e| e.to_string())?;
    for (i, layer) in report.layers.iter().enumerate() {
        let y = 45 + 40 * i as i32;
        legend_area
            .draw(&Rectangle::new(
                [(10, y), (28, y + 18)],
                layer_color(i).filled(),
            ))
            .map_err(|e| e.to_string())?;
        legend_area
            .draw(&Text::new(
                short_name(&layer.name, LEGEND_CHARS),
                (36, y),
                ("sans-serif", 13),
            ))
            .map_err(|e| e.to_string())?;
        legend_area
            .draw(&Text::new(
                format!(
                    "{} core{}, {}",
                    layer.cores,
                    if layer.cores == 1 { "" } else { "s" },
                    layer.bound_by
                ),
                (36, y + 16),
                ("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
            ))
            .map_err(|e| e.to_string())?;
    }
    let y = 55 + 40 * report.layers.len() as i32;
    for (k, text) in [
        format!(
            "{} of {} cores used; grey: free",
            report.cores_used,
            u64::from(cols) * u64::from(rows)
        ),
        "shade: how full a core is (its tightest limit)".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        legend_area
            .draw(&Text::new(
                text,
                (10, y + 18 * k as i32),
                ("sans-serif", 12),
            ))
            .map_err(|e| e.to_string())?;
    }
    // The shading's scale: the first layer's colour at 0, 25, 50, 75 and 100% of a limit.
    let scale_y = y + 42;
    for (k, used) in [0.0, 0.25, 0.5, 0.75, 1.0].into_iter().enumerate() {
        let x = 10 + 52 * k as i32;
        legend_area
            .draw(&Rectangle::new(
                [(x, scale_y), (x + 44, scale_y + 16)],
                shade(0, used).filled(),
            ))
            .map_err(|e| e.to_string())?;
        legend_area
            .draw(&Text::new(
                format!("{:.0}%", 100.0 * used),
                (x + 10, scale_y + 20),
                ("sans-serif", 12),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
