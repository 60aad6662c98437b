//! Addresses already in use when a run starts that drain over time (`[subnets.in_use]` `release` or `hold`):
//! the brownfield subnet whose old workloads move out, so that reservations made over it heal
//! (docs/reference/ec2.md §3.5). Each subnet's addresses leave in an order drawn on its own stream, one event per
//! release time.

use std::net::Ipv4Addr;

use rand::RngExt;

use super::{InUseDrain, Subnet, SubnetId};
use crate::sim::engine::Context;
use crate::sim::rng::stream;
use crate::sim::time::SimTime;

/// The next release time of drain `.0` is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InUseEvent(pub u32);

struct Drain {
    subnet: SubnetId,
    /// (release time, address), latest first, so the next one is popped from the end.
    queue: Vec<(SimTime, Ipv4Addr)>,
}

/// Every subnet's draining addresses.
#[derive(Default)]
pub struct InUseDrains {
    drains: Vec<Drain>,
}

impl InUseDrains {
    /// Plans the releases of subnet `id`'s in-use addresses `held` (in address order) by `drain`: a schedule
    /// releases, at each step, the next `count` of the addresses in an order shuffled on stream
    /// `vpc.in_use.order`; a hold distribution gives each address its own time from the start, drawn on stream
    /// `vpc.in_use.hold`; both indexed by the subnet.
    pub fn add(&mut self, seed: u64, id: SubnetId, held: Vec<Ipv4Addr>, drain: &InUseDrain) {
        let mut queue: Vec<(SimTime, Ipv4Addr)> = match drain {
            InUseDrain::Never => return,
            InUseDrain::Schedule(steps) => {
                let mut rng = stream(seed, "vpc.in_use.order", u64::from(id.0));
                let mut order = held;
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.random_range(0..=i));
                }
                let mut order = order.into_iter();
                let mut queue = Vec::new();
                for s in steps {
                    let at = SimTime::ZERO + s.at;
                    queue.extend(order.by_ref().take(s.count as usize).map(|a| (at, a)));
                }
                queue
            }
            InUseDrain::Hold(dist) => {
                let mut rng = stream(seed, "vpc.in_use.hold", u64::from(id.0));
                held.into_iter()
                    .map(|a| (SimTime::ZERO + dist.sample(&mut rng), a))
                    .collect()
            }
        };
        queue.sort_by_key(|&(t, _)| std::cmp::Reverse(t));
        self.drains.push(Drain { subnet: id, queue });
    }

    /// Schedules each drain's first release.
    pub fn start<E: From<InUseEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        for (i, d) in self.drains.iter().enumerate() {
            if let Some(&(t, _)) = d.queue.last() {
                ctx.schedule_at(t, InUseEvent(i as u32));
            }
        }
    }

    /// Releases every address of the drain that is due, and schedules its next release.
    pub fn handle<E: From<InUseEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: InUseEvent,
        subnets: &mut [Subnet],
    ) {
        let d = &mut self.drains[event.0 as usize];
        while let Some(&(t, a)) = d.queue.last() {
            if t > ctx.now() {
                ctx.schedule_at(t, event);
                break;
            }
            d.queue.pop();
            subnets[d.subnet.0 as usize]
                .release_address(a)
                .expect("an address in use at the start is held until it drains");
        }
    }
}
