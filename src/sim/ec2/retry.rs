//! The client side of a call: the aws-sdk-go-v2 standard retryer as the CNI really runs it (docs/reference/ec2.md
//! §1.6).
//!
//! At most `max_attempts` attempts (3: the CNI's `WithRetryMaxAttempts(10)` is discarded when a custom retryer
//! is given). Only retryable errors are retried (throttling and 5xx; never `InsufficientCidrBlocks` or other
//! 4xx). Each retry first takes `retry_cost` tokens from the client's quota; an empty quota returns the error at
//! once. A retry that succeeds returns its cost; a first-attempt success adds `no_retry_increment`. The delay
//! before retry n (n = 1 for the first) is U[0,1) × 2^n s, or exactly `max_backoff` once n > ⌊log2(max_backoff)⌋.

use rand::RngExt;

use super::config::RetryConfig;
use crate::sim::rng::SimRng;
use crate::sim::time::SimDuration;

/// One client's retry quota (the SDK keeps one per client, i.e. per node's ipamd).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryQuota {
    tokens: u32,
    max: u32,
}

/// What the retryer decided after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay; `cost` tokens were taken from the quota.
    RetryAfter { delay: SimDuration, cost: u32 },
    /// Give up and return the error to the caller.
    GiveUp(GiveUpReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUpReason {
    NotRetryable,
    AttemptsExhausted,
    QuotaExhausted,
}

impl RetryQuota {
    pub fn new(cfg: &RetryConfig) -> Self {
        RetryQuota {
            tokens: cfg.quota,
            max: cfg.quota,
        }
    }

    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// Called after attempt number `attempt` (1-based) failed.
    pub fn on_failure(
        &mut self,
        cfg: &RetryConfig,
        attempt: u32,
        retryable: bool,
        rng: &mut SimRng,
    ) -> RetryDecision {
        if !retryable {
            return RetryDecision::GiveUp(GiveUpReason::NotRetryable);
        }
        if attempt >= cfg.max_attempts {
            return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
        }
        if self.tokens < cfg.retry_cost {
            return RetryDecision::GiveUp(GiveUpReason::QuotaExhausted);
        }
        self.tokens -= cfg.retry_cost;
        RetryDecision::RetryAfter {
            delay: backoff(cfg, attempt, rng),
            cost: cfg.retry_cost,
        }
    }

    /// Called when an attempt succeeded; `last_retry_cost` is the cost of the retry that led to it (0 for a
    /// first-attempt success).
    pub fn on_success(&mut self, cfg: &RetryConfig, last_retry_cost: u32) {
        let gain = if last_retry_cost == 0 {
            cfg.no_retry_increment
        } else {
            last_retry_cost
        };
        self.tokens = (self.tokens + gain).min(self.max);
    }
}

/// `backoffDelayLegacy`: full jitter on a 1 s base; retry n waits U[0,1)·2^n s, capped.
pub fn backoff(cfg: &RetryConfig, retry: u32, rng: &mut SimRng) -> SimDuration {
    let cap = cfg.max_backoff.as_secs_f64();
    let cap_exp = if cap >= 1.0 {
        cap.log2().floor() as u32
    } else {
        0
    };
    if retry > cap_exp {
        return cfg.max_backoff;
    }
    let u: f64 = rng.random();
    SimDuration::from_secs_f64((u * (1u64 << retry) as f64).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::stream;

    /// docs/reference/ec2.md §1.6: three attempts; retry 1 waits [0,2) s, retry 2 [0,4) s.
    #[test]
    fn three_attempts_with_full_jitter() {
        let cfg = RetryConfig::default();
        let mut q = RetryQuota::new(&cfg);
        let mut rng = stream(1, "t", 0);
        let mut max1: f64 = 0.0;
        let mut max2: f64 = 0.0;
        for _ in 0..2000 {
            match q.on_failure(&cfg, 1, true, &mut rng) {
                RetryDecision::RetryAfter { delay, cost } => {
                    assert_eq!(cost, 5);
                    max1 = max1.max(delay.as_secs_f64());
                }
                d => panic!("{d:?}"),
            }
            match q.on_failure(&cfg, 2, true, &mut rng) {
                RetryDecision::RetryAfter { delay, .. } => max2 = max2.max(delay.as_secs_f64()),
                d => panic!("{d:?}"),
            }
            q.on_success(&cfg, 5);
            q.on_success(&cfg, 5);
            assert_eq!(
                q.on_failure(&cfg, 3, true, &mut rng),
                RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted)
            );
        }
        assert!(max1 < 2.0 && max1 > 1.9, "{max1}");
        assert!(max2 < 4.0 && max2 > 3.9, "{max2}");
    }

    #[test]
    fn non_retryable_errors_are_returned_at_once() {
        let cfg = RetryConfig::default();
        let mut q = RetryQuota::new(&cfg);
        let mut rng = stream(1, "t", 0);
        assert_eq!(
            q.on_failure(&cfg, 1, false, &mut rng),
            RetryDecision::GiveUp(GiveUpReason::NotRetryable)
        );
        assert_eq!(q.tokens(), 500);
    }

    /// 500 tokens at 5 per retry: the 101st retry without any success is refused.
    #[test]
    fn quota_runs_out_after_100_unrefunded_retries_and_refills_on_success() {
        let cfg = RetryConfig::default();
        let mut q = RetryQuota::new(&cfg);
        let mut rng = stream(1, "t", 0);
        for _ in 0..100 {
            assert!(matches!(
                q.on_failure(&cfg, 1, true, &mut rng),
                RetryDecision::RetryAfter { .. }
            ));
        }
        assert_eq!(q.tokens(), 0);
        assert_eq!(
            q.on_failure(&cfg, 1, true, &mut rng),
            RetryDecision::GiveUp(GiveUpReason::QuotaExhausted)
        );
        q.on_success(&cfg, 0);
        assert_eq!(q.tokens(), 1);
        q.on_success(&cfg, 5);
        assert_eq!(q.tokens(), 6);
        for _ in 0..1000 {
            q.on_success(&cfg, 0);
        }
        assert_eq!(q.tokens(), 500, "the quota never exceeds its maximum");
    }

    #[test]
    fn backoff_is_capped_past_log2_of_the_cap() {
        let cfg = RetryConfig {
            max_attempts: 10,
            ..RetryConfig::default()
        };
        let mut rng = stream(1, "t", 0);
        assert_eq!(backoff(&cfg, 5, &mut rng), SimDuration::from_secs(20));
        assert!(backoff(&cfg, 4, &mut rng) < SimDuration::from_secs(16));
    }
}
