//! The CSV files of a run: one row per sample (`timeseries.csv`), per API attempt (`api_calls.csv`), per node
//! (`nodes.csv`), per pod (`pods.csv`) and, for a traced run, per decision (`trace.csv`). The per-attempt,
//! per-pod and per-decision rows are made one at a time as the run streams its records (`stream`).

use std::io;

use super::brownfield;
use super::row::{Micros, Row};
use crate::scenarios::Scenario;
use crate::sim::ec2::InstanceId;
use crate::sim::ec2::record::AttemptRecord;
use crate::sim::kube::cluster::ClientOwner;
use crate::sim::kube::pods::{Pod, PodId};
use crate::sim::kube::trace::LogLine;
use crate::sim::sink::TraceSource;
use crate::sim::time::SimTime;
use crate::sim::world::World;

type Csv = csv::Writer<Vec<u8>>;

fn finish(w: Csv) -> io::Result<Vec<u8>> {
    w.into_inner().map_err(|e| e.into_error())
}

/// A time as seconds with six decimals.
fn secs(t: SimTime) -> String {
    Micros::secs(t).to_string()
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// timeseries.csv of a run.
pub fn timeseries_csv(world: &World) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["time_s".to_string()];
    for s in world.ec2.inventory().subnets() {
        header.push(format!("{}.free_addresses", s.name()));
        header.push(format!("{}.free_prefix_blocks", s.name()));
    }
    header.extend(
        [
            "instances_running",
            "enis",
            "ips_allocated",
            "ips_assigned",
            "ips_cooling",
            "ipamd_enis",
            "ipamd_prefixes",
            "pods_pending",
            "pods_starting",
            "pods_running",
            "api_calls",
            "api_throttled",
        ]
        .map(String::from),
    );
    for g in world.cluster.node_groups.stats() {
        for column in ["ips_allocated", "ips_assigned", "ips_cooling"] {
            header.push(format!("node_group.{}.{column}", g.name));
        }
    }
    header.extend(brownfield::timeseries_header(world));
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for (i, r) in world.timeseries.rows.iter().enumerate() {
        row.clear();
        row.push(format!("{:.3}", r.time.as_secs_f64()));
        for &(free, blocks) in &r.subnets {
            row.push(free.to_string());
            row.push(blocks.to_string());
        }
        let p = &r.pools;
        row.extend(
            [
                r.instances_running,
                r.enis,
                p.allocated,
                p.assigned,
                p.cooling,
                p.enis,
                p.prefixes,
                r.pods_pending,
                r.pods_starting,
                r.pods_running,
            ]
            .map(|v| v.to_string()),
        );
        row.push(r.api_attempts.to_string());
        row.push(r.throttled.to_string());
        for g in &r.group_pools {
            row.extend([g.allocated, g.assigned, g.cooling].map(|v| v.to_string()));
        }
        brownfield::timeseries_row(world, i, &mut row);
        w.write_record(&row)?;
    }
    finish(w)
}

/// What a run's rows name by index: its workloads and node groups.
pub(super) struct Names {
    workloads: Vec<String>,
    node_groups: Vec<String>,
    /// The run's end: a pull still under way then has no `image_pulled_s` yet.
    end: SimTime,
}

impl Names {
    pub(super) fn of(scenario: &Scenario) -> Names {
        Names {
            workloads: scenario.workloads.iter().map(|w| w.name.clone()).collect(),
            node_groups: scenario
                .node_groups
                .iter()
                .map(|g| g.name.clone())
                .collect(),
            end: SimTime::ZERO + scenario.duration,
        }
    }
}

/// The columns of `api_calls.csv`.
pub(super) const API_CALL_COLUMNS: [&str; 7] = [
    "time_s",
    "node",
    "caller",
    "action",
    "attempt",
    "outcome",
    "latency_ms",
];

/// One attempt's row: who made it (a node's ipamd by node index, a node group, a caller outside the cluster or
/// the operator), what, and how it went.
pub(super) fn api_call_row(names: &Names, a: &AttemptRecord, caller: ClientOwner, row: &mut Row) {
    row.start().field(Micros::secs(a.sent));
    match caller {
        ClientOwner::Ipamd(n) => row.field(n).field("ipamd"),
        ClientOwner::NodeGroup(g) => row
            .field("")
            .field(format_args!("node-group:{}", names.node_groups[g])),
        // Their attempts are not logged (sim::ec2::external).
        ClientOwner::External => row.field("").field("external"),
        ClientOwner::Operator(_) => row.field("").field("operator"),
        ClientOwner::ResourceController => row.field("").field("resource-controller"),
    };
    row.field(a.action)
        .field(a.attempt)
        .field(a.outcome.label())
        .field(Micros {
            us: a.latency.0,
            per: 1_000,
        });
}

/// One row per node: its ipamd's gauges at the end of the run and its counters.
pub(super) fn nodes_csv(scenario: &Scenario, world: &World, end: SimTime) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "node",
        "instance",
        "node_group",
        "subnet",
        "az",
        "mode",
        "phase",
        "registered_s",
        "aws_node_started_s",
        "ready_s",
        "pods",
        "total_ip_addresses",
        "assigned_ip_addresses",
        "cooling_ip_addresses",
        "eni_allocated",
        "total_ipv4_prefixes",
        "free_ipv4_prefixes",
        "add_ip_requests",
        "add_failures",
        "increases",
        "decreases",
        "enis_allocated",
        "enis_freed",
        "api_errors",
    ])?;
    for (i, n) in world.cluster.nodes.iter().enumerate() {
        let m = n.ipamd.metrics(end);
        let c = &m.counters;
        let inventory = world.ec2.inventory();
        let instance = inventory.instance(n.instance).expect("a node's instance");
        let subnet = inventory.subnet(instance.subnet);
        let mode = {
            let st = n.ipamd.state();
            if st.cfg.enable_ipv6 {
                "ipv6"
            } else if st.limits.is_prefix() {
                "prefix"
            } else {
                "secondary-ip"
            }
        };
        w.write_record([
            i.to_string(),
            n.instance.to_string(),
            scenario.node_groups[n.group].name.clone(),
            subnet.name().to_string(),
            subnet.az().to_string(),
            mode.to_string(),
            format!("{:?}", n.phase).to_lowercase(),
            secs(n.registered),
            opt(n.aws_node_started.map(secs)),
            opt(n.ready_at.filter(|&t| t <= end).map(secs)),
            n.pods.to_string(),
            m.total_ip_addresses.to_string(),
            m.assigned_ip_addresses.to_string(),
            m.cooling_ip_addresses.to_string(),
            m.eni_allocated.to_string(),
            m.total_ipv4_prefixes.to_string(),
            m.free_ipv4_prefixes.to_string(),
            c.add_ip_requests.to_string(),
            c.add_failures.to_string(),
            c.increases.to_string(),
            c.decreases.to_string(),
            c.enis_allocated.to_string(),
            c.enis_freed.to_string(),
            c.api_errors.values().sum::<u64>().to_string(),
        ])?;
    }
    finish(w)
}

/// The columns of `pods.csv`, in order (`vpcsim explain` reads them by name).
pub const POD_COLUMNS: [&str; 21] = [
    "pod",
    "workload",
    "node_group",
    "created_s",
    "scheduled_s",
    "bound_s",
    "sandbox_s",
    "ip_assigned_s",
    "image_pulled_s",
    "running_s",
    "ready_s",
    "deleted_s",
    "ip_released_s",
    "node",
    "instance",
    "eni",
    "address",
    "failed_add_attempts",
    "wait_reason",
    "ip_wait_s",
    "replaces",
];

/// Pod `id`'s row; `instance` is its node's.
pub(super) fn pod_row(
    names: &Names,
    id: PodId,
    p: &Pod,
    instance: Option<InstanceId>,
    row: &mut Row,
) {
    let secs = |t: Option<SimTime>| t.map(Micros::secs);
    let ip_wait = match (p.sandbox, p.ip_assigned) {
        (Some(s), Some(a)) => Some(Micros {
            us: a.since(s).0,
            per: 1_000_000,
        }),
        _ => None,
    };
    row.start()
        .field(id)
        .field(&names.workloads[p.workload as usize])
        .opt(p.node_group.map(|g| &names.node_groups[g]))
        .field(Micros::secs(p.created))
        .opt(secs(p.scheduled))
        .opt(secs(p.bound))
        .opt(secs(p.sandbox))
        .opt(secs(p.ip_assigned))
        .opt(secs(p.image_pulled.filter(|&t| t <= names.end)))
        .opt(secs(p.running))
        .opt(secs(p.ready))
        .opt(secs(p.deleted))
        .opt(secs(p.ip_released))
        .opt(p.node)
        .opt(instance)
        .opt(p.eni)
        .opt(p.address)
        .field(p.failed_adds)
        .opt(p.wait_reason)
        .opt(ip_wait)
        .opt(p.replaces);
}

/// The columns of `trace.csv`.
pub(super) const TRACE_COLUMNS: [&str; 5] = ["time_s", "node", "pod", "source", "event"];

/// One traced line's row.
pub(super) fn trace_row(source: TraceSource, l: &LogLine, row: &mut Row) {
    row.start()
        .field(Micros::secs(l.at))
        .opt(l.node)
        .opt(l.pod)
        .field(source.label())
        .field(&l.what);
}
