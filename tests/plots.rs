//! Charts and HTML reports of run and sweep folders, through the library's three entry points: every chart is
//! written as PNG and SVG with its text, the page needs nothing from the network, bad folders give errors that
//! name the file, and the same folder gives the same bytes.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use indicatif::ProgressBar;
use vpcsim::report;
use vpcsim::report::plots::{plot_run, plot_runs, plot_sweep};
use vpcsim::scenarios;

/// The charts of a run, by file stem.
const RUN_CHARTS: [&str; 5] = [
    "ip-wait-cdf",
    "launch-latency-cdf",
    "ec2-calls",
    "subnet-free",
    "ip-pools",
];

fn root(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// An empty folder of this test binary's own.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plots")
        .join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// A real run folder, made once: the fragmented-subnet scenario (two node groups, one of which never gets an
/// address) cut to ten minutes.
fn run_folder() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut s = scenarios::load(&root("scenarios/fragmented-subnet.toml")).unwrap();
        s.duration = vpcsim::sim::time::SimDuration::from_secs(600);
        let dir = scratch("source-run");
        report::run(&dir, &s, false, &ProgressBar::hidden()).unwrap();
        dir
    })
}

/// A copy of `from`'s files (not its subfolders) in `to`.
fn copy_files(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A fresh copy of the run folder, to plot into.
fn run_copy(name: &str) -> PathBuf {
    let d = scratch(name).join("run");
    copy_files(run_folder(), &d);
    d
}

/// A fresh copy of the sweep fixture.
fn sweep_copy(name: &str) -> PathBuf {
    let d = scratch(name).join("sweep");
    copy_files(&root("tests/fixtures/sweep"), &d);
    d
}

/// The text of every `<text>` element of an SVG document, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// `width` and `height` of an SVG document's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let attr = |name: &str| -> u32 {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..].split('"').next().unwrap().parse().unwrap()
    };
    (attr("width"), attr("height"))
}

/// A PNG's size and its number of distinct colours.
fn decode_png(path: &Path) -> ((u32, u32), usize) {
    let decoder = png::Decoder::new(fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let mut colours: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    colours.sort_unstable();
    colours.dedup();
    ((info.width, info.height), colours.len())
}

fn assert_self_contained(html: &str) {
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn plot_run_writes_every_chart_as_png_and_svg_and_the_report() {
    let dir = run_copy("run-charts");
    let written = plot_run(&dir).unwrap();
    for stem in RUN_CHARTS {
        for ext in ["png", "svg"] {
            let p = dir.join("plots").join(format!("{stem}.{ext}"));
            assert!(written.contains(&p), "{} not reported", p.display());
            assert!(
                fs::metadata(&p).unwrap().len() > 1000,
                "{} is tiny",
                p.display()
            );
        }
        let svg = fs::read_to_string(dir.join("plots").join(format!("{stem}.svg"))).unwrap();
        let ((w, h), colours) = decode_png(&dir.join("plots").join(format!("{stem}.png")));
        assert_eq!((w, h), svg_size(&svg), "{stem}: PNG and SVG sizes differ");
        assert!(
            (900..=1300).contains(&w) && (500..=2500).contains(&h),
            "{stem}: {w}x{h}"
        );
        assert!(colours > 20, "{stem}.png has {colours} colours");
    }
    assert!(written.contains(&dir.join("report.html")));
    assert_eq!(written.len(), 2 * RUN_CHARTS.len() + 1);
    // No temporary file is left behind.
    for e in fs::read_dir(dir.join("plots")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "{name} left behind");
    }
}

#[test]
fn run_svgs_hold_their_titles_and_axis_labels_as_text() {
    let dir = run_copy("run-text");
    plot_run(&dir).unwrap();
    let texts = |stem: &str| {
        svg_texts(&fs::read_to_string(dir.join("plots").join(format!("{stem}.svg"))).unwrap())
    };
    let has = |stem: &str, want: &str| {
        let t = texts(stem);
        assert!(
            t.iter().any(|s| s.starts_with(want)),
            "{stem}: no text {want:?} in {t:?}"
        );
    };
    has(
        "ip-wait-cdf",
        "Pod IP wait: first CNI ADD to address assigned (CDF)",
    );
    has("ip-wait-cdf", "IP wait (s");
    has("ip-wait-cdf", "fraction of scheduled pods");
    has("launch-latency-cdf", "launch latency (s");
    has("launch-latency-cdf", "fraction of pods");
    has("ec2-calls", "EC2 API attempts per action");
    has("ec2-calls", "EC2 action");
    has("ec2-calls", "attempts");
    has("ec2-calls", "RunInstances");
    has("subnet-free", "simulated time (minutes)");
    has("subnet-free", "free /28 blocks");
    has("subnet-free", "free addresses");
    has("ip-pools", "addresses");
    // One legend entry per node group, with its pod count; the group that never got an address says so.
    has("ip-wait-cdf", "on-reserved: 60 pods");
    has("ip-wait-cdf", "on-fragmented: 60 pods, none got an address");
    // timeseries.csv's per-group columns give one panel per group.
    has("ip-pools", "node group on-fragmented");
    has("ip-pools", "node group on-reserved");
    // Text names a generic family, so the SVG needs no particular font installed.
    let svg = fs::read_to_string(dir.join("plots/ip-wait-cdf.svg")).unwrap();
    assert!(svg.contains("font-family=\"sans-serif\""));
}

#[test]
fn run_report_is_self_contained_with_the_group_table() {
    let dir = run_copy("run-html");
    plot_run(&dir).unwrap();
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("fragmented-subnet"));
    assert!(html.contains("seed 5"));
    assert_eq!(html.matches("<svg").count(), RUN_CHARTS.len());
    for row in [
        "<td>on-fragmented</td>",
        "<td>on-reserved</td>",
        "<td>all groups</td>",
    ] {
        assert!(html.contains(row), "no row {row}");
    }
    assert!(html.contains("<td>RunInstances</td>"));
    // Half the pods never started: said first, and their latencies shown as lower bounds.
    assert!(
        html.contains(
            "WARNING: 60 of 120 pods (50 %) never started (still waiting at the end, or deleted first): latency figures marked ≥ are lower bounds"
        ),
        "no warning"
    );
    assert!(html.contains("<th>never started</th>"));
    assert!(html.contains("<th>never Ready</th><th>node ready p99 (s)</th>"));
    // Pods stuck since their creation, a little after the 2 min scale-up (the ReplicaSet's creates take an
    // API latency and its client's pace), have waited a little under 600 − 120 = 480 s.
    let bounds: Vec<f64> = html
        .split("<td>≥ ")
        .skip(1)
        .filter_map(|c| c[..c.find("</td>")?].parse().ok())
        .collect();
    assert!(
        bounds.iter().any(|b| (470.0..480.0).contains(b)),
        "no lower-bound cell: {bounds:?}"
    );
}

#[test]
fn plot_runs_labels_each_run_and_its_groups() {
    let a = run_copy("runs-a");
    let out = scratch("runs-out");
    let written = plot_runs(&out, &[("before".into(), a.clone()), ("after".into(), a)]).unwrap();
    assert_eq!(written.len(), 2 * RUN_CHARTS.len() + 1);
    let t = svg_texts(&fs::read_to_string(out.join("plots/ip-wait-cdf.svg")).unwrap());
    for want in [
        "before/on-reserved: 60 pods",
        "after/on-fragmented: 60 pods",
    ] {
        assert!(
            t.iter().any(|s| s.starts_with(want)),
            "no {want:?} in {t:?}"
        );
    }
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("<td>before/on-reserved</td>"));
    assert!(plot_runs(&out, &[]).is_err());
}

#[test]
fn plot_sweep_draws_each_metric_by_each_axis_and_cidr_errors() {
    let dir = sweep_copy("sweep-charts");
    let written = plot_sweep(&dir).unwrap();
    let metrics = [
        "pods.ip_wait_s.p99",
        "ipamd.api_errors.InsufficientCidrBlocks",
        "ips.waste_ratio_mean",
    ];
    let axes = [
        "subnets.pods.cidr",
        "subnets.pods.reservations.0.top_percent",
    ];
    for m in metrics {
        for a in axes {
            for ext in ["png", "svg"] {
                let p = dir.join("plots").join(format!("sweep-{m}-by-{a}.{ext}"));
                assert!(written.contains(&p), "{} missing", p.display());
            }
            let svg = fs::read_to_string(dir.join("plots").join(format!("sweep-{m}-by-{a}.svg")))
                .unwrap();
            let t = svg_texts(&svg);
            assert!(t.contains(&format!("{m} by {a}")), "{t:?}");
            assert!(t.iter().any(|s| s.starts_with(m)), "no y label in {t:?}");
            assert!(t.contains(&a.to_string()), "no x label in {t:?}");
        }
    }
    // A categorical axis is labelled with its values in order, a numeric one at its values.
    let t = svg_texts(
        &fs::read_to_string(dir.join("plots/sweep-pods.ip_wait_s.p99-by-subnets.pods.cidr.svg"))
            .unwrap(),
    );
    for label in ["10.0.0.0/24", "10.0.0.0/23", "10.0.0.0/22"] {
        assert!(t.contains(&label.to_string()), "{t:?}");
    }
    assert!(
        t.iter()
            .any(|s| s == "subnets.pods.reservations.0.top_percent = 50")
    );
    let icb = dir.join("plots/sweep-insufficient-cidr-blocks.svg");
    assert!(written.contains(&icb));
    let t = svg_texts(&fs::read_to_string(&icb).unwrap());
    assert!(
        t.iter()
            .any(|s| s.starts_with("InsufficientCidrBlocks errors by subnet size"))
    );
    // The /24 with the 50 % reservation: (110 + 113) / 2.
    assert!(t.contains(&"111.5".to_string()), "{t:?}");
    assert_eq!(written.len(), 2 * (metrics.len() * axes.len() + 1) + 1);
}

#[test]
fn sweep_report_is_self_contained_with_one_row_per_point() {
    let dir = sweep_copy("sweep-html");
    plot_sweep(&dir).unwrap();
    let html = fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("reservation-sweep"));
    assert!(html.contains("seed 7"));
    assert!(html.contains("<th>pods.ip_wait_s.p99 (mean)</th>"));
    // Point 2: the /24 with 50 % reserved; p99 wait (3.4 + 3.55) / 2.
    assert!(html.contains("<tr><td>2</td><td>10.0.0.0/24</td><td>50</td><td>2</td><td>3.47</td>"));
    assert_eq!(html.matches("<tr><td>").count(), 9);
}

#[test]
fn sweep_with_kept_runs_overlays_replicate_zero_of_each_point() {
    let dir = sweep_copy("sweep-runs");
    // Runs 0 and 2 are replicate 0 of points 0 and 1.
    copy_files(run_folder(), &dir.join("runs/00000"));
    copy_files(run_folder(), &dir.join("runs/00002"));
    let written = plot_sweep(&dir).unwrap();
    for stem in RUN_CHARTS {
        assert!(written.contains(&dir.join("plots").join(format!("runs-{stem}.svg"))));
    }
    let t = svg_texts(&fs::read_to_string(dir.join("plots/runs-ip-wait-cdf.svg")).unwrap());
    assert!(
        t.iter()
            .any(|s| s.starts_with("10.0.0.0/24, 25/on-reserved")),
        "{t:?}"
    );
}

#[test]
fn missing_results_csv_is_an_error_naming_it() {
    let dir = sweep_copy("sweep-missing");
    fs::remove_file(dir.join("results.csv")).unwrap();
    let e = plot_sweep(&dir).unwrap_err().to_string();
    assert!(e.contains("results.csv"), "{e}");
    assert!(!dir.join("report.html").exists());
}

#[test]
fn malformed_results_row_names_file_and_line() {
    let dir = sweep_copy("sweep-bad-row");
    let path = dir.join("results.csv");
    let text = fs::read_to_string(&path).unwrap();
    // Line 5 is run 3; its p99 becomes text.
    let bad = text.replace(
        "3,1,1,1003,10.0.0.0/24,25,2.050000",
        "3,1,1,1003,10.0.0.0/24,25,fast",
    );
    fs::write(&path, bad).unwrap();
    let e = plot_sweep(&dir).unwrap_err().to_string();
    assert!(e.contains("results.csv:5"), "{e}");
    assert!(
        e.contains("pods.ip_wait_s.p99") && e.contains("fast"),
        "{e}"
    );

    let ragged = text.replace("3,1,1,1003,10.0.0.0/24,25,2.050000", "3,1,1");
    fs::write(&path, ragged).unwrap();
    let e = plot_sweep(&dir).unwrap_err().to_string();
    assert!(e.contains("results.csv:5"), "{e}");

    let unknown = text.replace("3,1,1,1003,10.0.0.0/24,25,", "3,1,1,1003,10.0.0.0/19,25,");
    fs::write(&path, unknown).unwrap();
    let e = plot_sweep(&dir).unwrap_err().to_string();
    assert!(
        e.contains("results.csv:5") && e.contains("10.0.0.0/19"),
        "{e}"
    );
}

#[test]
fn bad_run_folders_are_errors_naming_the_file() {
    let dir = run_copy("run-bad");
    fs::write(dir.join("pods.csv"), "pod,workload\n0,web\n").unwrap();
    let e = plot_run(&dir).unwrap_err().to_string();
    assert!(e.contains("pods.csv") && e.contains("node"), "{e}");

    fs::remove_file(dir.join("nodes.csv")).unwrap();
    let e = plot_run(&dir).unwrap_err().to_string();
    assert!(e.contains("nodes.csv"), "{e}");

    fs::write(dir.join("summary.json"), "{ not json").unwrap();
    let e = plot_run(&dir).unwrap_err().to_string();
    assert!(e.contains("summary.json"), "{e}");

    let e = plot_run(&scratch("empty")).unwrap_err().to_string();
    assert!(e.contains("summary.json"), "{e}");
}

/// Every file under `dir/plots` and `dir/report.html`, by name.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.push((
        "report.html".into(),
        fs::read(dir.join("report.html")).unwrap(),
    ));
    out.sort();
    out
}

#[test]
fn the_same_folder_gives_the_same_bytes() {
    let (a, b) = (scratch("same-a").join("run"), scratch("same-b").join("run"));
    copy_files(run_folder(), &a);
    copy_files(run_folder(), &b);
    plot_run(&a).unwrap();
    plot_run(&b).unwrap();
    assert_eq!(outputs(&a), outputs(&b));
    // And again in place: the report does not depend on an earlier report.
    let first = outputs(&a);
    plot_run(&a).unwrap();
    assert_eq!(first, outputs(&a));

    let (a, b) = (
        scratch("sweep-a").join("sweep"),
        scratch("sweep-b").join("sweep"),
    );
    copy_files(&root("tests/fixtures/sweep"), &a);
    copy_files(&root("tests/fixtures/sweep"), &b);
    plot_sweep(&a).unwrap();
    plot_sweep(&b).unwrap();
    assert_eq!(outputs(&a), outputs(&b));
}

#[test]
fn a_run_that_could_leak_enis_gets_their_chart() {
    let text = r#"name = "leaky"
duration = "40m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/22"
az = "us-east-1a"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 3
subnets = ["a"]
eni_leak_probability = 1.0
rollouts = [{ at = "5m", batch = 1 }]
[[workloads]]
name = "web"
type = "deployment"
replicas = 40
"#;
    let s = scenarios::parse(text, "leaky.toml").unwrap();
    let dir = scratch("leaky");
    report::run(&dir, &s, false, &ProgressBar::hidden()).unwrap();
    let written = plot_run(&dir).unwrap();
    assert_eq!(written.len(), 2 * (RUN_CHARTS.len() + 1) + 1);
    let svg = fs::read_to_string(dir.join("plots/leaked-enis.svg")).unwrap();
    let texts = svg_texts(&svg);
    for t in [
        "Leaked ENIs over time",
        "Leaked ENIs",
        "Addresses they hold",
    ] {
        assert!(texts.iter().any(|x| x == t), "{t:?} not in {texts:?}");
    }
}
