//! The short human summary printed after a run, read from the run's `summary.json` tree so that the table and
//! the file never disagree.

use std::fmt::Write as _;

use serde_json::Value;

use super::censored::shown;
use super::{Keys, Perf, summary};
use crate::scenarios::Scenario;
use crate::sim::world::World;

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Entries of a JSON object, in its (sorted) key order; none for anything else.
fn entries(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

/// "waited for WHAT: N (reason n, ...)", whose counts add up to N; nothing when no pod waited for it.
fn waited_line(out: &mut String, what: &str, count: &Value, reasons: &Value) {
    if num(count) == 0.0 {
        return;
    }
    let reasons: Vec<String> = entries(reasons)
        .filter(|(_, n)| num(n) > 0.0)
        .map(|(r, n)| format!("{r} {}", num(n)))
        .collect();
    let _ = writeln!(
        out,
        "waited for {what}: {} ({})",
        num(count),
        reasons.join(", ")
    );
}

/// The warning a run in which pods never started gets, first thing on the table and the report page, so that
/// nobody reads its latencies as those of a healthy run; none when every pod started.
pub(crate) fn never_started_warning(pods: &Value) -> Option<String> {
    let (never, created) = (num(&pods["never_started"]), num(&pods["created"]));
    (never > 0.0).then(|| {
        format!(
            "WARNING: {never} of {created} pods ({} %) never started (still waiting at the end, or deleted \
             first): latency figures marked ≥ are lower bounds",
            share(never / created * 100.0)
        )
    })
}

/// A percentage for the warning: whole numbers, but never a "0 %" for a few pods of many.
fn share(percent: f64) -> String {
    if percent < 1.0 {
        format!("{percent:.1}")
    } else {
        format!("{percent:.0}")
    }
}

pub fn table(scenario: &Scenario, world: &World, perf: Perf) -> String {
    let v = summary(scenario, world, perf, Keys::Used);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {} (seed {}), {} simulated",
        scenario.name, scenario.seed, scenario.duration
    );
    if let Some(warning) = never_started_warning(&v["pods"]) {
        let _ = writeln!(out, "{warning}");
    }

    let _ = writeln!(
        out,
        "\n{:<28} {:>10} {:>12} {:>12} {:>12}",
        "subnet", "size", "free (min)", "free /28s", "/28s (min)"
    );
    for s in world.ec2.inventory().subnets() {
        let (min_free, min_blocks) = (s.min_free_addresses(), s.min_free_prefix_blocks());
        let name = format!("{} {}", s.name(), s.cidr());
        let _ = writeln!(
            out,
            "{name:<28} {:>10} {:>12} {:>12} {:>12}",
            s.size(),
            format!("{} ({min_free})", s.free_addresses()),
            s.free_prefix_blocks(),
            min_blocks
        );
    }

    let ec2 = &v["ec2"];
    let _ = writeln!(
        out,
        "\n{:<34} {:>9} {:>10} {:>9} {:>10}",
        "EC2 action", "calls", "throttled", "failed", "p99 (ms)"
    );
    for (action, calls) in entries(&ec2["calls"]) {
        let _ = writeln!(
            out,
            "{action:<34} {:>9} {:>10} {:>9} {:>10.0}",
            num(calls),
            num(&ec2["throttled"][action]),
            num(&ec2["failed_calls"][action]),
            num(&ec2["latency_s"][action]["p99"]) * 1e3
        );
    }

    let _ = writeln!(
        out,
        "\n{:<20} {:>6} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9} {:>7} {:>10}",
        "node group",
        "nodes",
        "pods",
        "never",
        "wait p50",
        "wait p99",
        "waited",
        "Assign",
        "held avg",
        "unused",
        "ready p99"
    );
    for (name, g) in entries(&v["node_groups"]) {
        let pods = &g["pods"];
        let _ = writeln!(
            out,
            "{name:<20} {:>6} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8} {:>9.0} {:>6.0}% {:>10}",
            num(&g["nodes_started"]),
            num(&pods["started"]),
            num(&pods["never_started"]),
            shown(&pods["ip_wait_s"], "p50"),
            shown(&pods["ip_wait_s"], "p99"),
            num(&pods["waited_for_an_address"]),
            num(&g["ipamd_ec2_calls"]["AssignPrivateIpAddresses"]),
            num(&g["ips"]["allocated_mean"]),
            num(&g["ips"]["waste_ratio_mean"]) * 100.0,
            shown(&g["ready_latency_s"], "p99"),
        );
    }
    let _ = writeln!(
        out,
        "(pods: pods that started; never: pods that did not; wait: first CNI ADD → address, ≥ where pods \
         still waiting make it a lower bound; waited: pods that retried their sandbox for an address; Assign: ipamd's \
         AssignPrivateIpAddresses calls; held: addresses in the group's warm pools; unused: the share no pod uses; ready: RunInstances → node \
         Ready)"
    );

    let pods = &v["pods"];
    let (ip, launch, ready) = (
        &pods["ip_wait_s"],
        &pods["launch_latency_s"],
        &pods["ready_latency_s"],
    );
    let _ = writeln!(
        out,
        "\npods: {} created, {} started, {} never started ({} deleted before Running); IP wait p50 {} p99 {} \
         max {}; launch latency p50 {} p99 {}; Ready p50 {} p99 {}; {} failed CNI ADDs, {} failed pulls",
        num(&pods["created"]),
        num(&pods["started"]),
        num(&pods["never_started"]),
        num(&pods["deleted_before_running"]),
        shown(ip, "p50"),
        shown(ip, "p99"),
        shown(ip, "max"),
        shown(launch, "p50"),
        shown(launch, "p99"),
        shown(ready, "p50"),
        shown(ready, "p99"),
        num(&pods["failed_add_attempts"]),
        num(&pods["failed_pull_attempts"]),
    );
    let nodes = &v["nodes"];
    let _ = writeln!(
        out,
        "nodes: {} launched, {} never Ready; RunInstances → Ready p50 {} p99 {} max {}",
        num(&nodes["launched"]),
        num(&nodes["never_ready"]),
        shown(&nodes["ready_latency_s"], "p50"),
        shown(&nodes["ready_latency_s"], "p99"),
        shown(&nodes["ready_latency_s"], "max"),
    );
    waited_line(
        &mut out,
        "an address",
        &pods["waited_for_an_address"],
        &pods["address_wait_reasons"],
    );
    waited_line(
        &mut out,
        "a node",
        &pods["waited_for_a_node"],
        &pods["node_wait_reasons"],
    );
    waited_line(
        &mut out,
        "an image",
        &pods["waited_for_an_image"],
        &pods["image_wait_reasons"],
    );
    let errors: Vec<String> = entries(&v["ipamd"]["api_errors"])
        .map(|(code, n)| format!("{code} {}", num(n)))
        .collect();
    let ipamd = &v["ipamd"];
    let ips = &v["ips"];
    let _ = writeln!(
        out,
        "ipamd on {} nodes: {} addresses held at peak, {:.0}% of held addresses unused on average, {} ENIs \
         allocated, {} freed; EC2 errors: {}",
        num(&ipamd["nodes"]),
        num(&ips["allocated_peak"]),
        num(&ips["waste_ratio_mean"]) * 100.0,
        num(&ipamd["enis_allocated"]),
        num(&ipamd["enis_freed"]),
        if errors.is_empty() {
            "none".to_string()
        } else {
            errors.join(", ")
        }
    );
    if let Some(line) = security_groups_line(&v["security_groups_for_pods"]) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(line) = events_line(&v["events"]) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n{} events in {:.2}s wall: {:.2} M events/s, {:.0} simulated s per wall s",
        perf.stats.events,
        perf.wall_s,
        perf.events_per_sec() / 1e6,
        perf.simulated_s_per_wall_s()
    );
    out
}

/// The resource controller's work, in runs where a node group sets `ENABLE_POD_ENI` (docs/reference/ec2.md §11).
fn security_groups_line(sgp: &Value) -> Option<String> {
    if sgp.is_null() {
        return None;
    }
    Some(format!(
        "security groups for pods: {} trunks attached, {} branch ENIs created, {} deleted, {} creates \
         requeued at a node's limit; the resource controller's EC2 calls: {} ({} per pod with a branch)",
        num(&sgp["trunks_attached"]),
        num(&sgp["branch_enis_created"]),
        num(&sgp["branch_enis_deleted"]),
        num(&sgp["creates_requeued_at_limit"]),
        num(&sgp["controller_ec2_calls_total"]),
        sgp["controller_ec2_calls_per_branch_pod"]
            .as_f64()
            .map_or("none".to_string(), |x| format!("{x:.1}")),
    ))
}

/// What the scenario's scripted events did, when it has any: each event's time (and a refused EC2 call),
/// the ends held and arrivals dropped, nodes lost, and the external callers' calls and throttling.
fn events_line(events: &Value) -> Option<String> {
    let fired: Vec<String> = entries(&events["fired"])
        .map(|(label, e)| {
            let outcome = match e["outcome"].as_str() {
                Some("ok") | None => String::new(),
                Some(o) => format!(" ({o})"),
            };
            format!("{label} at {}s{outcome}", num(&e["at_s"]))
        })
        .collect();
    if fired.is_empty() {
        return None;
    }
    let mut parts = vec![format!("events: {}", fired.join(", "))];
    for (w, g) in entries(&events["workloads"]) {
        parts.push(format!(
            "{w}: {} ends held ({} still held), {} arrivals dropped",
            num(&g["ends_held"]),
            num(&g["ends_still_held"]),
            num(&g["arrivals_dropped"])
        ));
    }
    if num(&events["nodes_lost"]) > 0.0 {
        parts.push(format!("{} nodes lost", num(&events["nodes_lost"])));
    }
    for (c, t) in entries(&events["external_callers"]) {
        parts.push(format!(
            "caller {c}: {} attempts, {} throttled",
            num(&t["attempts"]),
            num(&t["throttled"])
        ));
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_events_line_says_what_the_events_did_and_is_absent_without_events() {
        let none = json!({ "fired": {}, "workloads": {}, "nodes_lost": 0, "external_callers": {} });
        assert_eq!(events_line(&none), None);
        let some = json!({
            "fired": {
                "stall": { "at_s": 600.0 },
                "reserve": { "at_s": 60.0, "outcome": "InvalidParameterValue" }
            },
            "workloads": { "jobs": { "ends_held": 12, "ends_still_held": 0, "arrivals_dropped": 3 } },
            "nodes_lost": 2,
            "external_callers": { "ci": { "attempts": 40, "throttled": 7 } }
        });
        assert_eq!(
            events_line(&some).unwrap(),
            "events: reserve at 60s (InvalidParameterValue), stall at 600s; jobs: 12 ends held (0 still \
             held), 3 arrivals dropped; 2 nodes lost; caller ci: 40 attempts, 7 throttled"
        );
    }

    #[test]
    fn the_security_groups_line_is_for_runs_with_enable_pod_eni() {
        assert_eq!(security_groups_line(&Value::Null), None);
        let idle = json!({
            "trunks_attached": 2, "branch_enis_created": 0, "branch_enis_deleted": 0,
            "creates_requeued_at_limit": 0, "controller_ec2_calls_total": 16,
            "controller_ec2_calls_per_branch_pod": null
        });
        assert_eq!(
            security_groups_line(&idle).unwrap(),
            "security groups for pods: 2 trunks attached, 0 branch ENIs created, 0 deleted, 0 creates requeued \
             at a node's limit; the resource controller's EC2 calls: 16 (none per pod with a branch)"
        );
    }

    #[test]
    fn the_warning_is_for_runs_with_pods_that_never_started_and_shows_a_small_share() {
        let none = json!({ "created": 1428, "never_started": 0 });
        assert_eq!(never_started_warning(&none), None);
        let few = json!({ "created": 1428, "never_started": 2 });
        let w = never_started_warning(&few).unwrap();
        assert!(
            w.starts_with("WARNING: 2 of 1428 pods (0.1 %) never started"),
            "{w}"
        );
    }
}
