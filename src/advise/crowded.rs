//! Candidate reservations placed over addresses already in use. A prefix reservation made over assigned
//! addresses leaves them assigned (docs/reference/ec2.md §3.5), and so does the simulator
//! ([`Subnet::add_reservation`](crate::sim::vpc::Subnet::add_reservation)): the reservation then holds fewer
//! wholly free /28 blocks than it would on a fresh subnet until their holders leave. On an imported subnet,
//! whose `[subnets.in_use] addresses` are held for the whole run, that may be never; advice says so.

use toml::Value;

use super::space::{Decision, Mode, RESERVATIONS, group_subnets};
use crate::sim::world::World;

/// One candidate reservation over addresses in use, at t = 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crowded {
    pub reservation_percent: u32,
    pub subnet: String,
    /// The reservation's range, `first–last`.
    pub range: String,
    /// Addresses in use inside it (singly or in prefixes).
    pub in_use: u32,
    /// Its whole /28 blocks, and how many of them are wholly free.
    pub blocks: u32,
    pub free_blocks: u32,
}

/// For each reservation size the search tries, the node-group subnets where the reservation it adds covers
/// addresses in use, read off the world the candidate's scenario builds. Sizes that do not fit the file are
/// left out (their candidates say why).
pub fn crowded(base: &Value, file: &str, seed: u64) -> Vec<Crowded> {
    let subnets = group_subnets(base);
    let mut out = Vec::new();
    for &percent in RESERVATIONS.iter().filter(|&&p| p > 0) {
        let decision = Decision {
            mode: Mode::Prefix,
            warm: 0,
            reservation_percent: percent,
        };
        let Ok(scenario) = decision.scenario(base, file, seed) else {
            continue;
        };
        let Ok((world, _)) = World::build(&scenario, None, false) else {
            continue;
        };
        for s in world.ec2.inventory().subnets() {
            // The candidate's reservation is the last of the subnet's: `apply` appends it.
            let Some(r) = s.reservations().last() else {
                continue;
            };
            if !subnets.iter().any(|n| n == s.name()) {
                continue;
            }
            let in_use = s
                .assigned_addresses()
                .into_iter()
                .filter(|&a| r.contains(a))
                .count() as u32;
            if in_use > 0 {
                let b = s.reservation_blocks(r);
                out.push(Crowded {
                    reservation_percent: percent,
                    subnet: s.name().to_string(),
                    range: format!("{}–{}", r.first(), r.last()),
                    in_use,
                    blocks: b.blocks,
                    free_blocks: b.free,
                });
            }
        }
    }
    out
}

impl Crowded {
    /// The warning line for stdout.
    pub fn warning(&self) -> String {
        format!(
            "warning: reserve {}% in subnet {} ({}) covers {} address(es) in use: they stay in use \
             (docs/reference/ec2.md §3.5), so it holds {} of its {} /28 blocks free, not {}",
            self.reservation_percent,
            self.subnet,
            self.range,
            self.in_use,
            self.free_blocks,
            self.blocks,
            self.blocks
        )
    }
}
