//! What every run must keep, checked after a run by the integration tests: no address held by two pods at
//! once, each pod's timestamps in order, the time series in time order.

use std::collections::BTreeMap;
use std::net::IpAddr;

use vpcsim::scenarios::Scenario;
use vpcsim::sim::engine::Engine;
use vpcsim::sim::sink::Kept;
use vpcsim::sim::time::SimTime;
use vpcsim::sim::world::{Event, World};

/// Builds `s`'s world (its records kept, no trace), runs it to its horizon in one go and checks the invariants.
pub fn run_checked(s: &Scenario) -> World {
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(s, Kept::boxed(), false).expect("builds");
    let end = SimTime::ZERO + s.duration;
    engine.run_until(&mut world, end);
    check_invariants(&world, end);
    world
}

/// No address is held by two pods at once, each pod's timestamps are in order, and samples are in time order.
pub fn check_invariants(world: &World, end: SimTime) {
    let rows = &world.timeseries.rows;
    assert!(rows.windows(2).all(|w| w[0].time < w[1].time));
    assert!(rows.last().is_none_or(|r| r.time <= end));
    let mut by_address: BTreeMap<IpAddr, Vec<(SimTime, SimTime)>> = BTreeMap::new();
    for (i, p) in world.all_pods().iter().enumerate() {
        let steps = [
            Some(p.created),
            p.scheduled,
            p.bound,
            p.sandbox,
            p.ip_assigned,
            p.image_pulled,
            p.running,
            p.ready,
        ];
        let mut last = SimTime::ZERO;
        for t in steps.into_iter().flatten() {
            assert!(t >= last, "pod {i}: timestamps out of order: {p:?}");
            last = t;
        }
        if let (Some(d), Some(r)) = (p.deleted, p.ip_released) {
            assert!(r >= d, "pod {i}: released before deleted");
        }
        if let (Some(a), Some(addr)) = (p.ip_assigned, p.address) {
            by_address
                .entry(addr)
                .or_default()
                .push((a, p.ip_released.unwrap_or(end)));
        }
    }
    for (addr, mut spans) in by_address {
        spans.sort();
        for w in spans.windows(2) {
            assert!(
                w[0].1 <= w[1].0,
                "{addr} held by two pods at once: {:?} and {:?}",
                w[0],
                w[1]
            );
        }
    }
}

/// A scenario named `name`: one subnet "a" of `cidr` in us-east-1a of VPC 10.0.0.0/16, then `rest` (node
/// groups, workloads, events). Not every test file builds its scenarios from text.
#[allow(dead_code)]
pub fn one_subnet(name: &str, seed: u64, duration: &str, cidr: &str, rest: &str) -> Scenario {
    let text = format!(
        r#"name = "{name}"
seed = {seed}
duration = "{duration}"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "{cidr}"
az = "us-east-1a"
{rest}"#
    );
    vpcsim::scenarios::parse(&text, &format!("{name}.toml")).unwrap_or_else(|e| panic!("{e}"))
}
