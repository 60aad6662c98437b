//! The whole simulation under pod churn: the wall-clock cost of one simulated minute of a 200-node cluster
//! whose pods arrive at 600 per minute and live two minutes on average (scheduling among 200 Ready nodes,
//! kubelet's ADD and DEL, every pool manager's ticks and EC2 work), measured after the cluster has started and
//! reached its steady state; and the pool managers of 1,000 idle nodes (Ready, warm pools at their target, no
//! pods coming or going) through one simulated hour, with idle ticks passed over and simulated one by one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use vpcsim::scenarios;
use vpcsim::sim::engine::Engine;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

const CHURN: &str = r#"
name = "bench-churn"
duration = "1d"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/18"
az = "us-east-1a"
[[node_groups]]
name = "workers"
instance_type = "m5.large"
count = 200
subnets = ["a"]
[[workloads]]
name = "churn"
type = "steady"
pods_per_minute = 600
lifetime = { dist = "exponential", mean = "2m" }
"#;

fn churn(c: &mut Criterion) {
    let s = scenarios::parse(CHURN, "bench-churn.toml").expect("valid");
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(&s, None, false).expect("builds");
    // Start-up and the first lifetimes: the cluster is in its steady state from here.
    let mut until = SimTime::ZERO + SimDuration::from_secs(600);
    engine.run_until(&mut world, until);
    let mut g = c.benchmark_group("cluster");
    g.measurement_time(Duration::from_secs(10));
    g.sample_size(20);
    g.bench_function("one_simulated_minute_200_nodes_600_pods_per_min", |b| {
        b.iter(|| {
            until += SimDuration::from_secs(60);
            engine.run_until(&mut world, until);
            black_box(world.cluster.counts.running)
        })
    });
    g.finish();
}

/// 1,000 nodes and no workload: after start-up, every pool manager step is idle but reconcile's, once a minute.
fn idle_nodes(idle_ticks: &str) -> String {
    format!(
        r#"
name = "bench-idle"
duration = "1d"
idle_ticks = "{idle_ticks}"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/17"
az = "us-east-1a"
[[node_groups]]
name = "workers"
instance_type = "m5.large"
count = 1000
subnets = ["a"]
"#
    )
}

fn idle(c: &mut Criterion) {
    let mut g = c.benchmark_group("cluster");
    g.measurement_time(Duration::from_secs(10));
    g.sample_size(10);
    for mode in ["skip", "simulate"] {
        let s = scenarios::parse(&idle_nodes(mode), "bench-idle.toml").expect("valid");
        let (mut world, mut engine): (World, Engine<Event>) =
            World::build(&s, None, false).expect("builds");
        let mut until = SimTime::ZERO + SimDuration::from_secs(900);
        engine.run_until(&mut world, until);
        g.bench_function(format!("one_simulated_hour_1000_idle_nodes_{mode}"), |b| {
            b.iter(|| {
                until += SimDuration::from_secs(3_600);
                engine.run_until(&mut world, until);
                black_box(engine.stats().events)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, churn, idle);
criterion_main!(benches);
