//! Every bundled scenario runs (shortened where a full run is too long for a debug build), and each shows what
//! it was written to show, read from its summary the way a user's script would read `summary.json`; every
//! run keeps the invariants of `invariants`.

mod invariants;

use std::path::Path;

use invariants::check_invariants;

use serde_json::Value;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios;
use vpcsim::sim::engine::{Engine, RunStats};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

/// Runs `scenarios/NAME.toml`, for `minutes` if given, and returns its summary.
fn run(name: &str, minutes: Option<u64>) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    let mut s = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    if let Some(m) = minutes {
        s.duration = SimDuration::from_secs(m * 60);
    }
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(&s, false, false).expect("builds");
    engine.run_until(&mut world, SimTime::ZERO + s.duration);
    check_invariants(&world, SimTime::ZERO + s.duration);
    let perf = Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: s.duration.as_secs_f64(),
    };
    report::summary(&s, &world, perf, report::Keys::Used)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn quickstart_shows_pods_waiting_for_addresses_and_why() {
    let v = run("quickstart", None);
    let pods = &v["pods"];
    assert!(u(&pods["started"]) > 300, "{pods}");
    assert!(u(&pods["failed_add_attempts"]) > 0, "{pods}");
    let reasons = pods["wait_reasons"].as_object().unwrap();
    assert!(!reasons.is_empty());
    assert!(pods["ip_wait_s"]["max"].as_f64().unwrap() >= 10.0, "{pods}");
    assert!(u(&v["ec2"]["calls"]["AttachNetworkInterface"]) > 0);
    let waste = v["ips"]["waste_ratio_mean"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&waste) && waste > 0.05, "{waste}");
}

#[test]
fn prefix_mode_makes_fewer_assign_calls_than_secondary_ips_for_the_same_workload() {
    let v = run("prefix-vs-secondary", None);
    let g = &v["node_groups"];
    let calls = |group: &str| u(&g[group]["ipamd_ec2_calls"]["AssignPrivateIpAddresses"]);
    assert!(
        calls("prefix") < calls("secondary-ip"),
        "prefix {} vs secondary-ip {}",
        calls("prefix"),
        calls("secondary-ip")
    );
    for group in ["prefix", "secondary-ip"] {
        assert!(
            u(&g[group]["pods"]["started"]) > 100,
            "{group}: {}",
            g[group]
        );
    }
}

#[test]
fn a_fragmented_subnet_fails_prefixes_with_free_addresses_and_a_reservation_fixes_it() {
    let v = run("fragmented-subnet", None);
    assert!(u(&v["ec2"]["errors"]["InsufficientCidrBlocks"]) > 0);
    let frag = &v["subnets"]["fragmented"];
    assert_eq!(u(&frag["min_free_prefix_blocks"]), 0);
    assert!(u(&frag["min_free_addresses"]) > 100, "{frag}");
    let g = &v["node_groups"];
    assert!(u(&g["on-fragmented"]["ipamd_api_errors"]["InsufficientCidrBlocks"]) > 0);
    assert!(
        g["on-reserved"]["ipamd_api_errors"]
            .get("InsufficientCidrBlocks")
            .is_none(),
        "{}",
        g["on-reserved"]
    );
    // Every pod on the fragmented subnet is still waiting, and says why.
    let frag_pods = &g["on-fragmented"]["pods"];
    assert_eq!(u(&frag_pods["started"]), 0);
    assert_eq!(
        u(&frag_pods["wait_reasons"]["pool-empty:insufficient-cidr-freeze"]),
        60,
        "{frag_pods}"
    );
    assert_eq!(u(&g["on-reserved"]["pods"]["started"]), 60);
}

#[test]
fn a_scale_burst_meets_the_account_limits() {
    let v = run("scale-burst", Some(12));
    let throttled: u64 = v["ec2"]["throttled"]
        .as_object()
        .unwrap()
        .values()
        .map(u)
        .sum();
    assert!(throttled > 0, "{}", v["ec2"]);
    assert!(u(&v["nodes"]["peak"]) >= 250, "{}", v["nodes"]);
    assert!(u(&v["pods"]["started"]) > 3000, "{}", v["pods"]);
    let reasons = v["pods"]["wait_reasons"].as_object().unwrap();
    assert!(
        reasons.keys().any(|r| r.starts_with("pool-empty:")),
        "{reasons:?}"
    );
}

#[test]
fn warm_targets_trade_held_addresses_for_api_calls() {
    let v = run("warm-targets", None);
    let g = &v["node_groups"];
    let assigns = |group: &str| {
        g[group]["ipamd_ec2_calls"]
            .get("AssignPrivateIpAddresses")
            .map_or(0, u)
    };
    assert!(assigns("ip-1") > assigns("eni-1"));
    // A whole warm ENI per node holds more of the subnet, on average, than a five-address pool, which holds
    // more than a one-address pool; the smallest pool makes pods wait longest.
    let held = |group: &str| g[group]["ips"]["allocated_mean"].as_f64().unwrap();
    assert!(held("eni-1") > held("ip-5-min-10"), "{g}");
    assert!(held("ip-5-min-10") > held("ip-1"), "{g}");
    let p99 = |group: &str| g[group]["pods"]["ip_wait_s"]["p99"].as_f64().unwrap();
    assert!(p99("ip-1") > p99("eni-1"), "{g}");
    // Once the burst is over, the subnets show it too.
    let s = &v["subnets"];
    assert!(
        u(&s["s-eni-1"]["final_free_addresses"]) < u(&s["s-ip-5-min-10"]["final_free_addresses"]),
        "{s}"
    );
}

#[test]
fn the_large_day_starts() {
    let v = run("large-day", Some(6));
    assert!(u(&v["nodes"]["peak"]) >= 900, "{}", v["nodes"]);
    assert!(u(&v["pods"]["started"]) > 3000, "{}", v["pods"]);
}

#[test]
fn a_provisioner_launches_for_a_burst_and_consolidates_after_it() {
    let v = run("karpenter-burst", None);
    let g = &v["node_groups"]["karpenter"];
    // 1,500 pods of 250m on m5.xlarge (3.92 CPUs allocatable): 15 a node, 100 nodes, the provisioner's limit.
    assert_eq!(u(&g["launched"]), 100, "{g}");
    assert_eq!(u(&v["pods"]["started"]), 1500);
    // Spread over the subnets: none ran out of addresses.
    assert!(
        v["ec2"]["errors"]
            .get("InsufficientFreeAddressesInSubnet")
            .is_none()
    );
    // After the scale-down to 100 replicas, the nodes left empty were removed.
    assert!(u(&v["nodes"]["peak"]) == 100);
    assert!(
        u(&v["ec2"]["calls"]["TerminateInstances"]) >= 90,
        "{}",
        v["ec2"]
    );
}
