//! Time series sampled in simulated time: per-subnet free addresses and free /28 blocks (the fragmentation
//! measure AWS does not expose), instances, ENIs, the nodes' warm pools summed over the cluster, and API
//! attempts and throttles per interval.

use crate::sim::ec2::ControlPlane;
use crate::sim::ec2::api::InstanceState;
use crate::sim::kube::cluster::Cluster;
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::time::{SimDuration, SimTime};

/// One sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time: SimTime,
    /// (free addresses, free /28 blocks) per subnet, in scenario order.
    pub subnets: Vec<(u32, u32)>,
    pub instances_running: u32,
    pub enis: u32,
    /// The nodes' warm pools, summed over the cluster.
    pub pools: PoolTotals,
    /// Pods waiting for a node.
    pub pods_pending: u32,
    /// Pods bound to a node and not yet Running (creating their sandbox, or retrying its CNI ADD).
    pub pods_starting: u32,
    pub pods_running: u32,
    /// API attempts answered since the previous sample.
    pub api_attempts: u64,
    /// Of those, throttled.
    pub throttled: u64,
}

/// ipamd gauges summed over nodes (`awscni_total_ip_addresses` and friends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolTotals {
    /// Addresses in the nodes' datastores: held from the subnet for pods.
    pub allocated: u32,
    /// Of those, held by pods.
    pub assigned: u32,
    /// Of those, released by a pod within the cooldown.
    pub cooling: u32,
    /// ENIs in the nodes' datastores.
    pub enis: u32,
    pub prefixes: u32,
}

impl PoolTotals {
    /// Sums the pools of the cluster's nodes that are not terminated (a terminated node's addresses went back to
    /// the subnet with its ENIs).
    pub fn of(nodes: &[Node], now: SimTime) -> Self {
        let ipamds = nodes
            .iter()
            .filter(|n| n.phase != NodePhase::Terminated)
            .map(|n| &n.ipamd);
        let mut t = PoolTotals::default();
        for d in ipamds {
            let st = d.state();
            let s = st.ds.stats(now);
            t.allocated += s.total;
            t.assigned += s.assigned;
            t.cooling += s.cooling;
            t.enis += st.ds.eni_count();
            t.prefixes += s.total_prefixes;
        }
        t
    }
}

pub struct Timeseries {
    pub interval: SimDuration,
    pub rows: Vec<Sample>,
    attempts_before: u64,
    throttled_before: u64,
}

impl Timeseries {
    pub fn new(interval: SimDuration) -> Self {
        Timeseries {
            interval,
            rows: Vec::new(),
            attempts_before: 0,
            throttled_before: 0,
        }
    }

    /// Takes a sample of the control plane and the cluster at `now`.
    pub fn sample(&mut self, now: SimTime, ec2: &ControlPlane, cluster: &Cluster) {
        let rec = ec2.record();
        let (attempts, throttled) = (rec.total_attempts(), rec.total_throttled());
        self.rows.push(Sample {
            time: now,
            subnets: ec2
                .inventory()
                .subnets()
                .iter()
                .map(|s| (s.free_addresses(), s.free_prefix_blocks()))
                .collect(),
            instances_running: ec2
                .inventory()
                .instances()
                .iter()
                .filter(|i| i.state == InstanceState::Running)
                .count() as u32,
            enis: ec2.inventory().live_enis() as u32,
            pools: PoolTotals::of(&cluster.nodes, now),
            pods_pending: cluster.counts.pending,
            pods_starting: cluster.counts.starting,
            pods_running: cluster.counts.running,
            api_attempts: attempts - self.attempts_before,
            throttled: throttled - self.throttled_before,
        });
        self.attempts_before = attempts;
        self.throttled_before = throttled;
    }
}
