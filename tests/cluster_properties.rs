//! Random clusters under random churn: whatever the instance types, address modes, warm targets, scheduling
//! policy, workloads, scale steps and rollouts, a run keeps its invariants (no address held by two live pods,
//! ordered pod timestamps), no node holds more pods than kubelet allows, every Running pod has an address on
//! its own node's ENI, and the pod counts the time series reports match the pods themselves.

mod invariants;

use invariants::run_checked;
use proptest::prelude::*;
use vpcsim::scenarios;
use vpcsim::sim::kube::nodes::NodePhase;
use vpcsim::sim::kube::pods::PodState;

const TYPES: [&str; 3] = ["m5.large", "t3.medium", "c5.xlarge"];
const WARM: [&str; 4] = [
    "{}",
    "{ WARM_IP_TARGET = 3, MINIMUM_IP_TARGET = 5 }",
    "{ ENABLE_PREFIX_DELEGATION = true, WARM_PREFIX_TARGET = 1 }",
    "{ ENABLE_PREFIX_DELEGATION = true, WARM_IP_TARGET = 4 }",
];

#[derive(Debug, Clone)]
struct Group {
    instance_type: usize,
    count: u32,
    warm: usize,
    scale_to: Option<u32>,
    rollout: bool,
}

fn group() -> impl Strategy<Value = Group> {
    (
        0..TYPES.len(),
        1u32..4,
        0..WARM.len(),
        proptest::option::of(0u32..5),
        any::<bool>(),
    )
        .prop_map(|(instance_type, count, warm, scale_to, rollout)| Group {
            instance_type,
            count,
            warm,
            scale_to,
            rollout,
        })
}

fn scenario_text(
    groups: &[Group],
    pack: bool,
    rate: u32,
    replicas: (u32, u32),
    seed: u64,
) -> String {
    let mut t = format!(
        r#"name = "p"
seed = {seed}
duration = "15m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/22"
az = "us-east-1a"
[[subnets]]
name = "b"
cidr = "10.0.4.0/24"
az = "us-east-1a"
[subnets.in_use]
count = 60
placement = "spread"
[scheduler]
policy = "{}"
"#,
        if pack { "pack" } else { "spread" }
    );
    for (i, g) in groups.iter().enumerate() {
        t += &format!(
            "[[node_groups]]\nname = \"g{i}\"\ninstance_type = \"{}\"\ncount = {}\nsubnets = [\"a\", \"b\"]\n\
             ipamd = {}\n",
            TYPES[g.instance_type], g.count, WARM[g.warm]
        );
        if let Some(n) = g.scale_to {
            t += &format!("scale = [{{ at = \"6m\", count = {n} }}]\n");
        }
        if g.rollout {
            t += "rollouts = [{ at = \"4m\", batch = 1 }]\n";
        }
    }
    t += &format!(
        "[[workloads]]\nname = \"churn\"\ntype = \"steady\"\npods_per_minute = {rate}\n\
         lifetime = {{ dist = \"exponential\", mean = \"2m\" }}\n\
         [[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = {}\n\
         scale = [{{ at = \"5m\", replicas = {} }}]\nnode_group = \"g0\"\n",
        replicas.0, replicas.1
    );
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_clusters_keep_their_invariants(
        groups in proptest::collection::vec(group(), 1..3),
        pack in any::<bool>(),
        rate in 1u32..30,
        replicas in (0u32..40, 0u32..60),
        seed in 0u64..1000,
    ) {
        let text = scenario_text(&groups, pack, rate, replicas, seed);
        let s = scenarios::parse(&text, "p.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        let world = run_checked(&s);

        let cluster = &world.cluster;
        for (n, node) in cluster.nodes.iter().enumerate() {
            prop_assert!(node.pods + node.host_network_pods <= node.max_pods, "node {n}");
            node.ipamd.state().ds.check_invariants().map_err(TestCaseError::fail)?;
            if node.phase == NodePhase::Terminated {
                prop_assert_eq!(node.pods, 0, "node {} terminated with pods", n);
            }
        }
        let mut counts = [0u32; 3];
        for (i, p) in world.all_pods().iter().enumerate() {
            match p.state {
                PodState::Pending => counts[0] += 1,
                PodState::Starting => counts[1] += 1,
                PodState::Running => {
                    counts[2] += 1;
                    // Its address is on its node's instance, on the ENI the CNI named.
                    let node = &cluster.nodes[p.node.unwrap() as usize];
                    let eni = world.ec2.inventory().eni(p.eni.unwrap()).unwrap();
                    let attached = eni.state.attachment().map(|a| a.instance);
                    prop_assert_eq!(attached, Some(node.instance), "pod {}", i);
                    let std::net::IpAddr::V4(addr) = p.address.unwrap() else {
                        panic!("pod {i}: an IPv4 cluster gave an IPv6 address");
                    };
                    let holds = eni.secondary_ips.iter().any(|&(a, _)| a == addr)
                        || eni.prefixes.iter().any(|(n, _)| n.contains(&addr));
                    prop_assert!(holds, "pod {i}: {addr} is not on {}", p.eni.unwrap());
                }
                PodState::Terminating | PodState::Gone => {}
            }
        }
        let c = cluster.counts;
        prop_assert_eq!([c.pending, c.starting, c.running], counts);
    }
}
