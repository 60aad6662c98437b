//! Results of a run: `summary.json` (fixed key names, for scripts), `timeseries.csv`, `api_calls.csv`, a
//! `perf.json` with the wall-clock throughput, and the short table printed on stdout.
//!
//! Everything except `perf.json` depends only on the scenario and seed, so two runs give byte-identical files;
//! wall-clock figures live apart for that reason. Files are written to temporary names and renamed when
//! complete, so an interrupted run never leaves a partial result that looks finished.

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::ec2::api::ErrorCode;
use crate::sim::ec2::record::ActionRecord;
use crate::sim::engine::RunStats;
use crate::sim::ipamd::daemon::Counters;
use crate::sim::time::SimTime;
use crate::sim::world::World;

/// Wall-clock figures of a run.
#[derive(Clone, Copy, Debug)]
pub struct Perf {
    pub wall_s: f64,
    pub stats: RunStats,
    pub simulated_s: f64,
}

impl Perf {
    pub fn events_per_sec(&self) -> f64 {
        self.stats.events as f64 / self.wall_s.max(1e-9)
    }
}

/// A JSON object with one entry per item, keyed by the item's name as given (names may contain dots).
fn by_name<T>(items: impl IntoIterator<Item = T>, entry: impl Fn(T) -> (String, Value)) -> Value {
    Value::Object(items.into_iter().map(entry).collect::<Map<String, Value>>())
}

/// Every node's ipamd counters, summed.
fn ipamd_totals(world: &World) -> Counters {
    let mut totals = Counters::default();
    for n in &world.nodes {
        totals.add(&n.ipamd.state().counters);
    }
    totals
}

/// The run's summary as a JSON tree; object keys are sorted, so the text is deterministic.
pub fn summary(scenario: &Scenario, world: &World, stats: RunStats) -> Value {
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
    let groups = world.node_groups.stats();
    let node_groups = by_name(&groups, |g| {
        let all = g.time_to_all_launched.map(|d| d.as_secs_f64());
        (
            g.name.clone(),
            json!({ "launched": g.launched, "time_to_all_launched_s": all }),
        )
    });
    let rows = &world.timeseries.rows;
    let totals = ipamd_totals(world);
    let ipamd_errors = by_name(&totals.api_errors, |(code, n)| (code.to_string(), json!(n)));
    json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "duration_s": scenario.duration.as_secs_f64(),
        "run": { "events": stats.events },
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
            "peak": rows.iter().map(|r| r.instances_running).max().unwrap_or(0),
        },
        "node_groups": node_groups,
        "enis": { "peak": rows.iter().map(|r| r.enis).max().unwrap_or(0) },
        "ips": {
            "allocated_peak": rows.iter().map(|r| r.pools.allocated).max().unwrap_or(0),
            "assigned_peak": rows.iter().map(|r| r.pools.assigned).max().unwrap_or(0),
        },
        "ipamd": {
            "nodes": world.nodes.len(),
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

/// Writes `text` to `dir/name` through a temporary file and a rename.
fn write_file(dir: &Path, name: &str, text: &[u8]) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.partial"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    Ok(path)
}

fn timeseries_csv(world: &World) -> io::Result<Vec<u8>> {
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
            "api_calls",
            "api_throttled",
        ]
        .map(String::from),
    );
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for r in &world.timeseries.rows {
        row.clear();
        row.push(format!("{:.3}", r.time.as_secs_f64()));
        for &(free, blocks) in &r.subnets {
            row.push(free.to_string());
            row.push(blocks.to_string());
        }
        let p = &r.pools;
        row.extend([
            r.instances_running.to_string(),
            r.enis.to_string(),
            p.allocated.to_string(),
            p.assigned.to_string(),
            p.cooling.to_string(),
            p.enis.to_string(),
            p.prefixes.to_string(),
            r.api_attempts.to_string(),
            r.throttled.to_string(),
        ]);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

fn api_calls_csv(world: &World) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "time_s",
        "client",
        "action",
        "attempt",
        "outcome",
        "latency_ms",
    ])?;
    for a in world.ec2.record().log() {
        w.write_record([
            format!("{:.6}", a.sent.as_secs_f64()),
            a.client.0.to_string(),
            a.action.to_string(),
            a.attempt.to_string(),
            a.outcome.label().to_string(),
            format!("{:.3}", a.latency.as_secs_f64() * 1e3),
        ])?;
    }
    w.into_inner().map_err(|e| e.into_error())
}

/// One row per node: its ipamd's gauges at the end of the run and its counters.
fn nodes_csv(scenario: &Scenario, world: &World, end: SimTime) -> io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "node",
        "instance",
        "node_group",
        "mode",
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
    for (i, n) in world.nodes.iter().enumerate() {
        let m = n.ipamd.metrics(end);
        let c = &m.counters;
        let mode = if n.ipamd.state().limits.is_prefix() {
            "prefix"
        } else {
            "secondary-ip"
        };
        w.write_record([
            i.to_string(),
            n.instance.to_string(),
            scenario.node_groups[n.group].name.clone(),
            mode.to_string(),
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
    w.into_inner().map_err(|e| e.into_error())
}

/// Writes every output file of a run into `dir` (created if needed); returns the paths written.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    world: &World,
    perf: Perf,
) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut summary_text = serde_json::to_string_pretty(&summary(scenario, world, perf.stats))
        .expect("JSON values serialise");
    summary_text.push('\n');
    let perf_json = json!({
        "run": {
            "wall_s": perf.wall_s,
            "events": perf.stats.events,
            "events_per_sec": perf.events_per_sec(),
            "peak_pending_events": perf.stats.peak_pending,
            "simulated_s_per_wall_s": perf.simulated_s / perf.wall_s.max(1e-9),
        }
    });
    Ok(vec![
        write_file(dir, "timeseries.csv", &timeseries_csv(world)?)?,
        write_file(dir, "api_calls.csv", &api_calls_csv(world)?)?,
        write_file(
            dir,
            "nodes.csv",
            &nodes_csv(scenario, world, SimTime::ZERO + scenario.duration)?,
        )?,
        write_file(dir, "perf.json", format!("{perf_json:#}\n").as_bytes())?,
        // Last: its presence marks a complete result.
        write_file(dir, "summary.json", summary_text.as_bytes())?,
    ])
}

/// The short human summary printed after a run.
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
    for g in world.node_groups.stats() {
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
    if !world.nodes.is_empty() {
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
             {} failed ADDs; EC2 errors: {}",
            world.nodes.len(),
            peak,
            totals.enis_allocated,
            totals.enis_freed,
            totals.add_failures,
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
        perf.simulated_s / perf.wall_s.max(1e-9)
    );
    out
}
