//! The state of each aligned /28 block of a subnet, as its picture colours it.

use crate::sim::vpc::{BlockUsage, Subnet};

/// What one /28 block is, from the most to the least specific: AWS's own addresses, a prefix, a reservation,
/// then how many of its addresses are in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BlockState {
    /// The first or last block: it holds the five addresses AWS reserves (docs/reference/ec2.md §3.1).
    AwsReserved,
    /// Assigned as a /28 prefix.
    Prefix,
    /// Inside (or touching) a CIDR reservation, all 16 addresses free.
    ReservedFree,
    /// Inside (or touching) a CIDR reservation, some addresses in use.
    ReservedUsed,
    /// All 16 addresses free.
    Free,
    /// Some, not all, addresses in use.
    PartlyUsed,
    /// All 16 addresses in use, singly.
    Used,
}

impl BlockState {
    /// Every state, in the legend's order.
    pub const ALL: [BlockState; 7] = [
        BlockState::AwsReserved,
        BlockState::Free,
        BlockState::PartlyUsed,
        BlockState::Used,
        BlockState::Prefix,
        BlockState::ReservedFree,
        BlockState::ReservedUsed,
    ];

    pub fn of(u: BlockUsage) -> BlockState {
        match u {
            BlockUsage {
                aws_reserved: true, ..
            } => BlockState::AwsReserved,
            BlockUsage { prefix: true, .. } => BlockState::Prefix,
            BlockUsage {
                reservation: Some(_),
                taken: 0,
                ..
            } => BlockState::ReservedFree,
            BlockUsage {
                reservation: Some(_),
                ..
            } => BlockState::ReservedUsed,
            BlockUsage { taken: 0, .. } => BlockState::Free,
            BlockUsage { taken: 16, .. } => BlockState::Used,
            BlockUsage { .. } => BlockState::PartlyUsed,
        }
    }

    /// The key in JSON and the legend's text.
    pub fn key(self) -> &'static str {
        match self {
            BlockState::AwsReserved => "aws_reserved",
            BlockState::Prefix => "prefix",
            BlockState::ReservedFree => "reserved_free",
            BlockState::ReservedUsed => "reserved_used",
            BlockState::Free => "free",
            BlockState::PartlyUsed => "partly_used",
            BlockState::Used => "used",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BlockState::AwsReserved => "AWS-reserved",
            BlockState::Prefix => "held as a prefix",
            BlockState::ReservedFree => "reserved, free",
            BlockState::ReservedUsed => "reserved, in use",
            BlockState::Free => "free (16 of 16)",
            BlockState::PartlyUsed => "partly used",
            BlockState::Used => "used (16 single addresses)",
        }
    }
}

/// Every block of `s`, lowest first.
pub fn states(s: &Subnet) -> Vec<BlockState> {
    (0..s.blocks())
        .map(|b| BlockState::of(s.block_usage(b)))
        .collect()
}
