//! EC2's request-rate token bucket (docs/reference/ec2.md §1.1): a call takes a token; "a set number of tokens is added
//! back every second" up to the maximum; refill tokens are usable as they arrive; rates may be fractional.
//!
//! Tokens are counted in nano-tokens and time in microseconds, so a refill of `r` tokens/s adds exactly
//! `r × 1000` nano-tokens per microsecond for every rate written with up to three decimals (0.15/s, 0.5/s, 20/s):
//! integer arithmetic, no drift, and the level can never go negative.

use super::action::BucketSpec;
use crate::sim::time::SimTime;

const NANO: u64 = 1_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    /// Current level, nano-tokens.
    level: u64,
    /// Maximum level, nano-tokens.
    capacity: u64,
    /// Refill, nano-tokens per microsecond.
    refill_per_us: u64,
    /// Time the level was last brought up to date.
    updated: SimTime,
}

impl TokenBucket {
    /// A full bucket (accounts start with their burst available).
    pub fn new(spec: BucketSpec) -> Self {
        let capacity = (spec.burst * NANO as f64).round() as u64;
        TokenBucket {
            level: capacity,
            capacity,
            refill_per_us: (spec.refill_per_sec * 1_000.0).round() as u64,
            updated: SimTime::ZERO,
        }
    }

    fn refill(&mut self, now: SimTime) {
        if now > self.updated {
            let gained = (now.0 - self.updated.0).saturating_mul(self.refill_per_us);
            self.level = self.level.saturating_add(gained).min(self.capacity);
            self.updated = now;
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: SimTime) -> f64 {
        self.refill(now);
        self.level as f64 / NANO as f64
    }

    /// Whether `n` tokens are available at `now` (without taking them).
    pub fn has(&mut self, now: SimTime, n: u32) -> bool {
        self.refill(now);
        self.level >= n as u64 * NANO
    }

    /// Takes `n` tokens if they are all there; otherwise takes nothing.
    pub fn try_take(&mut self, now: SimTime, n: u32) -> bool {
        if self.has(now, n) {
            self.level -= n as u64 * NANO;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::time::SimDuration;

    /// docs/reference/ec2.md §1.1: burst first, then the refill rate, measured in simulated time.
    #[test]
    fn burst_then_steady_refill_rate() {
        let mut b = TokenBucket::new(BucketSpec::new(100.0, 5.0));
        let t0 = SimTime::ZERO;
        let burst = (0..1000).take_while(|_| b.try_take(t0, 1)).count();
        assert_eq!(burst, 100);
        // Over the next 60 s, calling every 10 ms, exactly 5/s get through.
        let mut ok = 0;
        for i in 1..=6000u64 {
            if b.try_take(t0 + SimDuration::from_millis(10 * i), 1) {
                ok += 1;
            }
        }
        assert_eq!(ok, 300);
    }

    /// The [THR] worked example: a 100-token bucket refilling 20/s is full again 5 s after it was emptied.
    #[test]
    fn empty_bucket_is_full_again_after_capacity_over_rate() {
        let mut b = TokenBucket::new(BucketSpec::new(100.0, 20.0));
        assert!(b.try_take(SimTime::ZERO, 100));
        assert!(!b.has(SimTime::ZERO, 1));
        assert_eq!(b.available(SimTime(4_999_999)).floor(), 99.0);
        assert_eq!(b.available(SimTime(5_000_000)), 100.0);
        assert_eq!(
            b.available(SimTime(60_000_000)),
            100.0,
            "refill beyond the maximum is discarded"
        );
    }

    #[test]
    fn fractional_rates_are_exact() {
        let mut b = TokenBucket::new(BucketSpec::new(5.0, 0.15));
        assert!(b.try_take(SimTime::ZERO, 5));
        // 0.15 tokens/s: one token after 6.67 s, not before.
        assert!(!b.has(SimTime(6_666_666), 1));
        assert!(b.has(SimTime(6_666_667), 1));
    }

    #[test]
    fn multi_token_take_is_all_or_nothing() {
        let mut b = TokenBucket::new(BucketSpec::new(1000.0, 2.0));
        assert!(b.try_take(SimTime::ZERO, 600));
        assert!(!b.try_take(SimTime::ZERO, 401));
        assert_eq!(b.available(SimTime::ZERO), 400.0);
    }
}
