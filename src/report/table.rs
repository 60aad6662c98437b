//! The short human summary printed after a run.

use std::fmt::Write as _;

use super::summary::{ipamd_totals, pod_spans, waste_ratio_mean};
use super::{Perf, percentiles};
use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::world::World;

pub fn table(scenario: &Scenario, world: &World, perf: Perf) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {} (seed {}), {} simulated",
        scenario.name, scenario.seed, scenario.duration
    );
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
    let rec = world.ec2.record();
    let _ = writeln!(
        out,
        "\n{:<34} {:>9} {:>10} {:>9} {:>10}",
        "EC2 action", "calls", "throttled", "errors", "p99 (ms)"
    );
    for &a in Action::ALL {
        let r = rec.action(a);
        if r.attempts() == 0 {
            continue;
        }
        let errors: u64 = r.errors.iter().sum();
        let _ = writeln!(
            out,
            "{:<34} {:>9} {:>10} {:>9} {:>10.0}",
            a.name(),
            r.attempts(),
            r.throttled,
            errors,
            r.latency.quantile(0.99).as_secs_f64() * 1e3
        );
    }
    for g in world.cluster.node_groups.stats() {
        let all = g
            .time_to_all_launched
            .map_or("not all launched".to_string(), |d| {
                format!("all launched after {:.1}s", d.as_secs_f64())
            });
        let _ = writeln!(
            out,
            "\nnode group {}: {} launched, {} failed launches, {all}",
            g.name, g.launched, g.failed_launches
        );
    }
    let pods = world.cluster.pods.all();
    if !pods.is_empty() {
        let [p50, _, p99, max] = percentiles(&mut pod_spans(
            &pods.iter().collect::<Vec<_>>(),
            |p| p.scheduled,
            |p| p.ip_assigned,
        ));
        let _ = writeln!(
            out,
            "\npods: {} created, {} started; IP wait p50 {:.1}s p99 {:.1}s max {:.1}s; {} waited for an \
             address ({} failed ADDs)",
            pods.len(),
            pods.iter().filter(|p| p.running.is_some()).count(),
            p50,
            p99,
            max,
            pods.iter().filter(|p| p.failed_adds > 0).count(),
            pods.iter().map(|p| u64::from(p.failed_adds)).sum::<u64>(),
        );
    }
    let nodes = &world.cluster.nodes;
    if !nodes.is_empty() {
        let totals = ipamd_totals(world);
        let rows = &world.timeseries.rows;
        let peak = rows.iter().map(|r| r.pools.allocated).max().unwrap_or(0);
        let errors: Vec<String> = totals
            .api_errors
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "\nipamd on {} nodes: {} addresses in warm pools at peak, {} ENIs allocated, {} freed, \
             {} failed ADDs, {:.0}% of held addresses unused on average; EC2 errors: {}",
            nodes.len(),
            peak,
            totals.enis_allocated,
            totals.enis_freed,
            totals.add_failures,
            waste_ratio_mean(rows) * 100.0,
            if errors.is_empty() {
                "none".to_string()
            } else {
                errors.join(", ")
            }
        );
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
