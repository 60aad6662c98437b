//! Targets (`KEY<=VALUE`, `KEY>=VALUE` over summary.json's dotted keys) and how a candidate's replicates meet
//! them.

use std::fmt;
use std::str::FromStr;

/// The targets used when none are given: every pod started, and no `InsufficientCidrBlocks` from EC2.
pub const DEFAULT_TARGETS: &[&str] = &[
    "pods.started_ratio>=1",
    "ipamd.api_errors.InsufficientCidrBlocks<=0",
];

/// The key minimised when `--minimize` is not given: addresses held, on average over the run.
pub const DEFAULT_MINIMIZE: &str = "ips.allocated_mean";

/// Which side of the bound is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    AtMost,
    AtLeast,
}

/// One target: a summary key and a bound on it.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub key: String,
    pub bound: Bound,
    pub value: f64,
}

impl Target {
    /// Whether `v` meets the target; a missing value (a quantile of no samples) meets none.
    pub fn met_by(&self, v: Option<f64>) -> bool {
        match (v, self.bound) {
            (Some(v), Bound::AtMost) => v <= self.value,
            (Some(v), Bound::AtLeast) => v >= self.value,
            (None, _) => false,
        }
    }

    /// The better of two values for this target (the lower for `<=`), for its best achievable value.
    pub fn better(&self, a: f64, b: f64) -> f64 {
        match self.bound {
            Bound::AtMost => a.min(b),
            Bound::AtLeast => a.max(b),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.bound {
            Bound::AtMost => "<=",
            Bound::AtLeast => ">=",
        };
        write!(f, "{}{op}{}", self.key, self.value)
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        let expected = || {
            format!(
                "expected KEY<=VALUE or KEY>=VALUE with KEY a dotted summary.json key and VALUE a number \
                 (e.g. `pods.launch_latency_s.p99<=30`), got `{s}`"
            )
        };
        let (key, bound, value) = if let Some((k, v)) = s.split_once("<=") {
            (k, Bound::AtMost, v)
        } else if let Some((k, v)) = s.split_once(">=") {
            (k, Bound::AtLeast, v)
        } else {
            return Err(expected());
        };
        let key = key.trim();
        let value: f64 = value.trim().parse().map_err(|_| expected())?;
        if key.is_empty() || !value.is_finite() || key.contains(['<', '>', '=', ' ']) {
            return Err(expected());
        }
        Ok(Target {
            key: key.to_string(),
            bound,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_bounds() {
        let t: Target = "pods.launch_latency_s.p99<=30".parse().unwrap();
        assert_eq!(
            (t.key.as_str(), t.bound, t.value),
            ("pods.launch_latency_s.p99", Bound::AtMost, 30.0)
        );
        let t: Target = " pods.started_ratio >= 1 ".parse().unwrap();
        assert_eq!(
            (t.key.as_str(), t.bound, t.value),
            ("pods.started_ratio", Bound::AtLeast, 1.0)
        );
    }

    #[test]
    fn refuses_malformed_targets() {
        for bad in [
            "pods.started_ratio",
            "x<30",
            "<=3",
            "x<=abc",
            "x<=inf",
            "x<=1<=2",
        ] {
            let e = bad.parse::<Target>().unwrap_err();
            assert!(e.contains("expected KEY<=VALUE"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_missing_value_meets_nothing() {
        let t: Target = "a>=0".parse().unwrap();
        assert!(!t.met_by(None));
        assert!(t.met_by(Some(0.0)));
    }
}
