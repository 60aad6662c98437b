//! The bundled incidents (`scenarios/incidents/`), each run (shortened, or with its change brought forward,
//! where the full story is too long for a debug build) and checked for the shape its header describes, read
//! from its summary the way a user's script reads `summary.json`.

mod invariants;

use std::path::Path;

use invariants::run_checked;
use serde_json::Value;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::engine::RunStats;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::World;

fn load(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/incidents")
        .join(format!("{name}.toml"));
    scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn summary(s: &Scenario, world: &World) -> Value {
    let perf = Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: s.duration.as_secs_f64(),
    };
    report::summary(s, world, perf, report::Keys::Used)
}

fn minutes(m: u64) -> SimDuration {
    SimDuration::from_secs(m * 60)
}

/// The event labelled `label` of `s`, moved to `at`.
fn move_event(s: &mut Scenario, label: &str, at: SimDuration) {
    let e = s
        .script
        .events
        .iter_mut()
        .find(|e| e.label == label)
        .unwrap_or_else(|| panic!("no event {label}"));
    e.at = at;
    s.script.events.sort_by_key(|e| e.at);
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn every_incident_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/incidents");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 1);
}

#[test]
fn deletion_stall_fills_the_zones_and_pods_wait_until_deletions_resume() {
    // The first 25 minutes of the stall: every zone's subnet runs dry and pods wait for addresses.
    let mut s = load("deletion-stall");
    s.duration = minutes(85);
    let w = run_checked(&s);
    let sum = summary(&s, &w);
    let subnets = sum["subnets"].as_object().unwrap();
    assert_eq!(subnets.len(), 3);
    for (name, sub) in subnets {
        assert!(
            f(&sub["min_free_addresses"]) < 100.0,
            "{name} kept {} addresses free",
            sub["min_free_addresses"]
        );
    }
    // Before the stall nobody waited long; in it, thousands never got an address.
    let pods = w.cluster.pods.all();
    let before_ok = pods
        .iter()
        .filter(|p| p.created < SimTime::ZERO + minutes(50))
        .all(|p| p.ip_assigned.is_some());
    assert!(
        before_ok,
        "pods created well before the stall all got addresses"
    );
    assert!(
        f(&sum["pods"]["never_started"]) > 2_000.0,
        "{}",
        sum["pods"]
    );
    assert!(f(&sum["events"]["workloads"]["computes"]["ends_held"]) > 1_000.0);

    // With the stall cut to 15 minutes, the held suspensions free the zones and pods start again.
    let mut s = load("deletion-stall");
    move_event(&mut s, "suspend-job-recovers", minutes(75));
    s.duration = minutes(120);
    let w = run_checked(&s);
    let resumed = SimTime::ZERO + minutes(75);
    let held_ends = w
        .cluster
        .pods
        .all()
        .iter()
        .filter(|p| p.deleted == Some(resumed))
        .count();
    assert!(held_ends > 1_000, "{held_ends} suspensions at the recovery");
    let late = w
        .cluster
        .pods
        .all()
        .iter()
        .filter(|p| {
            p.created >= SimTime::ZERO + minutes(105) && p.created < SimTime::ZERO + minutes(110)
        })
        .collect::<Vec<_>>();
    let started = late.iter().filter(|p| p.ip_assigned.is_some()).count();
    assert!(
        started * 10 >= late.len() * 9,
        "{started} of {} pods created 30 minutes after the recovery got addresses",
        late.len()
    );
}
