//! The CSV files of a run: one row per sample (`timeseries.csv`), per API attempt (`api_calls.csv`), per node
//! (`nodes.csv`), per pod (`pods.csv`) and, for a traced run, per decision (`trace.csv`).

use std::io;

use super::brownfield;
use crate::scenarios::Scenario;
use crate::sim::kube::cluster::ClientOwner;
use crate::sim::kube::trace::LogLine;
use crate::sim::time::SimTime;
use crate::sim::world::World;

type Csv = csv::Writer<Vec<u8>>;

fn finish(w: Csv) -> io::Result<Vec<u8>> {
    w.into_inner().map_err(|e| e.into_error())
}

/// A time as seconds with six decimals. Integer arithmetic gives the digits `{:.6}` of the float would (any
/// run's microseconds are far inside f64's exact range) without float formatting, which dominated writing
/// pods.csv.
fn secs(t: SimTime) -> String {
    micros(t.0, 1_000_000)
}

/// `us` microseconds in units of `per` microseconds (10^k), with k decimals.
fn micros(us: u64, per: u64) -> String {
    let decimals = per.ilog10() as usize;
    format!("{}.{:0decimals$}", us / per, us % per)
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

/// Who made the calls of EC2 client `client`: a node's ipamd (by node index), or a node group.
fn caller(scenario: &Scenario, world: &World, client: u32) -> (String, String) {
    match world.cluster.owner(client) {
        ClientOwner::Ipamd(n) => (n.to_string(), "ipamd".to_string()),
        ClientOwner::NodeGroup(g) => (
            String::new(),
            format!("node-group:{}", scenario.node_groups[g].name),
        ),
        // Their attempts are not logged (sim::ec2::external).
        ClientOwner::External => (String::new(), "external".to_string()),
        ClientOwner::Operator(_) => (String::new(), "operator".to_string()),
    }
}

pub(super) fn api_calls_csv(scenario: &Scenario, world: &World) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "time_s",
        "node",
        "caller",
        "action",
        "attempt",
        "outcome",
        "latency_ms",
    ])?;
    for a in world.ec2.record().log() {
        let (node, who) = caller(scenario, world, a.client.0);
        w.write_record([
            secs(a.sent),
            node,
            who,
            a.action.to_string(),
            a.attempt.to_string(),
            a.outcome.label().to_string(),
            micros(a.latency.0, 1_000),
        ])?;
    }
    finish(w)
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

/// One row per pod. A pull still under way at `end` has no `image_pulled_s` yet.
pub(super) fn pods_csv(scenario: &Scenario, world: &World, end: SimTime) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(POD_COLUMNS)?;
    let cluster = &world.cluster;
    for (i, p) in cluster.pods.all().iter().enumerate() {
        let ip_wait = match (p.sandbox, p.ip_assigned) {
            (Some(s), Some(a)) => micros(a.since(s).0, 1_000_000),
            _ => String::new(),
        };
        let node = p.node.map(|n| &cluster.nodes[n as usize]);
        w.write_record([
            i.to_string(),
            scenario.workloads[p.workload as usize].name.clone(),
            opt(p.node_group.map(|g| &scenario.node_groups[g].name)),
            secs(p.created),
            opt(p.scheduled.map(secs)),
            opt(p.bound.map(secs)),
            opt(p.sandbox.map(secs)),
            opt(p.ip_assigned.map(secs)),
            opt(p.image_pulled.filter(|&t| t <= end).map(secs)),
            opt(p.running.map(secs)),
            opt(p.ready.map(secs)),
            opt(p.deleted.map(secs)),
            opt(p.ip_released.map(secs)),
            opt(p.node),
            opt(node.map(|n| n.instance)),
            opt(p.eni),
            opt(p.address),
            p.failed_adds.to_string(),
            opt(p.wait_reason),
            ip_wait,
            opt(p.replaces),
        ])?;
    }
    finish(w)
}

/// The decision log and every node's EC2 calls, in time order, when the run was traced.
pub(super) fn trace_csv(world: &World) -> io::Result<Option<Vec<u8>>> {
    let Some(log) = world.cluster.log.as_ref() else {
        return Ok(None);
    };
    let mut lines: Vec<(&str, LogLine)> = log.lines.iter().map(|l| ("kube", l.clone())).collect();
    for (n, node) in world.cluster.nodes.iter().enumerate() {
        let st = node.ipamd.state();
        for (at, what) in st.decisions.iter().flatten() {
            let line = LogLine {
                at: *at,
                node: Some(n as u32),
                pod: None,
                what: what.clone(),
            };
            lines.push(("ipamd", line));
        }
        for c in st.call_trace.iter().flatten() {
            let action = c.request.action();
            let outcome = match c.error {
                None => "ok".to_string(),
                Some(code) => format!("failed: {code}"),
            };
            let took = c.answered.since(c.sent).as_secs_f64();
            for (at, what) in [
                (c.sent, format!("calls {action}")),
                (c.answered, format!("{action} {outcome} after {took:.3}s")),
            ] {
                let line = LogLine {
                    at,
                    node: Some(n as u32),
                    pod: None,
                    what,
                };
                lines.push(("ipamd", line));
            }
        }
    }
    // Stable: same-time lines keep the order they were made in (cluster log first, then nodes in order).
    lines.sort_by_key(|(_, l)| l.at);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["time_s", "node", "pod", "source", "event"])?;
    for (source, l) in lines {
        w.write_record([
            secs(l.at),
            opt(l.node),
            opt(l.pod),
            source.to_string(),
            l.what,
        ])?;
    }
    finish(w).map(Some)
}
