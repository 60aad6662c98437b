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
//! those two values. `api_calls.csv`, `pods.csv` and `trace.csv` are streamed as the run goes ([`stream`]),
//! the others written at its end; every file is written under a temporary name and renamed when complete,
//! `summary.json` last, so an interrupted run never leaves a result that looks finished. The previous run's
//! `summary.json`, `report.html` and `plots/` are removed before the run starts, so they are never seen
//! beside newer results.

mod brownfield;
mod censored;
pub mod explain;
mod files;
pub mod inspect;
pub mod instance_table;
mod ipv6;
pub mod plots;
mod row;
mod scale_ups;
mod scripted;
mod security_groups;
mod stream;
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
use crate::sim::sink::{Kept, RecordSink};
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

/// Builds `scenario`'s world and runs it to the horizon, timing the run. `keep_records` keeps every EC2
/// attempt `[ec2] api_calls_csv` names, every pod and every traced line in memory ([`Kept`], read with
/// [`World::kept`] and [`World::all_pods`]); without it the run keeps only what its summary needs. `trace`
/// makes the decision log. A run whose time stops advancing (more events at one instant than its pods and
/// nodes could cause, [`budget::Estimate::instant_limit`]) ends with [`SimulateError::Stall`] instead of
/// hanging.
pub fn simulate(
    scenario: &Scenario,
    keep_records: bool,
    trace: bool,
) -> Result<(World, Perf), SimulateError> {
    let sink = keep_records.then(|| Box::new(Kept::default()) as Box<dyn RecordSink>);
    simulate_into(scenario, sink, trace, &ProgressBar::hidden())
}

/// Steps a run is cut into for its progress bar. Stopping at a step's instant changes nothing: the events
/// are handled in the same order either way, and what the models keep lazily is brought up to date there as
/// it would be at any instant (`tests/run.rs` compares a stepped run with an unbroken one).
const PROGRESS_STEPS: u64 = 200;

/// [`simulate`] with its finished records going to `sink`, moving `bar` through the simulated time as the run
/// goes (its length is the run's duration in microseconds; its message the time reached and the events'
/// rate) and clearing it at the end. The traced lines are passed on at the end of each step.
fn simulate_into(
    scenario: &Scenario,
    sink: Option<Box<dyn RecordSink>>,
    trace: bool,
    bar: &ProgressBar,
) -> Result<(World, Perf), SimulateError> {
    let (mut world, mut engine) = World::build(scenario, sink, trace)?;
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
        world.pass_on_trace();
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
/// empty. Values that `total_cmp` finds equal have the same bits, so an unstable sort gives the same order.
fn quantiles(values: &mut [f64]) -> Value {
    values.sort_unstable_by(f64::total_cmp);
    let q = |q: f64| {
        if values.is_empty() {
            return 0.0;
        }
        let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
        values[rank - 1]
    };
    serde_json::json!({ "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1.0) })
}

/// Why a run written to a folder produced no results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Simulate(#[from] SimulateError),
    /// A file could not be written.
    #[error("writing {0}")]
    File(#[from] FileError),
}

/// Runs `scenario` (as [`simulate`]) writing every output file into `dir` (created if needed; the caller
/// holds its claim, [`folder::claim`]): `api_calls.csv`, `pods.csv` and, when `trace`, `trace.csv` as the run
/// goes, the others at its end; returns the world, the run's figures and the paths written. The old
/// `summary.json` and charts are removed first; a run that fails leaves none of its files under a final name.
/// A stale `trace.csv` from an earlier traced run is removed when this run is not traced.
pub fn run(
    dir: &Path,
    scenario: &Scenario,
    trace: bool,
    bar: &ProgressBar,
) -> Result<(World, Perf, Vec<PathBuf>), RunError> {
    fs::create_dir_all(dir).map_err(FileError::at(dir))?;
    // The old summary goes first, so a run that fails half-way leaves no complete-looking result; the old
    // report and charts next, so that none is left beside results they were not drawn from.
    folder::remove(&dir.join("summary.json"))?;
    plots::remove(dir)?;
    let streams = stream::Streams::create(dir, scenario, trace)?;
    let (mut world, perf) = simulate_into(scenario, Some(Box::new(streams)), trace, bar)?;
    let sink: Box<dyn std::any::Any> = world.take_sink().expect("the run's streams");
    let streams = sink
        .downcast::<stream::Streams>()
        .expect("the run's streams");
    let streamed = streams.finish(&world)?;
    let written = write_at_end(dir, scenario, &world, perf, streamed)?;
    Ok((world, perf, written))
}

/// Writes the files made at a run's end and renames the streamed ones, `summary.json` last.
fn write_at_end(
    dir: &Path,
    scenario: &Scenario,
    world: &World,
    perf: Perf,
    streamed: stream::Finished,
) -> Result<Vec<PathBuf>, FileError> {
    let write = |name: &str, bytes: io::Result<Vec<u8>>| {
        let path = dir.join(name);
        folder::write_atomic(&path, &bytes.map_err(FileError::at(&path))?)?;
        Ok::<_, FileError>(path)
    };
    let end = SimTime::ZERO + scenario.duration;
    let stream::Finished {
        api_calls,
        pods,
        trace,
    } = streamed;
    let mut written = vec![
        write("timeseries.csv", files::timeseries_csv(world))?,
        api_calls.publish()?,
        write("nodes.csv", files::nodes_csv(scenario, world, end))?,
        pods.publish()?,
    ];
    match trace {
        Some(t) => written.push(t.publish()?),
        None => folder::remove(&dir.join("trace.csv"))?,
    }
    let mut text = serde_json::to_string_pretty(&summary(scenario, world, perf, Keys::Used))
        .expect("JSON values serialise");
    text.push('\n');
    written.push(write("summary.json", Ok(text.into_bytes()))?);
    Ok(written)
}
