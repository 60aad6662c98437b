//! `summary.json`: the run's figures under fixed key names, so that scripts can read them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::brownfield;
use super::censored::{self, Wait};
use super::ipv6;
use super::security_groups;
use super::{Perf, by_name, quantiles};
use super::{scale_ups, scripted};
use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::ec2::api::ErrorCode;
use crate::sim::ec2::record::ActionRecord;
use crate::sim::ipamd::daemon::Counters;
use crate::sim::kube::node_groups::{NodeGroupStats, NodeStart, SubnetLaunches};
use crate::sim::kube::nodes::Node;
use crate::sim::kube::outcomes::{PodOutcomes, PodTally, Span};
use crate::sim::kube::pods::{WaitReason, Waited};
use crate::sim::metrics::{PoolTotals, Sample};
use crate::sim::time::SimTime;
use crate::sim::vpc::SubnetId;
use crate::sim::world::World;

/// Which entries the summary's per-action, per-error-code and per-wait-reason maps have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Only what happened: what a reader of one run wants (`summary.json`, the table).
    Used,
    /// Every action, error code and wait reason, with zeros: the same keys for every run of a scenario, so
    /// that a sweep's runs are rows under one header.
    All,
}

impl Keys {
    fn keep(self, n: u64) -> bool {
        self == Keys::All || n > 0
    }
}

/// Counts by error code: those counted, or every code with zeros.
fn error_counts(counts: &BTreeMap<ErrorCode, u64>, keys: Keys) -> Value {
    by_name(
        ErrorCode::ALL.iter().filter_map(|code| {
            let n = counts.get(code).copied().unwrap_or(0);
            keys.keep(n).then_some((code, n))
        }),
        |(code, n)| (code.to_string(), json!(n)),
    )
}

/// Every node's ipamd counters, summed.
fn ipamd_totals(world: &World) -> Counters {
    let mut totals = Counters::default();
    for n in &world.cluster.nodes {
        totals.add(&n.ipamd.state().counters);
    }
    totals
}

/// Mean over samples of (allocated − assigned) ÷ allocated, counting only samples with addresses allocated.
/// Samples are evenly spaced, so this is the time-weighted mean.
fn waste_ratio_mean<'a>(pools: impl Iterator<Item = &'a PoolTotals>) -> f64 {
    let (sum, n) = pools
        .filter_map(PoolTotals::waste_ratio)
        .fold((0.0, 0u64), |(sum, n), w| (sum + w, n + 1));
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Time-weighted mean and peak of the addresses the pools hold, and their waste ratio, over samples.
fn held_addresses<'a>(pools: impl Iterator<Item = &'a PoolTotals> + Clone) -> Value {
    let n = pools.clone().count().max(1) as f64;
    json!({
        "allocated_peak": pools.clone().map(|p| p.allocated).max().unwrap_or(0),
        "allocated_mean": pools.clone().map(|p| f64::from(p.allocated)).sum::<f64>() / n,
        "assigned_peak": pools.clone().map(|p| p.assigned).max().unwrap_or(0),
        "assigned_mean": pools.clone().map(|p| f64::from(p.assigned)).sum::<f64>() / n,
        "waste_ratio_mean": waste_ratio_mean(pools),
    })
}

/// A set of waits, as the censored quantiles take them.
fn waits(spans: &[Span]) -> Vec<Wait> {
    spans
        .iter()
        .map(|s| Wait {
            secs: s.length().as_secs_f64(),
            ended: s.ended(),
        })
        .collect()
}

/// The lengths in seconds of the waits that ended.
fn ended(spans: &[Span]) -> Vec<f64> {
    spans
        .iter()
        .filter(|s| s.ended())
        .map(|s| s.length().as_secs_f64())
        .collect()
}

/// The run's pod figures at its end: those of the pods it finished with, and those of the pods still alive,
/// their waits censored at their deletion or at `end`.
fn pod_outcomes(world: &World, end: SimTime) -> PodOutcomes {
    let cluster = &world.cluster;
    let mut outcomes = cluster.outcomes.clone();
    for (_, pod) in cluster.pods.live() {
        outcomes.add(pod, cluster.pod_group(pod), end);
    }
    outcomes
}

/// Node start-up as an outcome: `never_ready` (instances RunInstances returned whose node never turned Ready)
/// and `ready_latency_s` (RunInstances answered → node Ready), an instance not yet Ready censored at its
/// termination or at the run's `end`, like the pods' waits.
fn node_start_figures(starts: impl Iterator<Item = NodeStart>, end: SimTime) -> (usize, Value) {
    let mut waits: Vec<Wait> = starts
        .map(|s| Wait::from(s.launched, s.ready, s.terminated.unwrap_or(end)))
        .collect();
    let never_ready = waits.iter().filter(|w| !w.ended).count();
    (never_ready, censored::quantiles(&mut waits))
}

/// One node group's figures: its launches, its nodes' ipamd EC2 calls and errors, and its pods' waits, so that
/// groups that differ only in their settings can be compared within one run.
fn group_summary(
    scenario: &Scenario,
    world: &World,
    g: usize,
    stats: &NodeGroupStats,
    end: SimTime,
    pods: &PodTally,
    keys: Keys,
) -> Value {
    let cluster = &world.cluster;
    let nodes: Vec<&Node> = cluster.nodes.iter().filter(|n| n.group == g).collect();
    let rec = world.ec2.record();
    let calls = by_name(
        Action::ALL.iter().filter_map(|&a| {
            let n: u64 = nodes
                .iter()
                .map(|n| rec.client_attempts(n.ipamd.client(), a))
                .sum();
            keys.keep(n).then_some((a, n))
        }),
        |(a, n)| (a.to_string(), json!(n)),
    );
    let mut counters = Counters::default();
    for n in &nodes {
        counters.add(&n.ipamd.state().counters);
    }
    let errors = error_counts(&counters.api_errors, keys);
    let (never_ready, ready_latency) = node_start_figures(cluster.node_groups.starts(g), end);
    let inventory = world.ec2.inventory();
    // Under `Keys::All` every subnet of the file, so that a sweep moving the group between subnets keeps one
    // header.
    let launches = |s: SubnetId| {
        stats
            .by_subnet
            .iter()
            .find(|(i, _)| *i == s)
            .map(|(_, l)| l)
    };
    let listed: Vec<SubnetId> = match keys {
        Keys::Used => stats.by_subnet.iter().map(|(s, _)| *s).collect(),
        Keys::All => (0..inventory.subnets().len() as u32)
            .map(SubnetId)
            .collect(),
    };
    let subnets = by_name(listed, |s| {
        let (launched, failed) = launches(s).map_or((0, 0), |l| (l.launched, l.failed_launches));
        let v = json!({ "launched": launched, "failed_launches": failed });
        (inventory.subnet(s).name().to_string(), v)
    });
    let mut v = json!({
        "launched": stats.launched,
        "never_ready": never_ready,
        "ready_latency_s": ready_latency,
        "failed_launches": stats.failed_launches,
        "time_to_all_launched_s": stats.time_to_all_launched.map(|d| d.as_secs_f64()),
        "subnets": subnets,
        "nodes_started": nodes.len(),
        "ipamd_ec2_calls": calls,
        "ipamd_api_errors": errors,
        "ips": held_addresses(world.timeseries.rows.iter().map(|r| &r.group_pools[g])),
        // A pod belongs to the group of its node, or, until it has one, to the group its selector names, so
        // that pods that never got a node are counted where they wait.
        "pods": pod_figures(pods, keys),
    });
    if let Some(v6) = ipv6::group(world, g, pods) {
        v["ipv6"] = v6;
    }
    if let Some(sgp) = security_groups::group(scenario, world, g, pods) {
        v["security_groups_for_pods"] = sgp;
    }
    v
}

/// The reasons the scheduler gives a pod it cannot place; every other reason is a failed CNI ADD's.
const NODE_WAIT_REASONS: [WaitReason; 3] = [
    WaitReason::MaxPods,
    WaitReason::Unschedulable,
    WaitReason::InsufficientPodEni,
];

/// Pods of `waited` counted by their wait reason, under the labels of `possible` too when `keys` wants zeros.
fn reason_counts(
    pods: &PodTally,
    waited: Waited,
    possible: impl Iterator<Item = WaitReason>,
    keys: Keys,
) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::<String, u64>::new();
    if keys == Keys::All {
        counts.extend(possible.map(|r| (r.label(), 0)));
    }
    for &(_, r, n) in pods.reasons.iter().filter(|(w, _, _)| *w == waited) {
        *counts.entry(r.label()).or_default() += n;
    }
    counts
}

/// Figures over a set of pods (the whole run's, or one node group's). A pod's wait reason is its last
/// ([`Pod::waited`]): a pod whose image pull failed or was refused is counted under the image's reason
/// (`image_wait_reasons`, which sum to `waited_for_an_image`), else a pod that failed a CNI ADD under what that
/// ADD waited for (`address_wait_reasons`, which sum to `waited_for_an_address`), else a pod that only waited
/// to be scheduled under the scheduler's reason (`node_wait_reasons`, which sum to `waited_for_a_node`), so
/// each pod is counted once and each sum agrees with the count beside it.
///
/// Pods that never reached Running count in `never_started` (`deleted_before_running` of them were deleted
/// first) and in the latency quantiles as censored waits ([`censored::quantiles`]); `started_only` keeps the
/// quantiles over the pods that got there.
fn pod_figures(pods: &PodTally, keys: Keys) -> Value {
    json!({
        "created": pods.created,
        "started": pods.started,
        "never_started": pods.created - pods.started,
        "deleted_before_running": pods.deleted_before_running,
        // No pods: nothing to take a share of.
        "started_ratio": (pods.created > 0).then(|| pods.started as f64 / pods.created as f64),
        "failed_add_attempts": pods.failed_adds,
        "failed_pull_attempts": pods.failed_pulls,
        "waited_for_an_address": pods.waited(Waited::Address),
        "waited_for_a_node": pods.waited(Waited::Node),
        "waited_for_an_image": pods.waited(Waited::Image),
        "ip_wait_s": censored::quantiles(&mut waits(&pods.ip_wait)),
        "launch_latency_s": censored::quantiles(&mut waits(&pods.launch)),
        "ready_latency_s": censored::quantiles(&mut waits(&pods.ready)),
        "started_only": {
            "ip_wait_s": quantiles(&mut ended(&pods.ip_wait)),
            "launch_latency_s": quantiles(&mut ended(&pods.launch)),
            "ready_latency_s": quantiles(&mut ended(&pods.ready)),
        },
        "address_wait_reasons": reason_counts(
            pods,
            Waited::Address,
            WaitReason::all().filter(|r| {
                !matches!(
                    r,
                    WaitReason::Unschedulable | WaitReason::InsufficientPodEni
                ) && !r.is_image()
            }),
            keys,
        ),
        "node_wait_reasons": reason_counts(pods, Waited::Node, NODE_WAIT_REASONS.into_iter(), keys),
        "image_wait_reasons": reason_counts(
            pods,
            Waited::Image,
            WaitReason::all().filter(WaitReason::is_image),
            keys,
        ),
    })
}

/// The run's summary as a JSON tree; object keys are sorted, so the text is deterministic but for the
/// wall-clock figures under `run`.
pub fn summary(scenario: &Scenario, world: &World, perf: Perf, keys: Keys) -> Value {
    let rec = world.ec2.record();
    let used: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|&a| keys.keep(rec.action(a).attempts()))
        .collect();
    let per_action =
        |f: &dyn Fn(&ActionRecord) -> Value| by_name(&used, |&a| (a.to_string(), f(rec.action(a))));
    let latency = per_action(&|r| {
        let q = |q: f64| r.latency.quantile(q).as_secs_f64();
        json!({ "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": q(1.0) })
    });
    // Throttling shows as RequestLimitExceeded, like every other error code.
    let errors = by_name(
        ErrorCode::ALL.iter().filter_map(|&code| {
            let n: u64 = if code == ErrorCode::RequestLimitExceeded {
                rec.total_throttled()
            } else {
                Action::ALL
                    .iter()
                    .map(|&a| rec.action(a).errors_with(code))
                    .sum()
            };
            keys.keep(n).then_some((code, n))
        }),
        |(code, n)| (code.to_string(), json!(n)),
    );
    let end = SimTime::ZERO + scenario.duration;
    let outcomes = pod_outcomes(world, end);
    let groups = world.cluster.node_groups.stats();
    let launches = |id: SubnetId| {
        groups
            .iter()
            .flat_map(|g| &g.by_subnet)
            .filter(|(s, _)| *s == id)
            .fold(SubnetLaunches::default(), |a, (_, l)| SubnetLaunches {
                launched: a.launched + l.launched,
                failed_launches: a.failed_launches + l.failed_launches,
            })
    };
    let subnets = by_name(
        world.ec2.inventory().subnets().iter().enumerate(),
        |(i, s)| {
            let nodes = launches(SubnetId(i as u32));
            let mut v = json!({
                "cidr": s.cidr().to_string(),
                "min_free_addresses": s.min_free_addresses(),
                "min_free_prefix_blocks": s.min_free_prefix_blocks(),
                "final_free_addresses": s.free_addresses(),
                "final_free_prefix_blocks": s.free_prefix_blocks(),
                "nodes_launched": nodes.launched,
                "node_launch_failures": nodes.failed_launches,
            });
            if let Some(r) = brownfield::reservations(world, SubnetId(i as u32), end) {
                v["reservations"] = r;
            }
            if let Some(v6) = ipv6::subnet(world, SubnetId(i as u32)) {
                v["ipv6"] = v6;
            }
            (s.name().to_string(), v)
        },
    );
    let tenants = by_name(world.tenants.stats(), |t| {
        (t.name, json!({ "held": t.held, "refused": t.refused }))
    });
    let cluster = &world.cluster;
    let node_groups = by_name(groups.iter().enumerate(), |(g, stats)| {
        (
            stats.name.clone(),
            group_summary(scenario, world, g, stats, end, &outcomes.by_group[g], keys),
        )
    });
    let (never_ready, ready_latency) = node_start_figures(
        (0..groups.len()).flat_map(|g| cluster.node_groups.starts(g)),
        end,
    );
    let rows = &world.timeseries.rows;
    let peak = |f: &dyn Fn(&Sample) -> u32| rows.iter().map(f).max().unwrap_or(0);
    let totals = ipamd_totals(world);
    let ipamd_errors = error_counts(&totals.api_errors, keys);
    let mut pods = pod_figures(&outcomes.total(), keys);
    pods["pending_peak"] = json!(peak(&|r| r.pods_pending));
    pods["running_peak"] = json!(peak(&|r| r.pods_running));
    let sgp = security_groups::cluster(scenario, world, &outcomes.total(), keys);
    let mut enis = json!({ "peak": peak(&|r| r.enis) });
    if let Some(leaked) = brownfield::leaks(world) {
        enis["leaked"] = leaked;
    }
    let mut v = json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "duration_s": scenario.duration.as_secs_f64(),
        "run": {
            "events": perf.stats.events,
            "peak_pending_events": perf.stats.peak_pending,
            "wall_s": perf.wall_s,
            "events_per_sec": perf.events_per_sec(),
            "simulated_s_per_wall_s": perf.simulated_s_per_wall_s(),
        },
        "pods": pods,
        "ec2": {
            "calls": per_action(&|r| json!(r.attempts())),
            "calls_total": rec.total_attempts(),
            "throttled_total": rec.total_throttled(),
            "throttled": per_action(&|r| json!(r.throttled)),
            "retries": per_action(&|r| json!(r.retries)),
            "failed_calls": per_action(&|r| json!(r.calls_failed.iter().sum::<u64>())),
            "latency_s": latency,
            "errors": errors,
        },
        "subnets": subnets,
        "tenants": tenants,
        "nodes": {
            "launched": groups.iter().map(|g| g.launched).sum::<u32>(),
            "never_ready": never_ready,
            "ready_latency_s": ready_latency,
            "failed_launches": groups.iter().map(|g| g.failed_launches).sum::<u64>(),
            "peak": peak(&|r| r.instances_running),
        },
        "node_groups": node_groups,
        "deployments": scale_ups::deployments(scenario, &outcomes.ready_changes, end),
        "events": scripted::events(scenario, world),
        "enis": enis,
        "ips": held_addresses(rows.iter().map(|r| &r.pools)),
        "ipamd": {
            "nodes": cluster.nodes.len(),
            "add_ip_requests": totals.add_ip_requests,
            "add_failures": totals.add_failures,
            "del_ip_requests": totals.del_ip_requests,
            "increases": totals.increases,
            "decreases": totals.decreases,
            "cidrs_released": totals.cidrs_released,
            "enis_allocated": totals.enis_allocated,
            "enis_freed": totals.enis_freed,
            "init_failures": totals.init_failures,
            "insufficient_cidr_freezes": totals.insufficient_cidr_freezes,
            "api_errors": ipamd_errors,
        },
        "aws_node": aws_node_figures(cluster),
    });
    if let Some(sgp) = sgp {
        v["security_groups_for_pods"] = sgp;
    }
    v
}

/// aws-node restarts and liveness kills over all nodes, and each rolling update's start, end and size
/// (`rollouts.<i>.…`, in the order they started; `finished_s` null while one runs).
fn aws_node_figures(cluster: &crate::sim::kube::cluster::Cluster) -> Value {
    let nodes = &cluster.nodes;
    let rollouts: Vec<Value> = cluster
        .rollouts
        .iter()
        .map(|r| {
            json!({
                "started_s": r.started.as_secs_f64(),
                "finished_s": r.finished.map(|t| t.as_secs_f64()),
                "nodes_restarted": r.restarted,
                "max_down": r.max_down,
            })
        })
        .collect();
    json!({
        "restarts": nodes.iter().map(|n| u64::from(n.aws_node.restarts)).sum::<u64>(),
        "liveness_kills": nodes.iter().map(|n| u64::from(n.aws_node.liveness_kills)).sum::<u64>(),
        "rollouts": rollouts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kube::pods::Pods;
    use crate::sim::kube::workloads::PodRequest;
    use crate::sim::time::SimDuration;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    /// Four pods created at 0 s, in a run that ends at 100 s: one Running after 2 s and Ready after 5 s, one
    /// still waiting for an address, one deleted at 30 s before it ran, one never scheduled. The three
    /// scheduled ones made their first CNI ADD at 1 s.
    fn four_pods() -> PodTally {
        let req = PodRequest {
            workload: 0,
            node_group: Some(0),
            shape: Default::default(),
            lifetime: None,
            trace_pod: None,
        };
        let mut pods = Pods::default();
        for _ in 0..4 {
            pods.create(&req, at(0), None);
        }
        for p in 0..3 {
            let pod = pods.get_mut(p);
            (pod.scheduled, pod.sandbox) = (Some(at(0)), Some(at(1)));
        }
        let ran = pods.get_mut(0);
        (ran.ip_assigned, ran.running, ran.ready) = (Some(at(2)), Some(at(2)), Some(at(5)));
        pods.get_mut(2).deleted = Some(at(30));
        let mut tally = PodTally::default();
        for (_, p) in pods.live() {
            tally.add(p, at(100));
        }
        tally
    }

    #[test]
    fn pods_that_never_ran_are_counted_and_make_the_latencies_lower_bounds() {
        let v = pod_figures(&four_pods(), Keys::All);
        assert_eq!(v["started"], json!(1));
        assert_eq!(v["never_started"], json!(3));
        assert_eq!(v["deleted_before_running"], json!(1));
        assert_eq!(v["started_ratio"], json!(0.25));
        // Launch latency: 2 s (ran), ≥ 100 s (waiting), ≥ 30 s (deleted), ≥ 100 s (never scheduled).
        let launch = &v["launch_latency_s"];
        assert_eq!(launch["p50"], json!(30.0));
        assert_eq!(launch["p50_censored"], json!(true));
        assert_eq!(launch["p99"], json!(100.0));
        assert_eq!(launch["p99_censored"], json!(true));
        // Ready latency: 5 s, then the same lower bounds.
        assert_eq!(v["ready_latency_s"]["p50"], json!(30.0));
        assert_eq!(v["started_only"]["ready_latency_s"]["max"], json!(5.0));
        // IP wait counts only the pods with a sandbox: 1 s, ≥ 29 s, ≥ 99 s.
        let ip = &v["ip_wait_s"];
        assert_eq!(ip["max"], json!(99.0));
        assert_eq!(ip["max_censored"], json!(true));
        // The figures over the pods that got there, under their own name.
        assert_eq!(v["started_only"]["launch_latency_s"]["p99"], json!(2.0));
        assert_eq!(v["started_only"]["ip_wait_s"]["p99"], json!(1.0));
    }

    #[test]
    fn a_node_that_never_turned_ready_counts_and_bounds_the_ready_latency() {
        let start = |launched, ready: Option<u64>, terminated: Option<u64>| NodeStart {
            launched: at(launched),
            ready: ready.map(at),
            terminated: terminated.map(at),
        };
        let starts = [
            start(10, Some(40), None),
            start(10, None, Some(70)),
            start(20, None, None),
        ];
        let (never_ready, q) = node_start_figures(starts.into_iter(), at(100));
        assert_eq!(never_ready, 2);
        // 30 s, ≥ 60 s (terminated first), ≥ 80 s (still booting at the end).
        assert_eq!(q["p50"], json!(60.0));
        assert_eq!(q["p50_censored"], json!(true));
        assert_eq!(q["max"], json!(80.0));
        let (never_ready, q) = node_start_figures(starts[..1].iter().copied(), at(100));
        assert_eq!(never_ready, 0);
        assert_eq!(q["max"], json!(30.0));
        assert_eq!(q["max_censored"], json!(false));
    }

    #[test]
    fn no_pods_have_no_started_ratio_but_every_key() {
        let v = pod_figures(&PodTally::default(), Keys::All);
        assert_eq!(v["never_started"], json!(0));
        assert_eq!(v["started_ratio"], Value::Null);
        assert_eq!(v["launch_latency_s"]["p99_censored"], json!(false));
    }

    /// Sweep columns come from `Keys::All`: a reason no pod had still gets its column, at 0, so every point's
    /// `results.csv` row has the same header.
    #[test]
    fn every_address_wait_reason_has_a_key_at_zero() {
        let v = pod_figures(&PodTally::default(), Keys::All);
        let reasons = v["address_wait_reasons"].as_object().unwrap();
        for r in [
            "pool-empty:awaiting-tick",
            "pool-empty:targets-met",
            "cooldown-only",
        ] {
            assert_eq!(reasons.get(r), Some(&json!(0)), "{r}");
        }
        assert!(!reasons.contains_key("unschedulable"));
        assert!(!reasons.contains_key("image-pull-backoff"));
        let image = v["image_wait_reasons"].as_object().unwrap();
        assert_eq!(image.len(), 2);
        assert_eq!(image.get("image-never-pull"), Some(&json!(0)));
    }
}
