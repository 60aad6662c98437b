//! `report.html`: one page that needs nothing else, so it can be mailed or attached to an issue: the charts
//! inline as SVG (whose text names the generic `sans-serif` family, so any browser shows it), the results as
//! tables, no scripts and nothing fetched. Everything on the page comes from the files in a fixed order, so
//! the same folder gives the same bytes.

use std::fmt::Write as _;

use serde_json::Value;

use super::axis::number;
use super::figure::Rendered;
use super::rundata::RunData;
use super::sweepdata::{SweepData, stats};
use crate::advise::Advice;
use crate::report::inspect::Inspection;

/// Most sweep points listed in the table.
pub(super) const MAX_TABLE_POINTS: usize = 500;

/// `s` with the five HTML-special characters escaped (safe in text and in quoted attributes).
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em auto;max-width:1240px;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:14px;margin:.6em 0}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}\
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}\
.wide{overflow-x:auto}figure{margin:1.5em 0}svg{max-width:100%;height:auto}\
figcaption{color:#555;font-size:14px}.note{color:#555}.warning{color:#a00;font-weight:bold}";

/// The head of the page and its first heading.
fn start(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(title)
    )
}

/// The charts, each inline with links to its files.
fn charts(out: &mut String, charts: &[Rendered]) {
    let _ = writeln!(out, "<h2>Charts</h2>");
    for c in charts {
        let svg = c.svg_text.trim_start();
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or(svg, |(_, s)| s.trim_start()),
            None => svg,
        };
        let file = |p: &std::path::Path| {
            p.file_name()
                .map(|n| escape(&n.to_string_lossy()))
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "<figure>\n{svg}\n<figcaption>{} (<a href=\"plots/{png}\">PNG</a>, \
             <a href=\"plots/{svgf}\">SVG</a>)</figcaption>\n</figure>",
            escape(&c.title),
            png = file(&c.png),
            svgf = file(&c.svg),
        );
    }
}

/// An HTML table; the first column is the row's name.
fn table(out: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = write!(out, "<div class=\"wide\"><table>\n<tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    let _ = writeln!(out, "</tr>");
    for r in rows {
        let _ = write!(out, "<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", escape(c));
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</table></div>");
}

/// The value at `path` (keys, which may themselves hold dots) under `v`.
fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// A number for a table cell: whole numbers in full, others to three significant decimals; "–" for none.
fn cell(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() && (v - v.round()).abs() < 1e-9 => format!("{}", v.round() as i64),
        Some(v) if v.is_finite() => number(v),
        _ => "–".to_string(),
    }
}

fn num(v: &Value, path: &[&str]) -> String {
    cell(at(v, path).and_then(Value::as_f64))
}

/// A quantile of a censored-quantiles object (`path` ends at it, e.g. `pods.ip_wait_s.p99`), shown `≥ x` when
/// its `…_censored` flag says it is only a lower bound.
fn quantile(v: &Value, path: &[&str]) -> String {
    let (name, object) = path.split_last().expect("a quantile's path");
    let censored = at(v, object)
        .and_then(|q| q.get(format!("{name}_censored")))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let shown = num(v, path);
    if censored {
        format!("≥ {shown}")
    } else {
        shown
    }
}

/// A paragraph warning that pods of the run never started, if any did not.
fn never_started(out: &mut String, label: Option<&str>, run: &RunData) {
    let pods = at(&run.summary, &["pods"]).unwrap_or(&Value::Null);
    if let Some(w) = crate::report::table::never_started_warning(pods) {
        let who = label
            .map(|l| format!("{}: ", escape(l)))
            .unwrap_or_default();
        let _ = writeln!(out, "<p class=\"warning\">{who}{}</p>", escape(&w));
    }
}

/// The sum of a JSON object's numbers (a by-action or by-error map).
fn sum(v: &Value, path: &[&str]) -> String {
    cell(
        at(v, path)
            .and_then(Value::as_object)
            .map(|m| m.values().filter_map(Value::as_f64).sum()),
    )
}

/// Results of one or more runs: per node group (and all groups), per subnet and per EC2 action.
fn run_tables(out: &mut String, runs: &[(Option<&str>, &RunData)]) {
    let header: Vec<String> = [
        "node group",
        "pods created",
        "started",
        "never started",
        "waited for an address",
        "IP wait p50 (s)",
        "p90 (s)",
        "p99 (s)",
        "max (s)",
        "launch latency p50 (s)",
        "p99 (s)",
        "nodes launched",
        "failed launches",
        "never Ready",
        "node ready p99 (s)",
        "addresses allocated (mean)",
        "assigned (mean)",
        "waste ratio (mean)",
        "ipamd EC2 calls",
        "ipamd API errors",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    let name = |label: Option<&str>, part: &str| match label {
        Some(l) => format!("{l}/{part}"),
        None => part.to_string(),
    };
    for &(label, run) in runs {
        let s = &run.summary;
        // `nodes`: where the node figures are, the group's own object or the summary's `nodes`.
        let mut row = |title: String, g: &Value, nodes: &Value| {
            let mut r = vec![title];
            for p in [
                &["pods", "created"][..],
                &["pods", "started"],
                &["pods", "never_started"],
                &["pods", "waited_for_an_address"],
            ] {
                r.push(num(g, p));
            }
            for p in [
                &["pods", "ip_wait_s", "p50"][..],
                &["pods", "ip_wait_s", "p90"],
                &["pods", "ip_wait_s", "p99"],
                &["pods", "ip_wait_s", "max"],
                &["pods", "launch_latency_s", "p50"],
                &["pods", "launch_latency_s", "p99"],
            ] {
                r.push(quantile(g, p));
            }
            for p in [&["launched"][..], &["failed_launches"], &["never_ready"]] {
                r.push(num(nodes, p));
            }
            r.push(quantile(nodes, &["ready_latency_s", "p99"]));
            for p in [
                &["ips", "allocated_mean"][..],
                &["ips", "assigned_mean"],
                &["ips", "waste_ratio_mean"],
            ] {
                r.push(num(g, p));
            }
            r.push(sum(g, &["ipamd_ec2_calls"]));
            r.push(sum(g, &["ipamd_api_errors"]));
            rows.push(r);
        };
        for g in &run.groups {
            if let Some(v) = at(s, &["node_groups", g]) {
                row(name(label, g), v, v);
            }
        }
        // The run's totals; ipamd's calls and errors summed over the groups.
        let mut all = s.clone();
        if let Some(o) = all.as_object_mut() {
            let groups = s.get("node_groups").and_then(Value::as_object);
            let total = |key: &str| -> Value {
                let mut m = serde_json::Map::new();
                for g in groups.into_iter().flat_map(|g| g.values()) {
                    for (k, v) in g.get(key).and_then(Value::as_object).into_iter().flatten() {
                        let prev = m.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                        m.insert(k.clone(), Value::from(prev + v.as_f64().unwrap_or(0.0)));
                    }
                }
                Value::Object(m)
            };
            o.insert("ipamd_ec2_calls".into(), total("ipamd_ec2_calls"));
            o.insert("ipamd_api_errors".into(), total("ipamd_api_errors"));
        }
        let nodes = at(s, &["nodes"]).unwrap_or(&Value::Null);
        row(name(label, "all groups"), &all, nodes);
    }
    let _ = writeln!(out, "<h2>Pods and addresses by node group</h2>");
    table(out, &header, &rows);

    let header: Vec<String> = [
        "subnet",
        "CIDR",
        "lowest free addresses",
        "free at the end",
        "lowest free /28 blocks",
        "free /28 blocks at the end",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for &(label, run) in runs {
        for (n, v) in at(&run.summary, &["subnets"])
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            rows.push(vec![
                name(label, n),
                v.get("cidr")
                    .and_then(Value::as_str)
                    .unwrap_or("–")
                    .to_string(),
                num(v, &["min_free_addresses"]),
                num(v, &["final_free_addresses"]),
                num(v, &["min_free_prefix_blocks"]),
                num(v, &["final_free_prefix_blocks"]),
            ]);
        }
    }
    let _ = writeln!(out, "<h2>Subnets</h2>");
    table(out, &header, &rows);

    let header: Vec<String> = [
        "EC2 action",
        "calls",
        "throttled",
        "failed calls",
        "retries",
        "latency p50 (s)",
        "p99 (s)",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = Vec::new();
    for &(label, run) in runs {
        let s = &run.summary;
        for (action, _) in at(s, &["ec2", "calls"])
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let a = action.as_str();
            rows.push(vec![
                name(label, a),
                num(s, &["ec2", "calls", a]),
                num(s, &["ec2", "throttled", a]),
                num(s, &["ec2", "failed_calls", a]),
                num(s, &["ec2", "retries", a]),
                num(s, &["ec2", "latency_s", a, "p50"]),
                num(s, &["ec2", "latency_s", a, "p99"]),
            ]);
        }
    }
    let _ = writeln!(out, "<h2>EC2 calls</h2>");
    table(out, &header, &rows);
}

/// The page of one run.
pub(super) fn run_page(run: &RunData, rendered: &[Rendered]) -> String {
    let mut out = start(&format!("vpcsim run: {}", run.scenario));
    let _ = writeln!(
        out,
        "<p>Scenario <b>{}</b>, seed {}, {} simulated seconds.</p>",
        escape(&run.scenario),
        escape(&run.seed),
        cell(Some(run.duration_s)),
    );
    never_started(&mut out, None, run);
    run_tables(&mut out, &[(None, run)]);
    charts(&mut out, rendered);
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of several runs side by side.
pub(super) fn runs_page(runs: &[(String, RunData)], rendered: &[Rendered]) -> String {
    let mut out = start("vpcsim: runs compared");
    let _ = writeln!(
        out,
        "<table>\n<tr><th>label</th><th>scenario</th><th>seed</th><th>duration (s)</th><th>folder</th></tr>"
    );
    for (label, r) in runs {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(label),
            escape(&r.scenario),
            escape(&r.seed),
            cell(Some(r.duration_s)),
            escape(&folder_name(&r.dir)),
        );
    }
    let _ = writeln!(out, "</table>");
    for (label, r) in runs {
        never_started(&mut out, Some(label), r);
    }
    let labelled: Vec<(Option<&str>, &RunData)> =
        runs.iter().map(|(l, r)| (Some(l.as_str()), r)).collect();
    run_tables(&mut out, &labelled);
    charts(&mut out, rendered);
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of a sweep.
pub(super) fn sweep_page(s: &SweepData, rendered: &[Rendered], missing: &[String]) -> String {
    let mut out = start(&format!("vpcsim sweep: {}", s.scenario));
    let _ = writeln!(
        out,
        "<p>Scenario <b>{}</b>, seed {}, {} points × {} replicates.</p>",
        escape(&s.scenario),
        escape(&s.seed),
        s.points.len(),
        s.replicates,
    );
    let _ = writeln!(out, "<h2>Axes</h2>\n<ul>");
    for a in &s.axes {
        let keys = if a.keys.len() > 1 || a.keys.first() != Some(&a.name) {
            format!(" (keys: {})", escape(&a.keys.join(", ")))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<li><b>{}</b>{keys}: {}</li>",
            escape(&a.name),
            escape(&a.labels.join(", "))
        );
    }
    let _ = writeln!(out, "</ul>");
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">No column in results.csv for: {} (no chart).</p>",
            escape(&missing.join(", "))
        );
    }
    let cols: Vec<(String, usize)> = s
        .metrics
        .iter()
        .filter_map(|m| s.column(m).map(|c| (m.clone(), c)))
        .collect();
    let mut header = vec!["point".to_string()];
    header.extend(s.axes.iter().map(|a| a.name.clone()));
    header.push("runs".to_string());
    header.extend(cols.iter().map(|(m, _)| format!("{m} (mean)")));
    let rows: Vec<Vec<String>> = s
        .points
        .iter()
        .take(MAX_TABLE_POINTS)
        .map(|p| {
            let mut r = vec![p.index.to_string()];
            r.extend(
                s.axes
                    .iter()
                    .zip(&p.coords)
                    .map(|(a, &c)| a.labels[c].clone()),
            );
            r.push(p.runs.len().to_string());
            r.extend(cols.iter().map(|&(_, c)| {
                let mean = cell(stats(&p.values[c]).map(|(mean, _, _)| mean));
                if p.censored[c] {
                    format!("≥ {mean}")
                } else {
                    mean
                }
            }));
            r
        })
        .collect();
    let _ = writeln!(out, "<h2>Results by point</h2>");
    if s.points.len() > MAX_TABLE_POINTS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_TABLE_POINTS} of {} points; results.csv has them all.</p>",
            s.points.len()
        );
    }
    table(&mut out, &header, &rows);
    charts(&mut out, rendered);
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of `vpcsim inspect`: the subnets' figures, the nodes each can still serve, and the pictures.
pub(super) fn inspect_page(ins: &Inspection, rendered: &[Rendered]) -> String {
    let mut out = start(&format!("vpcsim inspect: {}", ins.scenario));
    let _ = writeln!(
        out,
        "<p>Scenario <b>{}</b>: its subnets at t = 0, before any event, as the simulator builds them.</p>",
        escape(&ins.scenario)
    );
    let header: Vec<String> = [
        "subnet",
        "CIDR",
        "AZ",
        "addresses",
        "AWS-reserved",
        "in use",
        "free",
        "free unreserved",
        "free /28 blocks",
        "in prefix reservations",
        "largest free run",
        "prefixes assigned",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = ins
        .subnets
        .iter()
        .map(|s| {
            let mut r = vec![s.name.clone(), s.cidr.to_string(), s.az.clone()];
            r.extend(
                [
                    s.size,
                    s.aws_reserved,
                    s.used_addresses,
                    s.free_addresses,
                    s.free_unreserved_addresses,
                    s.free_prefix_blocks,
                    s.free_reserved_prefix_blocks,
                    s.largest_free_run,
                    s.prefixes_assigned,
                ]
                .map(|v| v.to_string()),
            );
            r
        })
        .collect();
    let _ = writeln!(out, "<h2>Subnets</h2>");
    table(&mut out, &header, &rows);
    let header: Vec<String> = [
        "subnet",
        "nodes",
        "instance type",
        "mode",
        "ENIs",
        "addresses a node",
        "prefixes a node",
        "more nodes (at most)",
    ]
    .map(String::from)
    .to_vec();
    let rows: Vec<Vec<String>> = ins
        .subnets
        .iter()
        .flat_map(|s| {
            s.nodes.iter().map(|n| {
                vec![
                    s.name.clone(),
                    n.label.clone(),
                    n.instance_type.clone(),
                    n.mode_name().to_string(),
                    n.enis.to_string(),
                    n.per_node.addresses.to_string(),
                    n.per_node.prefixes.to_string(),
                    n.more_nodes.to_string(),
                ]
            })
        })
        .collect();
    let _ = writeln!(out, "<h2>Room for more nodes</h2>");
    let _ = writeln!(
        out,
        "<p class=\"note\">What a fresh node takes before its first pod (its ENIs' primary addresses and the warm \
         pool its ipamd settles at), and how many more such nodes each subnet fits when EC2 places single \
         addresses where they spoil the fewest free /28 blocks.</p>"
    );
    table(&mut out, &header, &rows);
    charts(&mut out, rendered);
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of `vpcsim advise`: the targets and the minimised key, the recommendation (or the binding target),
/// the warnings, every candidate ranked, and the trade-off chart.
pub(super) fn advice_page(a: &Advice, rendered: &[Rendered]) -> String {
    let mut out = start(&format!("vpcsim advise: {}", a.scenario));
    let targets: Vec<String> = a.request.targets.iter().map(|t| t.to_string()).collect();
    let defaults = if a.request.default_targets {
        " (the defaults: no --target given)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<p>Targets: <b>{}</b>{defaults}. Minimised: <b>{}</b>. Means over {} replicate(s); a target is met \
         when every replicate meets it.</p>",
        escape(&targets.join(", ")),
        escape(&a.request.minimize),
        a.request.replicates
    );
    let _ = writeln!(
        out,
        "<h2>Recommendation</h2>\n<p><b>{}</b></p>",
        escape(&a.verdict())
    );
    for c in &a.crowded {
        let _ = writeln!(out, "<p class=\"warning\">{}</p>", escape(&c.warning()));
    }
    let _ = writeln!(out, "<h2>Candidates</h2>");
    let rows = a.rows(a.candidates.len());
    if let Some((header, rest)) = rows.split_first() {
        table(&mut out, header, rest);
    }
    if rendered.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">No chart: no candidate has values (every run failed).</p>"
        );
    } else {
        charts(&mut out, rendered);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The last part of a folder's path: enough to tell which folder, without the machine's absolute path (which
/// would make the page differ between machines).
fn folder_name(dir: &std::path::Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_large_sweep_lists_its_first_points_and_says_so() {
        use crate::report::plots::sweepdata::{Point, SweepAxis};
        let n = MAX_TABLE_POINTS + 7;
        let s = SweepData {
            dir: "out/sweep".into(),
            scenario: "big <one>".into(),
            seed: "3".into(),
            replicates: 1,
            axes: vec![SweepAxis {
                name: "x".into(),
                keys: vec!["x".into()],
                labels: (0..n).map(|i| i.to_string()).collect(),
                numbers: None,
            }],
            metrics: vec!["m".into()],
            columns: vec!["m".into()],
            points: (0..n)
                .map(|i| Point {
                    index: i as u64,
                    coords: vec![i],
                    runs: vec![(0, i as u64)],
                    values: vec![vec![1.5]],
                    censored: vec![i == 0],
                })
                .collect(),
        };
        let html = sweep_page(&s, &[], &[]);
        assert_eq!(html.matches("<tr><td>").count(), MAX_TABLE_POINTS);
        assert!(html.contains("The first 500 of 507 points"));
        // Point 0's value is a lower bound (a run's pods never started), the others' are not.
        assert_eq!(html.matches("<td>≥ 1.5</td>").count(), 1);
        assert!(html.contains("big &lt;one&gt;") && !html.contains("<one>"));
        assert!(
            !html.contains("sweep</code>"),
            "the page does not depend on the folder it is in"
        );
    }

    #[test]
    fn cells_show_whole_numbers_in_full() {
        assert_eq!(cell(Some(123456.0)), "123456");
        assert_eq!(cell(Some(0.5)), "0.5");
        assert_eq!(cell(None), "–");
    }
}
