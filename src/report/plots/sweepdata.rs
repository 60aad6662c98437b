//! A sweep folder read back: `sweep.json` (axes, their value labels, the metrics to plot) and `results.csv`
//! (one row per run), grouped into grid points with every replicate's value of every metric column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::PlotError;
use super::rundata::read_json;
use super::table::Table;

/// One axis of the grid.
#[derive(Clone, Debug)]
pub(super) struct SweepAxis {
    /// The key path of a plain axis, the zip's name for zipped keys.
    pub name: String,
    pub keys: Vec<String>,
    /// Display labels of the values, in axis order.
    pub labels: Vec<String>,
    /// The values as numbers, when every label reads as one: such an axis is drawn to scale.
    pub numbers: Option<Vec<f64>>,
}

/// One grid point: its value index on each axis, its runs and their metric values.
#[derive(Clone, Debug)]
pub(super) struct Point {
    pub index: u64,
    /// Value index on each axis.
    pub coords: Vec<usize>,
    /// `(replicate, run)` of each of the point's rows, in file order.
    pub runs: Vec<(u64, u64)>,
    /// For each metric column, the values of the replicates that have one.
    pub values: Vec<Vec<f64>>,
    /// For each metric column, whether a replicate's value is only a lower bound: its `…_censored` column
    /// (a latency quantile's, where pods never started) says `true`.
    pub censored: Vec<bool>,
}

/// A sweep folder, read.
#[derive(Clone, Debug)]
pub(super) struct SweepData {
    pub dir: PathBuf,
    pub scenario: String,
    pub seed: String,
    pub replicates: u64,
    pub axes: Vec<SweepAxis>,
    /// The metrics `sweep.json` asks to plot, in its order.
    pub metrics: Vec<String>,
    /// The metric columns read from `results.csv`: the metrics that have a column, then any of `extra` that
    /// do (see [`SweepData::read`]).
    pub columns: Vec<String>,
    /// In point order.
    pub points: Vec<Point>,
}

impl SweepData {
    /// Reads the sweep folder `dir`: of `results.csv`'s metric columns only the `metrics` of `sweep.json` and
    /// the `extra` ones are read (a results file holds every summary figure, text ones among them).
    pub fn read(dir: &Path, extra: &[&str]) -> Result<SweepData, PlotError> {
        let jpath = dir.join("sweep.json");
        let json = read_json(&jpath)?;
        let field = |name: &str, expected: &str| PlotError::Field {
            path: jpath.clone(),
            field: name.to_string(),
            expected: expected.to_string(),
        };
        let scenario = json
            .get("scenario")
            .and_then(Value::as_str)
            .ok_or_else(|| field("scenario", "the scenario's name (a string)"))?
            .to_string();
        let seed = match json.get("seed") {
            Some(v @ Value::Number(_)) => v.to_string(),
            _ => return Err(field("seed", "the sweep's seed (a number)")),
        };
        let replicates = json
            .get("replicates")
            .and_then(Value::as_u64)
            .ok_or_else(|| field("replicates", "the number of runs per point"))?;
        let strings = |v: Option<&Value>, name: &str| -> Result<Vec<String>, PlotError> {
            v.and_then(Value::as_array)
                .and_then(|a| {
                    a.iter()
                        .map(|s| s.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| field(name, "a list of strings"))
        };
        let mut axes = Vec::new();
        for (i, a) in json
            .get("axes")
            .and_then(Value::as_array)
            .ok_or_else(|| field("axes", "a list of axes"))?
            .iter()
            .enumerate()
        {
            let name = a
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| field(&format!("axes[{i}].name"), "the axis's name"))?
                .to_string();
            let keys = strings(a.get("keys"), &format!("axes[{i}].keys"))?;
            let labels = strings(a.get("labels"), &format!("axes[{i}].labels"))?;
            if labels.is_empty() {
                return Err(field(
                    &format!("axes[{i}].labels"),
                    "at least one value label",
                ));
            }
            let numbers = labels
                .iter()
                .map(|l| l.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect::<Option<Vec<_>>>();
            axes.push(SweepAxis {
                name,
                keys,
                labels,
                numbers,
            });
        }
        let metrics = strings(json.get("metrics"), "metrics")?;
        let wanted: Vec<&str> = metrics
            .iter()
            .map(String::as_str)
            .chain(extra.iter().copied())
            .collect();
        let (columns, points) = read_results(&dir.join("results.csv"), &axes, &wanted)?;
        Ok(SweepData {
            dir: dir.to_path_buf(),
            scenario,
            seed,
            replicates,
            axes,
            metrics,
            columns,
            points,
        })
    }

    /// Index of a metric column of `results.csv`.
    pub fn column(&self, metric: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == metric)
    }
}

/// A metric cell: a number, or nothing for an empty cell or a value the run did not have (`null`, `NaN`).
fn metric_value(t: &Table, row: usize, col: usize) -> Result<Option<f64>, PlotError> {
    match t.text(row, col).trim() {
        "" | "null" | "NaN" | "nan" => Ok(None),
        _ => t.number(row, col),
    }
}

/// `results.csv` grouped by point: the columns of `wanted` that the file has, and the points with their values.
fn read_results(
    path: &Path,
    axes: &[SweepAxis],
    wanted: &[&str],
) -> Result<(Vec<String>, Vec<Point>), PlotError> {
    let t = Table::read(path, "sweep results.csv")?;
    let run = t.column("run")?;
    let point = t.column("point")?;
    let replicate = t.column("replicate")?;
    let axis_cols = axes
        .iter()
        .map(|a| t.column(&a.name))
        .collect::<Result<Vec<_>, _>>()?;
    // A metric column is the last of its name: a summary key named like an axis (`subnets.NAME.cidr`) comes
    // after the axis's own column.
    let mut columns: Vec<String> = Vec::new();
    let mut metric_cols: Vec<usize> = Vec::new();
    for name in wanted {
        if let Some(c) = t.header.iter().rposition(|h| h == name)
            && !columns.iter().any(|have| have == name)
            && !axis_cols.contains(&c)
        {
            columns.push(name.to_string());
            metric_cols.push(c);
        }
    }
    let censored_cols: Vec<Option<usize>> = columns
        .iter()
        .map(|name| {
            let flag = format!("{name}_censored");
            t.header.iter().rposition(|h| *h == flag)
        })
        .collect();
    let mut points: BTreeMap<u64, Point> = BTreeMap::new();
    for r in 0..t.rows.len() {
        let need = |col: usize, what: &'static str| -> Result<u64, PlotError> {
            t.integer(r, col)?.ok_or_else(|| t.bad(r, col, what))
        };
        let index = need(point, "a point number")?;
        let rep = need(replicate, "a replicate number")?;
        let run_no = need(run, "a run number")?;
        let coords = axes
            .iter()
            .zip(&axis_cols)
            .map(|(a, &c)| {
                let label = t.text(r, c);
                a.labels
                    .iter()
                    .position(|l| l == label)
                    .ok_or_else(|| t.bad(r, c, "one of the axis's labels in sweep.json"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let p = points.entry(index).or_insert_with(|| Point {
            index,
            coords: coords.clone(),
            runs: Vec::new(),
            values: vec![Vec::new(); metric_cols.len()],
            censored: vec![false; metric_cols.len()],
        });
        if p.coords != coords {
            return Err(t.bad(r, point, "a point whose axis labels match its other rows"));
        }
        p.runs.push((rep, run_no));
        for (k, &c) in metric_cols.iter().enumerate() {
            if let Some(v) = metric_value(&t, r, c)? {
                p.values[k].push(v);
            }
        }
        for (k, flag) in censored_cols.iter().enumerate() {
            p.censored[k] |= flag.is_some_and(|f| t.text(r, f).trim() == "true");
        }
    }
    Ok((columns, points.into_values().collect()))
}

/// Mean, lowest and highest of `values`; `None` when empty.
pub(super) fn stats(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some((mean, lo, hi))
}
