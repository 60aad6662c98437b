//! Other tenants of a subnet: load balancers, Lambda, RDS and the like, which take and release single
//! addresses over time. Their churn is what leaves a shared subnet with free addresses but no whole /28.

use std::net::Ipv4Addr;

use super::{Subnet, SubnetId, TenantSpec};
use crate::sim::engine::Context;
use crate::sim::rng::{SimRng, stream};

/// A tenant's events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantEvent {
    /// The tenant wants one more address.
    Arrive(u32),
    /// The tenant gives an address back.
    Release(u32, Ipv4Addr),
}

struct Tenant {
    spec: TenantSpec,
    subnet: SubnetId,
    held: u32,
    /// Arrivals and hold times: one stream per tenant so tenants do not perturb each other's draws.
    rng: SimRng,
    refused: u64,
}

/// All tenants of all subnets.
pub struct Tenants {
    tenants: Vec<Tenant>,
    /// Reused output buffer, so an arrival allocates nothing.
    got: Vec<Ipv4Addr>,
}

/// What tenants did, for the run summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantStats {
    pub name: String,
    pub subnet: SubnetId,
    pub held: u32,
    /// Arrivals that found no free address (or hit `max_in_use`).
    pub refused: u64,
}

impl Tenants {
    /// `specs` are (subnet, tenant) pairs in scenario order; `seed` is the run seed.
    pub fn new(specs: impl IntoIterator<Item = (SubnetId, TenantSpec)>, seed: u64) -> Self {
        let tenants = specs
            .into_iter()
            .enumerate()
            .map(|(i, (subnet, spec))| Tenant {
                spec,
                subnet,
                held: 0,
                rng: stream(seed, "vpc.tenant", i as u64),
                refused: 0,
            })
            .collect();
        Tenants {
            tenants,
            got: Vec::with_capacity(1),
        }
    }

    /// Schedules every tenant's first arrival.
    pub fn start<E: From<TenantEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        for (i, t) in self.tenants.iter_mut().enumerate() {
            let d = t.spec.interarrival.sample(&mut t.rng);
            ctx.schedule_in(d, TenantEvent::Arrive(i as u32));
        }
    }

    /// Handles a tenant event against the subnets (indexed by [`SubnetId`]).
    pub fn handle<E: From<TenantEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: TenantEvent,
        subnets: &mut [Subnet],
    ) {
        match event {
            TenantEvent::Arrive(i) => {
                let t = &mut self.tenants[i as usize];
                let subnet = &mut subnets[t.subnet.0 as usize];
                self.got.clear();
                let room = t.spec.max_in_use.is_none_or(|m| t.held < m);
                if room && subnet.assign_ips(1, &mut t.rng, &mut self.got).is_ok() {
                    t.held += 1;
                    let hold = t.spec.hold.sample(&mut t.rng);
                    ctx.schedule_in(hold, TenantEvent::Release(i, self.got[0]));
                } else {
                    t.refused += 1;
                }
                let next = t.spec.interarrival.sample(&mut t.rng);
                ctx.schedule_in(next, TenantEvent::Arrive(i));
            }
            TenantEvent::Release(i, addr) => {
                let t = &mut self.tenants[i as usize];
                subnets[t.subnet.0 as usize]
                    .release_address(addr)
                    .expect("a tenant releases only what it holds");
                t.held -= 1;
            }
        }
    }

    pub fn stats(&self) -> Vec<TenantStats> {
        self.tenants
            .iter()
            .map(|t| TenantStats {
                name: t.spec.name.clone(),
                subnet: t.subnet,
                held: t.held,
                refused: t.refused,
            })
            .collect()
    }
}
