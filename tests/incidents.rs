//! The bundled incidents (`scenarios/incidents/`), each run (shortened, or with its change brought forward,
//! where the full story is too long for a debug build) and checked for the shape its header describes, read
//! from its summary the way a user's script reads `summary.json`.

mod invariants;

use std::path::Path;

use invariants::{check_invariants, run_checked};
use serde_json::Value;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::engine::{Engine, RunStats};
use vpcsim::sim::metrics::Sample;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

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

/// The time-series sample taken at `m` minutes.
fn sample_at(w: &World, m: u64) -> &Sample {
    let at = SimTime::ZERO + minutes(m);
    w.timeseries
        .rows
        .iter()
        .find(|r| r.time == at)
        .unwrap_or_else(|| panic!("no sample at {m} min"))
}

/// Pods that got their address in minutes [from, to).
fn addresses_given(w: &World, from: u64, to: u64) -> usize {
    let (from, to) = (SimTime::ZERO + minutes(from), SimTime::ZERO + minutes(to));
    w.cluster
        .pods
        .all()
        .iter()
        .filter(|p| p.ip_assigned.is_some_and(|t| t >= from && t < to))
        .count()
}

#[test]
fn warm_targets_tightened_free_addresses_stall_starts_on_cooldown_and_zeros_recover() {
    // Up to 20 minutes into the zeros: the stall, WARM_IP_TARGET=1, the resumed deletions, then the three zeros.
    let mut s = load("warm-targets-tightened");
    s.duration = minutes(95);
    let w = run_checked(&s);
    let nodes_a = 17.0;
    let held = |m| f64::from(sample_at(&w, m).pools.allocated);
    let held_per_node = |m| f64::from(sample_at(&w, m).group_pools[0].allocated) / nodes_a;

    // The stall fills the subnets under WARM_ENI_TARGET=1; with WARM_IP_TARGET=1 thousands go back once
    // deletions resume.
    assert!(held(40) > 11_000.0, "{} held in the stall", held(40));
    assert!(
        held(40) - held(70) > 5_000.0,
        "held {} before the tightening, {} after",
        held(40),
        held(70)
    );

    // Under WARM_IP_TARGET=1 a node with a cooling address does not grow: pods created then wait, for the
    // cooldown; pods created before the stall did not.
    let pods = w.cluster.pods.all();
    let created_in = |from: u64, to: u64| {
        pods.iter()
            .filter(move |p| {
                p.created >= SimTime::ZERO + minutes(from)
                    && p.created < SimTime::ZERO + minutes(to)
            })
            .collect::<Vec<_>>()
    };
    let waited_long = |ps: &[&vpcsim::sim::kube::pods::Pod]| {
        ps.iter()
            .filter(|p| match (p.sandbox, p.ip_assigned) {
                (Some(s), Some(a)) => a - s > SimDuration::from_secs(60),
                (Some(_), None) => true,
                _ => false,
            })
            .count()
    };
    let before = created_in(10, 30);
    assert!(
        waited_long(&before) * 100 < before.len(),
        "before the stall"
    );
    let tight = created_in(50, 60);
    assert!(
        waited_long(&tight) * 2 > tight.len(),
        "{} of {} pods created under WARM_IP_TARGET=1 waited over a minute",
        waited_long(&tight),
        tight.len()
    );
    let cooling = tight
        .iter()
        .filter(|p| p.wait_reason.is_some_and(|r| r.label() == "cooldown-only"))
        .count();
    assert!(
        cooling * 2 > tight.len(),
        "{cooling} waited on cooldown-only"
    );

    // With the three zeros a node with no available address gets a whole ENI's worth: starts recover and the
    // addresses a node holds rise.
    let tight_rate = addresses_given(&w, 60, 75);
    let zero_rate = addresses_given(&w, 80, 95);
    assert!(
        zero_rate > 2 * tight_rate,
        "{tight_rate} addresses given in the 15 minutes before the zeros, {zero_rate} in 15 minutes under them"
    );
    assert!(
        held_per_node(95) > 2.0 * held_per_node(75),
        "{} per node before the zeros, {} under them",
        held_per_node(75),
        held_per_node(95)
    );
}

/// `s` run like [`run_checked`], keeping the log of EC2 attempts behind `api_calls.csv`.
fn run_logged(s: &Scenario) -> World {
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(s, true, false).expect("builds");
    let end = SimTime::ZERO + s.duration;
    engine.run_until(&mut world, end);
    check_invariants(&world, end);
    world
}

/// InsufficientCidrBlocks answers to attempts sent in hours [from, to).
fn insufficient_cidr_blocks(w: &World, from: u64, to: u64) -> usize {
    let (from, to) = (
        SimTime::ZERO + minutes(60 * from),
        SimTime::ZERO + minutes(60 * to),
    );
    w.ec2
        .record()
        .log()
        .iter()
        .filter(|a| a.sent >= from && a.sent < to && a.outcome.label() == "InsufficientCidrBlocks")
        .count()
}

#[test]
fn brownfield_reservation_heals_over_hours_and_is_what_lets_prefix_nodes_work() {
    let s = load("brownfield-reservation");
    let w = run_logged(&s);
    let sum = summary(&s, &w);
    for (name, sub) in sum["subnets"].as_object().unwrap() {
        let reservations = sub["reservations"].as_object().unwrap();
        assert_eq!(reservations.len(), 1, "{name}");
        let r = reservations.values().next().unwrap();
        // Made over addresses in use: no block free at first, the first one hours later as holders leave.
        assert_eq!(r["free_blocks_at_creation"], 0, "{name}: {r}");
        let first = f(&r["first_free_block_s"]);
        assert!(first > 3_600.0, "{name}: first free block after {first} s");
        assert!(f(&r["free_blocks_final"]) >= 1.0, "{name}: {r}");
    }
    // The new prefix-mode nodes find no free /28 until the reservation has one; after that, none of their
    // requests fails.
    assert!(insufficient_cidr_blocks(&w, 1, 3) > 1_000);
    assert_eq!(insufficient_cidr_blocks(&w, 8, 12), 0);

    // The same subnets without the reservation: single addresses keep the whole subnet fragmented, the
    // failures go on and most pods never start.
    let mut bare = load("brownfield-reservation");
    bare.script
        .events
        .retain(|e| !e.label.starts_with("reserve-top"));
    let wb = run_logged(&bare);
    let sb = summary(&bare, &wb);
    assert!(
        insufficient_cidr_blocks(&wb, 8, 12) > 1_000,
        "without the reservation"
    );
    let started = |v: &Value| f(&v["pods"]["started_ratio"]);
    assert!(
        started(&sum) > 0.9 && started(&sb) < 0.6,
        "started with the reservation {}, without {}",
        started(&sum),
        started(&sb)
    );
}

#[test]
fn leaked_enis_are_swept_hourly_and_pile_up_without_the_sweep() {
    // Two days: three rollouts, 27 nodes terminated.
    let week = |disable: bool| {
        let mut s = load("leaked-enis");
        s.duration = minutes(48 * 60);
        for g in &mut s.node_groups {
            g.ipamd.disable_leaked_eni_cleanup = disable;
        }
        let w = run_checked(&s);
        summary(&s, &w)
    };
    let (on, off) = (week(false), week(true));
    let leaked = |v: &Value, k: &str| f(&v["enis"]["leaked"][k]);
    // About half an ENI a churned node leaks either way (an inferred rate: at least a few of 27 nodes).
    for v in [&on, &off] {
        assert!(leaked(v, "total") >= 5.0, "{}", v["enis"]);
    }
    // The sweep deletes them within about an hour; without it every one holds its addresses to the end.
    assert!(
        leaked(&on, "cleaned") >= leaked(&on, "total") - 2.0,
        "{}",
        on["enis"]
    );
    assert!(leaked(&on, "peak") < leaked(&off, "peak"));
    assert_eq!(leaked(&off, "cleaned"), 0.0);
    assert_eq!(leaked(&off, "at_end"), leaked(&off, "total"));
    assert!(leaked(&off, "addresses_at_end") >= 9.0 * leaked(&off, "at_end"));
    let min_free = |v: &Value| f(&v["subnets"]["pods"]["min_free_addresses"]);
    assert!(
        min_free(&off) + 50.0 < min_free(&on),
        "min free with the sweep {}, without {}",
        min_free(&on),
        min_free(&off)
    );

    // The launch template without DeleteOnTermination, brought forward to day one: the primaries it leaves
    // are never swept (ipamd did not create them), while ipamd's own leaks still go.
    let mut s = load("leaked-enis");
    s.duration = minutes(48 * 60);
    move_event(&mut s, "template-drops-delete-on-termination", minutes(60));
    let w = run_checked(&s);
    let v = summary(&s, &w);
    let primaries = leaked(&v, "primary");
    assert!(primaries >= 9.0, "{}", v["enis"]);
    assert!(leaked(&v, "at_end") >= primaries, "{}", v["enis"]);
    assert!(
        leaked(&v, "cleaned") >= leaked(&v, "total") - primaries - 2.0,
        "{}",
        v["enis"]
    );
}
