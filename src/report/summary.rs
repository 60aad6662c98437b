//! `summary.json`: the run's figures under fixed key names, so that scripts can read them.

use serde_json::{Value, json};

use super::{Perf, by_name, quantiles};
use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::ec2::api::ErrorCode;
use crate::sim::ec2::record::ActionRecord;
use crate::sim::ipamd::daemon::Counters;
use crate::sim::kube::pods::Pod;
use crate::sim::metrics::Sample;
use crate::sim::world::World;

/// Every node's ipamd counters, summed.
pub(super) fn ipamd_totals(world: &World) -> Counters {
    let mut totals = Counters::default();
    for n in &world.cluster.nodes {
        totals.add(&n.ipamd.state().counters);
    }
    totals
}

/// Mean over samples of (allocated − assigned) ÷ allocated, counting only samples with addresses allocated.
/// Samples are evenly spaced, so this is the time-weighted mean.
pub(super) fn waste_ratio_mean(rows: &[Sample]) -> f64 {
    let (sum, n) =
        rows.iter()
            .filter(|r| r.pools.allocated > 0)
            .fold((0.0, 0u64), |(sum, n), r| {
                let p = &r.pools;
                (
                    sum + f64::from(p.allocated - p.assigned) / f64::from(p.allocated),
                    n + 1,
                )
            });
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// Seconds from `from` to `to` of each pod that has both.
pub(super) fn pod_spans(
    pods: &[Pod],
    from: impl Fn(&Pod) -> Option<crate::sim::time::SimTime>,
    to: impl Fn(&Pod) -> Option<crate::sim::time::SimTime>,
) -> Vec<f64> {
    pods.iter()
        .filter_map(|p| Some(to(p)?.since(from(p)?).as_secs_f64()))
        .collect()
}

/// The run's summary as a JSON tree; object keys are sorted, so the text is deterministic but for the two
/// wall-clock figures under `run`.
pub fn summary(scenario: &Scenario, world: &World, perf: Perf) -> Value {
    let rec = world.ec2.record();
    let used: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|&a| rec.action(a).attempts() > 0)
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
            (n > 0).then_some((code, n))
        }),
        |(code, n)| (code.to_string(), json!(n)),
    );
    let subnets = by_name(world.ec2.inventory().subnets(), |s| {
        let v = json!({
            "cidr": s.cidr().to_string(),
            "min_free_addresses": s.min_free_addresses(),
            "min_free_prefix_blocks": s.min_free_prefix_blocks(),
            "final_free_addresses": s.free_addresses(),
            "final_free_prefix_blocks": s.free_prefix_blocks(),
        });
        (s.name().to_string(), v)
    });
    let tenants = by_name(world.tenants.stats(), |t| {
        (t.name, json!({ "held": t.held, "refused": t.refused }))
    });
    let cluster = &world.cluster;
    let groups = cluster.node_groups.stats();
    let node_groups = by_name(&groups, |g| {
        let all = g.time_to_all_launched.map(|d| d.as_secs_f64());
        (
            g.name.clone(),
            json!({
                "launched": g.launched,
                "failed_launches": g.failed_launches,
                "time_to_all_launched_s": all,
            }),
        )
    });
    let rows = &world.timeseries.rows;
    let peak = |f: &dyn Fn(&Sample) -> u32| rows.iter().map(f).max().unwrap_or(0);
    let totals = ipamd_totals(world);
    let ipamd_errors = by_name(&totals.api_errors, |(code, n)| (code.to_string(), json!(n)));
    let pods = cluster.pods.all();
    let mut wait_reasons = std::collections::BTreeMap::<String, u64>::new();
    for p in pods {
        if let Some(r) = p.wait_reason {
            *wait_reasons.entry(r.label()).or_default() += 1;
        }
    }
    json!({
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
        "pods": {
            "created": pods.len(),
            "started": pods.iter().filter(|p| p.running.is_some()).count(),
            "failed_add_attempts": pods.iter().map(|p| u64::from(p.failed_adds)).sum::<u64>(),
            "pods_that_waited_for_an_address": pods.iter().filter(|p| p.failed_adds > 0).count(),
            "ip_wait_s": quantiles(&mut pod_spans(pods, |p| p.scheduled, |p| p.ip_assigned)),
            "launch_latency_s": quantiles(&mut pod_spans(pods, |p| Some(p.created), |p| p.running)),
            "pending_peak": peak(&|r| r.pods_pending),
            "running_peak": peak(&|r| r.pods_running),
            "wait_reasons": wait_reasons,
        },
        "ec2": {
            "calls": per_action(&|r| json!(r.attempts())),
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
            "failed_launches": groups.iter().map(|g| g.failed_launches).sum::<u64>(),
            "peak": peak(&|r| r.instances_running),
        },
        "node_groups": node_groups,
        "enis": { "peak": peak(&|r| r.enis) },
        "ips": {
            "allocated_peak": peak(&|r| r.pools.allocated),
            "assigned_peak": peak(&|r| r.pools.assigned),
            "waste_ratio_mean": waste_ratio_mean(rows),
        },
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
    })
}
