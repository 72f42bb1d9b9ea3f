//! What `ttfs run` writes: the report as JSON, three pictures and the trace, and the verdicts
//! that fail the run once they are written.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ttfs_runtime::emulator::{Inference, TraceEvent};
use ttfs_runtime::energy::latency_us;
use ttfs_runtime::report::RunReport;
use ttfs_runtime::target::Target;

use super::RunJob;
use crate::pictures::{EnergyBars, Raster, draw_energy, draw_latency, draw_raster};

/// The files `ttfs run` writes.
pub struct Outputs {
    /// The report.
    pub json: PathBuf,
    /// The energy breakdown.
    pub energy: PathBuf,
    /// The latency histogram.
    pub latency: PathBuf,
    /// The spike raster of the first image.
    pub raster: PathBuf,
    /// The configuration's file stem, for titles.
    stem: String,
}

impl Outputs {
    /// The configuration's file stem, which names every output.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Where the report and pictures go: `out` (created if needed) or beside `config`.
    pub fn new(config: &Path, out: Option<&Path>) -> anyhow::Result<Outputs> {
        let stem = crate::paths::file_stem(config, "chip");
        let dir = match out {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("{}: could not create the folder", dir.display()))?;
                dir.to_path_buf()
            }
            None => config.parent().map(Path::to_path_buf).unwrap_or_default(),
        };
        let file = |ext: &str| dir.join(format!("{stem}.{ext}"));
        Ok(Outputs {
            json: file("run.json"),
            energy: file("energy.svg"),
            latency: file("latency.svg"),
            raster: file("raster.svg"),
            stem,
        })
    }
}

/// The report's JSON and its energy and latency pictures (rendered, not yet written).
pub struct Charts {
    json: String,
    energy: crate::pictures::Picture,
    latency: crate::pictures::Picture,
}

impl Charts {
    /// Renders `report` of a run on `target` for the files of `o`.
    pub fn of(o: &Outputs, target: &Target, report: &RunReport) -> anyhow::Result<Charts> {
        let json = serde_json::to_string_pretty(report)?;
        let who = format!("{} on {}", o.stem, target.name);
        let e = &report.energy;
        let bars = EnergyBars {
            parts: e.breakdown.iter().map(|p| (p.name, p.pj)).collect(),
            total_pj: e.total_pj,
            ann_pj: report.ann.ann_pj,
            sparse_ann_pj: report
                .ann
                .sparse_ann_pj
                .filter(|_| report.ann.nonzero_macs < report.ann.macs),
            sop_pj: report.ann.sop_pj,
        };
        let energy = draw_energy(
            &o.energy,
            &bars,
            &format!(
                "{who}: energy per inference (mean of {} images)",
                report.images
            ),
        )?;
        let us: Vec<f64> = report
            .per_inference
            .cycles
            .iter()
            .map(|&c| latency_us(c, target))
            .collect();
        let l = &report.latency.microseconds;
        let latency = draw_latency(
            &o.latency,
            &us,
            l.mean,
            l.p99,
            &format!("{who}: latency of {} inferences", report.images),
        )?;
        Ok(Charts {
            json,
            energy,
            latency,
        })
    }

    /// The report and its two pictures, written in one step.
    pub fn write(&self, o: &Outputs) -> anyhow::Result<()> {
        ttfs_runtime::atomic::write_all_atomic(&[
            (&o.json, self.json.as_bytes()),
            (&self.energy.path, self.energy.svg.as_bytes()),
            (&self.latency.path, self.latency.svg.as_bytes()),
        ])?;
        Ok(())
    }
}

/// The report, the three pictures and (at `trace_path`, if given) the first inference's
/// `trace` as JSON lines, written in one step: a failure leaves the old outputs as they were.
pub fn write_outputs(
    s: &RunJob,
    report: &RunReport,
    first: &Inference,
    trace: &[TraceEvent],
    trace_path: Option<&Path>,
) -> anyhow::Result<()> {
    let o = &s.outputs;
    let charts = Charts::of(o, &s.target.target, report)?;
    let who = format!("{} on {}", o.stem, s.target.target.name);
    let raster = Raster::from_trace(&s.config, first, trace);
    let label = s.test.data.labels[0];
    let decided = match first.decision.step {
        Some(t) => format!("decided {} at step {t}", first.decision.class),
        None => format!("decided {} without an output spike", first.decision.class),
    };
    let raster = draw_raster(
        &o.raster,
        &raster,
        &format!("{who}: spikes of test image 0 (label {label}, {decided})"),
    )?;
    let mut files: Vec<(&Path, &[u8])> = vec![
        (&o.json, charts.json.as_bytes()),
        (&charts.energy.path, charts.energy.svg.as_bytes()),
        (&charts.latency.path, charts.latency.svg.as_bytes()),
        (&raster.path, raster.svg.as_bytes()),
    ];
    let lines;
    if let Some(path) = trace_path {
        lines = trace_lines(trace)?;
        files.push((path, lines.as_bytes()));
    }
    ttfs_runtime::atomic::write_all_atomic(&files)?;
    Ok(())
}

/// `trace` as JSON lines.
fn trace_lines(trace: &[TraceEvent]) -> anyhow::Result<String> {
    let mut text = String::new();
    for event in trace {
        text.push_str(&serde_json::to_string(event)?);
        text.push('\n');
    }
    Ok(text)
}

/// The run's failures: single-spike violations (unless allowed), golden-model differences.
pub fn verdicts(report: &RunReport, allow_violations: bool, json: &Path) -> anyhow::Result<()> {
    let v = &report.single_spike;
    if !v.verified && !allow_violations {
        let first = v.first.first().map_or_else(String::new, |x| {
            format!(
                " (first: image {}, {}, neuron {} at steps {:?})",
                x.image, x.layer_name, x.index, x.steps
            )
        });
        bail!(
            "single-spike violations: {} of {} inferences had a neuron that fired more than \
             once{first}; details in {}; --allow-violations reports them without failing",
            v.violating_inferences,
            v.inferences,
            json.display()
        );
    }
    if let Some(g) = report.golden.as_ref().filter(|g| !g.all_equal()) {
        let detail = match (&g.first_spike_difference, &g.first_decision_difference) {
            (Some(d), _) => format!(
                "first at image {}, {}, neuron {}: emulator steps {:?}, golden steps {:?}",
                d.image, d.layer_name, d.neuron, d.emulator_steps, d.golden_steps
            ),
            (None, Some(d)) => format!(
                "first at image {}: emulator class {}, golden class {}",
                d.image, d.emulator_class, d.golden_class
            ),
            (None, None) => String::new(),
        };
        bail!(
            "the emulator differs from the golden model: spike times equal on {} of {} \
             inferences, decisions equal on {}; {detail}",
            g.spikes_equal,
            g.compared,
            g.decisions_equal
        );
    }
    Ok(())
}
