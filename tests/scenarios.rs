//! Every bundled scenario runs (shortened where a full run is too long for a debug build), and each shows what
//! it was written to show, read from its summary the way a user's script would read `summary.json`; every
//! run keeps the invariants of `invariants`.

mod invariants;

use std::path::Path;

use invariants::{check_invariants, run_checked};

use serde_json::Value;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios;
use vpcsim::sim::ec2::record::{CallLog, Outcome};
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
    let world = run_checked(&s);
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

/// A node group's EC2 calls by its ipamds, all actions together (summary.json's `ipamd_ec2_calls`).
fn ipamd_calls(group: &Value) -> u64 {
    group["ipamd_ec2_calls"]
        .as_object()
        .unwrap()
        .values()
        .map(u)
        .sum()
}

#[test]
fn quickstart_shows_pods_waiting_for_addresses_and_why() {
    let v = run("quickstart", None);
    let pods = &v["pods"];
    assert!(u(&pods["started"]) > 300, "{pods}");
    assert!(u(&pods["failed_add_attempts"]) > 0, "{pods}");
    let reasons = pods["address_wait_reasons"].as_object().unwrap();
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

/// The three modes on one workload: IPv6 makes one AssignIpv6Addresses per node and no other address call,
/// its pods never wait for an address and all get IPv6 addresses, and its nodes take only their own IPv4
/// address from the subnet; secondary IPs make the most EC2 calls.
#[test]
fn ipv6_makes_no_per_pod_calls_and_never_waits_while_secondary_ips_make_the_most() {
    let v = run("ipv6-vs-ipv4", None);
    let g = &v["node_groups"];
    let calls =
        |group: &str, action: &str| g[group]["ipamd_ec2_calls"][action].as_u64().unwrap_or(0);
    let total = |group: &str| ipamd_calls(&g[group]);
    let nodes = u(&g["ipv6"]["nodes_started"]);
    assert_eq!(nodes, 5);
    assert_eq!(calls("ipv6", "AssignIpv6Addresses"), nodes);
    for action in [
        "AssignPrivateIpAddresses",
        "UnassignPrivateIpAddresses",
        "CreateNetworkInterface",
        "AttachNetworkInterface",
    ] {
        assert_eq!(calls("ipv6", action), 0, "{action}");
    }
    assert_eq!(
        total("ipv6"),
        7 * nodes,
        "start-up's calls only (ipamd.md §11.2)"
    );
    assert!(total("secondary-ip") > total("prefix"));
    assert!(total("prefix") > total("ipv6"));
    let v6 = &g["ipv6"];
    assert_eq!(u(&v6["pods"]["failed_add_attempts"]), 0);
    assert_eq!(v6["pods"]["ip_wait_s"]["max"].as_f64(), Some(0.0));
    assert!(u(&g["secondary-ip"]["pods"]["failed_add_attempts"]) > 0);
    let started = u(&v6["pods"]["started"]);
    assert!(started > 100);
    // Every pod that started had its IPv6 address (and so may one still starting at the end).
    assert!(u(&v6["ipv6"]["pods_with_ipv6_address"]) >= started);
    assert_eq!(u(&v6["ipv6"]["nodes_with_prefix"]), nodes);
    let subnet = &v["subnets"]["v6"];
    assert_eq!(u(&subnet["ipv6"]["peak_prefixes"]), nodes);
    // A /22 has 1,019 usable addresses; the nodes take one each.
    assert_eq!(u(&subnet["min_free_addresses"]), 1019 - nodes);
}

/// Pods with security groups against plain pods on one workload (docs/reference/ec2.md §11): every branch pod
/// costs the resource controller its own calls (create, permission, associate; later disassociate and delete)
/// while plain pods cost ipamd a few calls per node, branch pods wait for their annotation and for cooling
/// branches under churn (`tests/security_groups.rs` holds each node to its type's branch limit).
#[test]
fn security_groups_for_pods_cost_calls_per_pod_and_wait_longer_under_churn() {
    let v = run("security-groups-for-pods", None);
    let g = &v["node_groups"];
    let sgp = &v["security_groups_for_pods"];
    let pods = |group: &str| u(&g[group]["pods"]["created"]);

    // Both groups get their trunks; only the sgp group's pods get branches.
    assert_eq!(u(&sgp["trunks_attached"]), 10);
    assert_eq!(
        u(&g["sgp"]["security_groups_for_pods"]["nodes_with_trunk"]),
        5
    );
    assert_eq!(
        u(&g["plain"]["security_groups_for_pods"]["pods_with_branch_eni"]),
        0
    );
    let branch_pods = u(&g["sgp"]["security_groups_for_pods"]["pods_with_branch_eni"]);
    assert!(branch_pods > 500);
    // A branch for each pod that got one, and for those still waiting for their ADD at the end.
    assert!(u(&sgp["branch_enis_created"]) >= u(&sgp["pods_with_branch_eni"]));
    // The controller's calls per branch pod against ipamd's per plain pod.
    let per_branch_pod = sgp["controller_ec2_calls_per_branch_pod"].as_f64().unwrap();
    assert!(per_branch_pod > 3.0, "{per_branch_pod}");
    let per_plain_pod = ipamd_calls(&g["plain"]) as f64 / pods("plain") as f64;
    assert!(per_branch_pod > 10.0 * per_plain_pod, "{per_plain_pod}");
    for action in [
        "CreateNetworkInterface",
        "CreateNetworkInterfacePermission",
        "AssociateTrunkInterface",
    ] {
        assert!(
            u(&sgp["controller_ec2_calls"][action]) >= branch_pods,
            "{action}"
        );
    }
    // Every branch pod's first ADD failed and it waited for its annotation; plain pods seldom wait.
    let reasons = &g["sgp"]["pods"]["address_wait_reasons"];
    assert_eq!(u(&reasons["branch-eni"]), pods("sgp"));
    assert!(u(&sgp["creates_requeued_at_limit"]) > 0);
    let p50 = |group: &str| {
        g[group]["pods"]["launch_latency_s"]["p50"]
            .as_f64()
            .unwrap()
    };
    assert!(
        p50("sgp") > 10.0 + p50("plain"),
        "{} {}",
        p50("sgp"),
        p50("plain")
    );
    let p99 = |group: &str| g[group]["pods"]["ip_wait_s"]["p99"].as_f64().unwrap();
    assert!(
        p99("sgp") > 60.0,
        "cooling branches hold creates back a cooldown"
    );
    assert!(p99("plain") < 60.0);
    // The capacity: 18 branches per m5.xlarge, whatever its 58 max pods.
    assert_eq!(
        u(&g["sgp"]["security_groups_for_pods"]["branch_capacity_per_node"]),
        18
    );
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
    // CreateNetworkInterface's prefix shortfall is InvalidParameterValue (ec2.md §3.4): ipamd does not freeze
    // (ipamd.md §4.4) and tries again every tick. Every pod on the fragmented subnet is still waiting, and
    // says why.
    assert!(u(&g["on-fragmented"]["ipamd_api_errors"]["InvalidParameterValue"]) > 0);
    assert_eq!(u(&v["ipamd"]["insufficient_cidr_freezes"]), 0);
    let frag_pods = &g["on-fragmented"]["pods"];
    assert_eq!(u(&frag_pods["started"]), 0);
    let reasons = frag_pods["address_wait_reasons"].as_object().unwrap();
    assert_eq!(reasons.values().map(u).sum::<u64>(), 60, "{frag_pods}");
    assert!(
        reasons.keys().all(|r| r.starts_with("pool-empty:")),
        "{frag_pods}"
    );
    assert_eq!(u(&g["on-reserved"]["pods"]["started"]), 60);
}

#[test]
fn a_fragmented_subnet_counts_its_stranded_pods_and_its_p99_says_it_is_only_a_lower_bound() {
    let v = run("fragmented-subnet", None);
    let pods = &v["pods"];
    assert_eq!(u(&pods["created"]), 120, "{pods}");
    assert_eq!(u(&pods["never_started"]), 60, "{pods}");
    assert_eq!(u(&pods["deleted_before_running"]), 0, "{pods}");
    assert_eq!(pods["started_ratio"].as_f64(), Some(0.5), "{pods}");
    let g = &v["node_groups"];
    assert_eq!(u(&g["on-fragmented"]["pods"]["never_started"]), 60);
    assert_eq!(
        g["on-fragmented"]["pods"]["started_ratio"].as_f64(),
        Some(0.0)
    );
    assert_eq!(u(&g["on-reserved"]["pods"]["never_started"]), 0);
    // The stranded pods have waited since their creation just after the scale-up at 2 m (the ReplicaSet
    // controller's 60 creates, 30 beyond its client's burst at 20 a second, take 1.5 s and an API latency):
    // the p99 is at least the 28 minutes left less those 2 s (and, for the IP wait, less the second before
    // their first CNI ADD, where it starts), and says it is a lower bound; the pods that started did so
    // within seconds.
    for (wait, since) in [("launch_latency_s", 2.0), ("ip_wait_s", 3.0)] {
        let q = &pods[wait];
        assert!(
            q["p99"].as_f64().unwrap() >= 28.0 * 60.0 - since,
            "{wait}: {q}"
        );
        assert_eq!(q["p99_censored"], true, "{wait}: {q}");
        assert!(
            pods["started_only"][wait]["p99"].as_f64().unwrap() < 10.0,
            "{pods}"
        );
    }
    assert_eq!(pods["ip_wait_s"]["p50_censored"], false, "{pods}");
    // Node start-up is an outcome too: every node came up, in the order of a boot and aws-node's start.
    let nodes = &v["nodes"];
    assert_eq!(u(&nodes["never_ready"]), 0, "{nodes}");
    let ready = &nodes["ready_latency_s"];
    assert!(
        (10.0..120.0).contains(&ready["p50"].as_f64().unwrap()),
        "{ready}"
    );
    assert_eq!(ready["max_censored"], false, "{ready}");
    for group in ["on-fragmented", "on-reserved"] {
        assert_eq!(u(&g[group]["never_ready"]), 0, "{group}");
        assert!(
            g[group]["ready_latency_s"]["p99"].as_f64().unwrap() > 0.0,
            "{group}"
        );
    }
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
    let reasons = v["pods"]["address_wait_reasons"].as_object().unwrap();
    assert!(
        reasons.keys().any(|r| r.starts_with("pool-empty:")),
        "{reasons:?}"
    );
    // The 3,800 new replicas come at the ReplicaSet controller's 20 creates a second (its burst of 30 first):
    // the scale-up takes at least those 188.5 s, which no pod's own launch latency shows.
    let up = &v["deployments"]["web"];
    assert_eq!(up["scale_ups"], 2, "{up}");
    let max = up["scale_up_s"]["max"].as_f64().unwrap();
    assert!(max >= (3800.0 - 30.0) / 20.0, "{up}");
    assert!(v["pods"]["launch_latency_s"]["p50"].as_f64().unwrap() < 10.0);
}

/// Runs replicate 0 of the point of sweep `scenarios/NAME.toml` whose axis labels are `labels`, and returns its
/// summary with every key.
fn sweep_point(name: &str, labels: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"));
    let (sweep, _) = scenarios::sweep::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let point = (0..sweep.points())
        .find(|&p| sweep.labels(p) == labels)
        .unwrap_or_else(|| panic!("{name} has no point {labels:?}"));
    let s = sweep
        .scenario(point, 0)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let (world, perf) = report::simulate(&s, true, false).expect("builds");
    check_invariants(&world, SimTime::ZERO + s.duration);
    report::summary(&s, &world, perf, report::Keys::All)
}

#[test]
fn warm_targets_trade_held_addresses_for_api_calls() {
    let at = |setting: &str| sweep_point("warm-targets", &[setting, "6"]);
    let (eni, ip5, ip1) = (at("eni-1"), at("ip-5/min-10"), at("ip-1"));
    let calls = |v: &Value| u(&v["ec2"]["calls"]["AssignPrivateIpAddresses"]);
    assert!(
        calls(&ip1) > calls(&eni),
        "{} vs {}",
        calls(&ip1),
        calls(&eni)
    );
    // A whole warm ENI per node holds more of the subnet, on average, than a five-address pool, which holds
    // more than a one-address pool; the smallest pool makes pods wait longest.
    let held = |v: &Value| v["ips"]["allocated_mean"].as_f64().unwrap();
    assert!(held(&eni) > held(&ip5), "{} vs {}", held(&eni), held(&ip5));
    assert!(held(&ip5) > held(&ip1), "{} vs {}", held(&ip5), held(&ip1));
    let p99 = |v: &Value| v["pods"]["ip_wait_s"]["p99"].as_f64().unwrap();
    assert!(p99(&ip1) > p99(&eni), "{} vs {}", p99(&ip1), p99(&eni));
    // Prefix mode holds whole /28s: few calls, no waits for an address at this churn.
    let prefix = at("prefix-1");
    assert!(u(&prefix["ec2"]["calls_total"]) < u(&eni["ec2"]["calls_total"]));
    assert_eq!(u(&prefix["pods"]["waited_for_an_address"]), 0);
}

#[test]
fn compare_modes_prefix_delegation_makes_fewer_calls_at_every_size_in_a_roomy_subnet() {
    for size in ["16 × m5.large", "4 × m5.2xlarge", "1 × m5.8xlarge"] {
        let sip = sweep_point("compare-modes", &["secondary IPs", size, "/21"]);
        let pd = sweep_point("compare-modes", &["prefix delegation", size, "/21"]);
        let calls = |v: &Value| u(&v["ec2"]["calls_total"]);
        assert!(
            calls(&pd) < calls(&sip),
            "{size}: {} vs {}",
            calls(&pd),
            calls(&sip)
        );
        // The same pods in both modes (common random numbers).
        assert_eq!(sip["pods"]["created"], pd["pods"]["created"], "{size}");
        let p99 = |v: &Value| v["pods"]["ip_wait_s"]["p99"].as_f64().unwrap();
        assert!(
            p99(&pd) < p99(&sip),
            "{size}: {} vs {}",
            p99(&pd),
            p99(&sip)
        );
    }
}

#[test]
fn compare_modes_flips_to_secondary_ips_in_a_small_shared_subnet() {
    let at =
        |mode: &str, subnet: &str| sweep_point("compare-modes", &[mode, "16 × m5.large", subnet]);
    let icb = |v: &Value| u(&v["ipamd"]["api_errors"]["InsufficientCidrBlocks"]);
    let started = |v: &Value| v["pods"]["started_ratio"].as_f64().unwrap();
    // A /23 that other users hold 160 addresses of, at random, has no whole /28 left: prefix nodes fail and
    // their pods never start, while secondary IPs start them all but the last few created.
    let (sip, pd) = (at("secondary IPs", "/23"), at("prefix delegation", "/23"));
    assert!(icb(&pd) > 0, "{}", pd["ipamd"]);
    assert!(u(&pd["pods"]["never_started"]) > 100, "{}", pd["pods"]);
    assert!(started(&pd) < 0.5, "{}", pd["pods"]);
    assert_eq!(icb(&sip), 0, "{}", sip["ipamd"]);
    assert!(started(&sip) > 0.99, "{}", sip["pods"]);
    assert_eq!(sip["pods"]["created"], pd["pods"]["created"]);
    // In a /21 the same tenants leave whole blocks: prefix mode starts the pods too, with fewer calls and
    // shorter waits (compare_modes_prefix_delegation_makes_fewer_calls_at_every_size_in_a_roomy_subnet).
    let pd = at("prefix delegation", "/21");
    assert_eq!(icb(&pd), 0, "{}", pd["ipamd"]);
    assert!(started(&pd) > 0.99, "{}", pd["pods"]);
}

#[test]
fn reservation_strategies_keep_blocks_whole_for_prefixes() {
    let icb = |size: &str, strategy: &str| {
        u(
            &sweep_point("reservation-strategies", &[size, strategy])["ipamd"]["api_errors"]["InsufficientCidrBlocks"],
        )
    };
    // A /22 shared with churning tenants fragments: prefixes fail although addresses are free.
    assert!(icb("/22", "none") > 0);
    // Reserving half of it for prefixes, or a subnet of its own, removes the failures.
    assert_eq!(icb("/22", "prefix 50 %"), 0);
    assert_eq!(icb("/22", "dedicated subnet"), 0);
    // A /23 is too small for the burst unless the pods have most of it.
    assert!(icb("/23", "dedicated subnet") < icb("/23", "none"));
    assert_eq!(icb("/20", "none"), 0);
    // Without prefixes the nodes need no whole block: no InsufficientCidrBlocks at any size, and in a /23
    // every pod starts where prefix mode without a reservation leaves some waiting.
    for size in ["/24", "/23", "/22", "/21", "/20"] {
        assert_eq!(icb(size, "secondary IPs"), 0, "{size}");
    }
    let started = |strategy: &str| {
        sweep_point("reservation-strategies", &["/23", strategy])["pods"]["started_ratio"]
            .as_f64()
            .unwrap()
    };
    assert!(
        started("none") < started("secondary IPs"),
        "{} vs {}",
        started("none"),
        started("secondary IPs")
    );
}

#[test]
fn throttling_grows_with_the_scale_up_and_raised_limits_remove_it_for_100_nodes() {
    let throttled = |nodes: &str, limits: &str| {
        u(&sweep_point("throttling", &[nodes, limits])["ec2"]["throttled_total"])
    };
    assert_eq!(throttled("50", "default (5/s)"), 0);
    let (at100, at200) = (
        throttled("100", "default (5/s)"),
        throttled("200", "default (5/s)"),
    );
    assert!(0 < at100 && at100 < at200, "{at100} then {at200}");
    // Raised, the three limits throttle nothing at 100 nodes; what is left, if anything, is a stray
    // Describe call of nodes starting together, whose limits stay as they were.
    let raised = sweep_point("throttling", &["100", "raised (20/s)"]);
    let by_action = &raised["ec2"]["throttled"];
    for action in [
        "CreateNetworkInterface",
        "AttachNetworkInterface",
        "AssignPrivateIpAddresses",
    ] {
        assert_eq!(u(&by_action[action]), 0, "{action}");
    }
    assert!(
        u(&raised["ec2"]["throttled_total"]) * 10 < at100,
        "{by_action}"
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

/// `vpcsim run` cuts a run into steps for its progress bar (`report::simulate`); stopping at each step's
/// instant changes nothing: every pod's record and the whole summary are those of an unbroken run.
#[test]
fn a_run_cut_into_progress_steps_gives_what_an_unbroken_run_gives() {
    for name in ["quickstart", "fragmented-subnet", "karpenter-burst"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(format!("{name}.toml"));
        let s = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (stepped, _) = report::simulate(&s, true, false).expect("runs");
        let (mut whole, mut engine): (World, Engine<Event>) =
            World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).expect("builds");
        engine.run_until(&mut whole, SimTime::ZERO + s.duration);
        let pods = |w: &World| format!("{:?}", w.all_pods());
        assert!(pods(&stepped) == pods(&whole), "{name}: pods differ");
        let perf = || Perf {
            wall_s: 1.0,
            stats: RunStats::default(),
            simulated_s: s.duration.as_secs_f64(),
        };
        assert_eq!(
            report::summary(&s, &stepped, perf(), report::Keys::All),
            report::summary(&s, &whole, perf(), report::Keys::All),
            "{name}"
        );
    }
}

/// `[ec2] api_calls_csv = "failures"` keeps only the throttled and failed attempts for `api_calls.csv`; the
/// summary, counted from every attempt, is the same as with the whole log.
#[test]
fn an_attempt_log_of_failures_only_leaves_the_summary_exact() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/scale-burst.toml");
    let mut all = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    all.duration = SimDuration::from_secs(12 * 60);
    let mut failures = all.clone();
    failures.ec2.call_log = CallLog::Failures;
    let (whole, _) = report::simulate(&all, true, false).expect("runs");
    let (kept, _) = report::simulate(&failures, true, false).expect("runs");
    let perf = || Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: all.duration.as_secs_f64(),
    };
    let summary = report::summary(&all, &whole, perf(), report::Keys::All);
    assert_eq!(
        summary,
        report::summary(&failures, &kept, perf(), report::Keys::All)
    );
    let log = &kept.kept().expect("kept records").attempts;
    assert!(log.iter().all(|a| a.outcome != Outcome::Ok));
    let throttled = u(&summary["ec2"]["throttled_total"]);
    assert!(throttled > 0);
    let failed = whole
        .kept()
        .expect("kept records")
        .attempts
        .iter()
        .filter(|a| a.outcome != Outcome::Ok)
        .count();
    assert_eq!(log.len(), failed);
    assert!(log.len() < whole.kept().expect("kept records").attempts.len() / 2);
}
