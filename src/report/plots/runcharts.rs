//! The charts of one run or of several runs side by side: each is split into variants (a run's node groups;
//! for several runs `LABEL` or `LABEL/GROUP`), so the same code draws a run's groups against each other and a
//! set of runs against each other.

use std::collections::{BTreeMap, BTreeSet};

use super::axis::{Axis, number};
use super::figure::{
    BarGroup, BarPanel, Figure, LegendEntry, Line, LinePanel, Panel, Swatch, colour, darker,
};
use super::rundata::{Calls, PodStats, RunData};
use super::sample;

/// A run and, when several runs are drawn together, its label.
pub(super) struct Labelled<'a> {
    pub label: Option<&'a str>,
    pub run: &'a RunData,
}

/// How charts of a set are named: a prefix for file names and words added to the titles.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Naming<'a> {
    pub stem_prefix: &'a str,
    pub title_suffix: &'a str,
}

/// Most panels of the address-pool chart (one per variant).
const MAX_POOL_PANELS: usize = 12;

/// A variant's name: the part alone for one run, `LABEL` for a run with a single part, else `LABEL/PART`.
fn variant(label: Option<&str>, parts: usize, part: &str) -> String {
    match label {
        None => part.to_string(),
        Some(l) if parts <= 1 => l.to_string(),
        Some(l) => format!("{l}/{part}"),
    }
}

/// Every run chart of `runs`.
pub(super) fn figures(runs: &[Labelled], naming: Naming) -> Vec<Figure> {
    let pods: Vec<(String, &PodStats)> = runs
        .iter()
        .flat_map(|r| {
            let parts = r.run.pods.iter().filter(|(_, s)| s.count > 0).count();
            r.run
                .pods
                .iter()
                .filter(|(_, s)| s.count > 0)
                .map(move |(g, s)| (variant(r.label, parts, g), s))
        })
        .collect();
    let end_s = runs.iter().map(|r| r.run.duration_s).fold(0.0, f64::max);
    let time = TimeAxis::for_duration(end_s);
    let mut figures = vec![
        ip_wait_cdf(&pods, naming),
        launch_cdf(&pods, naming),
        ec2_calls(runs, naming),
        subnets(runs, &time, naming),
        pools(runs, &time, naming),
    ];
    figures.extend(leaked_enis(runs, &time, naming));
    figures
}

fn stem(naming: Naming, name: &str) -> String {
    format!("{}{name}", naming.stem_prefix)
}

fn title(naming: Naming, title: &str) -> String {
    format!("{title}{}", naming.title_suffix)
}

/// The x axis of a CDF over `values`: logarithmic when they span more than a factor of 30 (a few long waits
/// would otherwise squash every short one against the left edge), else linear from 0.
fn cdf_axis(label: &str, values: impl Iterator<Item = f64> + Clone) -> Axis {
    let max = values.clone().fold(0.0, f64::max);
    let min_pos = values.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    if min_pos.is_finite() && max / min_pos > 30.0 {
        Axis::log(format!("{label} (s, log scale)"), min_pos, max)
    } else {
        Axis::linear(
            format!("{label} (s)"),
            0.0,
            if max > 0.0 { max * 1.05 } else { 1.0 },
        )
    }
}

/// A CDF chart: one line per variant of `values(stats)` over `count(stats)` pods.
fn cdf_figure(
    pods: &[(String, &PodStats)],
    naming: Naming,
    (name, heading, what, y_label): (&str, &str, &str, &str),
    values: impl Fn(&PodStats) -> &[f64],
    count: impl Fn(&PodStats) -> usize,
    missing: &str,
) -> Figure {
    let x = cdf_axis(
        what,
        pods.iter().flat_map(|(_, s)| values(s).iter().copied()),
    );
    let log = matches!(x.scale, super::axis::Scale::Log);
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for (i, (label, s)) in pods.iter().enumerate() {
        let (c, dashed) = colour(i);
        let n = count(s);
        let got = values(s).len();
        let mut points = sample::cdf(values(s), n);
        if let (Some(&(_, y)), true) = (points.last(), got > 0) {
            // Carry the curve to the right edge, so a group whose curve stops below 1 reads as such.
            points.push((x.range.1, y));
        }
        let note = match (n, got) {
            (0, _) => "no pods".to_string(),
            (n, g) if g == n => format!("{n} pods"),
            (n, 0) => format!("{n} pods, none {missing}"),
            (n, g) => format!(
                "{n} pods, {} never {missing} ({:.0} %)",
                n - g,
                (n - g) as f64 / n as f64 * 100.0
            ),
        };
        legend.push(LegendEntry {
            label: format!("{label}: {note}"),
            colour: c,
            swatch: Swatch::Line { dashed },
        });
        lines.push(Line {
            colour: c,
            dashed,
            markers: false,
            points,
            band: vec![],
        });
    }
    Figure {
        stem: stem(naming, name),
        title: title(naming, heading),
        subtitle: format!(
            "A curve that ends below 1 has pods that never {missing}{}",
            if log
                && pods
                    .iter()
                    .any(|(_, s)| values(s).iter().any(|&v| v <= 0.0))
            {
                "; zero waits are drawn at the axis's left end"
            } else {
                ""
            }
        ),
        panels: vec![Panel::Lines(LinePanel {
            caption: String::new(),
            x,
            y: Axis::linear(y_label, 0.0, 1.0),
            lines,
        })],
        legend,
    }
}

fn ip_wait_cdf(pods: &[(String, &PodStats)], naming: Naming) -> Figure {
    cdf_figure(
        pods,
        naming,
        (
            "ip-wait-cdf",
            "Pod IP wait: first CNI ADD to address assigned (CDF)",
            "IP wait",
            "fraction of scheduled pods",
        ),
        |s| &s.ip_waits,
        |s| s.scheduled,
        "got an address",
    )
}

fn launch_cdf(pods: &[(String, &PodStats)], naming: Naming) -> Figure {
    cdf_figure(
        pods,
        naming,
        (
            "launch-latency-cdf",
            "Pod launch latency: created to running (CDF)",
            "launch latency",
            "fraction of pods",
        ),
        |s| &s.launches,
        |s| s.count,
        "reached running",
    )
}

/// EC2 attempts per action, one bar per variant, throttled attempts as a darker inner bar.
fn ec2_calls(runs: &[Labelled], naming: Naming) -> Figure {
    let mut variants: Vec<(String, &BTreeMap<String, Calls>)> = Vec::new();
    for r in runs {
        let parts = r.run.calls.len();
        for (who, by_action) in &r.run.calls {
            variants.push((variant(r.label, parts, who), by_action));
        }
    }
    let actions: Vec<String> = variants
        .iter()
        .flat_map(|(_, m)| m.keys().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let get = |m: &BTreeMap<String, Calls>, a: &str| m.get(a).copied().unwrap_or_default();
    let max = variants
        .iter()
        .flat_map(|(_, m)| m.values().map(|c| c.attempts))
        .max()
        .unwrap_or(0) as f64;
    let min_pos = variants
        .iter()
        .flat_map(|(_, m)| m.values().map(|c| c.attempts))
        .filter(|&v| v > 0)
        .min()
        .unwrap_or(1) as f64;
    let throttled: u64 = variants
        .iter()
        .flat_map(|(_, m)| m.values().map(|c| c.throttled))
        .sum();
    // Counts from 1 to 100k in one chart: a log axis when they span more than a factor of 200, with room to
    // the right of the longest bar for its count.
    let value = if max / min_pos > 200.0 {
        let mut a = Axis::log("attempts (log scale)", 1.0, max * 10.0);
        a.range.0 = 0.6;
        a
    } else {
        Axis::linear("attempts", 0.0, (max * 1.35).max(1.0)).whole()
    };
    let groups = variants
        .iter()
        .enumerate()
        .map(|(i, (_, m))| BarGroup {
            colour: colour(i).0,
            values: actions.iter().map(|a| get(m, a).attempts as f64).collect(),
            inner: actions.iter().map(|a| get(m, a).throttled as f64).collect(),
            notes: actions
                .iter()
                .map(|a| match get(m, a) {
                    Calls { attempts: 0, .. } => String::new(),
                    Calls {
                        attempts,
                        throttled: 0,
                    } => number(attempts as f64),
                    Calls {
                        attempts,
                        throttled,
                    } => format!(
                        "{} ({} throttled)",
                        number(attempts as f64),
                        number(throttled as f64)
                    ),
                })
                .collect(),
        })
        .collect();
    let mut legend: Vec<LegendEntry> = variants
        .iter()
        .enumerate()
        .map(|(i, (label, _))| LegendEntry {
            label: label.clone(),
            colour: colour(i).0,
            swatch: Swatch::Bar,
        })
        .collect();
    if throttled > 0 {
        legend.push(LegendEntry {
            label: "throttled (RequestLimitExceeded): darker inner bar".to_string(),
            colour: darker(super::figure::PALETTE[8]),
            swatch: Swatch::InnerBar,
        });
    }
    let total: u64 = variants
        .iter()
        .flat_map(|(_, m)| m.values().map(|c| c.attempts))
        .sum();
    Figure {
        stem: stem(naming, "ec2-calls"),
        title: title(naming, "EC2 API attempts per action"),
        subtitle: format!(
            "Every attempt counts, retries included: {} attempts, {} throttled",
            number(total as f64),
            number(throttled as f64)
        ),
        panels: vec![Panel::Bars(BarPanel {
            caption: String::new(),
            category_label: "EC2 action".to_string(),
            categories: actions,
            value,
            groups,
            horizontal: true,
        })],
        legend,
    }
}

/// Simulated time on the x axis: minutes for runs up to three hours, hours beyond.
pub(super) struct TimeAxis {
    unit_s: f64,
    label: &'static str,
    end_s: f64,
}

impl TimeAxis {
    pub fn for_duration(end_s: f64) -> TimeAxis {
        let (unit_s, label) = if end_s <= 3.0 * 3600.0 {
            (60.0, "simulated time (minutes)")
        } else {
            (3600.0, "simulated time (hours)")
        };
        TimeAxis {
            unit_s,
            label,
            end_s: end_s.max(1.0),
        }
    }

    fn axis(&self) -> Axis {
        Axis::linear(self.label, 0.0, self.end_s / self.unit_s)
    }

    /// A series' points with time in the axis's unit.
    fn points(&self, time_s: &[f64], values: &[f64]) -> Vec<(f64, f64)> {
        sample::series(time_s, values)
            .into_iter()
            .map(|(t, v)| (t / self.unit_s, v))
            .collect()
    }

    /// A plain line of a series over time.
    fn line(
        &self,
        (colour, dashed): (plotters::style::RGBColor, bool),
        time_s: &[f64],
        values: &[f64],
    ) -> Line {
        Line {
            colour,
            dashed,
            markers: false,
            points: self.points(time_s, values),
            band: vec![],
        }
    }

    /// A panel of lines over time, its value axis fitted to them.
    fn panel(&self, caption: &str, y: &str, lines: Vec<Line>) -> Panel {
        Panel::Lines(LinePanel {
            caption: caption.to_string(),
            x: self.axis(),
            y: value_axis(y, &lines),
            lines,
        })
    }
}

/// A linear value axis from 0 to a little above the highest point.
fn value_axis(label: &str, lines: &[Line]) -> Axis {
    let max = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    Axis::linear(label, 0.0, if max > 0.0 { max * 1.06 } else { 1.0 }).whole()
}

/// Free addresses and free /28 blocks of every subnet over time: two panels, one line per subnet.
fn subnets(runs: &[Labelled], time: &TimeAxis, naming: Naming) -> Figure {
    let mut addresses = Vec::new();
    let mut blocks = Vec::new();
    let mut legend = Vec::new();
    let mut i = 0;
    for r in runs {
        let s = &r.run.series;
        for sub in &s.subnets {
            let (c, dashed) = colour(i);
            i += 1;
            addresses.push(time.line((c, dashed), &s.time_s, &sub.free_addresses));
            blocks.push(time.line((c, dashed), &s.time_s, &sub.free_blocks));
            legend.push(LegendEntry {
                label: variant(r.label, s.subnets.len(), &sub.name),
                colour: c,
                swatch: Swatch::Line { dashed },
            });
        }
    }
    Figure {
        stem: stem(naming, "subnet-free"),
        title: title(naming, "Free space per subnet over time"),
        subtitle:
            "A /28 block is 16 contiguous free addresses: what a prefix-delegation node needs"
                .to_string(),
        panels: vec![
            time.panel("Free addresses", "free addresses", addresses),
            time.panel("Free /28 prefix blocks", "free /28 blocks", blocks),
        ],
        legend,
    }
}

/// Leaked ENIs and the subnet addresses they keep, over time, one line per run that could leak: none when no
/// run could (its columns are absent).
fn leaked_enis(runs: &[Labelled], time: &TimeAxis, naming: Naming) -> Option<Figure> {
    let mut enis = Vec::new();
    let mut addresses = Vec::new();
    let mut legend = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let Some([e, a]) = &r.run.series.leaked else {
            continue;
        };
        let (c, dashed) = colour(i);
        let time_s = &r.run.series.time_s;
        enis.push(time.line((c, dashed), time_s, e));
        addresses.push(time.line((c, dashed), time_s, a));
        legend.push(LegendEntry {
            label: r.label.unwrap_or(&r.run.scenario).to_string(),
            colour: c,
            swatch: Swatch::Line { dashed },
        });
    }
    if enis.is_empty() {
        return None;
    }
    Some(Figure {
        stem: stem(naming, "leaked-enis"),
        title: title(naming, "Leaked ENIs over time"),
        subtitle: "ENIs left available when their instance went, with the addresses they keep from the subnet \
                   until a leaked-ENI sweep deletes them"
            .to_string(),
        panels: vec![
            time.panel("Leaked ENIs", "ENIs", enis),
            time.panel("Addresses they hold", "addresses", addresses),
        ],
        legend,
    })
}

/// Addresses allocated by ipamd, assigned to pods and cooling down, over time: one panel per node group
/// (or per run for a file without per-group columns).
fn pools(runs: &[Labelled], time: &TimeAxis, naming: Naming) -> Figure {
    let kinds = [
        ("allocated: held by ipamd", super::figure::PALETTE[0]),
        ("assigned to pods", super::figure::PALETTE[2]),
        ("cooling down after release", super::figure::PALETTE[1]),
    ];
    let mut panels = Vec::new();
    let mut total = 0;
    for r in runs {
        let s = &r.run.series;
        for p in &s.pools {
            total += 1;
            if panels.len() == MAX_POOL_PANELS {
                continue;
            }
            let group = match &p.group {
                Some(g) => format!("node group {g}"),
                None => "all node groups".to_string(),
            };
            let caption = match r.label {
                Some(l) => format!("{l}: {group}"),
                None => group,
            };
            let lines: Vec<Line> = [&p.allocated, &p.assigned, &p.cooling]
                .into_iter()
                .zip(kinds)
                .map(|(values, (_, c))| Line {
                    colour: c,
                    dashed: false,
                    markers: false,
                    points: time.points(&s.time_s, values),
                    band: vec![],
                })
                .collect();
            panels.push(Panel::Lines(LinePanel {
                caption,
                x: time.axis(),
                y: value_axis("addresses", &lines),
                lines,
            }));
        }
    }
    let mut subtitle =
        "Allocated minus assigned is the warm pool: addresses the subnet has lent and no pod uses"
            .to_string();
    if total > panels.len() {
        subtitle = format!("First {} of {total} panels shown. {subtitle}", panels.len());
    }
    Figure {
        stem: stem(naming, "ip-pools"),
        title: title(naming, "IP addresses allocated, assigned and cooling"),
        subtitle,
        panels,
        legend: kinds
            .iter()
            .map(|&(label, c)| LegendEntry {
                label: label.to_string(),
                colour: c,
                swatch: Swatch::Line { dashed: false },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cdf_legend_gives_the_share_of_pods_that_never_got_there() {
        let stats = PodStats {
            count: 4,
            scheduled: 4,
            ip_waits: vec![0.2, 0.3, 0.4],
            launches: vec![1.0],
        };
        let pods = vec![("web".to_string(), &stats)];
        let launch = launch_cdf(&pods, Naming::default());
        assert_eq!(
            launch.legend[0].label,
            "web: 4 pods, 3 never reached running (75 %)"
        );
        let ip = ip_wait_cdf(&pods, Naming::default());
        assert_eq!(
            ip.legend[0].label,
            "web: 4 pods, 1 never got an address (25 %)"
        );
    }
}
