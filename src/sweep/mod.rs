//! Parameter sweeps: every run of a sweep's grid (or of one shard of it), in parallel, one row each.
//!
//! Each run is single-threaded; rayon spreads runs over `--jobs` workers. A run's result depends only on the
//! sweep file and its run number (its scenario and seed come from the grid), so the result files do not depend
//! on `--jobs`: rows are appended as runs finish, then rewritten in run order at the end ([`results`]).
//! Before anything is built, the grid's size is computed and checked against `max_runs` and against
//! [`MAX_RUNS`]; then every grid point's scenario is built and checked, and the metrics are checked against
//! the result columns.
//!
//! A run that is refused by its size estimate ([`Budget`]) or stops with an error (a stalled clock) fails
//! alone: its row carries the message in the `error` column and no metrics, the other runs go on, and the
//! sweep reports the failed runs at the end ([`Outcome::failed`]). `--resume` runs failed runs again.

mod manifest;
pub mod merge;
pub mod results;

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use manifest::{MANIFEST, Manifest, ManifestAxis};
use results::{Appender, RESULTS, RESULTS_JSON, TIMING_COLUMNS, TIMINGS, cell, flatten, record};

use crate::folder::{self, Claim, ClaimError, FileError};
use crate::report::{self, Keys, Perf};
use crate::scenarios::sweep::{PointError, Sweep};
use crate::scenarios::{Budget, Input, ScenarioError};
use crate::sim::world::World;

/// Why a sweep could not run, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep file, or one of its grid points, is invalid.
    #[error(transparent)]
    Definition(#[from] ScenarioError),
    /// Results or a manifest on disk that do not fit this sweep.
    #[error("{}: {message}", file.display())]
    Results { file: PathBuf, message: String },
    /// A result file could not be written (or an old one removed).
    #[error("writing {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    /// The output folder is another process's, or cannot be written.
    #[error(transparent)]
    Folder(#[from] ClaimError),
    #[error("merge: {0}")]
    Merge(String),
    /// A run whose scenario was checked before the runs, and failed all the same.
    #[error("run {run}: {message}")]
    Run { run: u64, message: String },
}

impl SweepError {
    /// Whether the input (sweep file, arguments, folders) is at fault rather than the machine.
    pub fn is_usage(&self) -> bool {
        !matches!(self, SweepError::Io { .. } | SweepError::Folder(_))
    }
}

impl From<FileError> for SweepError {
    fn from(e: FileError) -> Self {
        SweepError::Io {
            file: e.path,
            source: e.source,
        }
    }
}

/// The `K/N` slice of a grid: runs whose number is K modulo N (K from 0, as Kubernetes' completion index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    pub fn contains(&self, run: u64) -> bool {
        run % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("expected K/N with 0 ≤ K < N (K counts from 0), got `{s}`");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct Options {
    pub out: PathBuf,
    /// Worker threads (each runs one run at a time).
    pub jobs: usize,
    /// Skip runs already in `out/results.csv`.
    pub resume: bool,
    /// Run grids larger than `max_runs`.
    pub force: bool,
    /// Keep each run's output folder under `out/runs/<run>`.
    pub keep_runs: bool,
    pub shard: Shard,
    /// Draw a progress bar on stderr (it hides itself when stderr is not a terminal).
    pub progress: bool,
    /// How large each run may be; a run over it fails alone.
    pub budget: Budget,
}

/// What a finished sweep did.
#[derive(Debug)]
pub struct Outcome {
    /// The output folder stays this process's while the caller draws its plots.
    pub claim: Claim,
    /// Runs of this shard.
    pub runs: u64,
    /// Of those, found done in `results.csv` and skipped.
    pub skipped: u64,
    pub wall_s: f64,
    /// Events of the runs made now.
    pub events: u64,
    /// Of the runs made now, those that failed (their rows say why).
    pub failed: u64,
}

impl Outcome {
    pub fn runs_per_sec(&self) -> f64 {
        (self.runs - self.skipped) as f64 / self.wall_s.max(1e-9)
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.wall_s.max(1e-9)
    }
}

/// A run's folder under `runs/`: its number, zero-padded so that folders sort in run order.
pub fn run_dir_name(run: u64) -> String {
    format!("{run:05}")
}

/// The leading columns of `results.csv`; the axes and the summary's metrics follow, then [`ERROR`].
const LEADING: [&str; 4] = ["run", "point", "replicate", "seed"];
/// The last column of `results.csv`: empty for a run that finished, why for one that did not (whose metrics
/// are then empty).
const ERROR: &str = "error";

/// Whether a `results.csv` row is of a failed run.
fn failed(row: &[String]) -> bool {
    row.last().is_some_and(|e| !e.is_empty())
}

/// The most runs one sweep may have, even with `--force`: the runner keeps a number per run, and its end sorts
/// every row in memory (a few kB each), so a million runs are a few GB at most.
pub const MAX_RUNS: u64 = 1_000_000;

/// The grid's size, computed from the axes' lengths without building anything: refused over `max_runs`
/// unless `force`, and over [`MAX_RUNS`] in any case, with the error at the file's `[sweep]` (from `text`).
fn grid_size(sweep: &Sweep, text: &str, force: bool) -> Result<u64, SweepError> {
    let runs = sweep.runs();
    let refuse = |message| Err(sweep.sweep_error(text, message).into());
    if runs > MAX_RUNS {
        return refuse(format!(
            "the grid has {runs} runs, more than the {MAX_RUNS} one sweep can hold (its rows are sorted in \
             memory at the end); split it into several sweep files, or fewer replicates"
        ));
    }
    if runs > sweep.max_runs && !force {
        return refuse(format!(
            "the grid has {runs} runs, more than max_runs = {}; pass --force, or raise `max_runs` in [sweep]",
            sweep.max_runs
        ));
    }
    Ok(runs)
}

/// Runs `sweep` (read from `text`, for error positions) as `opts` say.
pub fn run(sweep: &Sweep, text: &str, opts: &Options) -> Result<Outcome, SweepError> {
    // Wall-clock time only feeds the progress bar and the runs/s report, never a result file.
    let started = Instant::now();
    let total = grid_size(sweep, text, opts.force)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .expect("a thread pool");
    let Checked { header, inputs } = pool.install(|| check_points(sweep, text, None))?;
    let out = &opts.out;
    let claim = folder::claim(out)?;
    // The old charts would otherwise sit beside new rows until the new ones are drawn.
    report::plots::remove(out)?;

    let manifest = Manifest::new(sweep, &inputs, opts.shard);
    let (mut results, mut timings, done) = open_results(out, &header, &manifest, opts.resume)?;
    let (results_path, timings_path) = (out.join(RESULTS), out.join(TIMINGS));

    let mine: Vec<u64> = (0..total).filter(|&r| opts.shard.contains(r)).collect();
    let pending: Vec<u64> = mine.iter().copied().filter(|r| !done.contains(r)).collect();
    let bar = progress_bar(opts.progress, pending.len() as u64);
    let events = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let writers = Mutex::new((&mut results, &mut timings));
    let ran = pool.install(|| {
        pending.par_iter().try_for_each(|&run| {
            let finished = execute(sweep, &header, run, opts)?;
            let mut w = writers.lock().expect("no writer panics");
            w.0.push(&finished.row).map_err(io(&results_path))?;
            match &finished.timing {
                Some(timing) => w.1.push(timing).map_err(io(&timings_path))?,
                None => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(w);
            let sum = events.fetch_add(finished.events, Ordering::Relaxed) + finished.events;
            let rate = sum as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{:.1} M events/s", rate / 1e6));
            bar.inc(1);
            Ok::<(), SweepError>(())
        })
    });
    bar.finish_and_clear();
    ran?;

    // Every run of the shard is in: the files are rewritten in run order.
    finish(out, &header)?;
    Ok(Outcome {
        claim,
        runs: mine.len() as u64,
        skipped: (mine.len() - pending.len()) as u64,
        wall_s: started.elapsed().as_secs_f64(),
        events: events.into_inner(),
        failed: failed.into_inner(),
    })
}

/// Maps an I/O error on `file`.
pub(crate) fn io(file: &Path) -> impl FnOnce(std::io::Error) -> SweepError + use<> {
    let file = file.to_path_buf();
    move |source| SweepError::Io { file, source }
}

/// Opens `results.csv` and `timings.csv` of `out` for appending: afresh (with `manifest` written), or, to
/// resume, after checking that they belong to this sweep and shard; returns the runs they already hold.
fn open_results(
    out: &Path,
    header: &[String],
    manifest: &Manifest,
    resume: bool,
) -> Result<(Appender, Appender, BTreeSet<u64>), SweepError> {
    let results_path = out.join(RESULTS);
    let timings_path = out.join(TIMINGS);
    let timing_header = strings(TIMING_COLUMNS);
    if !(resume && results_path.exists()) {
        // Run folders of an earlier sweep in this folder would be taken for this one's.
        let runs = out.join("runs");
        if runs.exists() {
            fs::remove_dir_all(&runs).map_err(io(&runs))?;
        }
        folder::write_atomic(&out.join(MANIFEST), &manifest.to_bytes())?;
        return Ok((
            Appender::create(&results_path, header).map_err(io(&results_path))?,
            Appender::create(&timings_path, &timing_header).map_err(io(&timings_path))?,
            BTreeSet::new(),
        ));
    }
    let on_disk = Manifest::read(out)?;
    let mut differences = manifest.differences("now", &on_disk, "in sweep.json");
    if on_disk.shard != manifest.shard {
        differences.push(format!(
            "shard: {} now, {} in sweep.json",
            manifest.shard, on_disk.shard
        ));
    }
    if !differences.is_empty() {
        return Err(SweepError::Results {
            file: out.join(MANIFEST),
            message: format!(
                "these results are of another sweep or shard (scenario `{}`): {}; use another --out, or run \
                 without --resume to start again",
                on_disk.scenario,
                differences.join("; ")
            ),
        });
    }
    let (on_disk_header, mut rows) = results::read_rows(&results_path, true)?;
    if on_disk_header != header {
        return Err(SweepError::Results {
            file: results_path,
            message: "its columns differ from this sweep's; run without --resume to start again"
                .into(),
        });
    }
    // Failed runs are run again: their rows go, so that each run keeps one row.
    let finished = rows.len();
    rows.retain(|r| !failed(r));
    if rows.len() < finished {
        results::write_sorted(&results_path, header, &mut rows)?;
    }
    let done = rows
        .iter()
        .map(|r| results::run_of(&results_path, r))
        .collect::<Result<BTreeSet<u64>, _>>()?;
    if timings_path.exists() {
        // Only to cut a partial last line.
        results::read_rows(&timings_path, true)?;
    } else {
        Appender::create(&timings_path, &timing_header).map_err(io(&timings_path))?;
    }
    Ok((
        Appender::append(&results_path).map_err(io(&results_path))?,
        Appender::append(&timings_path).map_err(io(&timings_path))?,
        done,
    ))
}

/// Checks a sweep without running it: the grid's size (as [`run`] does, with `force` for `--force`), then
/// that every grid point builds and fits `budget`, and that every metric is a result column.
pub fn check(sweep: &Sweep, text: &str, force: bool, budget: &Budget) -> Result<(), SweepError> {
    grid_size(sweep, text, force)?;
    check_points(sweep, text, Some(budget)).map(|_| ())
}

/// The runs of a sweep folder's `results.csv` that failed (their `error` cell is not empty).
pub fn failed_runs(dir: &Path) -> Result<u64, SweepError> {
    let (_, rows) = results::read_rows(&dir.join(RESULTS), false)?;
    Ok(rows.iter().filter(|r| failed(r)).count() as u64)
}

/// Rewrites `results.csv` and `timings.csv` of `dir` in run order and writes `results.json`.
fn finish(dir: &Path, header: &[String]) -> Result<(), SweepError> {
    let (_, mut rows) = results::read_rows(&dir.join(RESULTS), false)?;
    let (timing_header, mut timing_rows) = results::read_rows(&dir.join(TIMINGS), false)?;
    write_outputs(dir, header, &mut rows, &timing_header, &mut timing_rows)
}

/// Writes `results.csv` and `timings.csv` into `dir` in run order, and `results.json` from the results.
fn write_outputs(
    dir: &Path,
    header: &[String],
    rows: &mut [Vec<String>],
    timing_header: &[String],
    timing_rows: &mut [Vec<String>],
) -> Result<(), SweepError> {
    results::write_sorted(&dir.join(RESULTS), header, rows)?;
    results::write_sorted(&dir.join(TIMINGS), timing_header, timing_rows)?;
    let json = dir.join(RESULTS_JSON);
    Ok(folder::write_atomic(
        &json,
        &results::results_json(header, rows),
    )?)
}

/// Owned copies, for headers.
fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

/// What checking every grid point yields.
struct Checked {
    /// The `results.csv` header.
    header: Vec<String>,
    /// Every file any point's scenario read, sorted, once each.
    inputs: Vec<Input>,
}

/// Builds every grid point's world (in parallel), so that a bad point fails the sweep before any run; the
/// first bad point in grid order is reported. With a `budget`, a point whose run would not fit it is bad too
/// (`check` reports what `sweep` would fail). The header comes from point 0's summary with every key.
fn check_points(sweep: &Sweep, text: &str, budget: Option<&Budget>) -> Result<Checked, SweepError> {
    type Point = (Option<Vec<String>>, Vec<Input>);
    let checked: Vec<Result<Point, ScenarioError>> = (0..sweep.points())
        .into_par_iter()
        .map(|point| {
            let scenario = sweep
                .scenario(point, 0)
                .map_err(|e| sweep.point_error(text, point, e))?;
            if let Some(Err(over)) = budget.map(|b| b.check(&scenario)) {
                let message = PointError {
                    axis: sweep.axis_of(&over.key),
                    message: over.to_string(),
                };
                return Err(sweep.point_error(text, point, message));
            }
            let (world, _) = World::build(&scenario, None, false).map_err(|e| {
                let message = PointError {
                    axis: None,
                    message: e.to_string(),
                };
                sweep.point_error(text, point, message)
            })?;
            let columns = (point == 0).then(|| {
                let perf = Perf {
                    wall_s: 0.0,
                    stats: Default::default(),
                    simulated_s: 0.0,
                };
                metric_columns(&report::summary(&scenario, &world, perf, Keys::All))
            });
            Ok((columns, scenario.inputs))
        })
        .collect();
    let mut metric_cols = Vec::new();
    let mut inputs = BTreeSet::new();
    for c in checked {
        let (columns, read) = c?;
        if let Some(cols) = columns {
            metric_cols = cols;
        }
        inputs.extend(read);
    }
    for m in &sweep.metrics {
        if !metric_cols.contains(m) {
            return Err(sweep.metric_error(text, m).into());
        }
    }
    let mut header = strings(&LEADING);
    header.extend(sweep.axes.iter().map(|a| a.name.clone()));
    header.extend(metric_cols);
    header.push(ERROR.to_string());
    Ok(Checked {
        header,
        inputs: inputs.into_iter().collect(),
    })
}

/// The result columns a summary gives.
fn metric_columns(summary: &serde_json::Value) -> Vec<String> {
    flatten(summary).into_iter().map(|(k, _)| k).collect()
}

/// One finished run: its `results.csv` row, and its `timings.csv` row unless it failed.
struct Finished {
    row: Vec<u8>,
    timing: Option<Vec<u8>>,
    events: u64,
}

/// Makes run `run`: its point's scenario with its seed, the simulation, its folder (with `--keep-runs`), and
/// its two rows, checked against the header. A run over the budget, or whose simulation fails, gives a row
/// with its error and empty metrics.
fn execute(
    sweep: &Sweep,
    header: &[String],
    run: u64,
    opts: &Options,
) -> Result<Finished, SweepError> {
    let (point, replicate) = sweep.run_at(run);
    let bad_run = |message: String| SweepError::Run { run, message };
    let scenario = sweep
        .scenario(point, replicate)
        .map_err(|e| bad_run(e.message))?;
    let leading = [
        run.to_string(),
        point.to_string(),
        replicate.to_string(),
        scenario.seed.to_string(),
    ];
    let axes = sweep.labels(point).into_iter().map(str::to_string);
    // A kept run streams its files into its own folder; the others keep only what the summary needs.
    let dir = opts.out.join("runs").join(run_dir_name(run));
    let simulated = match opts.budget.check(&scenario) {
        Err(e) => Err(e.to_string()),
        Ok(_) if opts.keep_runs => {
            match report::run(&dir, &scenario, false, &ProgressBar::hidden()) {
                Ok((world, perf, _)) => Ok((world, perf)),
                Err(report::RunError::Simulate(e)) => Err(e.to_string()),
                Err(report::RunError::File(e)) => return Err(e.into()),
            }
        }
        Ok(_) => report::simulate(&scenario, false, false).map_err(|e| e.to_string()),
    };
    let (world, perf) = match simulated {
        Ok(done) => done,
        Err(error) => {
            let metrics = header.len() - LEADING.len() - sweep.axes.len() - 1;
            let cells = leading
                .into_iter()
                .chain(axes)
                .chain(std::iter::repeat_n(String::new(), metrics))
                .chain([error]);
            return Ok(Finished {
                row: record(cells),
                timing: None,
                events: 0,
            });
        }
    };
    let metrics = flatten(&report::summary(&scenario, &world, perf, Keys::All));
    let cells: Vec<String> = leading
        .into_iter()
        .chain(axes)
        .chain(metrics.iter().map(|(_, v)| cell(v)))
        .chain([String::new()])
        .collect();
    let expected = &header[LEADING.len() + sweep.axes.len()..header.len() - 1];
    let keys: Vec<&String> = metrics.iter().map(|(k, _)| k).collect();
    if keys.len() != expected.len() || keys.iter().zip(expected).any(|(k, e)| *k != e) {
        let only =
            |a: &[&String], b: &[&String]| a.iter().find(|k| !b.contains(k)).map(|k| k.to_string());
        let expected: Vec<&String> = expected.iter().collect();
        let which = match (only(&keys, &expected), only(&expected, &keys)) {
            (Some(k), _) => format!("`{k}`, which point 0's has not"),
            (None, Some(k)) => format!("no `{k}`, which point 0's has"),
            (None, None) => "its keys in another order".to_string(),
        };
        return Err(SweepError::Results {
            file: opts.out.join(RESULTS),
            message: format!("run {run}'s summary has {which}"),
        });
    }
    Ok(Finished {
        row: record(&cells),
        timing: Some(record([
            run.to_string(),
            format!("{:.6}", perf.wall_s),
            perf.stats.events.to_string(),
            format!("{:.0}", perf.events_per_sec()),
        ])),
        events: perf.stats.events,
    })
}

fn progress_bar(show: bool, len: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs, ETA {eta}, {msg}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
