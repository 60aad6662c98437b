//! The trade-off chart of `vpcsim advise`: each candidate's minimised key against its pods' IP-wait p99, those
//! that meet every target apart from those that miss one, the recommendation ringed, and the Pareto front of
//! the feasible candidates (those no other feasible candidate beats on both) joined.

use super::axis::Axis;
use super::figure::{
    Figure, LegendEntry, Line, Marker, PALETTE, Panel, PointPanel, PointSeries, Swatch,
};
use crate::advise::{Advice, TRADE_OFF};

/// File name of the chart, without extension.
pub(super) const STEM: &str = "advise-pareto";

/// The feasible points no other feasible point beats on both keys, by the minimised key: the trade-off
/// curve. Ties on the minimised key keep the lower p99 only.
fn front(mut feasible: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    feasible.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in feasible {
        if out.last().is_none_or(|l| p.1 < l.1) {
            out.push(p);
        }
    }
    out
}

/// The chart, or `None` when no candidate has both values (every run failed).
pub(super) fn figure(a: &Advice) -> Option<Figure> {
    let key = a.request.minimize.as_str();
    let point = |c: &crate::advise::Candidate| Some((c.mean(key)?, c.mean(TRADE_OFF)?));
    let (mut feasible, mut infeasible) = (Vec::new(), Vec::new());
    for c in &a.candidates {
        match (point(c), c.feasible()) {
            (Some(p), true) => feasible.push(p),
            (Some(p), false) => infeasible.push(p),
            (None, _) => {}
        }
    }
    let all: Vec<(f64, f64)> = feasible.iter().chain(&infeasible).copied().collect();
    if all.is_empty() {
        return None;
    }
    let span = |f: fn(&(f64, f64)) -> f64| {
        let v = all.iter().map(f);
        (
            v.clone().fold(f64::INFINITY, f64::min),
            v.fold(f64::NEG_INFINITY, f64::max),
        )
    };
    let (x_lo, x_hi) = span(|p| p.0);
    let (_, y_hi) = span(|p| p.1);
    let front = front(feasible.clone());
    let unplotted = a.candidates.len() - all.len();
    let (good, bad, ring, curve) = (PALETTE[2], PALETTE[3], PALETTE[0], PALETTE[2]);
    let mut legend = vec![
        LegendEntry {
            label: format!("meets every target ({})", feasible.len()),
            colour: good,
            swatch: Swatch::Marker(Marker::Dot),
        },
        LegendEntry {
            label: format!("misses a target ({})", infeasible.len()),
            colour: bad,
            swatch: Swatch::Marker(Marker::Cross),
        },
    ];
    let mut series = vec![
        PointSeries {
            colour: good,
            marker: Marker::Dot,
            points: feasible,
        },
        PointSeries {
            colour: bad,
            marker: Marker::Cross,
            points: infeasible,
        },
    ];
    if let Some(r) = a.recommendation().and_then(point) {
        legend.push(LegendEntry {
            label: "recommendation".to_string(),
            colour: ring,
            swatch: Swatch::Marker(Marker::Ring),
        });
        series.push(PointSeries {
            colour: ring,
            marker: Marker::Ring,
            points: vec![r],
        });
    }
    legend.push(LegendEntry {
        label: "trade-off front of those that meet every target".to_string(),
        colour: curve,
        swatch: Swatch::Line { dashed: false },
    });
    let left_out = match unplotted {
        0 => String::new(),
        n => format!("; {n} without values (their runs failed) left out"),
    };
    Some(Figure {
        stem: STEM.to_string(),
        title: format!("Advice for {}: {key} against {TRADE_OFF}", a.scenario),
        subtitle: format!(
            "one point per candidate, means over {} replicate(s){left_out}",
            a.request.replicates
        ),
        panels: vec![Panel::Points(PointPanel {
            caption: String::new(),
            x: Axis::linear(format!("{key} (mean, minimised)"), x_lo, x_hi),
            y: Axis::linear(format!("{TRADE_OFF} (s, mean)"), 0.0, y_hi),
            lines: vec![Line {
                colour: curve,
                dashed: false,
                markers: false,
                points: front,
                band: Vec::new(),
            }],
            series,
        })],
        legend,
    })
}

#[cfg(test)]
mod tests {
    use super::front;

    #[test]
    fn the_front_keeps_only_points_nothing_beats_on_both() {
        let pts = vec![
            (3.0, 1.0),
            (1.0, 5.0),
            (2.0, 6.0),
            (2.0, 2.0),
            (4.0, 1.0),
            (1.0, 7.0),
        ];
        assert_eq!(front(pts), vec![(1.0, 5.0), (2.0, 2.0), (3.0, 1.0)]);
    }
}
