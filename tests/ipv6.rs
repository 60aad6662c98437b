//! ipamd's IPv6 path end to end (docs/reference/ipamd.md §11, docs/reference/ec2.md §6): dual-stack subnets, one
//! /80 per node from AssignIpv6Addresses at start-up and no EC2 call after it, pods' /128s from the node's /80,
//! the node's own IPv4 address, max pods, and an aws-node restart that keeps the /80 and the pods.

mod invariants;

use std::net::IpAddr;

use invariants::run_checked;
use ipnet::{IpNet, Ipv6Net};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::{Action, EniQuery, Request, Response};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::kube::pods::WaitReason;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::SubnetId;
use vpcsim::sim::world::{Event, World};

/// A dual-stack /24 with `nodes` m5.large IPv6 nodes and a stream of short-lived pods on them.
fn scenario(nodes: u32, extra_ipamd: &str) -> Scenario {
    scenario_with(nodes, extra_ipamd, "")
}

/// [`scenario`] with more tables at the end.
fn scenario_with(nodes: u32, extra_ipamd: &str, tail: &str) -> Scenario {
    let text = format!(
        r#"name = "v6"
seed = 11
duration = "20m"
[vpc]
cidr = "10.0.0.0/16"
ipv6_cidr = "2600:1f14:abc:de00::/56"
[[subnets]]
name = "v6"
cidr = "10.0.0.0/24"
ipv6_cidr = "2600:1f14:abc:de07::/64"
az = "us-east-1a"
[[node_groups]]
name = "ipv6"
instance_type = "m5.large"
count = {nodes}
subnets = ["v6"]
ipamd = {{ ENABLE_IPv6 = true, ENABLE_PREFIX_DELEGATION = true, WARM_PREFIX_TARGET = 1{extra_ipamd} }}
[[workloads]]
name = "web"
type = "deployment"
replicas = 60
[[workloads]]
name = "jobs"
type = "steady"
pods_per_minute = 30
lifetime = {{ dist = "exponential", mean = "1m" }}
{tail}"#
    );
    scenarios::parse(&text, "v6.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Calls of `action` the node's ipamd made.
fn ipamd_calls(w: &World, node: usize, action: Action) -> u64 {
    let client = w.cluster.nodes[node].ipamd.client();
    w.ec2.record().client_attempts(client, action)
}

/// The /80s EC2 holds on the node's primary ENI.
fn primary_eni_prefixes(w: &World, node: usize) -> Vec<Ipv6Net> {
    let inv = w.ec2.inventory();
    let instance = inv.instance(w.cluster.nodes[node].instance).unwrap();
    inv.eni(instance.primary_eni).unwrap().ipv6_prefixes.clone()
}

#[test]
fn spec_11_2_a_fresh_ipv6_node_makes_its_start_up_calls_and_none_after() {
    let w = run_checked(&scenario(3, ""));
    for node in 0..3 {
        let calls = |a| ipamd_calls(&w, node, a);
        assert_eq!(calls(Action::DescribeNetworkInterfaces), 2);
        assert_eq!(calls(Action::DescribeSubnets), 2);
        assert_eq!(calls(Action::CreateTags), 1);
        assert_eq!(calls(Action::AssignIpv6Addresses), 1);
        assert_eq!(calls(Action::ModifyNetworkInterfaceAttribute), 1);
        let total: u64 = Action::ALL.iter().map(|&a| calls(a)).sum();
        assert_eq!(total, 7, "node {node}: no call after start-up");
        assert_eq!(primary_eni_prefixes(&w, node).len(), 1);
    }
}

#[test]
fn spec_11_3_pods_get_addresses_of_their_nodes_80_and_never_wait_for_one() {
    let w = run_checked(&scenario(3, ""));
    let started: Vec<_> = w
        .all_pods()
        .into_iter()
        .filter(|p| p.ip_assigned.is_some())
        .collect();
    assert!(started.len() > 300, "{}", started.len());
    for p in &started {
        assert_eq!(p.failed_adds, 0, "{p:?}");
        let node = p.node.unwrap() as usize;
        let prefix = IpNet::V6(primary_eni_prefixes(&w, node)[0]);
        let address = p.address.unwrap();
        assert!(address.is_ipv6() && prefix.contains(&address), "{p:?}");
    }
}

#[test]
fn ec2_6_an_ipv6_node_takes_one_ipv4_address_and_one_80_from_its_subnet() {
    let w = run_checked(&scenario(4, ""));
    let s = w.ec2.inventory().subnet(SubnetId(0));
    assert_eq!(s.used(), 4, "each node's primary IPv4 only");
    let v6 = s.ipv6().unwrap();
    assert_eq!((v6.prefixes_in_use(), v6.addresses_in_use()), (4, 4));
    assert_eq!(
        v6.free_blocks(),
        65_536 - 4 - 1,
        "the nodes' own addresses share one /80"
    );
}

#[test]
fn ec2_6_ipv6_nodes_get_the_prefix_delegation_max_pods() {
    // The calculator's PD value, capped at 110 below 30 vCPUs (docs/reference/ec2.md §5, §6).
    assert_eq!(scenario(1, "").node_groups[0].max_pods, 110);
}

#[test]
fn spec_11_2_the_leaked_eni_sweep_never_runs_in_ipv6() {
    let s = scenario(1, "");
    assert!(!s.node_groups[0].ipamd.leaked_eni_sweep());
}

#[test]
fn spec_11_2_without_subnet_discovery_no_describe_subnets() {
    let w = run_checked(&scenario(1, ", ENABLE_SUBNET_DISCOVERY = false"));
    assert_eq!(ipamd_calls(&w, 0, Action::DescribeSubnets), 0);
    assert_eq!(ipamd_calls(&w, 0, Action::AssignIpv6Addresses), 1);
}

/// An aws-node restart finds the /80 on the ENI (DescribeNetworkInterfaces) and asks for none; its pods keep
/// their addresses through the checkpoint.
#[test]
fn spec_11_2_a_restart_keeps_the_80_and_the_pods_addresses() {
    let s = scenario(1, "");
    let (mut w, mut engine): (World, Engine<Event>) =
        World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
    let t = SimTime::ZERO + SimDuration::from_secs(600);
    engine.run_until(&mut w, t);
    let before = w.cluster.nodes[0].ipamd.state().ds.checkpoint();
    assert!(before.iter().all(|(_, a)| a.is_ipv6()) && !before.is_empty());
    assert!(w.cluster.restart_aws_node(&mut engine.context(), 0, None));
    engine.run_until(&mut w, t + SimDuration::from_secs(60));
    let node = &w.cluster.nodes[0];
    assert!(node.ipamd.serving());
    assert_eq!(ipamd_calls(&w, 0, Action::AssignIpv6Addresses), 1);
    assert_eq!(primary_eni_prefixes(&w, 0).len(), 1);
    let after = node.ipamd.state().ds.checkpoint();
    let kept = before.iter().filter(|p| after.contains(p)).count();
    assert!(kept > 0, "the checkpointed pods keep their /128s");
}

/// DescribeNetworkInterfaces shows the node's ENI with its own IPv6 address (outside its /80) and its /80, and
/// no IPv4 secondary address or prefix: pods take none.
#[test]
fn ec2_6_the_eni_describes_its_prefix_and_own_address() {
    let w = run_checked(&scenario(1, ""));
    let inv = w.ec2.inventory();
    let eni = inv
        .instance(w.cluster.nodes[0].instance)
        .unwrap()
        .primary_eni;
    let Ok(Response::NetworkInterfaces(list)) = inv.peek(&Request::DescribeNetworkInterfaces {
        query: EniQuery::Ids(vec![eni]),
    }) else {
        panic!("described");
    };
    let d = &list[0];
    let own = IpAddr::V6(
        d.ipv6_address
            .expect("an IPv6 address from auto-assignment"),
    );
    assert!(!IpNet::V6(d.ipv6_prefixes[0]).contains(&own));
    assert!(
        d.secondary_ips.is_empty() && d.prefixes.is_empty(),
        "no IPv4 pod addresses"
    );
}

/// A node whose AssignIpv6Addresses stays throttled through its 6 set-up tries carries on without a /80: it turns
/// Ready, and every pod placed on it waits as `no-ipv6-prefix` (the bucket holds one token, refilled once in
/// 1,000 s, so only the first node gets one).
#[test]
fn spec_11_3_a_node_whose_start_up_got_no_80_fails_every_add() {
    let tail = r#"[accounts.default.limits]
AssignIpv6Addresses = { burst = 1, refill_per_sec = 0.001 }"#;
    let w = run_checked(&scenario_with(2, "", tail));
    let with_prefix: Vec<usize> = (0..2)
        .filter(|&n| !primary_eni_prefixes(&w, n).is_empty())
        .collect();
    assert_eq!(with_prefix.len(), 1);
    let without = 1 - with_prefix[0];
    assert!(
        w.cluster.nodes[without].ipamd.serving(),
        "the node is Ready all the same"
    );
    assert_eq!(ipamd_calls(&w, without, Action::AssignIpv6Addresses), 6 * 3);
    let stuck: Vec<_> = w
        .all_pods()
        .into_iter()
        .filter(|p| p.node == Some(without as u32))
        .collect();
    assert!(!stuck.is_empty());
    for p in stuck {
        assert!(p.address.is_none(), "{p:?}");
        assert_eq!(p.wait_reason, Some(WaitReason::NoIpv6Prefix));
    }
}

/// `isConfigValid`'s refusals (and EKS's: dual-stack subnets only) are load-time errors at the variable that
/// causes them; the fixtures hold one case each.
#[test]
fn spec_11_1_invalid_ipv6_combinations_are_refused_at_load_time() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    for (file, fragment) in [
        ("ipv6-without-prefix-delegation.toml", "isConfigValid"),
        ("ipv6-on-xen.toml", "isConfigValid"),
        ("ipv6-with-custom-networking.toml", "isConfigValid"),
        ("ipv6-and-ipv4-both-enabled.toml", "isConfigValid"),
        ("ipv4-and-ipv6-both-disabled.toml", "isConfigValid"),
        ("ipv6-subnet-not-dual-stack.toml", "dual-stack"),
        ("event-update-switching-to-ipv6.toml", "address family"),
    ] {
        let e = scenarios::load(&dir.join(file))
            .expect_err(file)
            .to_string();
        assert!(e.contains(fragment), "{file}: {e}");
    }
}

/// A sweep over the address mode (secondary IPs, prefix delegation, IPv6 zipped over one group's ipamd keys) runs,
/// its points share their result columns, and the IPv6 point needs one AssignIpv6Addresses per node and never
/// makes a pod wait for an address.
#[test]
fn spec_11_2_a_sweep_over_the_address_mode_compares_ipv6_with_ipv4() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sweeps/address-modes.toml");
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("ipv6-address-modes");
    let _ = std::fs::remove_dir_all(&out);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args([
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-plots",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let row = |mode: &str| rows.iter().find(|r| r[col("mode")] == mode).unwrap();
    let value = |mode: &str, name: &str| row(mode)[col(name)].parse::<f64>().unwrap();
    let assign6 = "node_groups.nodes.ipamd_ec2_calls.AssignIpv6Addresses";
    assert_eq!(value("IPv6", assign6), 3.0);
    assert_eq!(value("IPv6", "pods.ip_wait_s.p99"), 0.0);
    assert_eq!(
        value("IPv6", "node_groups.nodes.ipv6.nodes_with_prefix"),
        3.0
    );
    assert_eq!(value("secondary IPs", assign6), 0.0);
    let calls = "ec2.calls_total";
    assert!(value("secondary IPs", calls) > value("IPv6", calls));
}
