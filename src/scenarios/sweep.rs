//! Sweeps: a scenario plus a `[sweep]` table that gives scalar scenario keys lists of values.
//!
//! ```toml
//! [sweep]
//! replicates = 3                  # runs per grid point, each with its own seed
//! [sweep.axes]                    # file order: the first axis varies slowest
//! "subnets.pods.cidr" = ["10.0.0.0/24", "10.0.0.0/22"]
//! "ipamd.WARM_IP_TARGET" = { from = 0, to = 10, step = 5 }
//! "node_groups.web.instance_type" = { values = ["m5.large", "m5.4xlarge"], labels = ["large", "4xlarge"] }
//! [sweep.zip]                     # axes that move together, under one name
//! strategy = ["subnets.pods.reservations.0.top_percent", "node_groups.web.subnets.0"]
//! ```
//!
//! A key path walks the scenario's tables by key and its arrays of tables by index or by the element's `name`
//! (`node_groups.web` is the node group named `web`). Every grid point is turned into a scenario by writing its
//! values into the parsed file and validating the result like any scenario, so a key the schema does not have,
//! or a value of the wrong type, is caught by the same rules and reported at the axis that set it. The schema
//! is in `docs/scenarios.md#sweep`.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::{Spanned, Table, Value};

use super::location::{line_col, push_key};
use super::{Scenario, ScenarioError, parse, read_text};
use crate::sim::rng::{derive_seed, fnv1a};

/// Metrics plotted against the axes when the sweep names none.
pub const DEFAULT_METRICS: &[&str] = &[
    "pods.ip_wait_s.p99",
    "pods.launch_latency_s.p99",
    "pods.started_ratio",
    "pods.waited_for_an_address",
    "nodes.ready_latency_s.p99",
    "ec2.calls_total",
    "ec2.throttled_total",
    "ipamd.api_errors.InsufficientCidrBlocks",
    "ips.allocated_mean",
    "ips.waste_ratio_mean",
];

/// Grid size above which a sweep needs `--force` unless `max_runs` says otherwise.
pub const DEFAULT_MAX_RUNS: u64 = 1000;

/// Most values one range may produce.
const MAX_RANGE_VALUES: u64 = 10_000;

/// A validated sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The file, as named on the command line.
    pub file: String,
    /// The base scenario's name.
    pub name: String,
    /// The base scenario's seed, from which every run's seed is derived.
    pub seed: u64,
    pub replicates: u32,
    /// Runs allowed without `--force`.
    pub max_runs: u64,
    /// Derive seeds from (sweep seed, replicate) only, so that every point's replicate r sees the same
    /// random draws where the scenario lets it (workload arrivals, tenants): less noise between points.
    pub common_random_numbers: bool,
    /// Result columns plotted against each axis.
    pub metrics: Vec<String>,
    /// In grid order: the first varies slowest.
    pub axes: Vec<Axis>,
    /// FNV-1a of the file's text: a sweep resumes or merges only with results of the same file.
    pub fingerprint: u64,
    /// The base scenario as parsed, without `[sweep]` (a table).
    base: Value,
    /// Where `[sweep]` is in the file, for errors that concern no single axis.
    at: usize,
    /// Where each metric is named in the file (none for the default metrics).
    metric_at: Vec<usize>,
}

/// One dimension of the grid: one key, or several zipped keys that move together.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The key path of a plain axis; the zip's name for zipped keys.
    pub name: String,
    pub keys: Vec<KeyPath>,
    /// `values[i][k]`: the i-th value of key k.
    pub values: Vec<Vec<Value>>,
    /// Display label of each value, for result columns and plots.
    pub labels: Vec<String>,
}

/// A dotted key path into the scenario, resolved against the base file.
#[derive(Clone, Debug)]
pub struct KeyPath {
    /// As written in `[sweep.axes]`.
    pub dotted: String,
    segments: Vec<String>,
    /// The path in validation errors' form (`node_groups[0].instance_type`), to tell which axis an error of a
    /// point's scenario comes from.
    canonical: String,
    /// Where the key is written in the file.
    span: std::ops::Range<usize>,
}

impl Sweep {
    /// Grid points: the product of the axes' lengths, computed without building anything, saturating at
    /// `u64::MAX` (many long axes multiply past it; such a grid is refused by its size).
    pub fn points(&self) -> u64 {
        self.axes
            .iter()
            .fold(1, |n: u64, a| n.saturating_mul(a.values.len() as u64))
    }

    /// Runs: points × replicates, saturating like [`Sweep::points`].
    pub fn runs(&self) -> u64 {
        self.points().saturating_mul(u64::from(self.replicates))
    }

    /// Run `run`'s point and replicate: runs are numbered point by point, replicates within a point.
    pub fn run_at(&self, run: u64) -> (u64, u32) {
        let r = u64::from(self.replicates);
        (run / r, (run % r) as u32)
    }

    /// Value index of each axis at `point` (mixed radix, the last axis fastest).
    pub fn coordinates(&self, point: u64) -> Vec<usize> {
        let mut rest = point;
        let mut out = vec![0; self.axes.len()];
        for (i, a) in self.axes.iter().enumerate().rev() {
            let n = a.values.len() as u64;
            out[i] = (rest % n) as usize;
            rest /= n;
        }
        out
    }

    /// The seed of a run, derived from (sweep seed, point, replicate), or from (sweep seed, replicate) with
    /// common random numbers.
    pub fn run_seed(&self, point: u64, replicate: u32) -> u64 {
        let base = if self.common_random_numbers {
            self.seed
        } else {
            derive_seed(self.seed, "sweep.point", point)
        };
        derive_seed(base, "sweep.replicate", u64::from(replicate))
    }

    /// The scenario of grid point `point`, with the seed of `replicate`.
    pub fn scenario(&self, point: u64, replicate: u32) -> Result<Scenario, PointError> {
        let coords = self.coordinates(point);
        let mut table = self.base.clone();
        for (a, &v) in self.axes.iter().zip(&coords) {
            for (k, value) in a.keys.iter().zip(&a.values[v]) {
                let slot = slot(&mut table, &k.segments).map_err(|message| PointError {
                    axis: Some(a.name.clone()),
                    message,
                })?;
                *slot = value.clone();
            }
        }
        let mut scenario = reparse(&table, &self.file).map_err(|e| {
            let (key, message) = match e {
                ScenarioError::Invalid { key, message, .. } => (key, message),
                other => (String::new(), other.to_string()),
            };
            PointError {
                axis: self.axis_of(&key),
                message: if key.is_empty() {
                    message
                } else {
                    format!("{key}: {message}")
                },
            }
        })?;
        scenario.seed = self.run_seed(point, replicate);
        Ok(scenario)
    }

    /// The axis whose key an error at key path `key` (`node_groups[0].count`) is about, if any.
    pub fn axis_of(&self, key: &str) -> Option<String> {
        self.axes
            .iter()
            .find(|a| {
                a.keys
                    .iter()
                    .any(|k| key == k.canonical || key.starts_with(&format!("{}.", k.canonical)))
            })
            .map(|a| a.name.clone())
    }

    /// The labels of `point`'s values, one per axis.
    pub fn labels(&self, point: u64) -> Vec<&str> {
        self.axes
            .iter()
            .zip(self.coordinates(point))
            .map(|(a, v)| a.labels[v].as_str())
            .collect()
    }

    /// `name=label` for each axis of `point`, for messages.
    pub fn describe(&self, point: u64) -> String {
        self.axes
            .iter()
            .zip(self.labels(point))
            .map(|(a, l)| format!("{}={l}", a.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The error for a point whose scenario is invalid, placed at the axis it names (or at `[sweep]`).
    pub fn point_error(&self, text: &str, point: u64, e: PointError) -> ScenarioError {
        let at = e
            .axis
            .as_ref()
            .and_then(|name| self.axes.iter().find(|a| &a.name == name))
            .map(|a| (a.keys[0].span.start, axis_key(&a.keys[0].dotted)));
        let (pos, key) = at.unwrap_or((self.at, "sweep".to_string()));
        self.place(text).error(
            pos,
            key,
            format!("at point {point} ({}): {}", self.describe(point), e.message),
        )
    }

    fn place<'a>(&'a self, text: &'a str) -> Place<'a> {
        Place {
            file: &self.file,
            text,
        }
    }

    /// The error for a metric that is not a result column.
    /// An error about the sweep as a whole (its size), at its `[sweep]` table.
    pub fn sweep_error(&self, text: &str, message: String) -> ScenarioError {
        self.place(text).error(self.at, "sweep", message)
    }

    pub fn metric_error(&self, text: &str, metric: &str) -> ScenarioError {
        let i = self.metrics.iter().position(|m| m == metric);
        let pos = i
            .and_then(|i| self.metric_at.get(i).copied())
            .unwrap_or(self.at);
        self.place(text).error(
            pos,
            "sweep.metrics",
            format!(
                "`{metric}` is not a result column (a key of summary.json, dotted, e.g. `pods.ip_wait_s.p99`)"
            ),
        )
    }
}

/// Writes `value` at the dotted key path `dotted` of a parsed scenario table, creating missing tables on the
/// way (arrays of tables are walked by index or element `name`, as sweep axes are).
pub fn assign(table: &mut Value, dotted: &str, value: Value) -> Result<(), String> {
    *slot(table, &split_path(dotted)?)? = value;
    Ok(())
}

/// Validates an edited scenario table like any scenario file (`file` names it in errors and locates trace
/// files): how sweep points and `vpcsim advise`'s candidates become scenarios.
pub fn reparse(table: &Value, file: &str) -> Result<Scenario, ScenarioError> {
    let text = toml::to_string(table).map_err(|e| ScenarioError::Invalid {
        file: file.to_string(),
        line: 0,
        col: 0,
        key: String::new(),
        message: e.to_string(),
    })?;
    parse(&text, file)
}

/// Why one grid point's scenario is invalid.
#[derive(Debug)]
pub struct PointError {
    /// The axis whose key the error is about.
    pub axis: Option<String>,
    pub message: String,
}

/// `sweep.axes."a.b"`: how errors name an axis key.
fn axis_key(dotted: &str) -> String {
    let mut k = "sweep.axes".to_string();
    push_key(&mut k, dotted);
    k
}

#[derive(Deserialize)]
struct RawFile {
    sweep: Option<Spanned<RawSweep>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    replicates: Option<Spanned<i64>>,
    max_runs: Option<Spanned<i64>>,
    common_random_numbers: Option<bool>,
    metrics: Option<Vec<Spanned<String>>>,
    axes: Option<Spanned<BTreeMap<Spanned<String>, Spanned<Value>>>>,
    zip: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
}

/// Reads the sweep at `path` and returns it with the file's text (for error positions). The base scenario
/// must be valid on its own; every grid point is checked by [`Sweep::scenario`], which the runner calls for
/// each point before any run starts.
pub fn load(path: &Path) -> Result<(Sweep, String), ScenarioError> {
    let (text, file) = read_text(path)?;
    let sweep = parse_sweep(&text, &file)?;
    Ok((sweep, text))
}

/// Like [`load`], but `None` for a plain scenario (a file without `[sweep]`).
pub fn load_if_sweep(path: &Path) -> Result<Option<(Sweep, String)>, ScenarioError> {
    let (text, file) = read_text(path)?;
    match toml::from_str::<RawFile>(&text) {
        Ok(RawFile { sweep: None }) => Ok(None),
        // A file that is not even TOML gets its error from `parse_sweep`, like any other.
        _ => parse_sweep(&text, &file).map(|s| Some((s, text))),
    }
}

/// Where sweep errors point: the file's name and text.
struct Place<'a> {
    file: &'a str,
    text: &'a str,
}

impl Place<'_> {
    fn error(
        &self,
        pos: usize,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, col) = line_col(self.text, pos);
        ScenarioError::Invalid {
            file: self.file.to_string(),
            line,
            col,
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Validates sweep `text`; `file` names it in errors and locates trace files.
pub fn parse_sweep(text: &str, file: &str) -> Result<Sweep, ScenarioError> {
    let base_scenario = parse(text, file)?;
    let place = Place { file, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let pos = e.span().map_or(0, |s| s.start);
        place.error(pos, "sweep", super::serde_message(e.message()))
    })?;
    let Some(raw) = raw.sweep else {
        return Err(place.error(
            0,
            "",
            "no [sweep] table: a sweep is a scenario plus a [sweep] table of axes (docs/scenarios.md#sweep)",
        ));
    };
    let at = raw.span().start;
    let raw = raw.into_inner();
    let mut base: Table = toml::from_str(text).map_err(|e| place.error(0, "", e.to_string()))?;
    base.remove("sweep");
    let base = Value::Table(base);

    let positive = |v: &Option<Spanned<i64>>, key: &str, default: u64| match v {
        None => Ok(default),
        Some(v) if *v.get_ref() >= 1 => Ok(*v.get_ref() as u64),
        Some(v) => Err(place.error(
            v.span().start,
            format!("sweep.{key}"),
            format!("must be at least 1, got {}", v.get_ref()),
        )),
    };
    let replicates = u32::try_from(positive(&raw.replicates, "replicates", 1)?)
        .map_err(|_| place.error(at, "sweep.replicates", "too many replicates"))?;
    let max_runs = positive(&raw.max_runs, "max_runs", DEFAULT_MAX_RUNS)?;

    let plain = plain_axes(&place, &base, raw.axes)?;
    let zips = zips(&place, &plain, raw.zip)?;
    let axes = combine(plain, zips);
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.name == a.name) {
            return Err(place.error(at, "sweep.zip", format!("two axes are named `{}`", a.name)));
        }
    }

    let (metrics, metric_at) = match raw.metrics {
        Some(m) if m.is_empty() => {
            return Err(place.error(at, "sweep.metrics", "must not be empty"));
        }
        Some(m) => m
            .into_iter()
            .map(|m| (m.get_ref().clone(), m.span().start))
            .unzip(),
        None => (
            DEFAULT_METRICS.iter().map(|m| m.to_string()).collect(),
            Vec::new(),
        ),
    };

    Ok(Sweep {
        file: file.to_string(),
        name: base_scenario.name,
        seed: base_scenario.seed,
        replicates,
        max_runs,
        common_random_numbers: raw.common_random_numbers.unwrap_or(false),
        metrics,
        axes,
        fingerprint: fnv1a(text.as_bytes()),
        base,
        at,
        metric_at,
    })
}

/// A table's entries in the order the file gives them (serde hands them over sorted by key).
fn in_file_order(
    table: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
) -> Vec<(Spanned<String>, Spanned<Value>)> {
    let mut entries: Vec<_> = table.into_iter().flatten().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// One entry of `[sweep.axes]`: a resolved key and its values.
struct PlainAxis {
    path: KeyPath,
    values: Vec<Value>,
    labels: Option<Vec<String>>,
}

/// The entries of `[sweep.axes]`, in file order.
fn plain_axes(
    place: &Place<'_>,
    base: &Value,
    raw: Option<Spanned<BTreeMap<Spanned<String>, Spanned<Value>>>>,
) -> Result<Vec<PlainAxis>, ScenarioError> {
    let mut plain: Vec<PlainAxis> = Vec::new();
    for (key, spec) in in_file_order(raw.map(Spanned::into_inner)) {
        let akey = axis_key(key.get_ref());
        let path = resolve(base, key.get_ref(), key.span())
            .map_err(|m| place.error(key.span().start, &akey, m))?;
        let (values, labels) =
            axis_values(spec.get_ref()).map_err(|m| place.error(spec.span().start, &akey, m))?;
        if plain.iter().any(|p| p.path.canonical == path.canonical) {
            return Err(place.error(
                key.span().start,
                akey,
                format!(
                    "`{}` is already an axis under another spelling",
                    path.canonical
                ),
            ));
        }
        plain.push(PlainAxis {
            path,
            values,
            labels,
        });
    }
    Ok(plain)
}

/// One entry of `[sweep.zip]`: its name, the indices of its plain axes, its labels.
struct Zip {
    name: String,
    members: Vec<usize>,
    labels: Option<Vec<String>>,
}

/// The entries of `[sweep.zip]`, in file order: each names two or more plain axes of one length, none of them
/// in another zip.
fn zips(
    place: &Place<'_>,
    plain: &[PlainAxis],
    raw: Option<BTreeMap<Spanned<String>, Spanned<Value>>>,
) -> Result<Vec<Zip>, ScenarioError> {
    let mut zips: Vec<Zip> = Vec::new();
    for (name, spec) in &in_file_order(raw) {
        let mut zkey = "sweep.zip".to_string();
        push_key(&mut zkey, name.get_ref());
        let fail = |m: String| place.error(spec.span().start, &zkey, m);
        let (keys, labels) = zip_spec(spec.get_ref()).map_err(fail)?;
        if keys.len() < 2 {
            return Err(fail("a zip needs at least two axis keys".into()));
        }
        let mut members = Vec::new();
        for k in &keys {
            let Some(i) = plain.iter().position(|p| &p.path.dotted == k) else {
                return Err(fail(format!(
                    "`{k}` is not a key of [sweep.axes]; a zip moves axes listed there together"
                )));
            };
            if let Some(other) = zips.iter().find(|z| z.members.contains(&i)) {
                return Err(fail(format!("`{k}` is already zipped in `{}`", other.name)));
            }
            members.push(i);
        }
        let n = plain[members[0]].values.len();
        if let Some(&bad) = members.iter().find(|&&i| plain[i].values.len() != n) {
            return Err(fail(format!(
                "zipped axes must have as many values each: `{}` has {n}, `{}` has {}",
                plain[members[0]].path.dotted,
                plain[bad].path.dotted,
                plain[bad].values.len()
            )));
        }
        if let Some(l) = &labels
            && l.len() != n
        {
            return Err(fail(format!("{} labels for {n} values", l.len())));
        }
        zips.push(Zip {
            name: name.get_ref().clone(),
            members,
            labels,
        });
    }
    Ok(zips)
}

/// The grid's axes: each plain axis that is in no zip, and each zip at the place of its first key in file
/// order.
fn combine(plain: Vec<PlainAxis>, zips: Vec<Zip>) -> Vec<Axis> {
    let mut axes = Vec::new();
    for (i, p) in plain.iter().enumerate() {
        match zips.iter().find(|z| z.members.contains(&i)) {
            None => axes.push(Axis {
                name: p.path.dotted.clone(),
                keys: vec![p.path.clone()],
                values: p.values.iter().map(|v| vec![v.clone()]).collect(),
                labels: p
                    .labels
                    .clone()
                    .unwrap_or_else(|| p.values.iter().map(label).collect()),
            }),
            Some(z) if z.members.iter().all(|&m| m >= i) => {
                let values: Vec<Vec<Value>> = (0..p.values.len())
                    .map(|v| {
                        z.members
                            .iter()
                            .map(|&m| plain[m].values[v].clone())
                            .collect()
                    })
                    .collect();
                let labels = z.labels.clone().unwrap_or_else(|| {
                    values
                        .iter()
                        .map(|vs| vs.iter().map(label).collect::<Vec<_>>().join(" · "))
                        .collect()
                });
                axes.push(Axis {
                    name: z.name.clone(),
                    keys: z.members.iter().map(|&m| plain[m].path.clone()).collect(),
                    values,
                    labels,
                });
            }
            Some(_) => {}
        }
    }
    axes
}

/// The display label of a value: strings as they are, numbers and booleans as TOML writes them.
fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An axis's values: a list, a `{ from, to, step }` range, or `{ values, labels }`.
fn axis_values(spec: &Value) -> Result<(Vec<Value>, Option<Vec<String>>), String> {
    let (values, labels) = match spec {
        Value::Array(a) => (a.clone(), None),
        Value::Table(t) if t.contains_key("values") => {
            check_keys(t, &["values", "labels"])?;
            let Some(Value::Array(a)) = t.get("values") else {
                return Err("`values` must be a list".into());
            };
            let labels = t.get("labels").map(strings).transpose()?;
            (a.clone(), labels)
        }
        Value::Table(t) => (range(t)?, None),
        other => {
            return Err(format!(
                "expected a list of values, a range {{ from, to, step }} or {{ values, labels }}, got {}",
                other.type_str()
            ));
        }
    };
    if values.is_empty() {
        return Err("an axis needs at least one value".into());
    }
    if let Some(v) = values
        .iter()
        .find(|v| matches!(v, Value::Table(_) | Value::Array(_) | Value::Datetime(_)))
    {
        return Err(format!(
            "axis values must be strings, numbers or booleans, got a {}",
            v.type_str()
        ));
    }
    if let Some(l) = &labels
        && l.len() != values.len()
    {
        return Err(format!("{} labels for {} values", l.len(), values.len()));
    }
    Ok((values, labels))
}

fn check_keys(t: &Table, allowed: &[&str]) -> Result<(), String> {
    match t.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "unknown key `{k}`, expected one of {}",
            allowed
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => Ok(()),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or("labels must be strings".to_string())
            })
            .collect(),
        _ => Err("`labels` must be a list of strings".into()),
    }
}

/// `{ from, to, step }`, inclusive of `to` when a step lands on it: integers when all three are, else floats.
fn range(t: &Table) -> Result<Vec<Value>, String> {
    check_keys(t, &["from", "to", "step"])?;
    let get = |k: &str| {
        t.get(k).ok_or(format!(
            "a range needs `from`, `to` and `step`; `{k}` is missing"
        ))
    };
    let (from, to, step) = (get("from")?, get("to")?, get("step")?);
    if let (Value::Integer(from), Value::Integer(to), Value::Integer(step)) = (from, to, step) {
        if *step <= 0 || from > to {
            return Err(format!(
                "a range needs step > 0 and from ≤ to, got from {from} to {to} step {step}"
            ));
        }
        // In i128: the span of a range from below zero to above it may not fit in an i64.
        let (from, step) = (i128::from(*from), i128::from(*step));
        let n = (i128::from(*to) - from) / step + 1;
        if n > i128::from(MAX_RANGE_VALUES) {
            return Err(format!(
                "the range has {n} values; at most {MAX_RANGE_VALUES}"
            ));
        }
        return Ok((0..n)
            .map(|i| Value::Integer(i64::try_from(from + i * step).expect("from ≤ value ≤ to")))
            .collect());
    }
    let num = |v: &Value, k: &str| match v {
        Value::Integer(i) => Ok(*i as f64),
        Value::Float(f) if f.is_finite() => Ok(*f),
        _ => Err(format!("range `{k}` must be a number")),
    };
    let (from, to, step) = (num(from, "from")?, num(to, "to")?, num(step, "step")?);
    if step <= 0.0 || from > to {
        return Err(format!(
            "a range needs step > 0 and from ≤ to, got from {from} to {to} step {step}"
        ));
    }
    // A small tolerance keeps `to` when rounding leaves the last step a hair short. The number of steps is
    // infinite (never NaN: the step is finite and positive) when the span overflows or the step is tiny next
    // to it: too many either way.
    let steps = ((to - from) / step + 1e-9).floor();
    if steps >= MAX_RANGE_VALUES as f64 {
        return Err(format!(
            "the range has more than {MAX_RANGE_VALUES} values (from {from} to {to} step {step})"
        ));
    }
    let n = steps as u64 + 1;
    Ok((0..n)
        .map(|i| Value::Float(from + i as f64 * step))
        .collect())
}

/// A zip: a list of axis keys, or `{ keys, labels }`.
fn zip_spec(spec: &Value) -> Result<(Vec<String>, Option<Vec<String>>), String> {
    match spec {
        Value::Array(_) => Ok((
            strings(spec).map_err(|_| "a zip lists axis keys as strings".to_string())?,
            None,
        )),
        Value::Table(t) => {
            check_keys(t, &["keys", "labels"])?;
            let keys = t.get("keys").ok_or("a zip table needs `keys`")?;
            let keys =
                strings(keys).map_err(|_| "`keys` must be a list of axis keys".to_string())?;
            Ok((keys, t.get("labels").map(strings).transpose()?))
        }
        _ => Err("expected a list of axis keys or { keys, labels }".into()),
    }
}

/// Splits `a."b.c".d` into segments.
fn split_path(dotted: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = dotted.chars().peekable();
    loop {
        let mut seg = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => seg.push(c),
                    None => return Err(format!("unclosed quote in key path `{dotted}`")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                seg.push(c);
                chars.next();
            }
        }
        if seg.is_empty() {
            return Err(format!("empty segment in key path `{dotted}`"));
        }
        out.push(seg);
        match chars.next() {
            None => return Ok(out),
            Some('.') => {}
            Some(c) => {
                return Err(format!(
                    "unexpected `{c}` after a quoted segment in `{dotted}`"
                ));
            }
        }
    }
}

/// Resolves a key path against the base scenario: it must lead through tables and arrays of tables to a
/// scalar key, present or absent (the schema, checked point by point, decides whether an absent key exists).
fn resolve(base: &Value, dotted: &str, span: std::ops::Range<usize>) -> Result<KeyPath, String> {
    let segments = split_path(dotted)?;
    let last = segments
        .last()
        .expect("split_path returns at least one segment");
    if last == "name" {
        return Err("names identify things and cannot be swept".into());
    }
    if segments == ["seed"] {
        return Err(
            "the seed cannot be swept: use `replicates`, whose runs each get their own seed".into(),
        );
    }
    let mut canonical = String::new();
    let mut at = Some(base);
    for (i, seg) in segments.iter().enumerate() {
        at = match at {
            Some(Value::Table(t)) => {
                push_key(&mut canonical, seg);
                t.get(seg.as_str())
            }
            Some(Value::Array(a)) => {
                let (idx, v) = element(a, seg).ok_or_else(|| {
                    format!(
                        "`{}` has no element `{seg}` (by index or by name)",
                        prefix(&segments, i)
                    )
                })?;
                canonical.push_str(&format!("[{idx}]"));
                Some(v)
            }
            Some(v) => {
                return Err(format!(
                    "`{}` is a {}, not a table",
                    prefix(&segments, i),
                    v.type_str()
                ));
            }
            // Absent: writing the value creates the tables on the way.
            None if seg.parse::<usize>().is_ok() => {
                return Err(format!("`{}` is not in the scenario", prefix(&segments, i)));
            }
            None => {
                push_key(&mut canonical, seg);
                None
            }
        };
    }
    if let Some(v @ (Value::Table(_) | Value::Array(_))) = at {
        return Err(format!(
            "`{dotted}` is a {}, not a scalar key: sweep one of its keys",
            v.type_str()
        ));
    }
    Ok(KeyPath {
        dotted: dotted.to_string(),
        segments,
        canonical,
        span,
    })
}

fn prefix(segments: &[String], n: usize) -> String {
    segments[..n].join(".")
}

/// Element `seg` of an array: by index, or the table whose `name` is `seg`.
fn element<'a>(a: &'a [Value], seg: &str) -> Option<(usize, &'a Value)> {
    if let Ok(i) = seg.parse::<usize>() {
        return a.get(i).map(|v| (i, v));
    }
    a.iter()
        .enumerate()
        .find(|(_, v)| v.get("name").and_then(Value::as_str) == Some(seg))
}

/// The slot a resolved key path writes to, creating missing tables on the way.
fn slot<'a>(at: &'a mut Value, segments: &[String]) -> Result<&'a mut Value, String> {
    let Some((seg, rest)) = segments.split_first() else {
        return Ok(at);
    };
    let next = match at {
        Value::Table(t) => t
            .entry(seg.as_str())
            .or_insert_with(|| Value::Table(Table::new())),
        Value::Array(a) => {
            let i = element(a, seg)
                .map(|(i, _)| i)
                .ok_or(format!("no element `{seg}`"))?;
            &mut a[i]
        }
        other => {
            return Err(format!(
                "`{seg}` is inside a {}, not a table",
                other.type_str()
            ));
        }
    };
    slot(next, rest)
}
