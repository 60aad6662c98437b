//! The client-side rate limit every Kubernetes component puts on its own API calls (docs/reference/kube.md
//! §1): client-go's token bucket (`flowcontrol.NewTokenBucketRateLimiter`, golang.org/x/time/rate underneath),
//! full at start, refilled at `qps` up to `burst`. A call that finds no token **waits** for one rather than
//! failing, so the limiter answers "when may this call go?" without an event of its own.
//!
//! Tokens are counted in nano-tokens and time in microseconds, as in EC2's bucket (`sim::ec2::token_bucket`),
//! so the refill is exact for rates written with up to three decimals. Unlike EC2's bucket the level may go
//! below zero: a waiting call has reserved a token that has not been refilled yet (`rate.Limiter.Reserve`).
//! kubelet's registry limiter is the same bucket asked the other way (`TryAccept`): a pull that finds no token
//! fails instead of waiting ([`ClientLimiter::try_accept`]).

use crate::sim::dist::DurationDist;
use crate::sim::engine::Context;
use crate::sim::rng::Stream;
use crate::sim::time::{SimDuration, SimTime};

const NANO: i64 = 1_000_000_000;

/// The API server's latencies are drawn from this stream, whoever calls.
const API: Stream = Stream("kube.api");

/// A write made now through `client`: it waits for its token, then takes the API server's `latency` (its round
/// trip and its delivery to the watchers, `[api_server] latency`). Returns when the caller has its answer and
/// the watchers have seen the change.
pub fn write<E>(
    ctx: &mut Context<'_, E>,
    client: &mut ClientLimiter,
    latency: &DurationDist,
) -> SimTime {
    let go = client.reserve(ctx.now(), 1);
    answered(ctx, go, latency)
}

/// When a call that went at `sent` (its token in hand) is answered and its watchers have seen it.
pub fn answered<E>(ctx: &mut Context<'_, E>, sent: SimTime, latency: &DurationDist) -> SimTime {
    sent + latency.sample(ctx.rng(API))
}

/// A client's limit: `qps` tokens a second, at most `burst` saved. `None` in a setting means unthrottled
/// (client-go's negative QPS, used by kubelet's heartbeat client).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClientRate {
    /// > 0.
    pub qps: f64,
    /// ≥ 1.
    pub burst: u32,
}

impl ClientRate {
    pub const fn new(qps: f64, burst: u32) -> Self {
        ClientRate { qps, burst }
    }
}

/// One client's bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimiter {
    /// Nano-tokens; negative while calls wait for tokens they have reserved.
    level: i64,
    capacity: i64,
    /// Nano-tokens per microsecond.
    refill_per_us: i64,
    updated: SimTime,
}

impl ClientLimiter {
    /// A full bucket, or an unthrottled client for `None`.
    pub fn new(rate: Option<ClientRate>) -> Self {
        match rate {
            Some(r) => {
                let capacity = i64::from(r.burst) * NANO;
                ClientLimiter {
                    level: capacity,
                    capacity,
                    refill_per_us: ((r.qps * 1_000.0).round() as i64).max(1),
                    updated: SimTime::ZERO,
                }
            }
            None => ClientLimiter {
                level: 0,
                capacity: 0,
                refill_per_us: 0,
                updated: SimTime::ZERO,
            },
        }
    }

    /// Reserves `n` tokens for calls made at `at` and returns when they may go (`at` itself if the bucket
    /// holds them). A call dated before the limiter's latest is counted as if made at that latest instant, so
    /// the bucket's arithmetic never runs backwards; the answer is still never before `at`.
    pub fn reserve(&mut self, at: SimTime, n: u32) -> SimTime {
        if self.refill_per_us == 0 {
            return at;
        }
        let now = self.refill(at);
        self.level -= i64::from(n) * NANO;
        if self.level >= 0 {
            return at;
        }
        let wait_us = (-self.level + self.refill_per_us - 1) / self.refill_per_us;
        now + SimDuration(wait_us as u64)
    }
}

impl ClientLimiter {
    /// Takes a token for a call made at `at` if the bucket holds one, else refuses it (client-go's
    /// `TryAccept`). An unthrottled client always accepts. Calls are counted no earlier than the latest, as in
    /// [`ClientLimiter::reserve`].
    pub fn try_accept(&mut self, at: SimTime) -> bool {
        if self.refill_per_us == 0 {
            return true;
        }
        self.refill(at);
        if self.level >= NANO {
            self.level -= NANO;
            true
        } else {
            false
        }
    }

    /// Refills the bucket up to `at`, or the latest instant it was asked at if later, and returns that instant.
    fn refill(&mut self, at: SimTime) -> SimTime {
        let now = at.max(self.updated);
        let gained = ((now.0 - self.updated.0) as i64).saturating_mul(self.refill_per_us);
        self.level = self.level.saturating_add(gained).min(self.capacity);
        self.updated = now;
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: SimTime) -> f64 {
        t.as_secs_f64()
    }

    /// kube.md §1: the burst goes at once, then one call every 1/qps; nothing is refused.
    #[test]
    fn kube_1_burst_first_then_calls_wait_their_turn() {
        let mut l = ClientLimiter::new(Some(ClientRate::new(5.0, 10)));
        let t0 = SimTime::ZERO;
        let times: Vec<f64> = (0..15).map(|_| secs(l.reserve(t0, 1))).collect();
        assert!(times[..10].iter().all(|&t| t == 0.0), "{times:?}");
        assert_eq!(&times[10..], &[0.2, 0.4, 0.6, 0.8, 1.0]);
    }

    /// kube.md §4.1: 100 pods × 3 calls at 5/10 take (300 − 10) / 5 = 58 s to get through.
    #[test]
    fn kube_4_1_a_backlog_drains_at_the_refill_rate() {
        let mut l = ClientLimiter::new(Some(ClientRate::new(5.0, 10)));
        let last = (0..300).map(|_| l.reserve(SimTime::ZERO, 1)).last();
        assert_eq!(secs(last.expect("calls")), 58.0);
    }

    #[test]
    fn an_idle_bucket_refills_up_to_its_burst_only() {
        let mut l = ClientLimiter::new(Some(ClientRate::new(2.0, 4)));
        for _ in 0..4 {
            l.reserve(SimTime::ZERO, 1);
        }
        let later = SimTime::ZERO + SimDuration::from_secs(100);
        let times: Vec<f64> = (0..5).map(|_| secs(l.reserve(later, 1))).collect();
        assert_eq!(times, [100.0, 100.0, 100.0, 100.0, 100.5]);
    }

    #[test]
    fn a_call_dated_before_the_latest_is_served_no_earlier_than_its_own_time() {
        let mut l = ClientLimiter::new(Some(ClientRate::new(1.0, 1)));
        let t10 = SimTime::ZERO + SimDuration::from_secs(10);
        assert_eq!(secs(l.reserve(t10, 1)), 10.0);
        // Dated 5 s: counted at 10 s, when the bucket is empty, so it waits for the next token.
        let t5 = SimTime::ZERO + SimDuration::from_secs(5);
        assert_eq!(secs(l.reserve(t5, 1)), 11.0);
    }

    /// kube.md §4.4: the registry limiter's burst is taken at once, then one pull per 1/qps; the rest fail.
    #[test]
    fn kube_4_4_try_accept_refuses_once_the_burst_is_spent() {
        let mut l = ClientLimiter::new(Some(ClientRate::new(5.0, 10)));
        let accepted = (0..15).filter(|_| l.try_accept(SimTime::ZERO)).count();
        assert_eq!(accepted, 10);
        let t = |ms| SimTime::ZERO + SimDuration::from_millis(ms);
        assert!(!l.try_accept(t(199)));
        assert!(l.try_accept(t(200)));
        assert!(!l.try_accept(t(200)));
        assert!(ClientLimiter::new(None).try_accept(SimTime::ZERO));
    }

    #[test]
    fn an_unthrottled_client_never_waits() {
        let mut l = ClientLimiter::new(None);
        for _ in 0..1000 {
            assert_eq!(l.reserve(SimTime::ZERO, 1), SimTime::ZERO);
        }
    }
}
