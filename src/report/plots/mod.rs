//! Charts (PNG and SVG) and a self-contained HTML report of a finished run folder, of several run folders side
//! by side, or of a sweep folder; and the pictures of a scenario's subnets for `vpcsim inspect`. The reports of
//! results read only the folders' files, never the simulator's state, so a report can be made again later, on
//! another machine, from a copied folder.
//!
//! - [`plot_run`]: a run's node groups against each other;
//! - [`plot_runs`]: several runs (each labelled) against each other;
//! - [`plot_sweep`]: each metric against each axis, InsufficientCidrBlocks by subnet size and reservation, and
//!   the runs of a small sweep side by side when they were kept;
//! - [`plot_inspect`]: each subnet's /28 blocks by state ([`inspectcharts`]);
//! - [`plot_advice`]: advice's candidates, the minimised key against IP wait, and its Pareto front
//!   ([`advicecharts`]).
//!
//! Charts are drawn with plotters on its pure-Rust backends with a font compiled in ([`font`]), so nothing is
//! needed from the system. The same folder gives byte-identical SVG, PNG and HTML: nothing depends on the
//! time, the machine or a hash order.
//!
//! Layout: [`rundata`] and [`sweepdata`] read the folders (through [`table`] for CSV); [`runcharts`] and
//! [`sweepcharts`] turn them into chart descriptions ([`figure`], on [`axis`] scales, with long series thinned
//! by [`sample`]); [`figure`] draws them; [`html`] writes the page.

mod advicecharts;
mod axis;
mod error;
mod figure;
mod font;
mod html;
mod inspectcharts;
mod raster;
mod runcharts;
mod rundata;
mod sample;
mod sweepcharts;
mod sweepdata;
mod table;

use std::fs;
use std::path::{Path, PathBuf};

pub use error::PlotError;

use crate::advise::Advice;
use crate::folder::{self, FileError};
use crate::report::inspect::Inspection;

use figure::{Figure, Rendered};
use runcharts::{Labelled, Naming};
use rundata::RunData;
use sweepdata::SweepData;

/// Most grid points for which a sweep's kept runs are also drawn side by side.
const MAX_OVERLAY_POINTS: usize = 12;

/// The report page and the charts' folder of an output folder.
const REPORT: &str = "report.html";
const PLOTS: &str = "plots";

/// Removes `dir`'s report and charts, the report first (it shows the charts). Whatever writes new results
/// into a folder calls this before, so that an interruption before the new charts are drawn leaves no charts
/// of older results beside the new ones.
pub fn remove(dir: &Path) -> Result<(), FileError> {
    folder::remove(&dir.join(REPORT))?;
    folder::remove(&dir.join(PLOTS))
}

/// Draws `figures` into `out/plots/` and writes `out/report.html` from `page`; returns every path written.
/// The old report and charts go first: charts of another run or sweep never stay beside these.
fn publish(
    out: &Path,
    figures: &[Figure],
    page: impl FnOnce(&[Rendered]) -> String,
) -> Result<Vec<PathBuf>, PlotError> {
    remove(out)?;
    let plots = out.join(PLOTS);
    fs::create_dir_all(&plots).map_err(FileError::at(&plots))?;
    let rendered = figures
        .iter()
        .map(|f| figure::write(f, &plots))
        .collect::<Result<Vec<_>, _>>()?;
    let mut written: Vec<PathBuf> = rendered
        .iter()
        .flat_map(|r| [r.png.clone(), r.svg.clone()])
        .collect();
    let path = out.join(REPORT);
    folder::write_atomic(&path, page(&rendered).as_bytes())?;
    written.push(path);
    Ok(written)
}

/// Where `publish` put its output, for stdout: the report's path, then the charts' folder and how many
/// charts it holds, so that a reader knows what to open without listing the folder.
pub fn describe(written: &[PathBuf]) -> String {
    let pngs: Vec<&PathBuf> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    let mut out = String::new();
    if let Some(report) = written.iter().find(|p| p.ends_with("report.html")) {
        out.push_str(&format!("report: {}\n", report.display()));
    }
    if let Some(folder) = pngs.first().and_then(|p| p.parent()) {
        out.push_str(&format!(
            "plots: {} ({} charts, PNG and SVG)\n",
            folder.display(),
            pngs.len()
        ));
    }
    out
}

/// Plots of one run folder into `dir/plots/` (PNG + SVG each) and `dir/report.html`; returns written paths.
pub fn plot_run(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let run = RunData::read(dir)?;
    let figures = runcharts::figures(
        &[Labelled {
            label: None,
            run: &run,
        }],
        Naming::default(),
    );
    publish(dir, &figures, |r| html::run_page(&run, r))
}

/// Overlay of several run folders (each variant labelled) into `out/plots/` and `out/report.html`.
pub fn plot_runs(out: &Path, runs: &[(String, PathBuf)]) -> Result<Vec<PathBuf>, PlotError> {
    if runs.is_empty() {
        return Err(PlotError::Invalid(
            "no run folders to compare: give at least one".to_string(),
        ));
    }
    let data = runs
        .iter()
        .map(|(label, dir)| Ok((label.clone(), RunData::read(dir)?)))
        .collect::<Result<Vec<_>, PlotError>>()?;
    let labelled: Vec<Labelled> = data
        .iter()
        .map(|(label, run)| Labelled {
            label: Some(label),
            run,
        })
        .collect();
    let figures = runcharts::figures(&labelled, Naming::default());
    publish(out, &figures, |r| html::runs_page(&data, r))
}

/// The picture of each inspected subnet into `out/plots/` and the page of figures and pictures into
/// `out/report.html`. Unlike the other reports these are drawn from the figures, not read back from files:
/// the figures come from the scenario itself, and `out/inspect.json` holds them.
pub fn plot_inspect(out: &Path, ins: &Inspection) -> Result<Vec<PathBuf>, PlotError> {
    let figures: Vec<Figure> = ins.subnets.iter().map(inspectcharts::figure).collect();
    publish(out, &figures, |r| html::inspect_page(ins, r))
}

/// The trade-off chart of `advice` into `out/plots/` and the page of its targets, recommendation, warnings and
/// candidates into `out/report.html`, drawn from the advice itself (`out/advise.json` holds it).
pub fn plot_advice(out: &Path, advice: &Advice) -> Result<Vec<PathBuf>, PlotError> {
    let figures: Vec<Figure> = advicecharts::figure(advice).into_iter().collect();
    publish(out, &figures, |r| html::advice_page(advice, r))
}

/// Plots of a sweep folder into `dir/plots/` and `dir/report.html`.
pub fn plot_sweep(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let sweep = SweepData::read(dir, &sweepcharts::INSUFFICIENT_CIDR)?;
    let (mut figures, missing) = sweepcharts::figures(&sweep);
    let kept = kept_runs(&sweep)?;
    if !kept.is_empty() {
        let labelled: Vec<Labelled> = kept
            .iter()
            .map(|(label, run)| Labelled {
                label: Some(label),
                run,
            })
            .collect();
        figures.extend(runcharts::figures(
            &labelled,
            Naming {
                stem_prefix: "runs-",
                title_suffix: ", replicate 0 of each point",
            },
        ));
    }
    publish(dir, &figures, |r| html::sweep_page(&sweep, r, &missing))
}

/// Replicate 0 of each point, from `runs/NNNNN/`, labelled by the point's axis labels: only for a sweep of at
/// most [`MAX_OVERLAY_POINTS`] points whose runs were kept; points whose run folder is absent are left out.
fn kept_runs(s: &SweepData) -> Result<Vec<(String, RunData)>, PlotError> {
    let runs = s.dir.join("runs");
    if !runs.is_dir() || s.points.len() > MAX_OVERLAY_POINTS {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for p in &s.points {
        let Some(&(_, run)) = p.runs.iter().find(|(rep, _)| *rep == 0) else {
            continue;
        };
        let folder = runs.join(format!("{run:05}"));
        if !folder.join("summary.json").is_file() {
            continue;
        }
        let label = s
            .axes
            .iter()
            .zip(&p.coords)
            .map(|(a, &c)| a.labels[c].as_str())
            .collect::<Vec<_>>()
            .join(", ");
        out.push((label, RunData::read(&folder)?));
    }
    Ok(out)
}
