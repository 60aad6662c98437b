//! Subnet CIDR reservations as EC2 keeps them (docs/reference/ec2.md §3.5): each with its id, and when it was
//! created and deleted, so that the reports can follow a reservation made over addresses already in use until
//! it holds free /28 blocks. CreateSubnetCidrReservation and DeleteSubnetCidrReservation change the subnet's
//! placement rules at once ([`Subnet::add_reservation`], [`Subnet::remove_reservation`]).

use ipnet::Ipv4Net;

use super::api::{ApiError, ErrorCode, SubnetCidrReservationId};
use crate::sim::time::SimTime;
use crate::sim::vpc::{
    Reservation, ReservationKind, ReservationRange, ReservationSpec, ReservedBlocks, Subnet,
    SubnetId,
};

/// One reservation, from the scenario or from the API.
#[derive(Clone, Debug, PartialEq)]
pub struct CidrReservation {
    pub id: SubnetCidrReservationId,
    pub subnet: SubnetId,
    pub cidr: Ipv4Net,
    pub kind: ReservationKind,
    /// When it was created: the start of the run for the scenario's own reservations.
    pub created: SimTime,
    pub deleted: Option<SimTime>,
    /// Its whole /28 blocks that could hold a prefix ([`Subnet::reservation_blocks`]).
    pub blocks: u32,
    /// How many of them were wholly free when it was created.
    pub free_at_creation: u32,
}

impl CidrReservation {
    /// Whether it exists at `t`.
    pub fn live_at(&self, t: SimTime) -> bool {
        self.created <= t && self.deleted.is_none_or(|d| t < d)
    }
}

/// Every reservation the run has had, by id.
#[derive(Clone, Debug, Default)]
pub struct CidrReservations {
    list: Vec<CidrReservation>,
}

impl CidrReservations {
    /// The scenario's reservations that are one CIDR each (a percentage range that is several CIDRs has no
    /// single id and cannot be deleted by one), created at the start of the run.
    pub fn from_subnets(subnets: &[Subnet]) -> Self {
        let mut out = CidrReservations::default();
        for (i, s) in subnets.iter().enumerate() {
            for r in s.reservations() {
                if let [cidr] = r.cidrs()[..] {
                    out.push(
                        SubnetId(i as u32),
                        r,
                        cidr,
                        s.reservation_blocks(r),
                        SimTime::ZERO,
                    );
                }
            }
        }
        out
    }

    pub fn all(&self) -> &[CidrReservation] {
        &self.list
    }

    /// The live reservation of `subnet` whose range is exactly `cidr`.
    pub fn find(&self, subnet: SubnetId, cidr: Ipv4Net) -> Option<SubnetCidrReservationId> {
        self.list
            .iter()
            .find(|r| r.subnet == subnet && r.cidr == cidr && r.deleted.is_none())
            .map(|r| r.id)
    }

    /// CreateSubnetCidrReservation's effect: the subnet refuses a range outside it, not canonical, a prefix
    /// reservation smaller than a /28, or one overlapping another reservation, each as `InvalidParameterValue`
    /// (EC2's code for an overlap is not documented: a modelling choice, docs/reference/ec2.md §3.5).
    pub fn create(
        &mut self,
        subnet: &mut Subnet,
        id: SubnetId,
        cidr: Ipv4Net,
        kind: ReservationKind,
        now: SimTime,
    ) -> Result<SubnetCidrReservationId, ApiError> {
        let spec = ReservationSpec {
            kind,
            range: ReservationRange::Cidr(cidr),
        };
        let r = subnet
            .add_reservation(spec)
            .map_err(|e| ApiError::new(ErrorCode::InvalidParameterValue, e.to_string()))?;
        Ok(self.push(id, &r, cidr, subnet.reservation_blocks(&r), now))
    }

    /// DeleteSubnetCidrReservation's effect; an unknown or already deleted id is
    /// `InvalidSubnetCidrReservationID.NotFound`.
    pub fn delete(
        &mut self,
        subnets: &mut [Subnet],
        id: SubnetCidrReservationId,
        now: SimTime,
    ) -> Result<(), ApiError> {
        let r = self
            .list
            .get_mut(id.0 as usize)
            .filter(|r| r.deleted.is_none())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidSubnetCidrReservationIdNotFound,
                    format!("The subnet CIDR reservation ID '{id}' does not exist"),
                )
            })?;
        subnets[r.subnet.0 as usize]
            .remove_reservation(r.cidr)
            .expect("a live reservation is in its subnet");
        r.deleted = Some(now);
        Ok(())
    }

    fn push(
        &mut self,
        subnet: SubnetId,
        r: &Reservation,
        cidr: Ipv4Net,
        blocks: ReservedBlocks,
        created: SimTime,
    ) -> SubnetCidrReservationId {
        let id = SubnetCidrReservationId(self.list.len() as u32);
        self.list.push(CidrReservation {
            id,
            subnet,
            cidr,
            kind: r.kind(),
            created,
            deleted: None,
            blocks: blocks.blocks,
            free_at_creation: blocks.free,
        });
        id
    }
}
