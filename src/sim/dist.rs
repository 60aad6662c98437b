//! Distributions of durations: API latencies, propagation delays, boot times, hold times.
//!
//! Written in scenario files as a bare duration (`"500ms"`, fixed) or as a table:
//! `{ dist = "uniform", min = "1s", max = "5s" }`, `{ dist = "exponential", mean = "2m" }`,
//! `{ dist = "lognormal", median = "400ms", spread = 0.5 }`. `spread` is the standard deviation of the
//! underlying normal (σ); lognormal and exponential take an optional `max` that clamps the tail.

use std::fmt;

use rand::RngExt;
use rand_distr::{Exp1, StandardNormal};

use super::rng::SimRng;
use super::time::SimDuration;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DurationDist {
    Fixed(SimDuration),
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    Exponential {
        mean: SimDuration,
        max: Option<SimDuration>,
    },
    LogNormal {
        median: SimDuration,
        spread: f64,
        max: Option<SimDuration>,
    },
}

impl DurationDist {
    pub const fn fixed(d: SimDuration) -> Self {
        DurationDist::Fixed(d)
    }

    pub const fn lognormal_ms(median_ms: u64, spread: f64) -> Self {
        DurationDist::LogNormal {
            median: SimDuration::from_millis(median_ms),
            spread,
            max: None,
        }
    }

    pub const fn uniform_ms(min_ms: u64, max_ms: u64) -> Self {
        DurationDist::Uniform {
            min: SimDuration::from_millis(min_ms),
            max: SimDuration::from_millis(max_ms),
        }
    }

    /// Draws one duration. A fixed distribution draws nothing, so it never shifts its stream.
    #[inline]
    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match *self {
            DurationDist::Fixed(d) => d,
            DurationDist::Uniform { min, max } => {
                if max.0 <= min.0 {
                    min
                } else {
                    SimDuration(rng.random_range(min.0..=max.0))
                }
            }
            DurationDist::Exponential { mean, max } => {
                let x: f64 = rng.sample(Exp1);
                clamp(SimDuration::from_secs_f64(x * mean.as_secs_f64()), max)
            }
            DurationDist::LogNormal {
                median,
                spread,
                max,
            } => {
                let z: f64 = rng.sample(StandardNormal);
                clamp(
                    SimDuration::from_secs_f64(median.as_secs_f64() * (spread * z).exp()),
                    max,
                )
            }
        }
    }

    /// The mean, in seconds; the clamp at `max` taken as a cap on the mean (an estimate, for sizing runs).
    pub fn mean_secs(&self) -> f64 {
        let capped =
            |mean: f64, max: Option<SimDuration>| max.map_or(mean, |m| mean.min(m.as_secs_f64()));
        match *self {
            DurationDist::Fixed(v) => v.as_secs_f64(),
            DurationDist::Uniform { min, max } => (min.as_secs_f64() + max.as_secs_f64()) / 2.0,
            DurationDist::Exponential { mean, max } => capped(mean.as_secs_f64(), max),
            DurationDist::LogNormal {
                median,
                spread,
                max,
            } => capped(median.as_secs_f64() * (spread * spread / 2.0).exp(), max),
        }
    }

    fn validate(self) -> Result<Self, String> {
        match self {
            DurationDist::Uniform { min, max } if max < min => Err(format!(
                "uniform distribution has max ({max}) below min ({min})"
            )),
            DurationDist::LogNormal { spread, .. } if !(spread.is_finite() && spread >= 0.0) => {
                Err(format!(
                    "lognormal spread must be a finite number ≥ 0, got {spread}"
                ))
            }
            d => Ok(d),
        }
    }
}

fn clamp(d: SimDuration, max: Option<SimDuration>) -> SimDuration {
    match max {
        Some(m) if d > m => m,
        _ => d,
    }
}

impl fmt::Display for DurationDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationDist::Fixed(d) => write!(f, "{d}"),
            DurationDist::Uniform { min, max } => write!(f, "uniform({min}..{max})"),
            DurationDist::Exponential { mean, .. } => write!(f, "exponential(mean {mean})"),
            DurationDist::LogNormal { median, spread, .. } => {
                write!(f, "lognormal(median {median}, spread {spread})")
            }
        }
    }
}

/// The table form in scenario files.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDist {
    dist: String,
    value: Option<SimDuration>,
    min: Option<SimDuration>,
    max: Option<SimDuration>,
    mean: Option<SimDuration>,
    median: Option<SimDuration>,
    spread: Option<f64>,
}

impl RawDist {
    fn resolve(self) -> Result<DurationDist, String> {
        let need = |v: Option<SimDuration>, key: &str| {
            v.ok_or_else(|| format!("distribution \"{}\" needs key `{key}`", self.dist))
        };
        let unused = |keys: &[(&str, bool)]| match keys.iter().find(|(_, present)| *present) {
            Some((k, _)) => Err(format!(
                "key `{k}` does not apply to distribution \"{}\"",
                self.dist
            )),
            None => Ok(()),
        };
        let d = match self.dist.as_str() {
            "fixed" => {
                unused(&[
                    ("min", self.min.is_some()),
                    ("max", self.max.is_some()),
                    ("mean", self.mean.is_some()),
                    ("median", self.median.is_some()),
                    ("spread", self.spread.is_some()),
                ])?;
                DurationDist::Fixed(need(self.value, "value")?)
            }
            "uniform" => {
                unused(&[
                    ("value", self.value.is_some()),
                    ("mean", self.mean.is_some()),
                    ("median", self.median.is_some()),
                    ("spread", self.spread.is_some()),
                ])?;
                DurationDist::Uniform {
                    min: need(self.min, "min")?,
                    max: need(self.max, "max")?,
                }
            }
            "exponential" => {
                unused(&[
                    ("value", self.value.is_some()),
                    ("min", self.min.is_some()),
                    ("median", self.median.is_some()),
                    ("spread", self.spread.is_some()),
                ])?;
                DurationDist::Exponential {
                    mean: need(self.mean, "mean")?,
                    max: self.max,
                }
            }
            "lognormal" => {
                unused(&[
                    ("value", self.value.is_some()),
                    ("min", self.min.is_some()),
                    ("mean", self.mean.is_some()),
                ])?;
                let spread = self
                    .spread
                    .ok_or("distribution \"lognormal\" needs key `spread`")?;
                DurationDist::LogNormal {
                    median: need(self.median, "median")?,
                    spread,
                    max: self.max,
                }
            }
            other => {
                return Err(format!(
                    "unknown distribution \"{other}\" (expected fixed, uniform, exponential or lognormal)"
                ));
            }
        };
        d.validate()
    }
}

impl<'de> serde::Deserialize<'de> for DurationDist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DurationDist;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a duration like \"500ms\" or a table like {{ dist = \"lognormal\", median = \"400ms\", spread = 0.5 }}"
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<DurationDist, E> {
                SimDuration::parse(v)
                    .map(DurationDist::Fixed)
                    .map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<DurationDist, A::Error> {
                let raw: RawDist = serde::Deserialize::deserialize(
                    serde::de::value::MapAccessDeserializer::new(map),
                )?;
                raw.resolve().map_err(serde::de::Error::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::stream;

    fn parse(s: &str) -> Result<DurationDist, String> {
        #[derive(serde::Deserialize)]
        struct W {
            d: DurationDist,
        }
        toml::from_str::<W>(&format!("d = {s}"))
            .map(|w| w.d)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn parses_each_form() {
        assert_eq!(
            parse("\"500ms\"").unwrap(),
            DurationDist::Fixed(SimDuration::from_millis(500))
        );
        assert_eq!(
            parse("{ dist = \"uniform\", min = \"1s\", max = \"5s\" }").unwrap(),
            DurationDist::uniform_ms(1000, 5000)
        );
        assert_eq!(
            parse("{ dist = \"lognormal\", median = \"400ms\", spread = 0.5 }").unwrap(),
            DurationDist::lognormal_ms(400, 0.5)
        );
        assert!(matches!(
            parse("{ dist = \"exponential\", mean = \"2m\" }").unwrap(),
            DurationDist::Exponential { .. }
        ));
    }

    #[test]
    fn rejects_bad_tables() {
        assert!(
            parse("{ dist = \"gamma\", mean = \"1s\" }")
                .unwrap_err()
                .contains("unknown distribution")
        );
        assert!(
            parse("{ dist = \"uniform\", min = \"5s\", max = \"1s\" }")
                .unwrap_err()
                .contains("below min")
        );
        assert!(
            parse("{ dist = \"lognormal\", median = \"1s\" }")
                .unwrap_err()
                .contains("spread")
        );
        assert!(
            parse("{ dist = \"uniform\", min = \"1s\", max = \"2s\", mean = \"1s\" }")
                .unwrap_err()
                .contains("does not apply")
        );
        assert!(parse("{ dist = \"fixed\", value = \"1s\", colour = 3 }").is_err());
    }

    #[test]
    fn samples_stay_in_range_and_lognormal_median_is_right() {
        let mut rng = stream(1, "t", 0);
        let u = DurationDist::uniform_ms(1000, 5000);
        for _ in 0..1000 {
            let d = u.sample(&mut rng);
            assert!(d >= SimDuration::from_secs(1) && d <= SimDuration::from_secs(5));
        }
        let ln = DurationDist::lognormal_ms(400, 0.5);
        let mut xs: Vec<u64> = (0..20_001).map(|_| ln.sample(&mut rng).0).collect();
        xs.sort_unstable();
        let med = xs[10_000] as f64 / 1e3;
        assert!((med - 400.0).abs() < 15.0, "median {med} ms");
    }
}
