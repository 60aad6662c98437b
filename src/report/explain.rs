//! `vpcsim explain DIR POD`: one pod's story from a run's output folder: where its start-up time went (each
//! phase of `pods.csv` and how long it took after the one before), its end and its wait reason, then, if the run was traced (`vpcsim run --trace`), every decision about the pod and every
//! decision of its node's ipamd from 30 s before it was scheduled until it had its address, one line each, in
//! simulated time.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How long before a pod was scheduled its node's decisions are still shown: a pool manager tick (5 s) and a
/// slow ENI attach fit.
const LOOKBACK_S: f64 = 30.0;
/// Lines shown from each end of a long story.
const SHOWN_EACH_END: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("{}: cannot read: {source} (is this a vpcsim output folder?)", path.display())]
    Read { path: PathBuf, source: csv::Error },
    #[error("{}: no pod {pod} (the run has pods 0 to {last})", path.display())]
    NoSuchPod { path: PathBuf, pod: u32, last: i64 },
    #[error("{}: column {column} is missing", path.display())]
    Column { path: PathBuf, column: String },
}

/// A CSV file as header plus rows.
struct Table {
    path: PathBuf,
    header: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn read(path: PathBuf) -> Result<Table, ExplainError> {
        let read = |path: &Path| -> Result<_, csv::Error> {
            let mut r = csv::Reader::from_path(path)?;
            let header = r.headers()?.clone();
            let rows = r.records().collect::<Result<Vec<_>, _>>()?;
            Ok((header, rows))
        };
        match read(&path) {
            Ok((header, rows)) => Ok(Table { path, header, rows }),
            Err(source) => Err(ExplainError::Read { path, source }),
        }
    }

    fn column(&self, name: &str) -> Result<usize, ExplainError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ExplainError::Column {
                path: self.path.clone(),
                column: name.to_string(),
            })
    }
}

fn seconds(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// The phases of a pod's start, in order, with their `pods.csv` columns (README, "Where a pod's launch time
/// goes"). A phase the run did not reach, or does not model, is empty.
const START_PHASES: [(&str, &str); 8] = [
    ("created", "created_s"),
    ("scheduled", "scheduled_s"),
    ("bound", "bound_s"),
    ("sandbox", "sandbox_s"),
    ("address", "ip_assigned_s"),
    ("image", "image_pulled_s"),
    ("Running", "running_s"),
    ("Ready", "ready_s"),
];

fn shown_or_dash(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

/// How long the phase at `at` took after the last one reached (`last`, which becomes `at`): empty for the
/// first phase and for a phase not reached.
fn phase_took(last: &mut Option<f64>, at: &str) -> String {
    let Some(t) = seconds(at) else {
        return String::new();
    };
    let took = last.map_or_else(String::new, |l| format!("{:.3}", t - l));
    *last = Some(t);
    took
}

/// The explanation of pod `pod` of the run in `dir`.
pub fn explain(dir: &Path, pod: u32) -> Result<String, ExplainError> {
    let pods = Table::read(dir.join("pods.csv"))?;
    let id = pods.column("pod")?;
    let row = pods
        .rows
        .iter()
        .find(|r| r.get(id) == Some(pod.to_string().as_str()))
        .ok_or_else(|| ExplainError::NoSuchPod {
            path: pods.path.clone(),
            pod,
            last: pods.rows.len() as i64 - 1,
        })?;
    let field = |name: &str| -> Result<&str, ExplainError> {
        Ok(row.get(pods.column(name)?).unwrap_or(""))
    };
    let mut out = String::new();
    let _ = writeln!(out, "pod {pod} of workload {}", field("workload")?);
    let _ = writeln!(out, "  {:<17} {:>14} {:>12}", "phase", "at (s)", "took (s)");
    let mut last = None;
    for (label, key) in START_PHASES {
        let at = field(key)?;
        let took = phase_took(&mut last, at);
        let _ = writeln!(out, "  {label:<17} {:>14} {took:>12}", shown_or_dash(at));
    }
    let (deleted, released) = (field("deleted_s")?, field("ip_released_s")?);
    let _ = writeln!(out, "  {:<17} {:>14}", "deleted", shown_or_dash(deleted));
    let mut since_deleted = seconds(deleted);
    let took = phase_took(&mut since_deleted, released);
    let _ = writeln!(
        out,
        "  {:<17} {:>14} {took:>12}",
        "address released",
        shown_or_dash(released)
    );
    let node = field("node")?;
    if !node.is_empty() {
        let _ = writeln!(
            out,
            "  on node {node} ({}), {} {}",
            field("instance")?,
            field("eni")?,
            field("address")?
        );
    }
    let failed = field("failed_add_attempts")?;
    let reason = field("wait_reason")?;
    let wait = field("ip_wait_s")?;
    let _ = writeln!(
        out,
        "  waited {}s for an address; {failed} failed CNI ADDs; reason: {}",
        if wait.is_empty() { "-" } else { wait },
        if reason.is_empty() { "none" } else { reason }
    );

    let trace_path = dir.join("trace.csv");
    if !trace_path.exists() {
        let _ = writeln!(
            out,
            "\nno trace.csv in {}: run the scenario again with `vpcsim run --trace` to see the decisions",
            dir.display()
        );
        return Ok(out);
    }
    let from = (seconds(field("scheduled_s")?)
        .or(seconds(field("created_s")?))
        .unwrap_or(0.0)
        - LOOKBACK_S)
        .max(0.0);
    let until = [field("ip_assigned_s")?, field("deleted_s")?]
        .into_iter()
        .find_map(seconds)
        .unwrap_or(f64::INFINITY);
    let trace = Table::read(trace_path)?;
    let (t, n, p, src, ev) = (
        trace.column("time_s")?,
        trace.column("node")?,
        trace.column("pod")?,
        trace.column("source")?,
        trace.column("event")?,
    );
    let _ = writeln!(
        out,
        "\ndecisions about the pod, and of node {node} from {from:.3}s until it had its address:"
    );
    let pod_s = pod.to_string();
    let lines: Vec<String> = trace
        .rows
        .iter()
        .filter_map(|r| {
            let time = r.get(t).and_then(seconds).unwrap_or(0.0);
            let mine = r.get(p) == Some(pod_s.as_str());
            let its_node = !node.is_empty() && r.get(n) == Some(node) && r.get(p) == Some("");
            if !(mine || (its_node && time >= from && time <= until)) {
                return None;
            }
            let who = if mine {
                format!("pod {pod_s}")
            } else {
                format!("node {node}")
            };
            Some(format!(
                "  {:>12}s  {who:<10} {:<6} {}",
                r.get(t).unwrap_or(""),
                r.get(src).unwrap_or(""),
                r.get(ev).unwrap_or("")
            ))
        })
        .collect();
    // A pod that never got an address can have its node deciding every tick until the run ends.
    if lines.len() > 2 * SHOWN_EACH_END {
        for l in &lines[..SHOWN_EACH_END] {
            let _ = writeln!(out, "{l}");
        }
        let _ = writeln!(
            out,
            "  … {} lines left out (all are in trace.csv) …",
            lines.len() - 2 * SHOWN_EACH_END
        );
        for l in &lines[lines.len() - SHOWN_EACH_END..] {
            let _ = writeln!(out, "{l}");
        }
    } else {
        for l in &lines {
            let _ = writeln!(out, "{l}");
        }
    }
    Ok(out)
}
