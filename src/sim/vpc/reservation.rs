//! Subnet CIDR reservations resolved to address ranges (docs/reference/ec2.md §3.5).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::{Ipv4Net, Ipv4Subnets};

use super::error::SubnetError;
use super::{ReservationKind, ReservationRange, ReservationSpec};

/// A reservation as placed in its subnet: a contiguous address range with a kind.
///
/// A `Cidr` range is exactly that CIDR. A `TopPercent(p)` / `BottomPercent(p)` range is the top / bottom
/// `round(p / 100 × blocks)` whole aligned /28 blocks of the subnet (at least one): a block-aligned range that is
/// not always a single CIDR. AWS takes reservations only as CIDRs, so one of these stands for the one or more
/// CIDRs that [`Reservation::cidrs`] lists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reservation {
    spec: ReservationSpec,
    /// Offset of the first address from the subnet's network address.
    start: u32,
    len: u32,
    first: Ipv4Addr,
}

impl Reservation {
    pub fn kind(&self) -> ReservationKind {
        self.spec.kind
    }

    /// The reservation as configured.
    pub fn spec(&self) -> ReservationSpec {
        self.spec
    }

    /// First address of the range.
    pub fn first(&self) -> Ipv4Addr {
        self.first
    }

    /// Last address of the range.
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.first) + (self.len - 1))
    }

    /// Number of addresses in the range.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Always false: a reservation holds at least one address.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offset of the first address from the subnet's network address.
    pub fn start_offset(&self) -> u32 {
        self.start
    }

    pub fn contains(&self, addr: Ipv4Addr) -> bool {
        let a = u32::from(addr);
        let f = u32::from(self.first);
        a >= f && a - f < self.len
    }

    /// Whether the range shares an address with the `len` addresses from offset `start`.
    pub(crate) fn overlaps(&self, start: u32, len: u32) -> bool {
        self.start < start + len && start < self.start + self.len
    }

    /// Whether the range is exactly `net`.
    pub fn is(&self, net: Ipv4Net) -> bool {
        self.first == net.network() && u64::from(self.len) == 1u64 << (32 - net.prefix_len())
    }

    /// The fewest CIDRs that together cover the range, lowest first (what one would pass to
    /// CreateSubnetCidrReservation).
    pub fn cidrs(&self) -> Vec<Ipv4Net> {
        Ipv4Subnets::new(self.first(), self.last(), 0).collect()
    }
}

impl fmt::Display for Reservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.spec.range {
            ReservationRange::Cidr(_) => write!(f, "{}", describe(&self.spec)),
            _ => write!(
                f,
                "{} ({}-{})",
                describe(&self.spec),
                self.first(),
                self.last()
            ),
        }
    }
}

fn kind_name(kind: ReservationKind) -> &'static str {
    match kind {
        ReservationKind::Prefix => "prefix",
        ReservationKind::Explicit => "explicit",
    }
}

/// "prefix reservation 10.0.0.0/26", "explicit reservation top 25%".
pub(crate) fn describe(spec: &ReservationSpec) -> String {
    let kind = kind_name(spec.kind);
    match spec.range {
        ReservationRange::Cidr(c) => format!("{kind} reservation {c}"),
        ReservationRange::TopPercent(p) => format!("{kind} reservation top {p}%"),
        ReservationRange::BottomPercent(p) => format!("{kind} reservation bottom {p}%"),
    }
}

/// Resolves and validates one reservation of subnet `name` (`cidr` already validated) against the reservations
/// the subnet already has: inside the subnet, canonical, prefix reservations whole /28 blocks, percentages in
/// (0, 100], no overlap with `existing`.
pub(crate) fn resolve(
    name: &str,
    cidr: Ipv4Net,
    spec: &ReservationSpec,
    existing: &[Reservation],
) -> Result<Reservation, SubnetError> {
    let base = u32::from(cidr.network());
    let size = 1u32 << (32 - cidr.prefix_len());
    let blocks = size / 16;
    let (start, len) = match spec.range {
        ReservationRange::Cidr(r) => {
            if r.trunc() != r {
                return Err(SubnetError::ReservationNotCanonical {
                    subnet: name.to_string(),
                    reservation: r,
                    canonical: r.trunc(),
                });
            }
            if !cidr.contains(&r) {
                return Err(SubnetError::ReservationOutside {
                    subnet: name.to_string(),
                    cidr,
                    reservation: describe(spec),
                });
            }
            if spec.kind == ReservationKind::Prefix && r.prefix_len() > 28 {
                return Err(SubnetError::PrefixReservationMisaligned {
                    subnet: name.to_string(),
                    reservation: r,
                });
            }
            let len = 1u32 << (32 - r.prefix_len());
            (u32::from(r.network()) - base, len)
        }
        ReservationRange::TopPercent(p) | ReservationRange::BottomPercent(p) => {
            if !(p > 0.0 && p <= 100.0) {
                return Err(SubnetError::BadPercent {
                    subnet: name.to_string(),
                    reservation: describe(spec),
                    percent: p,
                });
            }
            let n = ((p / 100.0 * blocks as f64).round() as u32).clamp(1, blocks);
            let first_block = match spec.range {
                ReservationRange::TopPercent(_) => blocks - n,
                _ => 0,
            };
            (first_block * 16, n * 16)
        }
    };
    let r = Reservation {
        spec: *spec,
        start,
        len,
        first: Ipv4Addr::from(base + start),
    };
    if let Some(other) = existing.iter().find(|o| o.overlaps(r.start, r.len)) {
        return Err(SubnetError::ReservationOverlap {
            subnet: name.to_string(),
            first: other.to_string(),
            second: r.to_string(),
        });
    }
    Ok(r)
}
