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

/// The index of node group `name` in `s`.
fn group(s: &Scenario, name: &str) -> usize {
    s.node_groups
        .iter()
        .position(|g| g.name == name)
        .unwrap_or_else(|| panic!("no node group {name}"))
}

/// Builds `s`'s world and runs it to `at`, for a look at the world before the rest of the run.
fn run_to(s: &Scenario, at: SimDuration) -> (World, Engine<Event>) {
    let (mut w, mut e): (World, Engine<Event>) = World::build(s, false, false).expect("builds");
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
    for p in w.cluster.pods.all().iter().filter(|p| p.node == Some(n)) {
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
    w.cluster
        .pods
        .all()
        .iter()
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
