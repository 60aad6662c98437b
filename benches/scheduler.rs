//! The scheduler under a backlog of pending pods, through the whole simulation:
//!
//! - `backlog`: one m5.large node and a backlog of 1,000 or 100,000 pods that live 10 s once Running, plus
//!   one new pod a second: one simulated second is about one arrival and two to three freed slots (each a
//!   scheduling cycle that binds the oldest pod), and should cost the same whatever the backlog.
//! - `overloaded_node`: one m5.large node receiving 1,000 pods a minute (they live a minute on average), run
//!   from the start for 15, 30 and 60 simulated minutes: the pods left waiting pile up, and the run's cost
//!   should grow with its length, not with its square.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

/// One m5.large node (27 pod slots after the host-network pods) and the given workloads.
fn one_node(duration: &str, workloads: &str) -> Scenario {
    let text = format!(
        r#"
name = "bench-scheduler"
duration = "{duration}"
vpc = {{ cidr = "10.0.0.0/16" }}
subnets = [{{ name = "a", cidr = "10.0.0.0/18", az = "us-east-1a" }}]
node_groups = [{{ name = "workers", instance_type = "m5.large", count = 1, subnets = ["a"] }}]
{workloads}"#
    );
    scenarios::parse(&text, "bench-scheduler.toml").expect("valid")
}

fn backlog(c: &mut Criterion) {
    let mut g = c.benchmark_group("backlog");
    g.measurement_time(Duration::from_secs(3));
    g.sample_size(10);
    for pods in [1_000, 100_000] {
        let s = one_node(
            "4h",
            &format!(
                r#"
[[workloads]]
name = "backlog"
type = "cronjob"
start = "1m"
every = "1d"
pods = {pods}
duration = "10s"
[[workloads]]
name = "arrivals"
type = "steady"
pods_per_minute = 60
lifetime = "10s"
# The Job controller creates the whole backlog in one sync, within a second or two.
[controllers]
job = {{ qps = 1000000, burst = 1000000, burst_replicas = {pods} }}
"#
            ),
        );
        g.bench_function(BenchmarkId::new("one_simulated_second", pods), |b| {
            b.iter_custom(|iters| {
                let mut measured = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let (mut world, mut engine): (World, Engine<Event>) =
                        World::build(&s, None, false).expect("builds");
                    // The node is Ready and the backlog has arrived.
                    let mut until = SimTime::ZERO + SimDuration::from_secs(120);
                    engine.run_until(&mut world, until);
                    // The backlog drains by about two pods a second: a world is measured for a tenth of its
                    // size in seconds, so that it stays within a fifth of it, then a fresh one is built.
                    let n = left.min(pods / 10);
                    let started = Instant::now();
                    for _ in 0..n {
                        until += SimDuration::from_secs(1);
                        engine.run_until(&mut world, until);
                    }
                    measured += started.elapsed();
                    black_box(world.cluster.counts.pending);
                    left -= n;
                }
                measured
            })
        });
    }
    g.finish();
}

fn overloaded_node(c: &mut Criterion) {
    let mut g = c.benchmark_group("overloaded_node");
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(10);
    for minutes in [15, 30, 60] {
        let s = one_node(
            &format!("{minutes}m"),
            r#"
[[workloads]]
name = "flood"
type = "steady"
pods_per_minute = 1000
lifetime = { dist = "exponential", mean = "1m" }
"#,
        );
        g.bench_function(BenchmarkId::new("simulated_minutes", minutes), |b| {
            b.iter(|| {
                let (mut world, mut engine): (World, Engine<Event>) =
                    World::build(&s, None, false).expect("builds");
                engine.run_until(&mut world, SimTime::ZERO + s.duration);
                black_box(world.cluster.counts.pending)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, backlog, overloaded_node);
criterion_main!(benches);
