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
    // The shading's scale, one row per layer in its own colour, at 0, 25, 50, 75 and 100% of
    // a limit (a light core of the second layer reads against the second row, not the first).
    let scale_y = y + 42;
    let levels = [0.0, 0.25, 0.5, 0.75, 1.0];
    for (layer, info) in report.layers.iter().enumerate() {
        let row_y = scale_y + 18 * layer as i32;
        for (k, used) in levels.into_iter().enumerate() {
            let x = 10 + 52 * k as i32;
            legend_area
                .draw(&Rectangle::new(
                    [(x, row_y), (x + 44, row_y + 14)],
                    shade(layer, used).filled(),
                ))
                .map_err(|e| e.to_string())?;
        }
        legend_area
            .draw(&Text::new(
                // The layer's name without what was folded into it: "layer 5".
                info.name
                    .split(" (")
                    .next()
                    .unwrap_or(&info.name)
                    .to_string(),
                (10 + 52 * levels.len() as i32, row_y + 1),
                ("sans-serif", 12),
            ))
            .map_err(|e| e.to_string())?;
    }
    let labels_y = scale_y + 18 * report.layers.len() as i32 + 2;
    for (k, used) in levels.into_iter().enumerate() {
        legend_area
            .draw(&Text::new(
                format!("{:.0}%", 100.0 * used),
                (10 + 52 * k as i32 + 10, labels_y),
                ("sans-serif", 12),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// The shade legend showed only the first layer's colour, so a light core of another layer
    /// could not be read against it: every layer now has its own row of five shades.
    #[test]
    fn every_layer_has_its_own_shade_scale() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let model = ttfs_compiler::model::read(&root.join("fixtures/models/mnist-mlp.safetensors"))
            .unwrap();
        let target = ttfs_runtime::target::load(&root.join("fixtures/targets/loihi.json")).unwrap();
        let compiled =
            ttfs_compiler::compile::compile(&model, &target, &Default::default()).unwrap();
        let report = &compiled.mapping.report;
        assert_eq!(report.layers.len(), 2);
        let svg = draw_core_map(Path::new("c.svg"), report, "t").unwrap().svg;
        for layer in 0..2 {
            let RGBColor(r, g, b) = layer_color(layer);
            let fill = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
            let mut opacities: Vec<&str> = svg
                .split('<')
                .filter(|e| e.starts_with("rect") && e.contains(&fill))
                .filter_map(|e| e.split("opacity=\"").nth(1)?.split('"').next())
                .collect();
            opacities.sort_unstable();
            opacities.dedup();
            assert!(opacities.len() >= 5, "layer {layer}: {opacities:?}");
        }
    }
}
