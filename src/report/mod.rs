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
use crate::sim::engine::RunStats;
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

/// Sets `path` (dot-separated) in a tree of JSON objects.
fn set(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut node = root;
    let mut parts = path.split('.').peekable();
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            node.insert(p.to_string(), value);
            return;
        }
        node = node
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .expect("summary paths do not clash");
    }
}

/// The run's summary as a JSON tree; object keys are sorted, so the text is deterministic.
pub fn summary(scenario: &Scenario, world: &World, stats: RunStats) -> Value {
    let mut root = Map::new();
    set(&mut root, "scenario", json!(scenario.name));
    set(&mut root, "seed", json!(scenario.seed));
    set(
        &mut root,
        "duration_s",
        json!(scenario.duration.as_secs_f64()),
    );
    set(&mut root, "run.events", json!(stats.events));

    let rec = world.ec2.record();
    for &a in Action::ALL {
        let r = rec.action(a);
        if r.attempts() == 0 {
            continue;
        }
        set(&mut root, &format!("ec2.calls.{a}"), json!(r.attempts()));
        set(&mut root, &format!("ec2.throttled.{a}"), json!(r.throttled));
        set(&mut root, &format!("ec2.retries.{a}"), json!(r.retries));
        set(
            &mut root,
            &format!("ec2.failed_calls.{a}"),
            json!(r.calls_failed.iter().sum::<u64>()),
        );
        for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (1.0, "max")] {
            set(
                &mut root,
                &format!("ec2.latency_s.{a}.{name}"),
                json!(r.latency.quantile(q).as_secs_f64()),
            );
        }
    }
    for &code in ErrorCode::ALL {
        if code == ErrorCode::RequestLimitExceeded {
            continue;
        }
        let n: u64 = Action::ALL
            .iter()
            .map(|&a| rec.action(a).errors_with(code))
            .sum();
        if n > 0 {
            set(&mut root, &format!("ec2.errors.{code}"), json!(n));
        }
    }
    let throttled = rec.total_throttled();
    if throttled > 0 {
        set(
            &mut root,
            "ec2.errors.RequestLimitExceeded",
            json!(throttled),
        );
    }

    for s in world.ec2.inventory().subnets() {
        let base = format!("subnets.{}", s.name());
        set(
            &mut root,
            &format!("{base}.cidr"),
            json!(s.cidr().to_string()),
        );
        set(
            &mut root,
            &format!("{base}.min_free_addresses"),
            json!(s.min_free_addresses()),
        );
        set(
            &mut root,
            &format!("{base}.min_free_prefix_blocks"),
            json!(s.min_free_prefix_blocks()),
        );
        set(
            &mut root,
            &format!("{base}.final_free_addresses"),
            json!(s.free_addresses()),
        );
        set(
            &mut root,
            &format!("{base}.final_free_prefix_blocks"),
            json!(s.free_prefix_blocks()),
        );
    }
    for t in world.tenants.stats() {
        set(
            &mut root,
            &format!("tenants.{}.held", t.name),
            json!(t.held),
        );
        set(
            &mut root,
            &format!("tenants.{}.refused", t.name),
            json!(t.refused),
        );
    }
    let groups = world.node_groups.stats();
    set(
        &mut root,
        "nodes.launched",
        json!(groups.iter().map(|g| g.launched).sum::<u32>()),
    );
    set(
        &mut root,
        "nodes.failed_launches",
        json!(groups.iter().map(|g| g.failed_launches).sum::<u64>()),
    );
    let rows = &world.timeseries.rows;
    set(
        &mut root,
        "nodes.peak",
        json!(rows.iter().map(|r| r.instances_running).max().unwrap_or(0)),
    );
    set(
        &mut root,
        "enis.peak",
        json!(rows.iter().map(|r| r.enis).max().unwrap_or(0)),
    );
    for g in groups {
        let t = g.time_to_all_launched.map(|d| d.as_secs_f64());
        set(
            &mut root,
            &format!("node_groups.{}.launched", g.name),
            json!(g.launched),
        );
        set(
            &mut root,
            &format!("node_groups.{}.time_to_all_launched_s", g.name),
            json!(t),
        );
    }
    Value::Object(root)
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
    header.extend(["instances_running", "enis", "api_calls", "api_throttled"].map(String::from));
    w.write_record(&header)?;
    let mut row = Vec::with_capacity(header.len());
    for r in &world.timeseries.rows {
        row.clear();
        row.push(format!("{:.3}", r.time.as_secs_f64()));
        for &(free, blocks) in &r.subnets {
            row.push(free.to_string());
            row.push(blocks.to_string());
        }
        row.extend([
            r.instances_running.to_string(),
            r.enis.to_string(),
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
