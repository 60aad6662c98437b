//! Simulated time.
//!
//! Time is an integer count of microseconds since the start of a run: integer so that event order never depends
//! on floating-point rounding, microseconds so that API latencies (milliseconds) and token-bucket refills
//! (fractions of a token per millisecond) are represented exactly while a `u64` still spans 584,000 years.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Microseconds per second.
pub const MICROS_PER_SEC: u64 = 1_000_000;

/// An instant in simulated time, in microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of simulated time, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }

    /// Time elapsed since `earlier`; zero if `earlier` is later (never underflows).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    /// The longest duration a scenario may give (about 292,000 years): half the clock's range, so that an
    /// instant plus any such duration still fits.
    pub const MAX: SimDuration = SimDuration(u64::MAX / 2);

    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us)
    }

    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000)
    }

    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * MICROS_PER_SEC)
    }

    /// Rounds to the nearest microsecond; negative and NaN inputs give zero.
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_nan() || s <= 0.0 {
            SimDuration(0)
        } else {
            SimDuration((s * MICROS_PER_SEC as f64).round().min(u64::MAX as f64) as u64)
        }
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }

    /// Parses a duration written with a unit: `"250ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"`, `"1d"`, `"100us"`, or
    /// several, added up: `"1h30m"`, `"2m30s"`.
    ///
    /// A unit is required: scenario files are read by people, and a bare `5` is ambiguous.
    pub fn parse(text: &str) -> Result<SimDuration, String> {
        let t = text.trim();
        let mut rest = t;
        let mut micros = 0.0;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("duration \"{t}\" has no unit; write it like \"250ms\", \"5s\", \"2m\", \"1h\" or \"1h30m\""))?;
            let (num, tail) = rest.split_at(digits);
            let value: f64 = num.parse().map_err(|_| {
                format!("duration \"{t}\" does not start with a number (expected e.g. \"5s\")")
            })?;
            // The unit runs to the next number: "1h30m" is an hour and thirty minutes.
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, next) = tail.split_at(unit_len);
            let micros_per_unit = match unit.trim() {
                "us" | "µs" => 1.0,
                "ms" => 1e3,
                "s" => 1e6,
                "m" | "min" => 60e6,
                "h" => 3600e6,
                "d" => 86400e6,
                other => {
                    return Err(format!(
                        "duration \"{t}\" has unknown unit \"{other}\" (expected one of us, ms, s, m, h, d)"
                    ));
                }
            };
            micros += value * micros_per_unit;
            rest = next;
        }
        if t.is_empty() {
            return Err(format!(
                "duration \"{t}\" does not start with a number (expected e.g. \"5s\")"
            ));
        }
        if !micros.is_finite() || micros > SimDuration::MAX.0 as f64 {
            return Err(format!("duration \"{t}\" is too large"));
        }
        Ok(SimDuration(micros.round() as u64))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.since(earlier)
    }
}

impl fmt::Display for SimTime {
    /// Seconds with millisecond precision, e.g. `12.345s`: the form used in traces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:03}s",
            self.0 / MICROS_PER_SEC,
            (self.0 % MICROS_PER_SEC) / 1_000
        )
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        if us == 0 {
            write!(f, "0s")
        } else if us.is_multiple_of(3_600_000_000) {
            write!(f, "{}h", us / 3_600_000_000)
        } else if us.is_multiple_of(60_000_000) {
            write!(f, "{}m", us / 60_000_000)
        } else if us.is_multiple_of(MICROS_PER_SEC) {
            write!(f, "{}s", us / MICROS_PER_SEC)
        } else if us.is_multiple_of(1_000) {
            write!(f, "{}ms", us / 1_000)
        } else {
            write!(f, "{us}us")
        }
    }
}

impl<'de> serde::Deserialize<'de> for SimDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(
                    f,
                    "a duration string with a unit, like \"250ms\", \"5s\" or \"2m\""
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                SimDuration::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl serde::Serialize for SimDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(
            SimDuration::parse("250ms"),
            Ok(SimDuration::from_millis(250))
        );
        assert_eq!(SimDuration::parse("5s"), Ok(SimDuration::from_secs(5)));
        assert_eq!(
            SimDuration::parse("1.5s"),
            Ok(SimDuration::from_millis(1500))
        );
        assert_eq!(SimDuration::parse("2m"), Ok(SimDuration::from_secs(120)));
        assert_eq!(SimDuration::parse("1h"), Ok(SimDuration::from_secs(3600)));
        assert_eq!(SimDuration::parse("1d"), Ok(SimDuration::from_secs(86400)));
        assert_eq!(
            SimDuration::parse("100us"),
            Ok(SimDuration::from_micros(100))
        );
    }

    #[test]
    fn parses_durations_of_several_units() {
        assert_eq!(
            SimDuration::parse("1h30m"),
            Ok(SimDuration::from_secs(5400))
        );
        assert_eq!(SimDuration::parse("2m30s"), Ok(SimDuration::from_secs(150)));
        assert_eq!(
            SimDuration::parse("1d2h"),
            Ok(SimDuration::from_secs(93_600))
        );
        assert_eq!(
            SimDuration::parse("1s500ms"),
            Ok(SimDuration::from_millis(1500))
        );
        assert!(SimDuration::parse("1h30").unwrap_err().contains("no unit"));
        assert!(
            SimDuration::parse("1h30x")
                .unwrap_err()
                .contains("unknown unit \"x\"")
        );
    }

    #[test]
    fn rejects_missing_or_unknown_units() {
        assert!(SimDuration::parse("5").unwrap_err().contains("no unit"));
        assert!(
            SimDuration::parse("5parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(SimDuration::parse("s").unwrap_err().contains("number"));
    }

    #[test]
    fn display_round_trips() {
        for s in ["250ms", "5s", "2m", "1h", "100us", "0s"] {
            let d = SimDuration::parse(s).unwrap();
            assert_eq!(SimDuration::parse(&d.to_string()).unwrap(), d);
        }
        assert_eq!(SimTime(12_345_678).to_string(), "12.345s");
    }
}
