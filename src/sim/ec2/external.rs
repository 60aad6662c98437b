//! Other callers of the account's EC2 API: another cluster in the same account, Karpenter's Describe calls,
//! the security-group controller, tooling. They act on resources vpcsim does not simulate, so their calls
//! change nothing here; what they do to the cluster is take tokens from the same buckets
//! (docs/reference/ec2.md §1.3: the buckets are per account and Region, shared by every caller).
//!
//! Each caller sends each of its actions as a Poisson process at its rate over its window, a modelling
//! choice: tools and controllers poll on timers, but many of them together look random. Its calls go through
//! the control plane like any other, with their own SDK retryer, so a throttled call is retried and costs
//! more tokens. Their attempts are kept out of the cluster's own counts and reported per caller.

use rand_distr::{Distribution, Exp};

use super::action::{ACTION_COUNT, Action};
use super::api::{ClientId, ErrorCode, Request};
use super::control_plane::{Completion, ControlPlane, Ec2Event};
use crate::sim::engine::Context;
use crate::sim::rng::{SimRng, stream};
use crate::sim::time::{SimDuration, SimTime};

/// One caller: its name, account, window and rates.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalCallerSpec {
    pub name: String,
    /// Index into the scenario's accounts.
    pub account: usize,
    /// How long it calls, from its start.
    pub duration: SimDuration,
    /// Calls per second, by action; each > 0.
    pub rates: Vec<(Action, f64)>,
}

/// Wakes caller `caller` to send one call of its `stream`-th action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalEvent {
    pub caller: u16,
    pub stream: u8,
}

/// What one caller's calls cost it, per action: counted when a call finishes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalTally {
    /// Calls finished.
    pub calls: [u64; ACTION_COUNT],
    /// Attempts of those calls, retries included.
    pub attempts: [u64; ACTION_COUNT],
    /// Attempts refused with `RequestLimitExceeded`.
    pub throttled: [u64; ACTION_COUNT],
    /// Calls that gave up throttled (the retryer's attempts or quota ran out).
    pub failed: [u64; ACTION_COUNT],
}

struct Caller {
    spec: ExternalCallerSpec,
    client: ClientId,
    /// One stream per action, so that adding an action leaves the others' call times alone.
    rngs: Vec<SimRng>,
    until: Option<SimTime>,
    tally: ExternalTally,
}

/// Every external caller of a run.
#[derive(Default)]
pub struct ExternalCallers {
    callers: Vec<Caller>,
}

impl ExternalCallers {
    /// Registers one client per caller, in `accounts`' buckets, not yet calling.
    pub fn new(specs: &[ExternalCallerSpec], seed: u64, ec2: &mut ControlPlane) -> Self {
        let callers = specs
            .iter()
            .enumerate()
            .map(|(i, spec)| Caller {
                client: ec2.register_external_client(spec.account),
                rngs: (0..spec.rates.len())
                    .map(|a| stream(seed, "ec2.external", ((i as u64) << 8) | a as u64))
                    .collect(),
                until: None,
                tally: ExternalTally::default(),
                spec: spec.clone(),
            })
            .collect();
        ExternalCallers { callers }
    }

    /// The clients the callers call through.
    pub fn clients(&self) -> impl Iterator<Item = ClientId> + '_ {
        self.callers.iter().map(|c| c.client)
    }

    /// Caller `caller` starts calling now, for its duration.
    pub fn start<E: From<ExternalEvent>>(&mut self, ctx: &mut Context<'_, E>, caller: usize) {
        let c = &mut self.callers[caller];
        let now = ctx.now();
        c.until = Some(now + c.spec.duration);
        for a in 0..c.spec.rates.len() {
            let t = now + gap(&mut c.rngs[a], c.spec.rates[a].1);
            schedule(ctx, c, caller, a, t);
        }
    }

    /// One call is due: it is sent and the next one scheduled.
    pub fn handle<E: From<ExternalEvent> + From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        e: ExternalEvent,
    ) {
        let (caller, a) = (usize::from(e.caller), usize::from(e.stream));
        let c = &mut self.callers[caller];
        let action = c.spec.rates[a].0;
        ec2.submit(ctx, c.client, Request::External { action });
        let t = ctx.now() + gap(&mut c.rngs[a], c.spec.rates[a].1);
        schedule(ctx, c, caller, a, t);
    }

    /// One of the callers' calls has finished.
    pub fn on_completion(&mut self, done: &Completion) {
        let Some(c) = self.callers.iter_mut().find(|c| c.client == done.client) else {
            return;
        };
        let a = done.action.index();
        let gave_up = matches!(&done.result, Err(e) if e.code == ErrorCode::RequestLimitExceeded);
        c.tally.calls[a] += 1;
        c.tally.attempts[a] += u64::from(done.attempts);
        // Only throttling is retried (ec2.md §1.6): every attempt but the last was throttled, and the last
        // too when the call gave up.
        c.tally.throttled[a] += u64::from(done.attempts - 1) + u64::from(gave_up);
        c.tally.failed[a] += u64::from(gave_up);
    }

    /// Each caller's name and tally, in scenario order.
    pub fn tallies(&self) -> impl Iterator<Item = (&str, &ExternalTally)> {
        self.callers
            .iter()
            .map(|c| (c.spec.name.as_str(), &c.tally))
    }
}

fn schedule<E: From<ExternalEvent>>(
    ctx: &mut Context<'_, E>,
    c: &Caller,
    caller: usize,
    a: usize,
    t: SimTime,
) {
    if c.until.is_some_and(|until| t < until) {
        ctx.schedule_at(
            t,
            ExternalEvent {
                caller: caller as u16,
                stream: a as u8,
            },
        );
    }
}

/// The gap to the next call of a Poisson process at `rate` per second, at least 1 µs.
fn gap(rng: &mut SimRng, rate: f64) -> SimDuration {
    let secs: f64 = Exp::new(rate).expect("rate > 0").sample(rng);
    SimDuration::from_micros(((secs * 1e6) as u64).max(1))
}
