//! Security groups for pods end to end (docs/reference/ec2.md §11), each test named after the controller or
//! plugin behaviour it follows: the trunk the VPC resource controller attaches to an `ENABLE_POD_ENI` node,
//! the node's `vpc.amazonaws.com/pod-eni` capacity, a branch ENI per pod with security groups and the CNI ADD
//! that waits for its annotation, the delete queue and its cooldown, the controller's own client limiter, and
//! what changes no call.

mod invariants;

use invariants::{check_invariants, run_checked};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::eni::EniState;
use vpcsim::sim::ec2::{Action, BRANCH_ENI_DESCRIPTION, TRUNK_ENI_DESCRIPTION};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::kube::pods::WaitReason;
use vpcsim::sim::sink::Kept;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

/// `nodes` nodes of `instance_type` with `ENABLE_POD_ENI` (and `ipamd`'s other keys) in one /22, and `tail`'s
/// workloads.
fn scenario(instance_type: &str, nodes: u32, ipamd: &str, tail: &str) -> Scenario {
    let text = format!(
        r#"name = "sgp"
seed = 7
duration = "20m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/22"
az = "us-east-1a"
[[subnets]]
name = "pods"
cidr = "10.0.8.0/22"
az = "us-east-1a"
[[node_groups]]
name = "sgp"
instance_type = "{instance_type}"
count = {nodes}
subnets = ["a"]
ipamd = {{ ENABLE_POD_ENI = true{ipamd} }}
{tail}"#
    );
    scenarios::parse(&text, "sgp.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// The scenarios' horizon.
const END: SimTime = SimTime(20 * 60 * 1_000_000);

/// A deployment of `replicas` pods with security groups.
fn sg_deployment(replicas: u32, scale: &str) -> String {
    format!(
        "[[workloads]]\nname = \"web\"\ntype = \"deployment\"\nsecurity_groups = true\nreplicas = {replicas}\n{scale}"
    )
}

/// Attempts of `action` by the resource controller.
fn rc_calls(w: &World, action: Action) -> u64 {
    w.cluster
        .rc
        .as_ref()
        .map_or(0, |rc| rc.counters.attempts[action.index()])
}

/// Runs `s` to `at` and returns the world and engine, to run further.
fn run_to(s: &Scenario, at: SimDuration) -> (World, Engine<Event>) {
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(s, Kept::boxed(), false).expect("builds");
    engine.run_until(&mut world, SimTime::ZERO + at);
    (world, engine)
}

#[test]
fn ec2_11_3_an_enable_pod_eni_node_gets_a_trunk_at_its_highest_free_device_index() {
    let w = run_checked(&scenario("m5.large", 2, "", ""));
    let inv = w.ec2.inventory();
    for node in &w.cluster.nodes {
        let instance = inv.instance(node.instance).unwrap();
        let trunks: Vec<_> = instance
            .devices
            .iter()
            .filter(|&&(_, e)| &*inv.eni(e).unwrap().description == TRUNK_ENI_DESCRIPTION)
            .collect();
        // m5.large has 3 ENI slots: ipamd takes the lowest, the controller the highest.
        assert_eq!(trunks.len(), 1);
        assert_eq!(trunks[0].0, 2);
        assert_eq!(node.pod_eni_capacity, 9);
        // ipamd adopted it as the trunk: no address on it.
        let st = node.ipamd.state();
        assert!(st.ds.has_trunk());
        let trunk = st.ds.eni(trunks[0].1).unwrap();
        assert!(trunk.trunk && trunk.cidrs.is_empty());
    }
    // Per node: LoadDetails, the interfaces, create, permission, attach, modify, then polls until attached.
    for (action, per_node) in [
        (Action::DescribeInstances, 2),
        (Action::DescribeSubnets, 1),
        (Action::CreateNetworkInterface, 1),
        (Action::CreateNetworkInterfacePermission, 1),
        (Action::AttachNetworkInterface, 1),
        (Action::ModifyNetworkInterfaceAttribute, 1),
    ] {
        assert_eq!(rc_calls(&w, action), 2 * per_node, "{action}");
    }
    assert!((2..=2 * 7).contains(&rc_calls(&w, Action::DescribeNetworkInterfaces)));
}

#[test]
fn ec2_11_2_a_type_without_trunk_support_gets_no_trunk_and_no_controller() {
    // t3: ipamd's copy of the table says no trunk, so it keeps no slot and asks for none.
    let w = run_checked(&scenario("t3.large", 2, "", ""));
    assert!(w.cluster.rc.is_none());
    assert!(w.cluster.nodes.iter().all(|n| n.pod_eni_capacity == 0));
}

#[test]
fn ec2_11_1_without_enable_pod_eni_nothing_of_the_controller_exists() {
    let text = "name = \"off\"\nduration = \"10m\"\n[vpc]\ncidr = \"10.0.0.0/16\"\n[[subnets]]\nname = \"a\"\n\
                cidr = \"10.0.0.0/22\"\naz = \"us-east-1a\"\n[[node_groups]]\nname = \"g\"\n\
                instance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n[[workloads]]\nname = \"w\"\n\
                type = \"deployment\"\nreplicas = 10\n";
    let w = run_checked(&scenarios::parse(text, "off.toml").unwrap());
    assert!(w.cluster.rc.is_none());
    assert!(w.cluster.nodes.iter().all(|n| !n.trunk_asked));
}

#[test]
fn ec2_11_1_the_scheduler_places_no_more_branch_pods_than_a_nodes_capacity() {
    // One m5.large: 9 branches, 29 max pods. 20 pods with security groups: 9 run, 11 wait for capacity.
    let w = run_checked(&scenario("m5.large", 1, "", &sg_deployment(20, "")));
    let pods = w.all_pods();
    let started = pods.iter().filter(|p| p.running.is_some()).count();
    assert_eq!(started, 9);
    let pending: Vec<_> = pods.iter().filter(|p| p.node.is_none()).collect();
    assert_eq!(pending.len(), 11);
    assert!(
        pending
            .iter()
            .all(|p| p.wait_reason == Some(WaitReason::InsufficientPodEni))
    );
    assert_eq!(w.cluster.nodes[0].pod_eni_pods, 9);
}

#[test]
fn ec2_11_4_a_branch_pod_gets_its_own_eni_after_failed_adds_and_kubelets_retry() {
    let w = run_checked(&scenario("m5.large", 2, "", &sg_deployment(10, "")));
    let inv = w.ec2.inventory();
    let pods = w.all_pods();
    assert_eq!(pods.len(), 10);
    for p in &pods {
        let eni = inv.eni(p.eni.expect("an ENI")).unwrap();
        // The branch's primary address is the pod's, in the node's subnet; it is not attached, only associated.
        assert_eq!(&*eni.description, BRANCH_ENI_DESCRIPTION);
        assert_eq!(p.address, Some(eni.primary_ip.into()));
        assert!(eni.secondary_ips.is_empty() && eni.prefixes.is_empty());
        assert_eq!(eni.state, EniState::Available);
        // The first ADD comes before the annotation; kubelet's retry is 10–15 s later.
        assert!(p.failed_adds >= 1);
        assert_eq!(p.wait_reason, Some(WaitReason::BranchEni));
        let wait = p
            .ip_assigned
            .unwrap()
            .since(p.sandbox.unwrap())
            .as_secs_f64();
        assert!(
            (10.0..=15.0 * f64::from(p.failed_adds)).contains(&wait),
            "{wait}"
        );
    }
    // Per pod: create, permission, associate (besides each node's trunk); no ipamd address.
    assert_eq!(rc_calls(&w, Action::AssociateTrunkInterface), 10);
    assert_eq!(
        rc_calls(&w, Action::CreateNetworkInterfacePermission),
        10 + 2
    );
    assert_eq!(rc_calls(&w, Action::CreateNetworkInterface), 10 + 2);
    assert!(
        w.cluster
            .nodes
            .iter()
            .all(|n| n.ipamd.state().ds.stats(END).assigned == 0)
    );
}

#[test]
fn ec2_11_5_a_gone_pods_branch_is_deleted_after_its_cooldown_on_the_30_s_grid() {
    // Scale from 6 to 0 at 10 min: every branch waits at least 60 s, at most 90 s plus the calls.
    let s = scenario(
        "m5.large",
        1,
        "",
        &sg_deployment(6, "scale = [{ at = \"10m\", replicas = 0 }]"),
    );
    let branches = |w: &World| {
        w.ec2
            .inventory()
            .enis()
            .iter()
            .filter(|e| &*e.description == BRANCH_ENI_DESCRIPTION && e.state != EniState::Deleted)
            .count()
    };
    let (mut w, mut engine) = run_to(&s, SimDuration::from_secs(600));
    assert_eq!(branches(&w), 6);
    // Pods gone within seconds of the scale-down (grace period 30 s); their branches still cool down.
    engine.run_until(
        &mut w,
        SimTime::ZERO + SimDuration::from_secs(600 + 60 + 30),
    );
    assert!(w.all_pods().iter().all(|p| p.ip_released.is_some()));
    assert_eq!(
        w.cluster.rc.as_ref().unwrap().branches_held(0),
        branches(&w) as u32
    );
    assert!(branches(&w) > 0, "deleted before its cooldown");
    engine.run_until(
        &mut w,
        SimTime::ZERO + SimDuration::from_secs(600 + 30 + 90 + 30),
    );
    assert_eq!(branches(&w), 0);
    let rc = w.cluster.rc.as_ref().unwrap();
    assert_eq!(rc.counters.branches_deleted, 6);
    assert_eq!(rc_calls(&w, Action::DisassociateTrunkInterface), 6);
    check_invariants(&w, SimTime::ZERO + SimDuration::from_secs(750));
}

#[test]
fn ec2_11_4_cooling_branches_count_against_the_limit_and_creates_wait_a_cooldown() {
    // One m5.large (9 branches) with churning pods: the scheduler sees room as soon as a pod is gone, but the
    // controller counts its branch until deleted and requeues the create after the cooldown.
    let tail = "[[workloads]]\nname = \"jobs\"\ntype = \"steady\"\nsecurity_groups = true\npods_per_minute = 12\n\
                lifetime = { dist = \"exponential\", mean = \"30s\" }";
    let w = run_checked(&scenario("m5.large", 1, "", tail));
    let rc = w.cluster.rc.as_ref().unwrap();
    assert!(rc.counters.creates_requeued_full > 0);
    assert!(rc.branches_held(0) <= 9);
    // Some pod waited at least a cooldown for its address.
    let longest = w
        .all_pods()
        .iter()
        .filter_map(|p| Some(p.ip_assigned?.since(p.sandbox?)))
        .max()
        .unwrap();
    assert!(longest >= SimDuration::from_secs(60), "{longest:?}");
}

#[test]
fn ec2_11_6_the_controllers_calls_wait_for_its_own_client_limiter() {
    // The user client at 1 call/s, burst 1: its CreateNetworkInterface calls go at least a second apart.
    let tail = format!(
        "{}\n[resource_controller]\nuser_qps = 1\nuser_burst = 1\n",
        sg_deployment(9, "")
    );
    let w = run_checked(&scenario("m5.large", 1, "", &tail));
    let clients = w.cluster.rc.as_ref().unwrap().clients();
    let kept = w.kept().unwrap();
    let mut sent: Vec<SimTime> = kept
        .attempts
        .iter()
        .filter(|a| a.client == clients[0] && a.attempt == 1)
        .map(|a| a.sent)
        .collect();
    sent.sort();
    assert!(sent.len() > 20);
    assert!(
        sent.windows(2)
            .all(|w| w[1].since(w[0]) >= SimDuration::from_secs(1))
    );
}

#[test]
fn ec2_11_7_the_enforcing_mode_and_external_snat_change_no_call() {
    let tail = sg_deployment(8, "scale = [{ at = \"8m\", replicas = 2 }]");
    let run = |ipamd: &str| {
        let w = run_checked(&scenario("m5.large", 2, ipamd, &tail));
        let kept = w.kept().unwrap();
        kept.attempts
            .iter()
            .map(|a| (a.sent, a.action, a.client))
            .collect::<Vec<_>>()
    };
    let strict = run("");
    assert_eq!(
        strict,
        run(
            ", POD_SECURITY_GROUP_ENFORCING_MODE = \"standard\", AWS_VPC_K8S_CNI_EXTERNALSNAT = true"
        )
    );
}

#[test]
fn ec2_11_7_prefix_delegation_and_branch_pods_share_a_node_without_prefix_addresses_for_branches() {
    let tail = format!(
        "{}\n[[workloads]]\nname = \"plain\"\ntype = \"deployment\"\nreplicas = 10\n",
        sg_deployment(5, "")
    );
    let w = run_checked(&scenario(
        "m5.large",
        1,
        ", ENABLE_PREFIX_DELEGATION = true, WARM_PREFIX_TARGET = 1",
        &tail,
    ));
    let inv = w.ec2.inventory();
    let pods = w.all_pods();
    assert!(pods.iter().all(|p| p.running.is_some()));
    for p in &pods {
        let eni = inv.eni(p.eni.unwrap()).unwrap();
        let branch = &*eni.description == BRANCH_ENI_DESCRIPTION;
        assert_eq!(branch, p.shape.pod_eni);
        // A plain pod's address comes from one of the ENI's /28s; a branch pod's is its branch's own.
        assert_eq!(
            !branch,
            eni.prefixes
                .iter()
                .any(|(n, _)| n.contains(&match p.address.unwrap() {
                    std::net::IpAddr::V4(a) => a,
                    _ => unreachable!(),
                }))
        );
    }
    let assigned = w.cluster.nodes[0].ipamd.state().ds.stats(END).assigned;
    assert_eq!(assigned, 10);
}

#[test]
fn ec2_11_3_custom_networking_puts_the_trunk_and_branches_in_the_eniconfig_subnet() {
    let text = scenario("m5.large", 1, "", &sg_deployment(3, ""));
    let mut s = text;
    let group = &mut s.node_groups[0];
    group.ipamd.custom_network = Some(vpcsim::sim::ipamd::config::EniConfig {
        subnet: vpcsim::sim::vpc::SubnetId(1),
        security_groups: vec![],
    });
    let w = run_checked(&s);
    let inv = w.ec2.inventory();
    let ours: Vec<_> = inv
        .enis()
        .iter()
        .filter(|e| {
            &*e.description == BRANCH_ENI_DESCRIPTION || &*e.description == TRUNK_ENI_DESCRIPTION
        })
        .collect();
    assert_eq!(ours.len(), 4);
    assert!(
        ours.iter()
            .all(|e| e.subnet == vpcsim::sim::vpc::SubnetId(1))
    );
}

#[test]
fn security_groups_for_pods_runs_are_deterministic() {
    let s = scenario(
        "m5.large",
        2,
        "",
        &sg_deployment(
            12,
            "scale = [{ at = \"5m\", replicas = 4 }, { at = \"10m\", replicas = 14 }]",
        ),
    );
    let pods = |w: &World| {
        w.all_pods()
            .iter()
            .map(|p| (p.address, p.ip_assigned, p.running))
            .collect::<Vec<_>>()
    };
    assert_eq!(pods(&run_checked(&s)), pods(&run_checked(&s)));
}

#[test]
fn ec2_11_5_a_lost_nodes_branches_are_deleted_and_no_work_for_it_goes_on() {
    // Two nodes lose one at 8 min: its pods' branches go through the delete queue like any other, the
    // replacement node gets its own trunk, and no job keeps calling for the lost one.
    let tail = format!(
        "{}\n[[events]]\nat = \"8m\"\ndo = \"lose-nodes\"\nnode_group = \"sgp\"\ncount = 1\n",
        sg_deployment(8, "")
    );
    let w = run_checked(&scenario("m5.large", 2, "", &tail));
    let rc = w.cluster.rc.as_ref().unwrap();
    assert_eq!(rc.counters.trunks_attached, 3);
    let lost = w
        .cluster
        .nodes
        .iter()
        .position(|n| n.phase == vpcsim::sim::kube::nodes::NodePhase::Terminated)
        .unwrap() as u32;
    assert_eq!(rc.branches_held(lost), 0);
    assert_eq!(
        rc.counters.branches_deleted
            + u64::from(rc.branches_held(0) + rc.branches_held(1) + rc.branches_held(2)),
        rc.counters.branches_created
    );
    assert_eq!(rc.counters.trunk_jobs_failed, 0);
}

#[test]
fn ec2_11_1_a_restarted_ipamd_knows_the_trunk_again_and_keeps_branch_pods_off_its_pool() {
    // An aws-node update restarts every ipamd at 6 min: its start-up finds the trunk among the attached ENIs
    // and adopts it as the trunk, as `DescribeAllENIs` does, so no address goes on it and no new trunk is
    // asked for.
    let tail = format!(
        "{}\n[[events]]\nat = \"6m\"\ndo = \"update-aws-node\"\nipamd = {{ WARM_IP_TARGET = 3 }}\n",
        sg_deployment(6, "scale = [{ at = \"10m\", replicas = 12 }]")
    );
    let w = run_checked(&scenario("m5.large", 2, "", &tail));
    assert!(w.cluster.nodes.iter().all(|n| n.aws_node.restarts == 1));
    for node in &w.cluster.nodes {
        let st = node.ipamd.state();
        let trunks: Vec<_> = st.ds.enis().iter().filter(|e| e.trunk).collect();
        assert_eq!(trunks.len(), 1);
        assert!(trunks[0].cidrs.is_empty());
    }
    let rc = w.cluster.rc.as_ref().unwrap();
    assert_eq!(rc.counters.trunks_attached, 2);
    assert!(w.all_pods().iter().all(|p| p.running.is_some()));
}

#[test]
fn ec2_11_4_a_failed_branch_creation_is_retried_with_back_off_and_the_pod_waits() {
    // A /27 (27 usable addresses) where ipamd's warm pool and the node take most: branch creations fail
    // with InsufficientFreeAddressesInSubnet, each failure retried after the work queue's back-off, and the pods
    // that get no branch keep waiting as branch-eni.
    let text = "name = \"full\"\nseed = 3\nduration = \"10m\"\n[vpc]\ncidr = \"10.0.0.0/16\"\n[[subnets]]\n\
                name = \"a\"\ncidr = \"10.0.0.0/27\"\naz = \"us-east-1a\"\n[[node_groups]]\nname = \"sgp\"\n\
                instance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\n\
                ipamd = { ENABLE_POD_ENI = true, WARM_IP_TARGET = 18 }\n";
    let s = scenarios::parse(&format!("{text}{}", sg_deployment(9, "")), "full.toml").unwrap();
    let w = run_checked(&s);
    let rc = w.cluster.rc.as_ref().unwrap();
    assert!(rc.counters.create_jobs_failed > 0);
    let failed = w
        .ec2
        .record()
        .action(Action::CreateNetworkInterface)
        .errors_with(vpcsim::sim::ec2::ErrorCode::InsufficientFreeAddressesInSubnet);
    assert!(failed > 0);
    let pods = w.all_pods();
    let waiting: Vec<_> = pods
        .iter()
        .filter(|p| p.node.is_some() && p.address.is_none())
        .collect();
    assert!(!waiting.is_empty());
    assert!(
        waiting
            .iter()
            .all(|p| p.wait_reason == Some(WaitReason::BranchEni))
    );
    // Each waiting pod's job tried five times (5, 10, 20, 40 ms apart), then waits for the 30 min resync.
    assert_eq!(rc.counters.create_jobs_failed, 5 * waiting.len() as u64);
    // Branches held never exceed what was created and not deleted.
    assert_eq!(
        u64::from(rc.branches_held(0)),
        rc.counters.branches_created - rc.counters.branches_deleted
    );
}
