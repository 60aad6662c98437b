//! The discrete-event engine: a clock, a pending-event queue and a run loop. It knows nothing about AWS.
//!
//! Events are one typed enum per simulation (`E`), stored in a slab; the heap holds only packed `u128` keys
//! `time << 64 | order << 24 | slot`, so a sift moves 16 bytes and compares one integer. Ordering by
//! `(time, order)` makes same-time events pop in the order they were scheduled, which keeps runs deterministic.
//! Cancelled timers are marked in the slab and skipped when popped rather than searched for in the heap.
//!
//! A *ranked* event ([`Scheduler::schedule_ranked`]) pops before every unranked event of its instant, ranked
//! events among themselves by rank. Its place among its instant's events then depends only on its time and
//! rank, not on when it was scheduled: a model may put off scheduling it (the pool manager's idle ticks,
//! `sim::ipamd`) without changing the order in which anything happens.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::rng::{RngStreams, SimRng, Stream};
use super::time::{SimDuration, SimTime};

const SLOT_BITS: u32 = 24;
const SLOT_MASK: u128 = (1 << SLOT_BITS) - 1;
/// At most 2^24 (16.7 M) events may be pending at once; far beyond any scenario's needs.
const MAX_SLOTS: usize = 1 << SLOT_BITS;
/// The order field has 40 bits: ranks below [`RANKS`], then unranked events by sequence number.
const ORDER_BITS: u32 = 64 - SLOT_BITS;
/// Ranks available to ranked events (one per node's pool manager).
pub const RANKS: u64 = 1 << 32;
/// Unranked sequence numbers: about 10^12 events per run.
pub const MAX_SEQ: u64 = (1 << ORDER_BITS) - RANKS;
/// Events one instant may see before a run is declared stalled, unless the run sets its own limit
/// ([`Engine::set_instant_limit`]). Rigs and tests run a handful of models, far below it.
pub const DEFAULT_INSTANT_LIMIT: u64 = 1 << 30;

/// A handle to a scheduled event, for cancelling it. Stale handles (the event fired or was cancelled) are
/// harmless: the sequence number no longer matches the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    seq: u64,
}

struct Slot<E> {
    seq: u64,
    event: Option<E>,
}

/// The clock and the pending-event set.
pub struct Scheduler<E> {
    now: SimTime,
    heap: BinaryHeap<Reverse<u128>>,
    slots: Vec<Slot<E>>,
    free: Vec<u32>,
    next_seq: u64,
    live: usize,
}

impl<E> Scheduler<E> {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    pub fn with_capacity(n: usize) -> Self {
        Scheduler {
            now: SimTime::ZERO,
            heap: BinaryHeap::with_capacity(n),
            slots: Vec::with_capacity(n),
            free: Vec::new(),
            next_seq: 0,
            live: 0,
        }
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending (scheduled, not cancelled) events.
    pub fn pending(&self) -> usize {
        self.live
    }

    /// Schedules `event` at `at`; an instant in the past is clamped to now, so time never goes backwards.
    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> TimerId {
        self.schedule_keyed(at, None, event)
    }

    /// Schedules `event` at `at`, to pop before every unranked event of that instant and after the ranked ones
    /// of lower `rank`. At most one event per rank may be pending at one instant.
    #[inline]
    pub fn schedule_ranked(&mut self, at: SimTime, rank: u32, event: E) -> TimerId {
        self.schedule_keyed(at, Some(rank), event)
    }

    #[inline]
    fn schedule_keyed(&mut self, at: SimTime, rank: Option<u32>, event: E) -> TimerId {
        let at = at.max(self.now);
        let seq = self.next_seq;
        assert!(seq < MAX_SEQ, "more than 2^40 events scheduled in one run");
        self.next_seq += 1;
        let order = rank.map_or(RANKS + seq, u64::from);
        let slot = match self.free.pop() {
            Some(s) => {
                let cell = &mut self.slots[s as usize];
                cell.seq = seq;
                cell.event = Some(event);
                s
            }
            None => {
                assert!(
                    self.slots.len() < MAX_SLOTS,
                    "more than 2^24 events pending at once"
                );
                self.slots.push(Slot {
                    seq,
                    event: Some(event),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        let key = ((at.0 as u128) << 64) | ((order as u128) << SLOT_BITS) | slot as u128;
        self.heap.push(Reverse(key));
        TimerId { slot, seq }
    }

    #[inline]
    pub fn schedule_in(&mut self, after: SimDuration, event: E) -> TimerId {
        self.schedule_at(self.now + after, event)
    }

    /// Cancels a pending event. Returns false if it already fired or was cancelled.
    pub fn cancel(&mut self, id: TimerId) -> bool {
        match self.slots.get_mut(id.slot as usize) {
            Some(cell) if cell.seq == id.seq && cell.event.is_some() => {
                cell.event = None;
                self.live -= 1;
                true
            }
            _ => false,
        }
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_due(SimTime(u64::MAX))
    }

    /// Removes the next event if it is due at or before `end`, advancing the clock to its time.
    #[inline]
    pub fn pop_due(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        while let Some(&Reverse(key)) = self.heap.peek() {
            if (key >> 64) as u64 > end.0 {
                return None;
            }
            self.heap.pop();
            let slot = (key & SLOT_MASK) as usize;
            self.free.push(slot as u32);
            if let Some(event) = self.slots[slot].event.take() {
                self.live -= 1;
                let t = SimTime((key >> 64) as u64);
                debug_assert!(t >= self.now, "time went backwards");
                self.now = t;
                return Some((t, event));
            }
        }
        None
    }

    /// The pending events due at exactly `t`, in no particular order (for describing a stall).
    fn pending_at(&self, t: SimTime) -> impl Iterator<Item = &E> {
        self.heap
            .iter()
            .filter(move |Reverse(key)| (key >> 64) as u64 == t.0)
            .filter_map(|Reverse(key)| self.slots[(key & SLOT_MASK) as usize].event.as_ref())
    }

    /// Moves the clock forward to `t` (used at the end of a run); never backwards.
    pub fn advance_to(&mut self, t: SimTime) {
        self.now = self.now.max(t);
    }
}

impl<E> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// What a model may do while handling an event: read the clock, schedule and cancel events, draw random
/// numbers from a named stream. Nothing else of the engine is reachable from a model.
pub struct Context<'a, E> {
    sched: &'a mut Scheduler<E>,
    rngs: &'a mut RngStreams,
}

impl<'a, E> Context<'a, E> {
    pub fn new(sched: &'a mut Scheduler<E>, rngs: &'a mut RngStreams) -> Self {
        Context { sched, rngs }
    }

    #[inline]
    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    #[inline]
    pub fn schedule_at(&mut self, at: SimTime, event: impl Into<E>) -> TimerId {
        self.sched.schedule_at(at, event.into())
    }

    #[inline]
    pub fn schedule_in(&mut self, after: SimDuration, event: impl Into<E>) -> TimerId {
        self.sched.schedule_in(after, event.into())
    }

    /// [`Scheduler::schedule_ranked`].
    #[inline]
    pub fn schedule_ranked(&mut self, at: SimTime, rank: u32, event: impl Into<E>) -> TimerId {
        self.sched.schedule_ranked(at, rank, event.into())
    }

    pub fn cancel(&mut self, id: TimerId) -> bool {
        self.sched.cancel(id)
    }

    #[inline]
    pub fn rng(&mut self, stream: Stream) -> &mut SimRng {
        self.rngs.get(stream)
    }

    /// A fresh generator for instance `index` of stream `name` (e.g. one ENI's), independent of every other
    /// stream and instance.
    pub fn indexed_rng(&self, name: &str, index: u64) -> SimRng {
        self.rngs.indexed(name, index)
    }
}

/// A simulation model: handles the events of type `Event`.
pub trait Model {
    type Event;
    fn handle(&mut self, ctx: &mut Context<'_, Self::Event>, event: Self::Event);

    /// Called when a run stops (at its horizon, or with no event left): brings up to date what the model keeps
    /// lazily while events flow, so that it can be read.
    fn settle(&mut self) {}

    /// A short name of the event's kind, for the message of a stalled run.
    fn kind(_event: &Self::Event) -> &'static str {
        "event"
    }
}

/// A run whose simulated time stopped advancing: more events at one instant than the run's limit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "simulated time stalled at {at}: more than {limit} events at that one instant (the last one and those \
     still due then: {kinds})"
)]
pub struct Stall {
    pub at: SimTime,
    pub limit: u64,
    /// `kind ×count` of the event that hit the limit and of the events still pending at the instant.
    pub kinds: String,
}

/// What a run did, for throughput reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub events: u64,
    pub peak_pending: usize,
}

/// A scheduler plus the run's random streams, and the loop that feeds events to a model.
pub struct Engine<E> {
    sched: Scheduler<E>,
    rngs: RngStreams,
    stats: RunStats,
    instant_limit: u64,
}

impl<E> Engine<E> {
    pub fn new(seed: u64) -> Self {
        Engine {
            sched: Scheduler::new(),
            rngs: RngStreams::new(seed),
            stats: RunStats::default(),
            instant_limit: DEFAULT_INSTANT_LIMIT,
        }
    }

    /// Sets how many events one instant may see before [`Engine::try_run_until`] reports a stall (at least 1).
    pub fn set_instant_limit(&mut self, limit: u64) {
        self.instant_limit = limit.max(1);
    }

    pub fn now(&self) -> SimTime {
        self.sched.now()
    }

    pub fn pending(&self) -> usize {
        self.sched.pending()
    }

    pub fn stats(&self) -> RunStats {
        self.stats
    }

    /// A context for setting up initial events before the run.
    pub fn context(&mut self) -> Context<'_, E> {
        Context::new(&mut self.sched, &mut self.rngs)
    }

    /// Handles every event up to and including time `end`, then sets the clock to `end`; or stops with a
    /// [`Stall`] when simulated time stops advancing.
    ///
    /// The guard costs one decrement and one test per event: a countdown from the limit, and at zero a look at
    /// the clock. If it still reads the instant of the previous look, every event in between (the limit's
    /// worth) happened at that one instant: a stall. Otherwise the countdown restarts from the new instant, so
    /// a stall is reported after at most twice the limit, and never falsely.
    pub fn try_run_until<M: Model<Event = E>>(
        &mut self,
        model: &mut M,
        end: SimTime,
    ) -> Result<(), Stall> {
        let mut countdown = self.instant_limit;
        let mut instant = None;
        while let Some((t, event)) = self.sched.pop_due(end) {
            countdown -= 1;
            if countdown == 0 {
                if instant == Some(t) {
                    return Err(self.stall::<M>(t, &event));
                }
                instant = Some(t);
                countdown = self.instant_limit;
            }
            self.stats.peak_pending = self.stats.peak_pending.max(self.sched.pending() + 1);
            self.stats.events += 1;
            model.handle(&mut Context::new(&mut self.sched, &mut self.rngs), event);
        }
        self.sched.advance_to(end);
        model.settle();
        Ok(())
    }

    /// [`Engine::try_run_until`] for rigs and tests whose models cannot stall.
    ///
    /// # Panics
    /// On a stall, with its message.
    pub fn run_until<M: Model<Event = E>>(&mut self, model: &mut M, end: SimTime) {
        if let Err(stall) = self.try_run_until(model, end) {
            panic!("{stall}");
        }
    }

    /// Describes a stall at `at`: the kinds of `last` and of the events still due then.
    fn stall<M: Model<Event = E>>(&self, at: SimTime, last: &E) -> Stall {
        let mut counts: std::collections::BTreeMap<&'static str, u64> = Default::default();
        for e in std::iter::once(last).chain(self.sched.pending_at(at)) {
            *counts.entry(M::kind(e)).or_default() += 1;
        }
        let kinds = counts
            .iter()
            .map(|(k, n)| format!("{k} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        Stall {
            at,
            limit: self.instant_limit,
            kinds,
        }
    }

    /// Handles events until none is pending (for tests and bounded models).
    pub fn run_to_completion<M: Model<Event = E>>(&mut self, model: &mut M) {
        while let Some((_, event)) = self.sched.pop() {
            self.stats.events += 1;
            model.handle(&mut Context::new(&mut self.sched, &mut self.rngs), event);
        }
        model.settle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_pop_by_time_then_scheduling_order() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime(20), "c");
        s.schedule_at(SimTime(10), "a");
        s.schedule_at(SimTime(10), "b");
        s.schedule_at(SimTime(5), "first");
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["first", "a", "b", "c"]);
    }

    #[test]
    fn ranked_events_pop_first_at_their_instant_by_rank_whenever_scheduled() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime(10), "a");
        s.schedule_ranked(SimTime(10), 7, "rank 7");
        s.schedule_at(SimTime(5), "first");
        s.schedule_ranked(SimTime(10), 2, "rank 2");
        s.schedule_at(SimTime(10), "b");
        s.schedule_ranked(SimTime(20), 0, "later");
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["first", "rank 2", "rank 7", "a", "b", "later"]);
    }

    #[test]
    fn cancelled_events_never_fire_and_stale_handles_are_harmless() {
        let mut s = Scheduler::new();
        let a = s.schedule_at(SimTime(1), 1);
        let b = s.schedule_at(SimTime(2), 2);
        assert!(s.cancel(a));
        assert!(!s.cancel(a));
        assert_eq!(s.pending(), 1);
        assert_eq!(s.pop(), Some((SimTime(2), 2)));
        // The slot of `b` is reused by `c`; cancelling the stale `b` must not cancel `c`.
        let c = s.schedule_at(SimTime(3), 3);
        assert!(!s.cancel(b));
        assert_eq!(s.pop(), Some((SimTime(3), 3)));
        assert!(!s.cancel(c));
        assert_eq!(s.pop(), None);
    }

    #[test]
    fn scheduling_in_the_past_is_clamped_to_now() {
        let mut s = Scheduler::new();
        s.schedule_at(SimTime(100), ());
        s.pop();
        s.schedule_at(SimTime(50), ());
        assert_eq!(s.pop().unwrap().0, SimTime(100));
    }

    struct Counter {
        seen: Vec<(SimTime, u32)>,
    }

    impl Model for Counter {
        type Event = u32;
        fn handle(&mut self, ctx: &mut Context<'_, u32>, ev: u32) {
            self.seen.push((ctx.now(), ev));
            if ev < 3 {
                ctx.schedule_in(SimDuration::from_secs(1), ev + 1);
            }
        }
    }

    #[test]
    fn run_until_stops_at_the_horizon_and_sets_the_clock() {
        let mut engine = Engine::new(1);
        engine.context().schedule_at(SimTime::ZERO, 0u32);
        let mut m = Counter { seen: vec![] };
        engine.run_until(&mut m, SimTime(1_500_000));
        assert_eq!(m.seen, vec![(SimTime(0), 0), (SimTime(1_000_000), 1)]);
        assert_eq!(engine.now(), SimTime(1_500_000));
        engine.run_to_completion(&mut m);
        assert_eq!(m.seen.len(), 4);
        assert_eq!(engine.stats().events, 4);
    }

    /// Reschedules itself at the same instant forever, the way a zero gap between arrivals would.
    struct Livelock;

    impl Model for Livelock {
        type Event = u32;
        fn handle(&mut self, ctx: &mut Context<'_, u32>, ev: u32) {
            ctx.schedule_in(SimDuration::ZERO, ev);
        }
        fn kind(_: &u32) -> &'static str {
            "arrival"
        }
    }

    #[test]
    fn a_model_that_never_lets_time_advance_is_a_stall_not_a_hang() {
        let mut engine = Engine::new(1);
        engine.set_instant_limit(1_000);
        let mut ctx = engine.context();
        ctx.schedule_at(SimTime(5_000_000), 0u32);
        ctx.schedule_at(SimTime(5_000_000), 1u32);
        let stall = engine
            .try_run_until(&mut Livelock, SimTime(10_000_000))
            .unwrap_err();
        assert_eq!(stall.at, SimTime(5_000_000));
        assert_eq!(stall.kinds, "arrival ×2");
        assert!(engine.stats().events <= 2_000, "{}", engine.stats().events);
        assert_eq!(
            stall.to_string(),
            "simulated time stalled at 5.000s: more than 1000 events at that one instant (the last one and \
             those still due then: arrival ×2)"
        );
    }

    #[test]
    fn many_events_spread_over_instants_are_no_stall() {
        // Exactly the limit at each of many instants: the countdown may straddle two instants, never reports.
        struct Burst;
        impl Model for Burst {
            type Event = u64;
            fn handle(&mut self, ctx: &mut Context<'_, u64>, ev: u64) {
                if ev % 10 == 9 && ev < 10_000 {
                    for k in 1..=10 {
                        ctx.schedule_in(SimDuration(1), ev + k);
                    }
                }
            }
        }
        let mut engine = Engine::new(1);
        engine.set_instant_limit(10);
        let mut ctx = engine.context();
        for k in 0..10u64 {
            ctx.schedule_at(SimTime::ZERO, k);
        }
        engine
            .try_run_until(&mut Burst, SimTime(1_000_000))
            .unwrap();
        assert_eq!(engine.stats().events, 10_010);
    }
}
