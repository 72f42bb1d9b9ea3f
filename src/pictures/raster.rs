//! The spike raster of `ttfs run`: every spike of one inference, the input's first. x is the time
//! step, and within a step the cycle the spike was emitted at (so the phases show as the layers'
//! spikes following each other inside a step); y is the neuron, grouped in one band per layer
//! (the input channels at the bottom), each band labelled at its side and drawn in its layer's
//! colour. Small layers get a band of at least an eighth of the height, so an output layer of
//! ten neurons stays visible next to hundreds of hidden ones.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use ttfs_runtime::config::ChipConfig;
use ttfs_runtime::emulator::{Inference, TraceEvent};

use super::{
    LEGEND_CHARS, Picture, PictureError, layer_color, render_svg, short_name, titled_canvas, whole,
};

/// One band of the raster: the input or a layer.
pub struct Band {
    /// Its name.
    pub name: String,
    /// Neurons (or input channels) in it.
    pub neurons: u32,
    /// Its colour.
    pub color: RGBColor,
}

/// What the raster shows.
pub struct Raster {
    /// The bands, bottom to top.
    pub bands: Vec<Band>,
    /// The spikes as (band, index in the band, x), x in steps: step `t` spans `t - 0.5..t + 0.5`.
    pub points: Vec<(usize, u32, f64)>,
    /// Time steps T.
    pub time_steps: u32,
    /// Steps the inference ran (fewer than T after an early exit).
    pub steps_run: u32,
}

impl Raster {
    /// The raster of `inference` of `config`, placed within steps by the cycles of `trace` (its
    /// [`TraceEvent`]s); without a trace each spike sits in the middle of its step.
    pub fn from_trace(config: &ChipConfig, inference: &Inference, trace: &[TraceEvent]) -> Self {
        let mut bands = vec![Band {
            name: "input (host)".to_string(),
            neurons: config.input.targets.rows() as u32,
            color: RGBColor(110, 110, 110),
        }];
        bands.extend(config.layers.iter().enumerate().map(|(l, info)| Band {
            name: info.name.clone(),
            neurons: info.neurons,
            color: layer_color(l),
        }));
        // Cycle at which each step began, and the inference's end.
        let starts: Vec<u64> = trace
            .iter()
            .filter_map(|e| match e {
                TraceEvent::PhaseStart {
                    cycle, phase: 0, ..
                } => Some(*cycle),
                _ => None,
            })
            .collect();
        let end = inference.counters.cycles;
        let place = |cycle: u64| position_in_step(&starts, end, cycle);
        let mut points = Vec::new();
        let mut input_seen = vec![false; bands[0].neurons as usize];
        for e in trace {
            match *e {
                TraceEvent::HostSend { cycle, channel, .. } => {
                    if let Some(seen @ false) = input_seen.get_mut(channel as usize) {
                        *seen = true;
                        points.push((0, channel, place(cycle)));
                    }
                }
                TraceEvent::Spike {
                    cycle,
                    layer,
                    index,
                    ..
                } if !starts.is_empty() => points.push((layer as usize + 1, index, place(cycle))),
                _ => {}
            }
        }
        if starts.is_empty() {
            for (l, spikes) in inference.spikes.iter().enumerate() {
                points.extend(spikes.iter().map(|&(i, t)| (l + 1, i, f64::from(t))));
            }
        }
        Self {
            bands,
            points,
            time_steps: config.time_steps,
            steps_run: inference.counters.steps_run,
        }
    }
}

/// Where a spike emitted at `cycle` sits on the step axis, given the cycles at which the steps
/// began (`starts`, step 1 first) and the inference's end: inside its step `t` (which spans
/// `t - 0.5..t + 0.5`), at the fraction of the step's cycles that had passed, clear of the
/// boundary lines on both sides.
fn position_in_step(starts: &[u64], end: u64, cycle: u64) -> f64 {
    let t = starts.partition_point(|&s| s <= cycle).max(1);
    let start = starts.get(t - 1).copied().unwrap_or(0);
    let stop = starts.get(t).copied().unwrap_or(end).max(start + 1);
    let frac = cycle.saturating_sub(start) as f64 / (stop - start) as f64;
    t as f64 - 0.42 + 0.84 * frac.clamp(0.0, 1.0)
}

/// Renders `raster` as an SVG for `path`, titled `title`.
pub fn draw_raster(path: &Path, raster: &Raster, title: &str) -> Result<Picture, PictureError> {
    render_svg(path, |svg| render(svg, raster, title))
}

/// Each band's bottom and height in y units.
fn layout(bands: &[Band]) -> Vec<(f64, f64)> {
    let total: f64 = bands.iter().map(|b| f64::from(b.neurons)).sum();
    let gap = total * 0.03;
    let mut y = 0.0;
    bands
        .iter()
        .map(|b| {
            let h = f64::from(b.neurons).max(total / 8.0);
            let band = (y, h);
            y += h + gap;
            band
        })
        .collect()
}

fn render(svg: &mut String, r: &Raster, title: &str) -> Result<(), String> {
    let size = (1200u32, 760u32);
    let legend_width = 330;
    let (full, root) = titled_canvas(svg, size, title)?;
    let (plot_area, _) = root.split_horizontally(size.0 - legend_width);
    let bands = layout(&r.bands);
    let y_top = bands.last().map_or(1.0, |&(y, h)| y + h);
    let t = f64::from(r.time_steps.max(1));
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..t + 0.5, 0.0..y_top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("time step (within a step: the cycle the spike was emitted at)")
        .y_desc("neuron index within its layer (0 at the bottom of each band)")
        .x_labels(r.time_steps as usize + 1)
        .y_labels(0)
        .x_label_formatter(&whole)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| e.to_string())?;

    // Band backgrounds, step boundaries, steps not run.
    chart
        .draw_series(r.bands.iter().zip(&bands).map(|(b, &(y, h))| {
            Rectangle::new([(0.5, y), (t + 0.5, y + h)], b.color.mix(0.08).filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series((1..r.time_steps).map(|s| {
            let x = f64::from(s) + 0.5;
            PathElement::new([(x, 0.0), (x, y_top)], RGBColor(200, 200, 200))
        }))
        .map_err(|e| e.to_string())?;
    if r.steps_run < r.time_steps {
        let x = f64::from(r.steps_run) + 0.5;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x, 0.0), (t + 0.5, y_top)],
                RGBColor(120, 120, 120).mix(0.15).filled(),
            )))
            .map_err(|e| e.to_string())?;
    }
    chart
        .draw_series(r.points.iter().filter_map(|&(b, i, x)| {
            let band = r.bands.get(b)?;
            let (y0, h) = bands[b];
            let y = y0 + (f64::from(i) + 0.5) / f64::from(band.neurons.max(1)) * h;
            let radius = if band.neurons < 100 { 4 } else { 2 };
            Some(Circle::new((x, y), radius, band.color.filled()))
        }))
        .map_err(|e| e.to_string())?;

    // The band labels: the first and last index at the axis, the legend at the band's side.
    let small =
        TextStyle::from(("sans-serif", 12).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    let legend_x = (size.0 - legend_width + 10) as i32;
    for (k, (b, &(y, h))) in r.bands.iter().zip(&bands).enumerate() {
        let (ax, lo) = chart.backend_coord(&(0.5, y));
        let (_, hi) = chart.backend_coord(&(0.5, y + h));
        let (_, mid) = chart.backend_coord(&(0.5, y + h / 2.0));
        full.draw(&Text::new("0".to_string(), (ax - 6, lo - 6), small.clone()))
            .map_err(|e| e.to_string())?;
        full.draw(&Text::new(
            format!("{}", b.neurons.saturating_sub(1)),
            (ax - 6, hi + 6),
            small.clone(),
        ))
        .map_err(|e| e.to_string())?;
        let spikes = r.points.iter().filter(|p| p.0 == k).count();
        full.draw(&Rectangle::new(
            [(legend_x, mid - 16), (legend_x + 16, mid)],
            b.color.filled(),
        ))
        .map_err(|e| e.to_string())?;
        full.draw(&Text::new(
            short_name(&b.name, LEGEND_CHARS),
            (legend_x + 24, mid - 16),
            ("sans-serif", 14),
        ))
        .map_err(|e| e.to_string())?;
        full.draw(&Text::new(
            format!(
                "{} {}, {spikes} spiked",
                b.neurons,
                if k == 0 { "channels" } else { "neurons" }
            ),
            (legend_x + 24, mid + 2),
            ("sans-serif", 12).into_font().color(&RGBColor(90, 90, 90)),
        ))
        .map_err(|e| e.to_string())?;
    }
    let (_, bottom) = chart.backend_coord(&(0.5, 0.0));
    let mut notes = vec!["grey lines: step boundaries".to_string()];
    if r.steps_run < r.time_steps {
        notes.push(format!(
            "shaded: steps not run (early exit after step {})",
            r.steps_run
        ));
    }
    for (j, note) in notes.iter().rev().enumerate() {
        full.draw(&Text::new(
            note.clone(),
            (legend_x, bottom - 14 - 18 * j as i32),
            ("sans-serif", 12),
        ))
        .map_err(|e| e.to_string())?;
    }
    full.present().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_sits_inside_its_step_clear_of_both_boundaries() {
        // Steps begin at cycles 0, 100, 200; the inference ends at 300.
        let starts = [0, 100, 200];
        for (cycle, step) in [
            (0, 1.0),
            (99, 1.0),
            (100, 2.0),
            (199, 2.0),
            (299, 3.0),
            (300, 3.0),
        ] {
            let x = position_in_step(&starts, 300, cycle);
            assert!(
                x > step - 0.5 + 0.05 && x < step + 0.5 - 0.05,
                "cycle {cycle}: {x} not well inside step {step}"
            );
        }
        // In order within a step.
        assert!(position_in_step(&starts, 300, 10) < position_in_step(&starts, 300, 90));
    }
}
