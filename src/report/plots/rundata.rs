//! A finished run folder read back into what the run charts need: per node group, the pods' IP waits and
//! launch latencies and the EC2 attempts by action; the subnet and address-pool time series; the summary for
//! the results table. Only the files are read, so a folder from any vpcsim version with these columns works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::PlotError;
use super::table::Table;

/// Pods of one variant (a node group), for the CDFs.
#[derive(Clone, Debug, Default)]
pub(super) struct PodStats {
    /// Pods of the variant: the denominator of the launch-latency CDF, so pods that never ran keep the curve
    /// below 1 instead of vanishing.
    pub count: usize,
    /// Pods that were placed on a node: the denominator of the IP-wait CDF (the wait starts at scheduling).
    pub scheduled: usize,
    /// `ip_wait_s` of each pod that got an address.
    pub ip_waits: Vec<f64>,
    /// `running_s - created_s` of each pod that reached running.
    pub launches: Vec<f64>,
}

/// EC2 attempts of one action by one variant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Calls {
    pub attempts: u64,
    pub throttled: u64,
}

/// One subnet's free space over time.
#[derive(Clone, Debug)]
pub(super) struct SubnetSeries {
    pub name: String,
    pub free_addresses: Vec<f64>,
    pub free_blocks: Vec<f64>,
}

/// Addresses held by ipamd (allocated), given to pods (assigned) and in cooldown, over time, for one node
/// group (`group` is `None` for the cluster totals of a file without per-group columns).
#[derive(Clone, Debug)]
pub(super) struct PoolSeries {
    pub group: Option<String>,
    pub allocated: Vec<f64>,
    pub assigned: Vec<f64>,
    pub cooling: Vec<f64>,
}

/// `timeseries.csv`.
#[derive(Clone, Debug, Default)]
pub(super) struct TimeSeries {
    pub time_s: Vec<f64>,
    pub subnets: Vec<SubnetSeries>,
    pub pools: Vec<PoolSeries>,
    /// Leaked ENIs and the addresses they hold, when the run could leak (columns `enis_leaked`,
    /// `enis_leaked_addresses`).
    pub leaked: Option<[Vec<f64>; 2]>,
}

/// A run folder, read.
#[derive(Clone, Debug)]
pub(super) struct RunData {
    pub dir: PathBuf,
    pub summary: Value,
    pub scenario: String,
    pub seed: String,
    pub duration_s: f64,
    /// Node groups in the summary's (sorted) order, then any only `nodes.csv` names.
    pub groups: Vec<String>,
    /// Pods per variant: the node groups, then `(no node group)` for pods no group can be told for.
    pub pods: Vec<(String, PodStats)>,
    /// Attempts per variant (node group, or the caller for calls no group made) and action, sorted.
    pub calls: BTreeMap<String, BTreeMap<String, Calls>>,
    pub series: TimeSeries,
}

/// The variant of pods whose node group cannot be told (never scheduled, no selector, several groups).
pub(super) const NO_GROUP: &str = "(no node group)";

impl RunData {
    /// Reads the run folder `dir`.
    pub fn read(dir: &Path) -> Result<RunData, PlotError> {
        let summary = read_json(&dir.join("summary.json"))?;
        let spath = dir.join("summary.json");
        let scenario = match summary.get("scenario") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(field(&spath, "scenario", "the scenario's name (a string)")),
        };
        let seed = match summary.get("seed") {
            Some(v @ Value::Number(_)) => v.to_string(),
            _ => return Err(field(&spath, "seed", "the run's seed (a number)")),
        };
        let duration_s = summary
            .get("duration_s")
            .and_then(Value::as_f64)
            .ok_or_else(|| field(&spath, "duration_s", "the simulated duration in seconds"))?;

        let node_groups = read_node_groups(&dir.join("nodes.csv"))?;
        let mut groups: Vec<String> = summary
            .get("node_groups")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        for g in node_groups.values() {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        let pods = read_pods(&dir.join("pods.csv"), &groups, &node_groups)?;
        let calls = read_calls(&dir.join("api_calls.csv"), &node_groups)?;
        let series = read_timeseries(&dir.join("timeseries.csv"))?;
        Ok(RunData {
            dir: dir.to_path_buf(),
            summary,
            scenario,
            seed,
            duration_s,
            groups,
            pods,
            calls,
            series,
        })
    }
}

fn field(path: &Path, name: &str, expected: &str) -> PlotError {
    PlotError::Field {
        path: path.to_path_buf(),
        field: name.to_string(),
        expected: expected.to_string(),
    }
}

/// Reads and parses a JSON file.
pub(super) fn read_json(path: &Path) -> Result<Value, PlotError> {
    let text = std::fs::read_to_string(path).map_err(|e| PlotError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| PlotError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// `nodes.csv`: node number → node group.
fn read_node_groups(path: &Path) -> Result<BTreeMap<u64, String>, PlotError> {
    let t = Table::read(path, "nodes.csv")?;
    let (node, group) = (t.column("node")?, t.column("node_group")?);
    let mut out = BTreeMap::new();
    for r in 0..t.rows.len() {
        let n = t
            .integer(r, node)?
            .ok_or_else(|| t.bad(r, node, "a node number"))?;
        out.insert(n, t.text(r, group).to_string());
    }
    Ok(out)
}

/// `pods.csv`, split by the node group each pod ran in: its node's group, else the workload's selector, else
/// the only group when there is one.
fn read_pods(
    path: &Path,
    groups: &[String],
    node_groups: &BTreeMap<u64, String>,
) -> Result<Vec<(String, PodStats)>, PlotError> {
    let t = Table::read(path, "pods.csv")?;
    let node = t.column("node")?;
    let selector = t.find("node_group");
    let created = t.column("created_s")?;
    let running = t.column("running_s")?;
    let wait = t.column("ip_wait_s")?;
    let mut out: Vec<(String, PodStats)> = groups
        .iter()
        .map(|g| (g.clone(), PodStats::default()))
        .collect();
    let mut unknown = PodStats::default();
    for r in 0..t.rows.len() {
        let on = t.integer(r, node)?;
        let group = match on {
            Some(n) => node_groups.get(&n).map(String::as_str),
            None => None,
        }
        .or_else(|| selector.map(|c| t.text(r, c)).filter(|s| !s.is_empty()))
        .or_else(|| (groups.len() == 1).then(|| groups[0].as_str()));
        let stats = match group.and_then(|g| out.iter().position(|(name, _)| name == g)) {
            Some(i) => &mut out[i].1,
            None => &mut unknown,
        };
        stats.count += 1;
        stats.scheduled += usize::from(on.is_some());
        if let Some(w) = t.number(r, wait)? {
            stats.ip_waits.push(w);
        }
        if let (Some(c), Some(run)) = (t.number(r, created)?, t.number(r, running)?) {
            stats.launches.push(run - c);
        }
    }
    if unknown.count > 0 {
        out.push((NO_GROUP.to_string(), unknown));
    }
    Ok(out)
}

/// `api_calls.csv`: attempts and throttled attempts per variant and action. ipamd's calls count for its
/// node's group, a node group's own calls (`node-group:NAME`) for that group, anything else under its caller.
fn read_calls(
    path: &Path,
    node_groups: &BTreeMap<u64, String>,
) -> Result<BTreeMap<String, BTreeMap<String, Calls>>, PlotError> {
    let t = Table::read(path, "api_calls.csv")?;
    let (node, caller, action, outcome) = (
        t.column("node")?,
        t.column("caller")?,
        t.column("action")?,
        t.column("outcome")?,
    );
    let mut out: BTreeMap<String, BTreeMap<String, Calls>> = BTreeMap::new();
    for r in 0..t.rows.len() {
        let who = t.text(r, caller);
        let variant = match (who, t.integer(r, node)?) {
            ("ipamd", Some(n)) => node_groups
                .get(&n)
                .cloned()
                .unwrap_or_else(|| format!("ipamd of node {n}")),
            _ => who
                .strip_prefix("node-group:")
                .unwrap_or(if who.is_empty() {
                    "(unknown caller)"
                } else {
                    who
                })
                .to_string(),
        };
        let c = out
            .entry(variant)
            .or_default()
            .entry(t.text(r, action).to_string())
            .or_default();
        c.attempts += 1;
        if t.text(r, outcome) == "throttled" {
            c.throttled += 1;
        }
    }
    Ok(out)
}

/// `timeseries.csv`: subnets are the columns ending in `.free_addresses` (names may hold dots); address pools
/// per node group when `node_group.NAME.ips_*` columns exist, else the cluster totals; leaked ENIs when their
/// columns exist.
fn read_timeseries(path: &Path) -> Result<TimeSeries, PlotError> {
    let t = Table::read(path, "timeseries.csv")?;
    let time = t.column("time_s")?;
    let column = |c: usize| -> Result<Vec<f64>, PlotError> {
        (0..t.rows.len())
            .map(|r| Ok(t.number(r, c)?.unwrap_or(f64::NAN)))
            .collect()
    };
    let mut out = TimeSeries {
        time_s: column(time)?,
        ..TimeSeries::default()
    };
    for (i, h) in t.header.iter().enumerate() {
        if let Some(name) = h.strip_suffix(".free_addresses") {
            let blocks = match t.find(&format!("{name}.free_prefix_blocks")) {
                Some(c) => column(c)?,
                None => vec![f64::NAN; t.rows.len()],
            };
            out.subnets.push(SubnetSeries {
                name: name.to_string(),
                free_addresses: column(i)?,
                free_blocks: blocks,
            });
        }
    }
    let pools = |prefix: &str| -> Result<Option<[Vec<f64>; 3]>, PlotError> {
        let cols = ["ips_allocated", "ips_assigned", "ips_cooling"]
            .map(|c| t.find(&format!("{prefix}{c}")));
        match cols {
            [Some(a), Some(s), Some(c)] => Ok(Some([column(a)?, column(s)?, column(c)?])),
            _ => Ok(None),
        }
    };
    for h in &t.header {
        let Some(group) = h
            .strip_prefix("node_group.")
            .and_then(|rest| rest.strip_suffix(".ips_allocated"))
        else {
            continue;
        };
        if let Some([allocated, assigned, cooling]) = pools(&format!("node_group.{group}."))? {
            out.pools.push(PoolSeries {
                group: Some(group.to_string()),
                allocated,
                assigned,
                cooling,
            });
        }
    }
    if let (Some(e), Some(a)) = (t.find("enis_leaked"), t.find("enis_leaked_addresses")) {
        out.leaked = Some([column(e)?, column(a)?]);
    }
    if out.pools.is_empty()
        && let Some([allocated, assigned, cooling]) = pools("")?
    {
        out.pools.push(PoolSeries {
            group: None,
            allocated,
            assigned,
            cooling,
        });
    }
    Ok(out)
}
