//! The IPv6 figures of a run (docs/reference/ipamd.md §11, docs/reference/ec2.md §6): each dual-stack subnet's
//! /80 blocks and addresses, and the prefixes and pod addresses of each node group in dual-stack subnets. They
//! appear only in runs with dual-stack subnets, so other runs' files are unchanged.

use serde_json::{Value, json};

use crate::sim::kube::outcomes::PodTally;
use crate::sim::vpc::SubnetId;
use crate::sim::world::World;

/// `subnets.<name>.ipv6`, for a dual-stack subnet: its /64, the /80 prefixes held at the end and at most at
/// once, the single IPv6 addresses (the ENIs' own) held at the end, and the /80 blocks still wholly free.
pub(super) fn subnet(world: &World, id: SubnetId) -> Option<Value> {
    let v6 = world.ec2.inventory().subnet(id).ipv6()?;
    Some(json!({
        "cidr": v6.cidr().to_string(),
        "final_prefixes": v6.prefixes_in_use(),
        "peak_prefixes": v6.peak_prefixes(),
        "final_addresses": v6.addresses_in_use(),
        "final_free_blocks": v6.free_blocks(),
    }))
}

/// `node_groups.<name>.ipv6`, for a group in dual-stack subnets: how many of its nodes got a /80 (a node
/// without one can place no pod, §11.2), the /80s its nodes hold, the pods that got an IPv6 address, and the
/// addresses its pods hold at the end; all 0 when its ipamd runs IPv4. Keyed on the subnets rather than on
/// `ENABLE_IPv6`, so that the points of a sweep over the address mode share their keys.
pub(super) fn group(world: &World, g: usize, pods: &PodTally) -> Option<Value> {
    let cluster = &world.cluster;
    let inventory = world.ec2.inventory();
    let dual_stack = cluster
        .node_groups
        .spec(g)
        .subnets
        .iter()
        .any(|&s| inventory.subnet(SubnetId(s as u32)).ipv6().is_some());
    if !dual_stack {
        return None;
    }
    let nodes = cluster.nodes.iter().filter(|n| n.group == g);
    let (mut with_prefix, mut prefixes, mut assigned) = (0, 0, 0);
    for n in nodes {
        let st = n.ipamd.state();
        let held = st.ds.ipv6().prefixes().count();
        with_prefix += usize::from(held > 0);
        prefixes += held;
        assigned += st.ds.ipv6().assigned();
    }
    Some(json!({
        "nodes_with_prefix": with_prefix,
        "prefixes": prefixes,
        "pods_with_ipv6_address": pods.ipv6_addressed,
        "final_pod_addresses": assigned,
    }))
}
