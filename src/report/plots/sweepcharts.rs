//! The charts of a sweep: each metric against each axis (one line per combination of the other axes' values,
//! the replicates' mean with their min–max band), and InsufficientCidrBlocks errors by subnet size and
//! reservation when the sweep varies both.

use std::collections::BTreeMap;

use super::axis::{Axis, number};
use super::figure::{
    BarGroup, BarPanel, Figure, LegendEntry, Line, LinePanel, PALETTE, Panel, Swatch, colour,
};
use super::sweepdata::{Point, SweepAxis, SweepData, stats};

/// Most lines of a metric-versus-axis chart: more cannot be told apart.
pub(super) const MAX_LINES: usize = 10;

/// The metric the subnet-size chart counts, and the one used when a sweep's results lack it.
pub(super) const INSUFFICIENT_CIDR: [&str; 2] = [
    "ipamd.api_errors.InsufficientCidrBlocks",
    "ec2.errors.InsufficientCidrBlocks",
];

/// A file name part from free text: letters, digits, `.`, `-` and `_` kept, the rest `_`.
pub(super) fn file_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A metric's axis description with its unit, guessed from vpcsim's key naming.
pub(super) fn metric_label(metric: &str) -> String {
    let parts: Vec<&str> = metric.split('.').collect();
    let unit = if parts.iter().any(|p| p.ends_with("_s")) {
        " (s)"
    } else if metric.contains("ratio") {
        " (fraction)"
    } else if metric.starts_with("ips.") || metric.contains("addresses") {
        " (addresses)"
    } else if [
        "calls",
        "errors",
        "throttled",
        "retries",
        "created",
        "started",
        "launched",
        "failures",
        "waited",
        "peak",
        "nodes",
        "requests",
    ]
    .iter()
    .any(|w| metric.contains(w))
    {
        " (count)"
    } else {
        ""
    };
    format!("{metric}{unit}")
}

/// Where each value of `axis` is drawn and the x axis: to scale for a numeric axis, in order otherwise.
fn x_axis(axis: &SweepAxis) -> (Vec<f64>, Axis) {
    match &axis.numbers {
        Some(v) => {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let pad = ((hi - lo) * 0.05).max(1e-9);
            let pad = if hi > lo {
                pad
            } else {
                lo.abs().max(1.0) * 0.1
            };
            let x = Axis::linear(axis.name.clone(), lo - pad, hi + pad);
            // A few values: label each one; many: round numbers.
            let x = if v.len() <= 12 {
                x.ticked_at(v.clone())
            } else {
                x
            };
            (v.clone(), x)
        }
        None => (
            (0..axis.labels.len()).map(|i| i as f64).collect(),
            Axis::categories(axis.name.clone(), axis.labels.clone()),
        ),
    }
}

/// Points by the value indices of every axis but `skip`, then by their index on `skip`.
fn by_other_axes(points: &[Point], skip: usize) -> BTreeMap<Vec<usize>, BTreeMap<usize, &Point>> {
    let mut out: BTreeMap<Vec<usize>, BTreeMap<usize, &Point>> = BTreeMap::new();
    for p in points {
        let key: Vec<usize> = p
            .coords
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .map(|(_, &c)| c)
            .collect();
        out.entry(key).or_default().insert(p.coords[skip], p);
    }
    out
}

/// `metric` (column `col`) against axis `a`.
fn metric_by_axis(s: &SweepData, metric: &str, col: usize, a: usize) -> Figure {
    let axis = &s.axes[a];
    let (xs, x) = x_axis(axis);
    let others: Vec<&SweepAxis> = s
        .axes
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != a)
        .map(|(_, o)| o)
        .collect();
    let groups = by_other_axes(&s.points, a);
    let shown = groups.len().min(MAX_LINES);
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for (i, (key, by_value)) in groups.iter().take(MAX_LINES).enumerate() {
        let (c, dashed) = colour(i);
        let mut points = Vec::new();
        let mut band = Vec::new();
        for (&v, p) in by_value {
            if let Some((mean, lo, hi)) = stats(&p.values[col]) {
                points.push((xs[v], mean));
                band.push((xs[v], lo, hi));
            }
        }
        let label = if others.is_empty() {
            format!("mean of {} replicates", s.replicates)
        } else {
            others
                .iter()
                .zip(key)
                .map(|(o, &k)| format!("{} = {}", o.name, o.labels[k]))
                .collect::<Vec<_>>()
                .join(", ")
        };
        legend.push(LegendEntry {
            label,
            colour: c,
            swatch: Swatch::Line { dashed },
        });
        lines.push(Line {
            colour: c,
            dashed,
            markers: true,
            points,
            band,
        });
    }
    legend.push(LegendEntry {
        label: "shaded: lowest to highest replicate".to_string(),
        colour: PALETTE[8],
        swatch: Swatch::Band,
    });
    let (lo, hi) = lines.iter().flat_map(|l| l.band.iter()).fold(
        (f64::INFINITY, f64::NEG_INFINITY),
        |(lo, hi), &(_, l, h)| (lo.min(l), hi.max(h)),
    );
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let y_lo = if lo >= 0.0 {
        0.0
    } else {
        lo - (hi - lo) * 0.05
    };
    let y_hi = if hi > y_lo {
        hi + (hi - y_lo) * 0.08
    } else {
        y_lo + 1.0
    };
    let mut subtitle = format!(
        "Mean of {} replicates per point; shaded band: lowest to highest replicate",
        s.replicates
    );
    if s.points.iter().any(|p| p.censored[col]) {
        subtitle = format!(
            "{subtitle}. Some runs' values are only lower bounds (pods that never started): read them as ≥"
        );
    }
    if groups.len() > MAX_LINES {
        subtitle = format!(
            "{subtitle}. First {shown} of {} combinations of the other axes shown",
            groups.len()
        );
    }
    Figure {
        stem: format!("sweep-{}-by-{}", file_part(metric), file_part(&axis.name)),
        title: format!("{metric} by {}", axis.name),
        subtitle,
        panels: vec![Panel::Lines(LinePanel {
            caption: String::new(),
            x,
            y: Axis::linear(metric_label(metric), y_lo, y_hi),
            lines,
        })],
        legend,
    }
}

/// Is `key` a subnet's CIDR (`subnets.NAME.cidr`, the name may hold dots)?
fn is_subnet_cidr(key: &str) -> bool {
    key.starts_with("subnets.") && key.ends_with(".cidr")
}

fn is_reservation(key: &str) -> bool {
    ["reservation", "top_percent", "bottom_percent"]
        .iter()
        .any(|w| key.contains(w))
}

/// InsufficientCidrBlocks errors per run (mean over the replicates and any other axes) for each subnet size
/// (bar groups along x) and reservation (one bar each), when the sweep has both kinds of axis.
fn insufficient_cidr(s: &SweepData) -> Option<Figure> {
    let size = s
        .axes
        .iter()
        .position(|a| a.keys.iter().any(|k| is_subnet_cidr(k)))?;
    let reservation = s
        .axes
        .iter()
        .enumerate()
        .position(|(i, a)| i != size && a.keys.iter().any(|k| is_reservation(k)))?;
    let (metric, col) = INSUFFICIENT_CIDR
        .iter()
        .find_map(|m| s.column(m).map(|c| (*m, c)))?;
    let (sa, ra) = (&s.axes[size], &s.axes[reservation]);
    // sums[reservation][size] = (sum, n)
    let mut sums = vec![vec![(0.0, 0usize); sa.labels.len()]; ra.labels.len()];
    for p in &s.points {
        let cell = &mut sums[p.coords[reservation]][p.coords[size]];
        cell.0 += p.values[col].iter().sum::<f64>();
        cell.1 += p.values[col].len();
    }
    let mut max: f64 = 0.0;
    let groups: Vec<BarGroup> = sums
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let values: Vec<f64> = row
                .iter()
                .map(|&(sum, n)| if n > 0 { sum / n as f64 } else { 0.0 })
                .collect();
            max = values.iter().copied().fold(max, f64::max);
            BarGroup {
                colour: colour(i).0,
                notes: row
                    .iter()
                    .zip(&values)
                    .map(|(&(_, n), &v)| {
                        if n > 0 {
                            number(v)
                        } else {
                            "no runs".to_string()
                        }
                    })
                    .collect(),
                values,
                inner: vec![],
            }
        })
        .collect();
    let legend = ra
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry {
            label: format!("{} = {l}", ra.name),
            colour: colour(i).0,
            swatch: Swatch::Bar,
        })
        .collect();
    Some(Figure {
        stem: "sweep-insufficient-cidr-blocks".to_string(),
        title: "InsufficientCidrBlocks errors by subnet size and reservation".to_string(),
        subtitle: format!("Mean of {metric} per run, over replicates and the other axes"),
        panels: vec![Panel::Bars(BarPanel {
            caption: String::new(),
            category_label: format!("subnet: {}", sa.name),
            categories: sa.labels.clone(),
            value: Axis::linear(
                "InsufficientCidrBlocks errors per run (count)",
                0.0,
                if max > 0.0 { max * 1.15 } else { 1.0 },
            ),
            groups,
            horizontal: false,
        })],
        legend,
    })
}

/// Every sweep chart, and the metrics that have no column in `results.csv` (they get no chart).
pub(super) fn figures(s: &SweepData) -> (Vec<Figure>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for m in &s.metrics {
        let Some(col) = s.column(m) else {
            missing.push(m.clone());
            continue;
        };
        for a in 0..s.axes.len() {
            out.push(metric_by_axis(s, m, col, a));
        }
    }
    out.extend(insufficient_cidr(s));
    (out, missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::plots::sweepdata::Point;

    /// A sweep of `sizes[i]` values on axis i, one replicate, metric `m` = the point's index.
    fn sweep(sizes: &[usize]) -> SweepData {
        let axes: Vec<SweepAxis> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| SweepAxis {
                name: format!("axis{i}"),
                keys: vec![format!("axis{i}")],
                labels: (0..n).map(|v| format!("v{v}")).collect(),
                numbers: None,
            })
            .collect();
        let total: usize = sizes.iter().product();
        let points = (0..total)
            .map(|p| {
                let mut rest = p;
                let mut coords = vec![0; sizes.len()];
                for (i, &n) in sizes.iter().enumerate().rev() {
                    coords[i] = rest % n;
                    rest /= n;
                }
                Point {
                    index: p as u64,
                    coords,
                    runs: vec![(0, p as u64)],
                    values: vec![vec![p as f64]],
                    censored: vec![false],
                }
            })
            .collect();
        SweepData {
            dir: "s".into(),
            scenario: "s".into(),
            seed: "1".into(),
            replicates: 1,
            axes,
            metrics: vec!["m".into()],
            columns: vec!["m".into()],
            points,
        }
    }

    #[test]
    fn one_line_per_combination_of_the_other_axes() {
        let s = sweep(&[3, 2]);
        let (figs, missing) = figures(&s);
        assert!(missing.is_empty());
        assert_eq!(figs.len(), 2);
        let Panel::Lines(p) = &figs[0].panels[0] else {
            panic!("a line chart")
        };
        // m by axis0: one line per value of axis1, three points each, in axis order.
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[1].points, vec![(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]);
        assert_eq!(figs[0].legend[1].label, "axis1 = v1");
    }

    #[test]
    fn lines_are_capped_and_the_subtitle_says_so() {
        let s = sweep(&[2, 4, 4]);
        let (figs, _) = figures(&s);
        let Panel::Lines(p) = &figs[0].panels[0] else {
            panic!("a line chart")
        };
        assert_eq!(p.lines.len(), MAX_LINES);
        assert!(
            figs[0].subtitle.contains("First 10 of 16 combinations"),
            "{}",
            figs[0].subtitle
        );
    }

    #[test]
    fn a_chart_of_lower_bounds_says_so_and_one_of_exact_values_does_not() {
        let mut s = sweep(&[3]);
        let (figs, _) = figures(&s);
        assert!(
            !figs[0].subtitle.contains("lower bounds"),
            "{}",
            figs[0].subtitle
        );
        s.points[2].censored[0] = true;
        let (figs, _) = figures(&s);
        assert!(
            figs[0]
                .subtitle
                .contains("Some runs' values are only lower bounds"),
            "{}",
            figs[0].subtitle
        );
    }

    #[test]
    fn a_missing_metric_column_is_listed_not_drawn() {
        let mut s = sweep(&[2]);
        s.metrics.push("not.there".into());
        let (figs, missing) = figures(&s);
        assert_eq!(figs.len(), 1);
        assert_eq!(missing, vec!["not.there".to_string()]);
    }

    #[test]
    fn units_are_guessed_from_key_names() {
        assert_eq!(metric_label("pods.ip_wait_s.p99"), "pods.ip_wait_s.p99 (s)");
        assert_eq!(
            metric_label("ips.waste_ratio_mean"),
            "ips.waste_ratio_mean (fraction)"
        );
        assert_eq!(metric_label("ec2.calls_total"), "ec2.calls_total (count)");
    }
}
