//! Time series sampled in simulated time: per-subnet free addresses and free /28 blocks (the fragmentation
//! measure AWS does not expose), instances, ENIs, the nodes' warm pools summed over the cluster and per node
//! group, pods by state, API attempts and throttles per interval, the /28 blocks inside reservations (how a
//! reservation made over addresses in use heals) and the ENIs instances left behind.

use crate::sim::ec2::ControlPlane;
use crate::sim::ec2::api::InstanceState;
use crate::sim::kube::cluster::Cluster;
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::time::{SimDuration, SimTime};
use crate::sim::vpc::{ReservedBlocks, Subnet};

/// The whole /28 blocks of all of `s`'s reservations, and how many are wholly free.
fn reserved_blocks(s: &Subnet) -> ReservedBlocks {
    s.reservations()
        .iter()
        .map(|r| s.reservation_blocks(r))
        .fold(ReservedBlocks::default(), |a, b| ReservedBlocks {
            blocks: a.blocks + b.blocks,
            free: a.free + b.free,
        })
}

/// One sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    pub time: SimTime,
    /// (free addresses, free /28 blocks) per subnet, in scenario order.
    pub subnets: Vec<(u32, u32)>,
    /// Whole /28 blocks inside each subnet's reservations, and how many are wholly free, in scenario order.
    pub reserved: Vec<ReservedBlocks>,
    /// The same per reservation, by id ([`crate::sim::ec2::reservations::CidrReservations::all`]); zero for
    /// one not live at the sample.
    pub reservations: Vec<ReservedBlocks>,
    /// ENIs left available by their instance's termination and not deleted yet, and the addresses they hold.
    pub leaked_enis: u32,
    pub leaked_addresses: u32,
    pub instances_running: u32,
    pub enis: u32,
    /// The nodes' warm pools, summed over the cluster.
    pub pools: PoolTotals,
    /// The same per node group, in scenario order.
    pub group_pools: Vec<PoolTotals>,
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
    /// The pools of the cluster's nodes that are not terminated (a terminated node's addresses went back to the
    /// subnet with its ENIs), summed per node group.
    pub fn by_group(nodes: &[Node], groups: usize, now: SimTime) -> Vec<PoolTotals> {
        let mut totals = vec![PoolTotals::default(); groups];
        for n in nodes.iter().filter(|n| n.phase != NodePhase::Terminated) {
            let st = n.ipamd.state();
            let s = st.ds.stats(now);
            let t = &mut totals[n.group];
            t.allocated += s.total;
            t.assigned += s.assigned;
            t.cooling += s.cooling;
            t.enis += st.ds.eni_count();
            t.prefixes += s.total_prefixes;
        }
        totals
    }

    fn add(mut self, o: &PoolTotals) -> Self {
        self.allocated += o.allocated;
        self.assigned += o.assigned;
        self.cooling += o.cooling;
        self.enis += o.enis;
        self.prefixes += o.prefixes;
        self
    }

    /// Share of the held addresses no pod uses; `None` when nothing is held.
    pub fn waste_ratio(&self) -> Option<f64> {
        (self.allocated > 0)
            .then(|| f64::from(self.allocated - self.assigned) / f64::from(self.allocated))
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
        let group_pools = PoolTotals::by_group(&cluster.nodes, cluster.node_groups.len(), now);
        let inv = ec2.inventory();
        let subnets = inv.subnets();
        self.rows.push(Sample {
            time: now,
            subnets: subnets
                .iter()
                .map(|s| (s.free_addresses(), s.free_prefix_blocks()))
                .collect(),
            reserved: subnets.iter().map(reserved_blocks).collect(),
            reservations: inv
                .reservations()
                .all()
                .iter()
                .map(|r| {
                    let s = &subnets[r.subnet.0 as usize];
                    match s.reservations().iter().find(|x| x.is(r.cidr)) {
                        Some(x) if r.live_at(now) => s.reservation_blocks(x),
                        _ => ReservedBlocks::default(),
                    }
                })
                .collect(),
            leaked_enis: inv.leaks().enis(),
            leaked_addresses: inv.leaks().addresses(),
            instances_running: ec2
                .inventory()
                .instances()
                .iter()
                .filter(|i| i.state == InstanceState::Running)
                .count() as u32,
            enis: ec2.inventory().live_enis() as u32,
            pools: group_pools
                .iter()
                .fold(PoolTotals::default(), PoolTotals::add),
            group_pools,
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
