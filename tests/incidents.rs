//! The bundled incidents (`scenarios/incidents/`), each run (shortened, or with its change brought forward,
//! where the full story is too long for a debug build) and checked for the shape its header describes, read
//! from its summary the way a user's script reads `summary.json`.

mod invariants;

use std::path::Path;

use invariants::{check_invariants, run_checked};
use serde_json::Value;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::{Action, ErrorCode};
use vpcsim::sim::engine::{Engine, RunStats};
use vpcsim::sim::kube::aws_node::MaxUnavailable;
use vpcsim::sim::kube::nodes::Node;
use vpcsim::sim::kube::pods::WaitReason;
use vpcsim::sim::metrics::Sample;
use vpcsim::sim::script::Change;
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
    let pods = w.all_pods();
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
        .all_pods()
        .into_iter()
        .filter(|p| p.deleted == Some(resumed))
        .count();
    assert!(held_ends > 1_000, "{held_ends} suspensions at the recovery");
    let late = w
        .all_pods()
        .into_iter()
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
    w.all_pods()
        .into_iter()
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
    let pods = w.all_pods();
    let created_in = |from: u64, to: u64| {
        pods.iter()
            .copied()
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
        World::build(s, vpcsim::sim::sink::Kept::boxed(), false).expect("builds");
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
    w.kept()
        .expect("kept records")
        .attempts
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

/// The index of node group `name` in `s`.
fn group(s: &Scenario, name: &str) -> usize {
    s.node_groups
        .iter()
        .position(|g| g.name == name)
        .unwrap_or_else(|| panic!("no node group {name}"))
}

/// Builds `s`'s world and runs it to `at`, for a look at the world before the rest of the run.
fn run_to(s: &Scenario, at: SimDuration) -> (World, Engine<Event>) {
    let (mut w, mut e): (World, Engine<Event>) =
        World::build(s, vpcsim::sim::sink::Kept::boxed(), false).expect("builds");
    e.run_until(&mut w, SimTime::ZERO + at);
    (w, e)
}

/// Runs the rest of `s`, then checks the run's invariants.
fn finish(s: &Scenario, w: &mut World, e: &mut Engine<Event>) {
    let end = SimTime::ZERO + s.duration;
    e.run_until(w, end);
    check_invariants(w, end);
}

/// The /32s (pod addresses, not the ENIs' primaries) and the /28s a node's ipamd holds.
fn cidrs_of(n: &Node) -> (usize, usize) {
    let st = n.ipamd.state();
    let lens: Vec<u8> = st
        .ds
        .enis()
        .iter()
        .flat_map(|e| e.cidrs.iter().map(|c| c.net.prefix_len()))
        .collect();
    (
        lens.iter().filter(|&&l| l == 32).count(),
        lens.iter().filter(|&&l| l == 28).count(),
    )
}

/// The most pods node `n` held addresses for at once over the run.
fn peak_addressed(w: &World, n: u32) -> usize {
    let mut steps: Vec<(SimTime, i32)> = Vec::new();
    for p in w.all_pods().into_iter().filter(|p| p.node == Some(n)) {
        if let Some(a) = p.ip_assigned {
            steps.push((a, 1));
            if let Some(r) = p.ip_released {
                steps.push((r, -1));
            }
        }
    }
    // Releases before assignments at one instant.
    steps.sort();
    let mut held = 0;
    let mut peak = 0;
    for (_, d) in steps {
        held += d;
        peak = peak.max(held);
    }
    peak as usize
}

fn errors(w: &World, a: Action, code: ErrorCode) -> u64 {
    w.ec2.record().action(a).errors_with(code)
}

/// The in-place switch (an aws-node update over the "inplace" group) and the new node group, side by side in
/// fragmented /24s: the switched nodes keep their pods' /32s next to whatever /28 they found and keep
/// max-pods 11; prefix requests fail for want of aligned blocks and pods wait; the same fragmented subnets
/// serve the secondary-IP group without a wait (ipamd.md §3.4, §8.12, §9.4; ec2.md §3.4).
#[test]
fn prefix_delegation_in_place_leaves_mixed_nodes_at_the_old_max_pods_and_pods_wait() {
    let s = load("prefix-delegation-in-place");
    let (inplace, new) = (group(&s, "inplace"), group(&s, "new"));
    // Before the switch every node runs secondary IPs: no prefix has been asked for.
    let (mut w, mut e) = run_to(&s, minutes(29));
    let assign = Action::AssignPrivateIpAddresses;
    let create = Action::CreateNetworkInterface;
    assert_eq!(errors(&w, assign, ErrorCode::InsufficientCidrBlocks), 0);
    assert_eq!(errors(&w, create, ErrorCode::InvalidParameterValue), 0);
    assert!(w.cluster.nodes.iter().all(|n| cidrs_of(n).1 == 0));
    finish(&s, &mut w, &mut e);
    let sum = summary(&s, &w);
    let of_group =
        |g: usize| -> Vec<&Node> { w.cluster.nodes.iter().filter(|n| n.group == g).collect() };

    // The switched nodes: max-pods as bootstrapped in SIP mode (11 on t3.small), pods' /32s left next to the
    // /28s, and some nodes without any prefix (VPC CNI #1634).
    let switched = of_group(inplace);
    assert_eq!(switched.len(), 18);
    assert!(
        switched.iter().all(|n| n.max_pods == 11),
        "max-pods unchanged"
    );
    let mixed = switched
        .iter()
        .filter(|n| cidrs_of(n).0 > 0 && cidrs_of(n).1 > 0)
        .count();
    let without = switched.iter().filter(|n| cidrs_of(n).1 == 0).count();
    assert!(mixed > 0, "no node holds both /32s and /28s");
    assert!(without > 0, "every switched node found a prefix");
    // The new group: prefix mode's max-pods, /28s only, and nodes that hold more pod addresses than a
    // secondary-IP t3.small can.
    let fresh = of_group(new);
    assert!(fresh.iter().all(|n| n.max_pods == 110));
    assert!(
        fresh.iter().all(|n| cidrs_of(n).0 == 0),
        "a new node holds a /32"
    );
    let most = (0..w.cluster.nodes.len() as u32)
        .filter(|&n| w.cluster.nodes[n as usize].group == new)
        .map(|n| peak_addressed(&w, n))
        .max()
        .unwrap();
    assert!(most > 11 - 2, "{most} pod addresses at most on a new node");

    // Prefix requests failed for want of aligned /28s: Assign with InsufficientCidrBlocks, CreateNetworkInterface
    // with InvalidParameterValue, and the switched group's pods waited or never started; the secondary-IP
    // group in the same kind of subnets never waited long.
    assert!(errors(&w, assign, ErrorCode::InsufficientCidrBlocks) > 0);
    assert!(errors(&w, create, ErrorCode::InvalidParameterValue) > 0);
    let groups = &sum["node_groups"];
    for g in ["inplace", "new"] {
        assert!(
            f(&groups[g]["ipamd_api_errors"]["InsufficientCidrBlocks"]) > 0.0,
            "{g}: {}",
            groups[g]["ipamd_api_errors"]
        );
        assert!(f(&groups[g]["pods"]["waited_for_an_address"]) > 0.0);
    }
    assert!(f(&groups["inplace"]["pods"]["never_started"]) > 0.0);
    assert_eq!(f(&groups["old"]["pods"]["never_started"]), 0.0);
    assert!(f(&groups["old"]["pods"]["ip_wait_s"]["max"]) < 60.0);
}

/// Figures of a run so far that a rollout adds to.
#[derive(Debug)]
struct Tally {
    throttled: u64,
    describe: u64,
    modify: u64,
    restarts: u32,
    liveness_kills: u32,
}

fn tally(w: &World) -> Tally {
    let r = w.ec2.record();
    Tally {
        throttled: r.total_throttled(),
        describe: r.action(Action::DescribeNetworkInterfaces).attempts(),
        modify: r.action(Action::ModifyNetworkInterfaceAttribute).attempts(),
        restarts: w.cluster.nodes.iter().map(|n| n.aws_node.restarts).sum(),
        liveness_kills: w
            .cluster
            .nodes
            .iter()
            .map(|n| n.aws_node.liveness_kills)
            .sum(),
    }
}

/// One variant of the rolling update: what the rollout added, the world at the end and its summary.
fn rolling_update(max_unavailable: MaxUnavailable) -> (Tally, World, Value) {
    let mut s = load("aws-node-rolling-update");
    let at = s
        .script
        .events
        .iter()
        .find(|e| e.label == "addon-update")
        .unwrap()
        .at;
    for e in &mut s.script.events {
        if let Change::AwsNode { rollouts } = &mut e.change {
            for (_, r) in rollouts {
                r.max_unavailable = max_unavailable;
            }
        }
    }
    let (mut w, mut e) = run_to(&s, at);
    let before = tally(&w);
    finish(&s, &mut w, &mut e);
    let after = tally(&w);
    let added = Tally {
        throttled: after.throttled - before.throttled,
        describe: after.describe - before.describe,
        modify: after.modify - before.modify,
        restarts: after.restarts - before.restarts,
        liveness_kills: after.liveness_kills - before.liveness_kills,
    };
    let sum = summary(&s, &w);
    (added, w, sum)
}

/// Pods whose last CNI ADD failed because ipamd was not serving.
fn waited_for_ipamd(w: &World) -> usize {
    w.all_pods()
        .into_iter()
        .filter(|p| p.failed_adds > 0 && p.wait_reason == Some(WaitReason::IpamdUnavailable))
        .count()
}

/// kube.md §5.5, ipamd.md §9.1–§9.2, ec2.md §1.3: the 500-node update at the manifest's 10 % restarts 50 nodes
/// at a time, each restart's start-up calls (a DescribeNetworkInterfaces, a security-group modify per ENI)
/// drawing on the account's buckets, some throttled, and pods that land on a restarting node wait for ipamd;
/// all at once throttles many times more, start-ups fail and aws-node crash-loops.
#[test]
fn aws_node_rolling_update_at_500_nodes_throttles_and_all_at_once_crash_loops() {
    let (ten, w10, sum10) = rolling_update(MaxUnavailable::Percent(10.0));
    let enis: u64 = w10
        .cluster
        .nodes
        .iter()
        .map(|n| u64::from(n.ipamd.state().ds.eni_count()))
        .sum();
    let rollout = &sum10["aws_node"]["rollouts"][0];
    assert_eq!(f(&rollout["max_down"]), 50.0);
    assert_eq!(f(&rollout["nodes_restarted"]), 500.0);
    assert!(rollout["finished_s"].is_number(), "{rollout}");
    assert!(ten.restarts >= 500);
    assert!(ten.describe >= 500, "{ten:?}");
    assert!(ten.modify >= enis, "{ten:?}: {enis} ENIs");
    assert!(ten.throttled > 0, "{ten:?}");
    assert!(waited_for_ipamd(&w10) > 0);

    let (all, w100, sum100) = rolling_update(MaxUnavailable::Percent(100.0));
    assert_eq!(f(&sum100["aws_node"]["rollouts"][0]["max_down"]), 500.0);
    assert!(all.throttled > 5 * ten.throttled, "{all:?} against {ten:?}");
    assert!(f(&sum100["ec2"]["throttled"]["DescribeNetworkInterfaces"]) > 0.0);
    assert!(
        all.liveness_kills > ten.liveness_kills && all.restarts > ten.restarts,
        "{all:?} against {ten:?}"
    );
    assert!(f(&sum100["ipamd"]["init_failures"]) > f(&sum10["ipamd"]["init_failures"]));
    assert!(waited_for_ipamd(&w100) > waited_for_ipamd(&w10));
}
