//! Percentiles of waits some of which had not ended when the run stopped (or when the thing waiting was
//! deleted). Leaving those waits out makes a run in which half the pods never start look as healthy as one in
//! which every pod starts at once; counting them at the time they were last seen waiting makes the figures
//! lower bounds, and the flags say which figures are only that.

use serde_json::{Value, json};

use crate::sim::time::SimTime;

/// How long something waited: `secs` exactly when it `ended`, else at least `secs` (right-censored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wait {
    pub secs: f64,
    pub ended: bool,
}

impl Wait {
    /// The wait from `start` to `end` if it ended, else to `last_seen`, the last time it was seen waiting.
    pub fn from(start: SimTime, end: Option<SimTime>, last_seen: SimTime) -> Wait {
        let stop = end.unwrap_or(last_seen.max(start));
        Wait {
            secs: stop.since(start).as_secs_f64(),
            ended: end.is_some(),
        }
    }
}

/// The quantiles reported for every wait: p50, p90, p99 and the maximum.
const QUANTILES: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)];

/// Nearest-rank p50, p90, p99 and maximum over every wait, censored ones at their lower bound, as
/// `{p50, p90, p99, max}` with a `<q>_censored` flag beside each: true when a censored wait is at or below the
/// quantile's rank, so that the true quantile may be higher (it is at least the figure given). Zeros, not
/// censored, when there is no wait. Waits are sorted in place; an ended wait sorts before a censored one of
/// the same length, so a tie does not flag a quantile the ended wait settles. Waits that compare equal are equal
/// (the same bits and the same flag), so an unstable sort gives the same order as a stable one, faster.
pub fn quantiles(waits: &mut [Wait]) -> Value {
    waits.sort_unstable_by(|a, b| a.secs.total_cmp(&b.secs).then(b.ended.cmp(&a.ended)));
    // censored_by_rank[i]: whether any of waits[..=i] is censored.
    let mut seen = false;
    let censored_by_rank: Vec<bool> = waits
        .iter()
        .map(|w| {
            seen |= !w.ended;
            seen
        })
        .collect();
    let mut out = serde_json::Map::new();
    for (name, q) in QUANTILES {
        let (value, censored) = if waits.is_empty() {
            (0.0, false)
        } else {
            let rank = ((q * waits.len() as f64).ceil() as usize).clamp(1, waits.len());
            (waits[rank - 1].secs, censored_by_rank[rank - 1])
        };
        out.insert(name.to_string(), json!(value));
        out.insert(format!("{name}_censored"), json!(censored));
    }
    Value::Object(out)
}

/// The figure `quantile` (`p50`, …) of a `quantiles` object as text: `12.3s`, or `≥ 12.3s` when it is only a
/// lower bound.
pub fn shown(quantiles: &Value, quantile: &str) -> String {
    let secs = quantiles[quantile].as_f64().unwrap_or(0.0);
    let bound = quantiles[format!("{quantile}_censored")]
        .as_bool()
        .unwrap_or(false);
    format!("{}{secs:.1}s", if bound { "≥ " } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(secs: f64) -> Wait {
        Wait { secs, ended: true }
    }

    fn open(secs: f64) -> Wait {
        Wait { secs, ended: false }
    }

    #[test]
    fn waits_that_all_ended_give_plain_nearest_rank_quantiles() {
        let mut w: Vec<Wait> = (1..=100).rev().map(|i| ended(f64::from(i))).collect();
        let q = quantiles(&mut w);
        assert_eq!(q["p50"], json!(50.0));
        assert_eq!(q["p99"], json!(99.0));
        assert_eq!(q["max"], json!(100.0));
        for name in ["p50", "p90", "p99", "max"] {
            assert_eq!(q[format!("{name}_censored")], json!(false), "{q}");
        }
    }

    #[test]
    fn half_never_ending_puts_the_upper_quantiles_on_their_lower_bounds() {
        // 60 waits of 0.5 s that ended, 60 still open after 1,680 s.
        let mut w: Vec<Wait> = (0..60)
            .map(|_| ended(0.5))
            .chain((0..60).map(|_| open(1680.0)))
            .collect();
        let q = quantiles(&mut w);
        assert_eq!(q["p50"], json!(0.5));
        assert_eq!(q["p50_censored"], json!(false));
        assert_eq!(q["p90"], json!(1680.0));
        assert_eq!(q["p99"], json!(1680.0));
        assert_eq!(q["p99_censored"], json!(true));
        assert_eq!(shown(&q, "p99"), "≥ 1680.0s");
        assert_eq!(shown(&q, "p50"), "0.5s");
    }

    #[test]
    fn a_short_censored_wait_flags_every_quantile_above_it() {
        // A pod deleted after 1 s, before it started, could have waited longer than any other.
        let mut w = vec![ended(5.0), open(1.0), ended(2.0), ended(3.0)];
        let q = quantiles(&mut w);
        assert_eq!(q["p50"], json!(2.0));
        assert_eq!(q["p50_censored"], json!(true));
        assert_eq!(q["max_censored"], json!(true));
    }

    #[test]
    fn a_tie_with_an_ended_wait_is_settled_by_it() {
        let mut w = vec![open(2.0), ended(2.0)];
        let q = quantiles(&mut w);
        assert_eq!(q["p50"], json!(2.0));
        assert_eq!(q["p50_censored"], json!(false));
        assert_eq!(q["max_censored"], json!(true));
    }

    #[test]
    fn no_waits_give_zeros_with_every_flag_present() {
        let q = quantiles(&mut []);
        assert_eq!(q.as_object().unwrap().len(), 8);
        assert_eq!(q["max"], json!(0.0));
        assert_eq!(q["max_censored"], json!(false));
    }
}
