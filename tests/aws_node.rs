//! aws-node's process life in a whole cluster: crash loops, restarts with a new configuration, DaemonSet
//! rolling updates (docs/reference/kube.md §4.7, §5.5; docs/reference/ipamd.md §9).

mod invariants;

use invariants::{check_invariants, run_checked};

use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::{Action, EniQuery, Request};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::ipamd::config::IpamdConfig;
use vpcsim::sim::kube::aws_node::{AwsNodeRollout, MaxUnavailable};
use vpcsim::sim::kube::nodes::NodePhase;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

fn at(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

fn build(text: &str, trace: bool) -> (Scenario, World, Engine<Event>) {
    let s = scenarios::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let (w, e) = World::build(&s, vpcsim::sim::sink::Kept::boxed(), trace).expect("builds");
    (s, w, e)
}

fn cluster(nodes: u32, replicas: u32, group_extra: &str) -> String {
    format!(
        r#"name = "t"
seed = 3
duration = "30m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/18"
az = "us-east-1a"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = {nodes}
subnets = ["a"]
{group_extra}
[[workloads]]
name = "web"
type = "deployment"
replicas = {replicas}
"#
    )
}

fn calls(w: &World, a: Action) -> u64 {
    w.ec2.record().action(a).attempts()
}

/// Every running pod and its address, by the node's checkpoint.
fn held(w: &World) -> Vec<Vec<(u64, std::net::IpAddr)>> {
    w.cluster
        .nodes
        .iter()
        .map(|n| n.ipamd.state().ds.checkpoint())
        .collect()
}

/// kube.md §5.5, ipamd.md §9.1–§9.3: a rolling update over 20 nodes with the default 10 % never has more than 2
/// nodes down, restarts each once, makes each restart's start-up calls, and the pods keep their addresses.
#[test]
fn kube_5_5_a_rolling_update_keeps_two_of_20_nodes_down_at_most_and_each_restart_sets_up_again() {
    let (_, mut w, mut e) = build(&cluster(20, 100, ""), false);
    e.run_until(&mut w, at(300));
    assert!(w.cluster.nodes.iter().all(|n| n.phase == NodePhase::Ready));
    let before = held(&w);
    let enis: u64 = w
        .cluster
        .nodes
        .iter()
        .map(|n| u64::from(n.ipamd.state().ds.eni_count()))
        .sum();
    let modify = calls(&w, Action::ModifyNetworkInterfaceAttribute);
    let describe = calls(&w, Action::DescribeNetworkInterfaces);
    let tags = calls(&w, Action::CreateTags);
    let change = AwsNodeRollout {
        config: None,
        max_unavailable: MaxUnavailable::default(),
    };
    let i = w.cluster.roll_aws_node(&mut e.context(), 0, change);
    let mut max_down = 0;
    for t in (301..=1_500).step_by(1) {
        e.run_until(&mut w, at(t));
        let down = w.cluster.rollouts[i].in_progress.len();
        max_down = max_down.max(down);
        let serving = w
            .cluster
            .nodes
            .iter()
            .filter(|n| !n.ipamd.serving())
            .count();
        assert!(serving <= 2, "{serving} ipamds down at {t}s");
    }
    let r = &w.cluster.rollouts[i];
    assert_eq!(max_down, 2);
    assert_eq!(r.max_down, 2);
    assert_eq!(r.restarted, 20);
    assert!(r.finished.is_some(), "{r:?}");
    assert!(w.cluster.nodes.iter().all(|n| n.aws_node.restarts == 1));
    assert!(w.cluster.nodes.iter().all(|n| n.phase == NodePhase::Ready));
    // Each restart: one DescribeNetworkInterfaces and one security-group modify per ENI; the ENIs are tagged.
    assert!(calls(&w, Action::DescribeNetworkInterfaces) >= describe + 20);
    assert!(calls(&w, Action::ModifyNetworkInterfaceAttribute) >= modify + enis);
    assert_eq!(calls(&w, Action::CreateTags), tags, "no tag is missing");
    for (n, pods) in before.iter().enumerate() {
        let now = w.cluster.nodes[n].ipamd.state().ds.checkpoint();
        for p in pods {
            assert!(now.contains(p), "node {n}: {p:?} lost");
        }
    }
    check_invariants(&w, at(1_500));
}

/// kube.md §5.5: `max_unavailable = 100%` restarts every node at once.
#[test]
fn kube_5_5_max_unavailable_100_percent_restarts_all_at_once() {
    let (_, mut w, mut e) = build(&cluster(5, 0, ""), false);
    e.run_until(&mut w, at(120));
    let change = AwsNodeRollout {
        config: None,
        max_unavailable: MaxUnavailable::Percent(100.0),
    };
    let i = w.cluster.roll_aws_node(&mut e.context(), 0, change);
    assert_eq!(w.cluster.rollouts[i].in_progress.len(), 5);
    e.run_until(&mut w, at(300));
    assert_eq!(w.cluster.rollouts[i].max_down, 5);
    assert!(w.cluster.rollouts[i].finished.is_some());
}

/// ipamd.md §9.4, §8.12: switching prefix delegation on by restarting aws-node releases the unassigned /32s,
/// keeps the pods' /32s, adds prefixes, and leaves the node's max-pods as it was bootstrapped.
#[test]
fn spec_9_4_prefix_delegation_switched_on_leaves_mixed_enis_and_the_same_max_pods() {
    let (_, mut w, mut e) = build(&cluster(1, 10, ""), false);
    e.run_until(&mut w, at(180));
    let max_pods = w.cluster.nodes[0].max_pods;
    let pods = held(&w)[0].clone();
    assert_eq!(pods.len(), 10);
    let pd = IpamdConfig {
        enable_prefix_delegation: true,
        warm_prefix_target: 1,
        ..w.cluster.nodes[0].ipamd.state().cfg.clone()
    };
    assert!(w.cluster.restart_aws_node(&mut e.context(), 0, Some(pd)));
    e.run_until(&mut w, at(400));
    let node = &w.cluster.nodes[0];
    assert!(node.ipamd.serving());
    assert_eq!(node.max_pods, max_pods);
    assert_eq!(node.ipamd.state().limits.max_pods, max_pods);
    let st = node.ipamd.state();
    let cidrs: Vec<_> = st.ds.enis().iter().flat_map(|e| e.cidrs.iter()).collect();
    let ips = cidrs.iter().filter(|c| c.net.prefix_len() == 32).count();
    let prefixes = cidrs.iter().filter(|c| c.net.prefix_len() == 28).count();
    assert_eq!(ips, 10, "only the pods' /32s are left");
    assert!(prefixes >= 1);
    assert_eq!(st.ds.checkpoint(), pods, "the pods keep their addresses");
}

/// kube.md §4.7, §5.5; ipamd.md §9.3, §9.5: custom networking whose subnet is full leaves the pool empty, so
/// every start-up fails; the liveness probe kills each container 80 s after its start and kubelet restarts it
/// after 0, 10, 20, 40 … s. The fresh node stays NotReady.
#[test]
fn kube_4_7_a_failing_start_up_crash_loops_with_kubelets_back_off() {
    let text = r#"name = "t"
duration = "40m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "nodes"
cidr = "10.0.0.0/24"
az = "us-east-1a"
[[subnets]]
name = "pods"
cidr = "10.0.1.0/28"
az = "us-east-1a"
in_use = { count = 11 }
[kubelet]
container_start = "1s"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 1
subnets = ["nodes"]
ipamd = { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true }
eni_config = { subnet = "pods" }
"#;
    let (_, mut w, mut e) = build(text, true);
    e.run_until(&mut w, at(40 * 60));
    let node = &w.cluster.nodes[0];
    assert_eq!(node.phase, NodePhase::Initializing);
    let log = &w.cluster.log.as_ref().unwrap().lines;
    let kills: Vec<SimTime> = log
        .iter()
        .filter(|l| l.what.starts_with("aws-node killed"))
        .map(|l| l.at)
        .collect();
    let starts: Vec<SimTime> = log
        .iter()
        .filter(|l| {
            l.what.starts_with("aws-node started") || l.what.starts_with("aws-node restarted")
        })
        .map(|l| l.at)
        .collect();
    assert!(kills.len() >= 9, "{kills:?}");
    for (k, s) in kills.iter().zip(&starts) {
        assert_eq!(
            k.since(*s),
            SimDuration::from_secs(80),
            "killed 80 s after its start"
        );
    }
    // Restart waits after each kill, less the 1 s container start; the first waits only for PLEG's relist.
    let waits: Vec<u64> = kills
        .iter()
        .zip(&starts[1..])
        .map(|(k, s)| s.since(*k).as_secs_f64().round() as u64 - 1)
        .collect();
    assert!(waits[0] <= 1, "{waits:?}");
    assert_eq!(waits[1..8], [10, 20, 40, 80, 160, 300, 300], "{waits:?}");
    assert_eq!(node.aws_node.liveness_kills as usize, kills.len());
    assert_eq!(
        node.ipamd.state().counters.init_failures as usize,
        starts.len()
    );
    // The failed start-up ended ipamd's process and its leaked-ENI sweep with it: the sweeps, each due up to
    // 300 s after its container started, never ran while the container waited for the liveness probe.
    let st = node.ipamd.state();
    let sweeps = st
        .call_trace
        .as_ref()
        .unwrap()
        .iter()
        .filter(|c| {
            matches!(
                &c.request,
                Request::DescribeNetworkInterfaces {
                    query: EniQuery::AvailableWithTag(_)
                }
            )
        })
        .count();
    assert_eq!(sweeps, 0);
}

/// kube.md §4.7: the back-off settings are read from `[kubelet]`; a healthy node never restarts aws-node.
#[test]
fn kube_4_7_crash_loop_settings_are_read_and_a_healthy_run_has_no_restarts() {
    let kubelet =
        "[kubelet]\ncrash_loop_backoff_initial = \"1s\"\ncrash_loop_backoff_max = \"60s\"\n";
    let text = cluster(2, 10, kubelet);
    let s = scenarios::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.kube.kubelet.crash_loop.initial, SimDuration::from_secs(1));
    assert_eq!(s.kube.kubelet.crash_loop.max, SimDuration::from_secs(60));
    let w = run_checked(&s);
    assert!(w.cluster.nodes.iter().all(|n| n.aws_node.restarts == 0));
    assert!(
        w.cluster
            .nodes
            .iter()
            .all(|n| n.aws_node.liveness_kills == 0)
    );
    let bad = cluster(1, 0, "[kubelet]\ncrash_loop_backoff_max = \"301s\"\n");
    let e = scenarios::parse(&bad, "t.toml").unwrap_err().to_string();
    assert!(e.contains("kubelet.crash_loop_backoff_max"), "{e}");
}

/// ipamd.md §9.1 step 7, §9.3: the checkpoint file outlives a start-up that fails before restoring it. A restart
/// whose DescribeNetworkInterfaces finds no token (one a 10 min) fails and crash-loops; the start-up that
/// finally succeeds restores the same pods with the same addresses, and no address goes to a second pod.
#[test]
fn spec_9_3_a_failed_start_up_leaves_the_checkpoint_for_the_next() {
    let tight = "[accounts.default.limits_unfiltered.DescribeNetworkInterfaces]\nburst = 1\n\
                 refill_per_sec = 0.0016\n";
    let (_, mut w, mut e) = build(&cluster(1, 10, tight), false);
    e.run_until(&mut w, at(180));
    let before = held(&w);
    assert_eq!(before[0].len(), 10);
    assert!(w.cluster.restart_aws_node(&mut e.context(), 0, None));
    e.run_until(&mut w, at(1_200));
    let node = &w.cluster.nodes[0];
    assert!(
        node.ipamd.state().counters.init_failures >= 1,
        "a start-up failed"
    );
    assert!(node.aws_node.liveness_kills >= 1);
    assert!(node.ipamd.serving(), "a later start-up succeeded");
    assert_eq!(held(&w), before, "the pods keep their addresses");
    check_invariants(&w, at(1_200));
}
