//! VPC subnets: address space, aligned /28 blocks, CIDR reservations, placement policy.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

pub mod bitmap;
pub mod error;
pub mod in_use;
pub mod ipv6;
pub mod reservation;
pub mod subnet;
pub mod tenants;

pub use error::{AllocError, SubnetError};
pub use reservation::Reservation;
pub use subnet::{BlockUsage, ReservedBlocks, Subnet};

/// Index of a subnet in the world's subnet list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubnetId(pub u32);

/// How EC2 picks a free address for an automatic single-address assignment (secondary IPs, primary IPs of new
/// ENIs and instances, other tenants). EC2's order is undocumented; reports suggest random (docs/reference/ec2.md
/// §3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    #[default]
    Random,
    Lowest,
}

/// Where addresses already in use when a run starts are placed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitialPlacement {
    /// Uniformly at random among free unreserved addresses.
    #[default]
    Random,
    /// Lowest free unreserved addresses first.
    Lowest,
    /// Evenly spaced across the subnet: the most fragmenting layout for a given count.
    Spread,
}

/// A subnet CIDR reservation's type (docs/reference/ec2.md §3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReservationKind {
    /// EC2 assigns prefixes from this range first.
    Prefix,
    /// EC2 never assigns from this range automatically.
    Explicit,
}

/// Where a reservation lies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReservationRange {
    Cidr(Ipv4Net),
    /// The top (highest-address) N % of the subnet, rounded to whole /28 blocks.
    TopPercent(f64),
    /// The bottom (lowest-address) N % of the subnet, rounded to whole /28 blocks.
    BottomPercent(f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReservationSpec {
    pub kind: ReservationKind,
    pub range: ReservationRange,
}

/// Addresses held by other tenants when a run starts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InUseSpec {
    pub count: u32,
    pub placement: InitialPlacement,
    pub addresses: Vec<Ipv4Addr>,
    /// Aligned /28 blocks held as delegated prefixes (an imported subnet's ENIs' `Ipv4Prefixes`), assigned as
    /// prefixes so that they count as whole blocks taken; held for the whole run (a drain releases addresses only).
    pub prefixes: Vec<Ipv4Net>,
    /// Whether and when they are released.
    pub drain: InUseDrain,
}

/// How addresses in use at the start leave ([`in_use::InUseDrains`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum InUseDrain {
    /// Held for the whole run.
    #[default]
    Never,
    /// At each step's time, `count` more of them, in a random order; sorted by time, adding up to at most the
    /// addresses in use.
    Schedule(Vec<Release>),
    /// Each is held for a time drawn from the distribution, from the start of the run.
    Hold(crate::sim::dist::DurationDist),
}

/// One step of an in-use release schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Release {
    pub at: crate::sim::time::SimDuration,
    pub count: u32,
}

/// A background consumer of single addresses in a subnet (load balancers, Lambda, RDS, …): takes one
/// automatically placed address per arrival and releases it after a hold time, so that a subnet fragments
/// the way real shared subnets do.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantSpec {
    pub name: String,
    /// Time between arrivals (e.g. exponential for a Poisson process).
    pub interarrival: crate::sim::dist::DurationDist,
    /// How long each address is held.
    pub hold: crate::sim::dist::DurationDist,
    /// Arrivals are dropped while this many addresses are held (no limit if `None`).
    pub max_in_use: Option<u32>,
}
