//! The record of every API call: counts by action and outcome, latency histograms, and optionally the
//! attempts themselves (for `api_calls.csv`), held only until the world passes them on to its record sink. Counted per attempt, as EC2 (and CloudTrail) sees them, and per logical
//! call, as the caller sees them after the SDK's retries.

use super::action::{ACTION_COUNT, Action};
use super::api::{ClientId, ErrorCode};
use crate::sim::time::{SimDuration, SimTime};

const ERROR_COUNT: usize = ErrorCode::ALL.len();

/// The outcome of one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Throttled,
    Error(ErrorCode),
}

impl Outcome {
    /// `ok`, `throttled` or the error code: the form used in output files.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::Error(c) => c.code(),
        }
    }
}

/// A latency histogram with logarithmic buckets: 8 per power of two, so quantiles are within ~9 %.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyHistogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

const SUB: u32 = 8;

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: vec![0; (64 * SUB) as usize],
            total: 0,
            max: 0,
        }
    }
}

impl LatencyHistogram {
    fn bucket(us: u64) -> usize {
        if us < SUB as u64 {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros(); // ≥ 3
        let frac = (us >> (exp - 3)) & (SUB as u64 - 1);
        ((exp - 2) * SUB + frac as u32) as usize
    }

    /// Upper edge of a bucket, in microseconds.
    fn upper(bucket: usize) -> u64 {
        let b = bucket as u32;
        if b < SUB {
            return b as u64;
        }
        let exp = b / SUB + 2;
        let frac = (b % SUB) as u64;
        ((SUB as u64 + frac + 1) << (exp - 3)) - 1
    }

    pub fn record(&mut self, d: SimDuration) {
        self.counts[Self::bucket(d.0)] += 1;
        self.total += 1;
        self.max = self.max.max(d.0);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> SimDuration {
        SimDuration(self.max)
    }

    /// The `q` quantile (0..=1), as the upper edge of its bucket (never above the maximum seen).
    pub fn quantile(&self, q: f64) -> SimDuration {
        if self.total == 0 {
            return SimDuration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return SimDuration(Self::upper(i).min(self.max));
            }
        }
        SimDuration(self.max)
    }
}

/// Counts for one action.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionRecord {
    /// Attempts answered successfully.
    pub ok: u64,
    /// Attempts refused by the token bucket.
    pub throttled: u64,
    /// Attempts answered with an error, by [`ErrorCode::index`].
    pub errors: Vec<u64>,
    /// Service latency of attempts that reached the service (throttled ones excluded).
    pub latency: LatencyHistogram,
    /// Logical calls that failed after the retryer gave up, by error code index.
    pub calls_failed: Vec<u64>,
    /// Logical calls in all.
    pub calls: u64,
    /// Retries made by the SDK retryer.
    pub retries: u64,
}

impl ActionRecord {
    fn new() -> Self {
        ActionRecord {
            errors: vec![0; ERROR_COUNT],
            calls_failed: vec![0; ERROR_COUNT],
            ..Default::default()
        }
    }

    /// Attempts of any outcome.
    pub fn attempts(&self) -> u64 {
        self.ok + self.throttled + self.errors.iter().sum::<u64>()
    }

    pub fn errors_with(&self, code: ErrorCode) -> u64 {
        self.errors[code.index()]
    }
}

/// One attempt, for the optional call log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// When the attempt was sent.
    pub sent: SimTime,
    pub client: ClientId,
    pub action: Action,
    pub outcome: Outcome,
    /// Time until the answer arrived.
    pub latency: SimDuration,
    /// 1 for the first attempt of a call.
    pub attempt: u32,
}

/// Which attempts the log behind `api_calls.csv` keeps (`[ec2] api_calls_csv`). The summary's counts and
/// latencies come from [`ActionRecord`]s, which count every attempt whatever the log keeps; the log is what
/// grows with a run's attempts, so a large run may keep only its failures, or nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CallLog {
    /// Every attempt.
    #[default]
    All,
    /// Attempts that were throttled or answered with an error.
    Failures,
    /// None.
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecorder {
    actions: Vec<ActionRecord>,
    /// Attempts by client and action, so that results can be split by node group.
    by_client: Vec<[u64; ACTION_COUNT]>,
    log: Vec<AttemptRecord>,
    keep: CallLog,
}

impl CallRecorder {
    pub fn new(keep: CallLog) -> Self {
        CallRecorder {
            actions: (0..ACTION_COUNT).map(|_| ActionRecord::new()).collect(),
            by_client: Vec::new(),
            log: Vec::new(),
            keep,
        }
    }

    pub fn action(&self, a: Action) -> &ActionRecord {
        &self.actions[a.index()]
    }

    pub fn attempt(&mut self, rec: AttemptRecord) {
        let c = rec.client.0 as usize;
        if self.by_client.len() <= c {
            self.by_client.resize(c + 1, [0; ACTION_COUNT]);
        }
        self.by_client[c][rec.action.index()] += 1;
        let r = &mut self.actions[rec.action.index()];
        match rec.outcome {
            Outcome::Ok => r.ok += 1,
            Outcome::Throttled => r.throttled += 1,
            Outcome::Error(c) => r.errors[c.index()] += 1,
        }
        if rec.outcome != Outcome::Throttled {
            r.latency.record(rec.latency);
        }
        if rec.attempt > 1 {
            r.retries += 1;
        }
        let kept = match self.keep {
            CallLog::All => true,
            CallLog::Failures => rec.outcome != Outcome::Ok,
            CallLog::None => false,
        };
        if kept {
            self.log.push(rec);
        }
    }

    /// Attempts client `client` made of `action`.
    pub fn client_attempts(&self, client: ClientId, action: Action) -> u64 {
        self.by_client
            .get(client.0 as usize)
            .map_or(0, |a| a[action.index()])
    }

    /// Records the end of a logical call; `failed` is its final error, if any.
    pub fn call_finished(&mut self, action: Action, failed: Option<ErrorCode>) {
        let r = &mut self.actions[action.index()];
        r.calls += 1;
        if let Some(c) = failed {
            r.calls_failed[c.index()] += 1;
        }
    }

    /// The attempts the log keeps ([`CallLog`]) not yet taken, in the order they were answered.
    pub fn log(&self) -> &[AttemptRecord] {
        &self.log
    }

    /// Takes the attempts the log holds, in the order they were answered: the world passes them on as they
    /// come, so the log holds at most one event's.
    pub fn take_log(&mut self) -> std::vec::Drain<'_, AttemptRecord> {
        self.log.drain(..)
    }

    /// Throttled attempts over all actions.
    pub fn total_throttled(&self) -> u64 {
        self.actions.iter().map(|r| r.throttled).sum()
    }

    /// Attempts over all actions.
    pub fn total_attempts(&self) -> u64 {
        self.actions.iter().map(ActionRecord::attempts).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=1000u64 {
            h.record(SimDuration::from_millis(ms));
        }
        for (q, want_ms) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let got = h.quantile(q).as_secs_f64() * 1e3;
            assert!(
                got >= want_ms && got <= want_ms * 1.13,
                "q{q}: {got} vs {want_ms}"
            );
        }
        assert_eq!(h.quantile(1.0), SimDuration::from_millis(1000));
        assert_eq!(h.count(), 1000);
    }

    #[test]
    fn bucket_edges_are_monotone_and_contain_their_values() {
        let mut prev = 0;
        for us in [0u64, 1, 7, 8, 9, 15, 16, 17, 1000, 123_456, 10_000_000_000] {
            let b = LatencyHistogram::bucket(us);
            assert!(b >= prev);
            prev = b;
            assert!(LatencyHistogram::upper(b) >= us, "{us}");
            if b > 0 {
                assert!(LatencyHistogram::upper(b - 1) < us, "{us}");
            }
        }
    }

    #[test]
    fn counts_by_outcome() {
        let mut r = CallRecorder::new(CallLog::All);
        let rec = |outcome, attempt| AttemptRecord {
            sent: SimTime::ZERO,
            client: ClientId(0),
            action: Action::AssignPrivateIpAddresses,
            outcome,
            latency: SimDuration::from_millis(400),
            attempt,
        };
        r.attempt(rec(Outcome::Throttled, 1));
        r.attempt(rec(Outcome::Ok, 2));
        r.attempt(rec(Outcome::Error(ErrorCode::InsufficientCidrBlocks), 1));
        r.call_finished(Action::AssignPrivateIpAddresses, None);
        r.call_finished(
            Action::AssignPrivateIpAddresses,
            Some(ErrorCode::InsufficientCidrBlocks),
        );
        let a = r.action(Action::AssignPrivateIpAddresses);
        assert_eq!(
            (a.ok, a.throttled, a.attempts(), a.retries, a.calls),
            (1, 1, 3, 1, 2)
        );
        assert_eq!(a.errors_with(ErrorCode::InsufficientCidrBlocks), 1);
        assert_eq!(a.latency.count(), 2);
        assert_eq!(r.log().len(), 3);
        assert_eq!(r.total_throttled(), 1);
    }

    /// The log keeps what `[ec2] api_calls_csv` names; the counts are the same whatever it keeps.
    #[test]
    fn the_log_keeps_every_attempt_the_failures_or_none_and_the_counts_all() {
        let kept = |keep| {
            let mut r = CallRecorder::new(keep);
            for outcome in [
                Outcome::Ok,
                Outcome::Throttled,
                Outcome::Error(ErrorCode::InsufficientCidrBlocks),
                Outcome::Ok,
            ] {
                r.attempt(AttemptRecord {
                    sent: SimTime::ZERO,
                    client: ClientId(0),
                    action: Action::AssignPrivateIpAddresses,
                    outcome,
                    latency: SimDuration::from_millis(100),
                    attempt: 1,
                });
            }
            assert_eq!(r.action(Action::AssignPrivateIpAddresses).attempts(), 4);
            r.log().iter().map(|a| a.outcome).collect::<Vec<_>>()
        };
        assert_eq!(kept(CallLog::All).len(), 4);
        assert_eq!(
            kept(CallLog::Failures),
            [
                Outcome::Throttled,
                Outcome::Error(ErrorCode::InsufficientCidrBlocks)
            ]
        );
        assert!(kept(CallLog::None).is_empty());
    }
}
