//! A run's size, estimated from its validated scenario before anything is built: the pods its workloads
//! create, the events the engine will handle and the memory the run will hold. A run that cannot fit is
//! refused up front, naming the key that drives it and the estimate, rather than aborting out of memory (or
//! running out of the engine's event numbers) after hours of work.
//!
//! The figures are estimates, calibrated on `scenarios/large-day.toml` (540,715 pods on 1,000 nodes, 2,000
//! over the day, for 24 simulated hours: 39.7 M events, 290 MB): about 10 events and 480 bytes per pod (its
//! record with the phases of its start, its `pods.csv` row, its share of the EC2 attempt log; its events from
//! the controller's create to the CNI DEL; a readiness probe adds two), 0.4 events per node and simulated
//! second (ipamd's two wake-ups every 5 s) and 20 kB per node (its ipamd, its kubelet, its EC2 state). They
//! err on the generous side: a run the estimate lets through at the default limit uses a fraction of it.

use std::fmt;

use super::{Scenario, TraceAction, WorkloadKind};
use crate::sim::engine::MAX_SEQ;
use crate::sim::script::Change;
use crate::sim::time::{SimDuration, SimTime};

/// The memory a run may be estimated to need without `--max-memory`: 8 GiB, a laptop's worth. A fixed figure
/// rather than a share of the machine's memory, so that whether a file runs does not depend on where.
pub const DEFAULT_MAX_MEMORY: u64 = 8 << 30;

const BYTES_PER_POD: f64 = 480.0;
const BYTES_PER_NODE: f64 = 20_000.0;
const EVENTS_PER_POD: f64 = 10.0;
const EVENTS_PER_NODE_SECOND: f64 = 0.4;
/// An external call's arrival and answer, and a retry and its answer for the throttled ones.
const EVENTS_PER_EXTERNAL_CALL: f64 = 4.0;
/// A time-series row: its fixed fields, then per subnet and per node group, in memory and in the CSV text.
const BYTES_PER_SAMPLE: f64 = 160.0;
const BYTES_PER_SAMPLE_SUBNET: f64 = 24.0;
const BYTES_PER_SAMPLE_GROUP: f64 = 44.0;
/// Events one pod or one node can cause at a single instant: its own chain (its controller's sync and create,
/// the scheduler's cycle, the binding, the sandbox, PLEG's sighting, the status updates, …) when every delay
/// is zero, plus its EC2 calls' answers and lifecycle steps. Retries and back-offs are positive, so nothing
/// repeats at one instant.
const INSTANT_EVENTS_PER_POD_OR_NODE: f64 = 24.0;
/// The least events an instant may see before a run is declared stalled, however small the run.
const MIN_INSTANT_LIMIT: u64 = 1_000_000;

/// How large a run may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes of memory the run may be estimated to need (`--max-memory`).
    pub max_memory: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_memory: DEFAULT_MAX_MEMORY,
        }
    }
}

/// What a run is expected to cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Pods the workloads create.
    pub pods: f64,
    /// The most nodes the node groups may have, summed.
    pub nodes: f64,
    pub events: f64,
    pub bytes: f64,
    /// What adds to the size, one entry per workload, node group, tenant and the time series.
    parts: Vec<Part>,
}

/// One contributor to a run's size, under the key that sets it.
#[derive(Clone, Debug, PartialEq)]
struct Part {
    key: String,
    /// What it amounts to, for messages: "about 3.6e9 pods", "up to 1,000 nodes".
    what: String,
    events: f64,
    bytes: f64,
}

/// A run that cannot fit: the key that drives it and why. Displays as `KEY: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct OverBudget {
    /// Key path such as `workloads[2].pods_per_minute`.
    pub key: String,
    pub message: String,
}

impl Estimate {
    /// Events one instant may see before the run is declared stalled ([`crate::sim::engine::Stall`]): more
    /// than all the run's pods and nodes could cause together at one instant, so a valid run never reaches it,
    /// and small enough that a stalled run stops in seconds.
    pub fn instant_limit(&self) -> u64 {
        let limit = INSTANT_EVENTS_PER_POD_OR_NODE * (self.pods + self.nodes);
        // `as` saturates: an estimate beyond u64 gives u64::MAX.
        (limit as u64).max(MIN_INSTANT_LIMIT)
    }

    fn largest(&self, by: impl Fn(&Part) -> f64) -> &Part {
        self.parts
            .iter()
            .max_by(|a, b| by(a).total_cmp(&by(b)))
            .expect("the time series is always a part")
    }
}

impl Budget {
    /// A budget from `--max-memory SIZE`: a memory quantity in the scenario schema's units (`"512Mi"`,
    /// `"64Gi"`).
    pub fn with_max_memory(size: &str) -> Result<Budget, String> {
        let mib = super::validate::parse_memory_mib(size)?;
        if mib < 1.0 {
            return Err(format!("{} is less than 1Mi", size.trim()));
        }
        Ok(Budget {
            max_memory: (mib * f64::from(1u32 << 20)) as u64,
        })
    }

    /// The run's estimate, or why it cannot run: more events than the engine can number (no override), or
    /// more memory than `max_memory`.
    pub fn check(&self, scenario: &Scenario) -> Result<Estimate, OverBudget> {
        let e = estimate(scenario);
        let during = format!("in {}", scenario.duration);
        if e.events > MAX_SEQ as f64 {
            let p = e.largest(|p| p.events);
            return Err(OverBudget {
                key: p.key.clone(),
                message: format!(
                    "{} {during}: about {} events in the run, more than the {} one run can number; \
                     shorten the run or lower this",
                    p.what,
                    Count(e.events),
                    Count(MAX_SEQ as f64)
                ),
            });
        }
        if e.bytes > self.max_memory as f64 {
            let p = e.largest(|p| p.bytes);
            return Err(OverBudget {
                key: p.key.clone(),
                message: format!(
                    "{} {during}: the run would need about {} of memory, over the {} limit; lower this, \
                     or raise the limit with --max-memory SIZE (e.g. --max-memory 64Gi) if the machine has it",
                    p.what,
                    Bytes(e.bytes),
                    Bytes(self.max_memory as f64)
                ),
            });
        }
        Ok(e)
    }
}

/// The size of `scenario`'s run.
pub fn estimate(scenario: &Scenario) -> Estimate {
    let end = SimTime::ZERO + scenario.duration;
    let secs_from = |start: SimDuration| end.since(SimTime::ZERO + start).as_secs_f64();
    let mut parts = Vec::new();
    let mut pods = 0.0;
    for (i, w) in scenario.workloads.iter().enumerate() {
        let (key, n) = workload_pods(&w.kind, scenario.duration, &secs_from);
        pods += n;
        parts.push(Part {
            key: format!("workloads[{i}].{key}"),
            what: format!("about {} pods", Count(n)),
            events: n * EVENTS_PER_POD,
            bytes: n * BYTES_PER_POD,
        });
    }
    let mut nodes = 0.0;
    for (i, g) in scenario.node_groups.iter().enumerate() {
        let most = g
            .scale
            .iter()
            .map(|s| s.count)
            .chain(g.provisioner.map(|p| p.max_nodes))
            .fold(g.count, u32::max);
        let n = f64::from(most);
        nodes += n;
        parts.push(Part {
            key: format!("node_groups[{i}].count"),
            what: format!("up to {} nodes", Count(n)),
            events: n * secs_from(g.launch_at) * EVENTS_PER_NODE_SECOND,
            bytes: n * BYTES_PER_NODE,
        });
    }
    for (i, s) in scenario.subnets.iter().enumerate() {
        for (j, t) in s.tenants.iter().enumerate() {
            // An arrival and a release per address taken.
            let arrivals = secs_from(SimDuration::ZERO) / t.interarrival.mean_secs();
            parts.push(Part {
                key: format!("subnets[{i}].tenants[{j}].interarrival"),
                what: format!("about {} tenant arrivals", Count(arrivals)),
                events: 2.0 * arrivals,
                bytes: 0.0,
            });
        }
    }
    for e in &scenario.script.events {
        if let Change::ExternalLoad { caller } = e.change {
            let c = &scenario.external_callers[caller];
            let left = end.since(SimTime::ZERO + e.at);
            let secs = c.duration.min(left).as_secs_f64();
            let calls: f64 = c.rates.iter().map(|&(_, r)| r * secs).sum();
            parts.push(Part {
                key: format!("events[{}].calls_per_second", e.index),
                what: format!("about {} external calls", Count(calls)),
                events: EVENTS_PER_EXTERNAL_CALL * calls,
                bytes: 0.0,
            });
        }
    }
    let samples = (scenario.duration.0 / scenario.sample_interval.0.max(1) + 1) as f64;
    let per_sample = BYTES_PER_SAMPLE
        + BYTES_PER_SAMPLE_SUBNET * scenario.subnets.len() as f64
        + BYTES_PER_SAMPLE_GROUP * scenario.node_groups.len() as f64;
    parts.push(Part {
        key: "sample_interval".to_string(),
        what: format!("{} time-series samples", Count(samples)),
        events: samples,
        bytes: samples * per_sample,
    });
    Estimate {
        pods,
        nodes,
        events: parts.iter().map(|p| p.events).sum(),
        bytes: parts.iter().map(|p| p.bytes).sum(),
        parts,
    }
}

/// The pods a workload creates before the run's end (`duration`), and the key that sets their number.
fn workload_pods(
    kind: &WorkloadKind,
    duration: SimDuration,
    secs_from: &impl Fn(SimDuration) -> f64,
) -> (&'static str, f64) {
    match kind {
        WorkloadKind::Steady {
            rate_per_s,
            start,
            stop,
            ..
        } => {
            let window = secs_from(*start) - stop.map_or(0.0, secs_from);
            ("pods_per_minute", rate_per_s * window.max(0.0))
        }
        WorkloadKind::Deployment { replicas, steps } => {
            // The first replicas, then every increase due before the end.
            let mut now = *replicas;
            let mut created = f64::from(now);
            for s in steps.iter().filter(|s| s.at <= duration) {
                created += f64::from(s.count.saturating_sub(now));
                now = s.count;
            }
            ("replicas", created)
        }
        WorkloadKind::CronJob {
            period,
            start,
            pods,
            ..
        } => {
            let runs = if *start <= duration {
                ((duration.0 - start.0) / period.0.max(1) + 1) as f64
            } else {
                0.0
            };
            ("pods", f64::from(*pods) * runs)
        }
        WorkloadKind::Diurnal { curve, .. } => (
            "mean_pods_per_minute",
            curve.mean_rate_per_s * secs_from(SimDuration::ZERO),
        ),
        WorkloadKind::Trace { rows } => (
            "file",
            rows.iter()
                .filter(|r| r.at <= duration && matches!(r.action, TraceAction::CreatePod { .. }))
                .count() as f64,
        ),
    }
}

/// A count for messages: exact with thousands separators below a million, else like `3.6e9`.
struct Count(f64);

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0.round();
        if x >= 1e6 {
            return write!(f, "{:.1e}", self.0);
        }
        let digits = (x as u64).to_string();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_str(",")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A size in the binary units of the scenario schema's memory quantities (`"512Mi"`, `"8Gi"`).
struct Bytes(f64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [
            ("Ki", 1u64 << 10),
            ("Mi", 1 << 20),
            ("Gi", 1 << 30),
            ("Ti", 1 << 40),
        ];
        let (unit, size) = units
            .iter()
            .rev()
            .find(|(_, size)| self.0 >= *size as f64)
            .unwrap_or(&units[0]);
        let x = self.0 / *size as f64;
        if x < 10.0 && x.fract() != 0.0 {
            write!(f, "{x:.1}{unit}")
        } else {
            write!(f, "{x:.0}{unit}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_sizes_read_as_people_write_them() {
        assert_eq!(Count(542_542.4).to_string(), "542,542");
        assert_eq!(Count(999.0).to_string(), "999");
        assert_eq!(Count(3.6e9).to_string(), "3.6e9");
        assert_eq!(Bytes(8.0 * (1u64 << 30) as f64).to_string(), "8Gi");
        assert_eq!(Bytes(1.5 * (1u64 << 40) as f64).to_string(), "1.5Ti");
        assert_eq!(Bytes(213e6).to_string(), "203Mi");
    }

    #[test]
    fn max_memory_takes_the_schema_memory_units() {
        let gi = |n: u64| {
            Ok(Budget {
                max_memory: n << 30,
            })
        };
        assert_eq!(Budget::with_max_memory("64Gi"), gi(64));
        assert_eq!(Budget::with_max_memory("2048Gi"), gi(2048));
        assert_eq!(Budget::with_max_memory("1024Mi"), gi(1));
        assert!(Budget::with_max_memory("8G").is_err());
        assert!(Budget::with_max_memory("0Mi").is_err());
    }
}
