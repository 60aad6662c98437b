//! `vpcsim inspect`: a scenario's subnets as the simulator has them at t = 0, before any event: free
//! addresses, wholly free aligned /28 blocks (the figure that decides whether prefix delegation works, which
//! EC2 does not show), the largest free run, how many more prefixes and nodes each can serve, and the state
//! of every /28 block for its picture.
//!
//! The figures are read off the subnets of the world [`World::build`] makes, so they are the simulator's own
//! counters at t = 0 by construction. [`blocks`] classifies each /28 block, [`capacity`] sizes nodes against
//! a subnet; the pictures and the page are drawn by [`crate::report::plots::plot_inspect`].

pub mod blocks;
pub mod capacity;

use std::fmt::Write as _;
use std::path::Path;

use ipnet::Ipv4Net;
use serde_json::{Value, json};

use crate::folder::{self, FileError};
use crate::scenarios::Scenario;
use crate::sim::vpc::Subnet;
use crate::sim::world::{BuildError, World};

pub use blocks::BlockState;
pub use capacity::{NodeCapacity, NodeQuery};

/// The figures file an inspect folder holds besides its page and pictures.
pub const FIGURES: &str = "inspect.json";

/// One subnet's figures at t = 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetFigures {
    pub name: String,
    pub cidr: Ipv4Net,
    pub az: String,
    /// All addresses of the CIDR.
    pub size: u32,
    /// The five AWS keeps (docs/reference/ec2.md §3.1).
    pub aws_reserved: u32,
    /// Assigned (singly or in prefixes).
    pub used_addresses: u32,
    /// `AvailableIpAddressCount`.
    pub free_addresses: u32,
    /// Free outside every reservation: what automatic single-address assignment can take.
    pub free_unreserved_addresses: u32,
    /// Wholly free aligned /28 blocks open to automatic prefix assignment: how many more prefixes the subnet
    /// can serve.
    pub free_prefix_blocks: u32,
    /// Of those, inside prefix reservations.
    pub free_reserved_prefix_blocks: u32,
    pub largest_free_run: u32,
    pub prefixes_assigned: u32,
    /// Every /28 block, lowest first.
    pub blocks: Vec<BlockState>,
    pub nodes: Vec<NodeCapacity>,
}

impl SubnetFigures {
    fn of(s: &Subnet, nodes: Vec<NodeCapacity>) -> SubnetFigures {
        let blocks = blocks::states(s);
        SubnetFigures {
            name: s.name().to_string(),
            cidr: s.cidr(),
            az: s.az().to_string(),
            size: s.size(),
            aws_reserved: Subnet::AWS_RESERVED,
            used_addresses: s.used(),
            free_addresses: s.free_addresses(),
            free_unreserved_addresses: s.free_unreserved_addresses(),
            free_prefix_blocks: s.free_prefix_blocks(),
            free_reserved_prefix_blocks: s.free_reserved_prefix_blocks(),
            largest_free_run: s.largest_free_run(),
            prefixes_assigned: blocks.iter().filter(|&&b| b == BlockState::Prefix).count() as u32,
            blocks,
            nodes,
        }
    }

    /// How many blocks are in `state`.
    pub fn count(&self, state: BlockState) -> u32 {
        self.blocks.iter().filter(|&&b| b == state).count() as u32
    }
}

/// A scenario's subnets at t = 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inspection {
    pub scenario: String,
    pub subnets: Vec<SubnetFigures>,
}

/// Builds `scenario`'s world and reads its subnets; node capacity for `query`, or for each node group.
pub fn inspect(scenario: &Scenario, query: Option<&NodeQuery>) -> Result<Inspection, BuildError> {
    let (world, _) = World::build(scenario, None, false)?;
    let subnets = world
        .ec2
        .inventory()
        .subnets()
        .iter()
        .enumerate()
        .map(|(i, s)| SubnetFigures::of(s, capacity::rows(i, s, query, &scenario.node_groups)))
        .collect();
    Ok(Inspection {
        scenario: scenario.name.clone(),
        subnets,
    })
}

impl Inspection {
    /// The figures under stable keys: `subnets.<name>.free_addresses`, `.free_prefix_blocks`, …, the block
    /// counts by state under `.blocks`, and each node kind under `.nodes.<label>`.
    pub fn json(&self) -> Value {
        let subnets = self
            .subnets
            .iter()
            .map(|s| {
                let blocks: serde_json::Map<String, Value> = BlockState::ALL
                    .iter()
                    .map(|&b| (b.key().to_string(), json!(s.count(b))))
                    .collect();
                let nodes: serde_json::Map<String, Value> = s
                    .nodes
                    .iter()
                    .map(|n| {
                        let v = json!({
                            "instance_type": n.instance_type,
                            "mode": n.mode_name(),
                            "enis": n.enis,
                            "addresses_per_node": n.per_node.addresses,
                            "prefixes_per_node": n.per_node.prefixes,
                            "more_nodes": n.more_nodes,
                        });
                        (n.label.clone(), v)
                    })
                    .collect();
                let v = json!({
                    "cidr": s.cidr.to_string(),
                    "az": s.az,
                    "size": s.size,
                    "aws_reserved": s.aws_reserved,
                    "used_addresses": s.used_addresses,
                    "free_addresses": s.free_addresses,
                    "free_unreserved_addresses": s.free_unreserved_addresses,
                    "free_prefix_blocks": s.free_prefix_blocks,
                    "free_reserved_prefix_blocks": s.free_reserved_prefix_blocks,
                    "more_prefixes": s.free_prefix_blocks,
                    "largest_free_run": s.largest_free_run,
                    "prefixes_assigned": s.prefixes_assigned,
                    "blocks": blocks,
                    "nodes": nodes,
                });
                (s.name.clone(), v)
            })
            .collect::<serde_json::Map<String, Value>>();
        json!({ "scenario": self.scenario, "subnets": subnets })
    }

    /// The figures as text for stdout: one line per subnet, then one per kind of node it can serve.
    pub fn table(&self) -> String {
        let mut out = format!("scenario {}: subnets at t = 0\n", self.scenario);
        for s in &self.subnets {
            let _ = writeln!(
                out,
                "{} {} ({}): {} addresses, {} AWS-reserved, {} free ({} unreserved), largest free run {}; \
                 {} free /28 blocks ({} in prefix reservations), {} prefixes assigned",
                s.name,
                s.cidr,
                s.az,
                s.size,
                s.aws_reserved,
                s.free_addresses,
                s.free_unreserved_addresses,
                s.largest_free_run,
                s.free_prefix_blocks,
                s.free_reserved_prefix_blocks,
                s.prefixes_assigned,
            );
            for n in &s.nodes {
                let _ = writeln!(
                    out,
                    "  {}: {} {}, {} ENIs, {} addresses + {} prefixes a fresh node: at most {} more nodes",
                    n.label,
                    n.instance_type,
                    n.mode_name(),
                    n.enis,
                    n.per_node.addresses,
                    n.per_node.prefixes,
                    n.more_nodes,
                );
            }
        }
        out
    }

    /// Writes the figures as `dir/inspect.json` (atomically).
    pub fn write(&self, dir: &Path) -> Result<(), FileError> {
        std::fs::create_dir_all(dir).map_err(FileError::at(dir))?;
        let mut text = serde_json::to_string_pretty(&self.json()).expect("JSON values serialise");
        text.push('\n');
        folder::write_atomic(&dir.join(FIGURES), text.as_bytes())
    }
}
