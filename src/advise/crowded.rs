//! Candidate reservations placed over addresses already in use. A prefix reservation made over assigned
//! addresses leaves them assigned (docs/reference/ec2.md §3.5), and so does the simulator
//! ([`Subnet::add_reservation`](crate::sim::vpc::Subnet::add_reservation)): the reservation then holds fewer
//! wholly free /28 blocks than it would on a fresh subnet until their holders leave. On an imported subnet,
//! whose `[subnets.in_use] addresses` are held for the whole run, that may be never; advice says so.

use super::base::Base;
use super::space::{Reservation, Space, reserve};
use crate::scenarios::sweep::reparse;
use crate::sim::world::World;

/// One candidate reservation over addresses in use, at t = 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crowded {
    pub reservation: Reservation,
    /// The reservation's range, `first–last`.
    pub range: String,
    /// Addresses in use inside it (singly or in prefixes).
    pub in_use: u32,
    /// Its whole /28 blocks, and how many of them are wholly free.
    pub blocks: u32,
    pub free_blocks: u32,
}

/// Each reservation the search may add (every size, at each end tried, in every subnet a group may use) that
/// covers addresses in use, read off the world the base file with that reservation alone builds. Those that
/// do not fit the file are left out (their candidates say why).
pub fn crowded(base: &Base, space: &Space) -> Vec<Crowded> {
    let mut out = Vec::new();
    for reservation in space.all_reservations() {
        let mut table = base.table.clone();
        if reserve(&mut table, &reservation).is_err() {
            continue;
        }
        let Ok(scenario) = reparse(&table, &base.file) else {
            continue;
        };
        let Ok((world, _)) = World::build(&scenario, false, false) else {
            continue;
        };
        let Some(s) = world
            .ec2
            .inventory()
            .subnets()
            .iter()
            .find(|s| s.name() == reservation.subnet)
        else {
            continue;
        };
        // The candidate's reservation is the last of the subnet's: `reserve` appends it.
        let Some(r) = s.reservations().last() else {
            continue;
        };
        let in_use = s
            .assigned_addresses()
            .into_iter()
            .filter(|&a| r.contains(a))
            .count() as u32;
        if in_use > 0 {
            let b = s.reservation_blocks(r);
            out.push(Crowded {
                range: format!("{}–{}", r.first(), r.last()),
                in_use,
                blocks: b.blocks,
                free_blocks: b.free,
                reservation,
            });
        }
    }
    out
}

impl Crowded {
    /// The warning line for stdout.
    pub fn warning(&self) -> String {
        format!(
            "warning: reserve {} ({}) covers {} address(es) in use: they stay in use \
             (docs/reference/ec2.md §3.5), so it holds {} of its {} /28 blocks free, not {}",
            self.reservation.label(),
            self.range,
            self.in_use,
            self.free_blocks,
            self.blocks,
            self.blocks
        )
    }
}
