//! How many more nodes of a type, in a mode, a subnet can still serve: what a fresh node takes from it
//! ([`FreshPool`], the daemon's own start-up arithmetic) against what the subnet has free.

use crate::scenarios::NodeGroupSpec;
use crate::sim::ec2::instance_types::InstanceType;
use crate::sim::ec2::max_pods::{self, MaxPodsError, MaxPodsOptions};
use crate::sim::ipamd::config::{IpamdConfig, MANIFEST_WARM_PREFIX_TARGET};
use crate::sim::ipamd::fresh_pool::{FreshPool, Take};
use crate::sim::ipamd::limits::{Mode, NodeLimits};
use crate::sim::vpc::Subnet;

/// A node type and mode given on the command line (`--instance-type`, `--mode`).
#[derive(Clone, Copy, Debug)]
pub struct NodeQuery {
    pub instance_type: &'static InstanceType,
    pub mode: Mode,
}

impl NodeQuery {
    /// aws-node's code defaults (docs/reference/ipamd.md §1.1), with prefix delegation for `Mode::Prefix` and
    /// the shipped manifest's `WARM_PREFIX_TARGET` of 1 (the code's 0 would mean no warm prefix).
    pub fn config(&self) -> IpamdConfig {
        let prefix = self.mode == Mode::Prefix;
        IpamdConfig {
            enable_prefix_delegation: prefix,
            warm_prefix_target: if prefix {
                MANIFEST_WARM_PREFIX_TARGET
            } else {
                0
            },
            ..IpamdConfig::default()
        }
    }

    /// kubelet's max-pods as the EKS calculator gives it (docs/reference/ipamd.md §5.2); uncapped when the
    /// table has no vCPU count for the cap.
    pub fn max_pods(&self) -> u32 {
        let options = MaxPodsOptions {
            prefix_delegation: self.mode == Mode::Prefix,
            custom_networking: false,
            max_eni: None,
            show_max_allowed: false,
        };
        match max_pods::max_pods(self.instance_type, &options) {
            Ok(n) => n,
            Err(MaxPodsError::UnknownVcpus { uncapped, .. }) => uncapped,
        }
    }
}

/// One kind of node against one subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeCapacity {
    /// The node group's name (with " (pods)" for its ENIConfig subnet), or the instance type and mode given.
    pub label: String,
    pub instance_type: String,
    /// The mode ipamd runs in (a prefix request on a type without prefixes runs secondary IPs, ipamd.md §5.4).
    pub mode: Mode,
    /// The node runs IPv6 (ipamd.md §11): no IPv4 pool, its own address only.
    pub ipv6: bool,
    pub enis: u32,
    /// What one fresh node takes from this subnet.
    pub per_node: Take,
    /// At most this many more such nodes fit ([`more_nodes`]).
    pub more_nodes: u32,
}

impl NodeCapacity {
    /// The mode's name: `--mode`'s spelling, or `ipv6`.
    pub fn mode_name(&self) -> &'static str {
        if self.ipv6 {
            "ipv6"
        } else {
            mode_name(self.mode)
        }
    }
}

/// The mode's name as `--mode` spells it.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::SecondaryIp => "secondary-ip",
        Mode::Prefix => "prefix",
    }
}

/// How many more nodes taking `take` each fit in `s`, at most.
///
/// Single addresses (ENI primaries, secondary IPs) come from the free addresses outside every reservation;
/// prefixes from the wholly free /28 blocks, those in prefix reservations first (docs/reference/ec2.md §3.3,
/// §3.5). A single address placed in a wholly free block spoils it for prefixes. EC2's placement of single
/// addresses is undocumented (ec2.md §3.3), so the count assumes the kindest one: single addresses fill the
/// free addresses outside free blocks first, then break as few free unreserved blocks as they can (16
/// addresses each). Random placement breaks blocks sooner, so in prefix mode the real figure can be lower.
pub fn more_nodes(s: &Subnet, take: Take) -> u32 {
    if take.is_empty() {
        return 0;
    }
    let reserved = s.free_reserved_prefix_blocks();
    let unreserved = s.free_prefix_blocks() - reserved;
    // Free unreserved addresses outside the wholly free unreserved blocks.
    let loose = s.free_unreserved_addresses() - 16 * unreserved;
    let fits = |n: u32| {
        let (prefixes, singles) = (
            u64::from(n) * u64::from(take.prefixes),
            u64::from(n) * u64::from(take.addresses),
        );
        let from_unreserved = prefixes.saturating_sub(u64::from(reserved));
        let broken = singles.saturating_sub(u64::from(loose)).div_ceil(16);
        from_unreserved + broken <= u64::from(unreserved)
    };
    // Each node takes at least one address or block, so the answer is below the subnet's size.
    let (mut lo, mut hi) = (0u32, s.size());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// A fresh node of `t` with `cfg` and `max_pods`: its pool, and its row with nothing taken yet.
fn fresh(
    label: String,
    t: &InstanceType,
    cfg: &IpamdConfig,
    max_pods: u32,
) -> (FreshPool, NodeCapacity) {
    let limits = NodeLimits::new(t, cfg, max_pods);
    let pool = FreshPool::settle(cfg, &limits);
    let capacity = NodeCapacity {
        label,
        instance_type: t.name.clone(),
        mode: limits.mode,
        ipv6: cfg.enable_ipv6,
        enis: pool.enis(),
        per_node: Take::default(),
        more_nodes: 0,
    };
    (pool, capacity)
}

/// The rows for subnet number `index` (`s`): the given node type, or else every node group that launches
/// into it or puts its pods' ENIs in it (custom networking).
pub fn rows(
    index: usize,
    s: &Subnet,
    query: Option<&NodeQuery>,
    groups: &[NodeGroupSpec],
) -> Vec<NodeCapacity> {
    let taking = |c: NodeCapacity, take: Take| NodeCapacity {
        per_node: take,
        more_nodes: more_nodes(s, take),
        ..c
    };
    if let Some(q) = query {
        let label = format!("{} {}", q.instance_type.name, mode_name(q.mode));
        let (pool, c) = fresh(label, q.instance_type, &q.config(), q.max_pods());
        return vec![taking(c, pool.node_subnet())];
    }
    let mut out = Vec::new();
    for g in groups {
        let (pool, c) = fresh(g.name.clone(), g.instance_type, &g.ipamd, g.max_pods);
        if g.subnets.contains(&index) {
            out.push(taking(c.clone(), pool.node_subnet()));
        }
        if g.ipamd.custom_network.as_ref().map(|e| e.subnet.0 as usize) == Some(index) {
            let label = format!("{} (pods)", g.name);
            out.push(taking(NodeCapacity { label, ..c }, pool.pod_subnet()));
        }
    }
    out
}
