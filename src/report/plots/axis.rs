//! Chart axes: linear, logarithmic or categorical, all drawn on one plain `f64` coordinate so every chart
//! goes through one drawing path. A log axis plots `log10(value)`; a categorical axis plots category `i` at
//! `i`. Tick positions are chosen here (not by plotters) so that a log axis is labelled at 1-2-5 steps and a
//! categorical axis exactly at its categories.

/// How values map onto an axis.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Scale {
    Linear,
    /// Base 10; values at or below the range's low end are drawn at the low end.
    Log,
    /// Category `i` of the list at position `i`.
    Categories(Vec<String>),
}

/// One axis: its description (with unit), its scale and its range in data units.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Axis {
    pub label: String,
    pub scale: Scale,
    /// Low and high end in data units (ignored for categories).
    pub range: (f64, f64),
    /// Counts: ticks only at whole numbers.
    pub whole: bool,
    /// Ticks at exactly these values (data units) instead of round numbers: a sweep axis is labelled at the
    /// values it ran.
    pub ticks_at: Option<Vec<f64>>,
}

impl Axis {
    pub fn linear(label: impl Into<String>, lo: f64, hi: f64) -> Axis {
        let (lo, hi) = widen(lo, hi);
        Axis {
            label: label.into(),
            scale: Scale::Linear,
            range: (lo, hi),
            whole: false,
            ticks_at: None,
        }
    }

    /// The same axis, ticked at whole numbers only (for counts).
    pub fn whole(mut self) -> Axis {
        self.whole = true;
        self
    }

    /// A log axis over `[lo, hi]` (`lo > 0`), widened to whole 1-2-5 steps.
    pub fn log(label: impl Into<String>, lo: f64, hi: f64) -> Axis {
        let lo = if lo > 0.0 && lo.is_finite() { lo } else { 1e-3 };
        let hi = if hi > lo { hi } else { lo * 10.0 };
        Axis {
            label: label.into(),
            scale: Scale::Log,
            range: (step_down(lo), step_up(hi)),
            whole: false,
            ticks_at: None,
        }
    }

    pub fn categories(label: impl Into<String>, names: Vec<String>) -> Axis {
        let n = names.len().max(1) as f64;
        Axis {
            label: label.into(),
            scale: Scale::Categories(names),
            range: (-0.5, n - 0.5),
            whole: false,
            ticks_at: None,
        }
    }

    /// Where value `v` is drawn.
    pub fn to_plot(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Log => v.max(self.range.0).log10(),
            _ => v,
        }
    }

    /// The drawn range.
    pub fn plot_range(&self) -> (f64, f64) {
        (self.to_plot(self.range.0), self.to_plot(self.range.1))
    }

    /// The same axis, ticked at `values` only.
    pub fn ticked_at(mut self, values: Vec<f64>) -> Axis {
        self.ticks_at = Some(values);
        self
    }

    /// Tick positions, in drawn coordinates.
    pub fn ticks(&self) -> Vec<f64> {
        if let Some(at) = &self.ticks_at {
            return at.iter().map(|&v| self.to_plot(v)).collect();
        }
        match &self.scale {
            Scale::Linear => nice_ticks(self.range.0, self.range.1, 8, self.whole),
            Scale::Log => log_ticks(self.range.0, self.range.1)
                .into_iter()
                .map(f64::log10)
                .collect(),
            Scale::Categories(names) => (0..names.len()).map(|i| i as f64).collect(),
        }
    }

    /// The label of the tick at drawn position `p`.
    pub fn tick_label(&self, p: f64) -> String {
        match &self.scale {
            Scale::Linear => number(p),
            Scale::Log => number(10f64.powf(p)),
            Scale::Categories(names) => {
                let i = p.round();
                if (p - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
        }
    }
}

/// A non-empty range: a single value gets room around it.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo > 1e-12 {
        (lo, hi)
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
    }
}

/// The largest 1-2-5 value at or below `v` (`v > 0`).
fn step_down(v: f64) -> f64 {
    let d = 10f64.powf(v.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * d)
        .find(|&s| s <= v * (1.0 + 1e-9))
        .unwrap_or(d)
}

/// The smallest 1-2-5 value at or above `v` (`v > 0`).
fn step_up(v: f64) -> f64 {
    let d = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * d)
        .find(|&s| s >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * d)
}

/// Ticks of a log axis: every 1, 2 and 5 of each decade when the range spans up to four decades, else the
/// decades only.
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mults: &[f64] = if b - a <= 4 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    let mut out = Vec::new();
    for e in a..=b {
        for m in mults {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v);
            }
        }
    }
    out
}

/// About `target` round-numbered ticks from `lo` to `hi` (steps of 1, 2 or 5 times a power of ten, at least 1
/// when `whole`).
pub(super) fn nice_ticks(lo: f64, hi: f64, target: usize, whole: bool) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / target.max(1) as f64;
    let d = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * d)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * d);
    let step = if whole { step.max(1.0) } else { step };
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // k × step, rounded to the step's decimals so that 3 × 0.2 is 0.6.
    let scale = 10f64.powi((-step.log10().floor() as i32).max(0) + 1);
    (first..=last)
        .map(|k| (k as f64 * step * scale).round() / scale)
        .collect()
}

/// A number for a tick or a table: whole numbers as such (10k and 1.5M above ten thousand), others with up
/// to three significant decimals.
pub(super) fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let a = v.abs();
    if a >= 1e4 {
        let (x, unit) = if a >= 1e9 {
            (v / 1e9, "G")
        } else if a >= 1e6 {
            (v / 1e6, "M")
        } else {
            (v / 1e3, "k")
        };
        return format!("{}{unit}", trim(&format!("{x:.2}")));
    }
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let decimals = if a >= 100.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // Three significant digits for small values.
        (2 - a.log10().floor() as i32).clamp(3, 9) as usize
    };
    trim(&format!("{v:.decimals$}"))
}

/// `1.50` → `1.5`, `2.00` → `2`.
fn trim(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.001), "0.001");
        assert_eq!(number(0.0123456), "0.0123");
        assert_eq!(number(1.23456), "1.23");
        assert_eq!(number(25_000.0), "25k");
        assert_eq!(number(1_500_000.0), "1.5M");
        assert_eq!(number(-3.0), "-3");
    }

    #[test]
    fn log_axis_ticks_at_one_two_five() {
        let a = Axis::log("s", 0.15, 28.0);
        assert_eq!(a.range, (0.1, 50.0));
        let labels: Vec<String> = a.ticks().iter().map(|&t| a.tick_label(t)).collect();
        assert_eq!(
            labels,
            ["0.1", "0.2", "0.5", "1", "2", "5", "10", "20", "50"]
        );
    }

    #[test]
    fn categorical_axis_labels_each_category_once() {
        let a = Axis::categories("x", vec!["/24".into(), "/23".into()]);
        assert_eq!(a.ticks(), vec![0.0, 1.0]);
        assert_eq!(a.tick_label(1.0), "/23");
        assert_eq!(a.tick_label(0.5), "");
    }

    #[test]
    fn linear_ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 1.0, 5, false),
            vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
        );
        assert_eq!(
            nice_ticks(0.0, 380.0, 8, false),
            vec![0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 350.0]
        );
        assert_eq!(nice_ticks(0.0, 3.0, 8, true), vec![0.0, 1.0, 2.0, 3.0]);
    }
}
