//! Results of a run, written to its output folder:
//!
//! - `summary.json`: the figures scripts read, under fixed key names ([`summary`]);
//! - `timeseries.csv`, `pods.csv`, `nodes.csv`, `api_calls.csv` and, for a traced run, `trace.csv`
//!   ([`files`]);
//! - the short table printed on stdout ([`table`]); `vpcsim explain` reads the files back ([`explain`]);
//!   `vpcsim instance-types` lists the instance-type table ([`instance_table`]).
//!
//! Every file depends only on the scenario and seed, except the two wall-clock figures of `summary.json`
//! (`run.wall_s`, `run.events_per_sec`), which measure the machine: two runs give byte-identical files but for
//! those two values. Files are written to temporary names and renamed when complete, `summary.json` last, so an
//! interrupted run never leaves a result that looks finished; the previous run's `report.html` and `plots/`
//! are removed before the first file is written, so they are never seen beside newer results.

mod brownfield;
mod censored;
pub mod explain;
mod files;
pub mod inspect;
pub mod instance_table;
mod ipv6;
pub mod plots;
mod scale_ups;
mod scripted;
mod summary;
mod table;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use crate::folder::{self, FileError};
use crate::scenarios::Scenario;
use crate::scenarios::budget;
use crate::sim::engine::{RunStats, Stall};
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::world::{BuildError, World};

pub use files::timeseries_csv;
pub use summary::{Keys, summary};
pub use table::table;

/// Wall-clock figures of a run.
#[derive(Clone, Copy, Debug)]
pub struct Perf {
    pub wall_s: f64,
    pub stats: RunStats,
    pub simulated_s: f64,
}

impl Perf {
    pub fn events_per_sec(&self) -> f64 {
        self.stats.events as f64 / self.wall_s.max(1e-9)
    }

    pub fn simulated_s_per_wall_s(&self) -> f64 {
        self.simulated_s / self.wall_s.max(1e-9)
    }
}

/// Why a run produced no results.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The scenario validated but its world cannot be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Simulated time stopped advancing.
    #[error(transparent)]
    Stall(#[from] Stall),
}

/// Builds `scenario`'s world and runs it to the horizon, timing the run. `keep_call_log` keeps every EC2
/// attempt for `api_calls.csv`; `trace` keeps the decision log for `trace.csv`. A run whose time stops
/// advancing (more events at one instant than its pods and nodes could cause,
/// [`budget::Estimate::instant_limit`])
/// ends with [`SimulateError::Stall`] instead of hanging.
pub fn simulate(
    scenario: &Scenario,
    keep_call_log: bool,
    trace: bool,
) -> Result<(World, Perf), SimulateError> {
    simulate_showing(scenario, keep_call_log, trace, &ProgressBar::hidden())
}

/// Steps a run is cut into for its progress bar. Stopping at a step's instant changes nothing: the events
/// are handled in the same order either way, and what the models keep lazily is brought up to date there as
/// it would be at any instant (`tests/run.rs` compares a stepped run with an unbroken one).
const PROGRESS_STEPS: u64 = 200;

/// [`simulate`], moving `bar` through the simulated time as the run goes (its length is the run's duration in
/// microseconds; its message the time reached and the events' rate) and clearing it at the end.
pub fn simulate_showing(
    scenario: &Scenario,
    keep_call_log: bool,
    trace: bool,
    bar: &ProgressBar,
) -> Result<(World, Perf), SimulateError> {
    let (mut world, mut engine) = World::build(scenario, keep_call_log, trace)?;
    engine.set_instant_limit(budget::estimate(scenario).instant_limit());
    // Wall-clock time only measures the run (`run.wall_s`, timings.csv) and feeds the bar; the models never
    // see it.
    let started = Instant::now();
    let total = scenario.duration.0;
    bar.set_length(total.max(1));
    for step in 1..=PROGRESS_STEPS {
        let at =
            SimTime((u128::from(total) * u128::from(step) / u128::from(PROGRESS_STEPS)) as u64);
        engine.try_run_until(&mut world, at)?;
        let events = engine.stats().events;
        let rate = events as f64 / started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{}/{} simulated, {:.2} M events/s",
            SimDuration(at.0),
            scenario.duration,
            rate / 1e6
        ));
        bar.set_position(at.0);
    }
    bar.finish_and_clear();
    let perf = Perf {
        wall_s: started.elapsed().as_secs_f64(),
        stats: engine.stats(),
        simulated_s: scenario.duration.as_secs_f64(),
    };
    Ok((world, perf))
}

/// A bar for one run on stderr: simulated time reached, events a second, ETA. Like every indicatif bar
/// it draws nothing when stderr is not a terminal.
pub fn run_progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(1);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:20}] {msg}, ETA {eta}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// A JSON object with one entry per item, keyed by the item's name as given (names may contain dots).
fn by_name<T>(items: impl IntoIterator<Item = T>, entry: impl Fn(T) -> (String, Value)) -> Value {
    Value::Object(items.into_iter().map(entry).collect::<Map<String, Value>>())
}

/// Nearest-rank p50, p90, p99 and maximum of `values` (sorted in place) as `{p50, p90, p99, max}`; zeros when
/// empty.
fn quantiles(values: &mut [f64]) -> Value {
    values.sort_by(f64::total_cmp);
    let q = |q: f64| {
        if values.is_empty() {
            return 0.0;
        }
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    };
    serde_json::json!({ "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1.0) })
}

/// Writes every output file of a run into `dir` (created if needed); returns the paths written. A stale
/// `trace.csv` from an earlier traced run is removed when this run is not traced.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    world: &World,
    perf: Perf,
) -> Result<Vec<PathBuf>, FileError> {
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    // The old summary goes first, so a run that fails half-way leaves no complete-looking result; the old
    // report and charts next, so that none is left beside results they were not drawn from.
    folder::remove(&dir.join("summary.json"))?;
    plots::remove(dir)?;
    let write = |name: &str, bytes: io::Result<Vec<u8>>| {
        let path = dir.join(name);
        folder::write_atomic(&path, &bytes.map_err(FileError::at(&path))?)?;
        Ok::<_, FileError>(path)
    };
    let end = SimTime::ZERO + scenario.duration;
    let mut written = vec![
        write("timeseries.csv", files::timeseries_csv(world))?,
        write("api_calls.csv", files::api_calls_csv(scenario, world))?,
        write("nodes.csv", files::nodes_csv(scenario, world, end))?,
        write("pods.csv", files::pods_csv(scenario, world, end))?,
    ];
    let trace = dir.join("trace.csv");
    match files::trace_csv(world).map_err(FileError::at(&trace))? {
        Some(bytes) => written.push(write("trace.csv", Ok(bytes))?),
        None => folder::remove(&trace)?,
    }
    let mut text = serde_json::to_string_pretty(&summary(scenario, world, perf, Keys::Used))
        .expect("JSON values serialise");
    text.push('\n');
    written.push(write("summary.json", Ok(text.into_bytes()))?);
    Ok(written)
}
