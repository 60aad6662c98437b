//! `vpcsim check` and `vpcsim run` end to end: exit codes, error format, determinism of the result files, no
//! partial result left behind by a scenario that fails, and output folders under faults.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vpcsim::folder;

mod run_folder;

fn vpcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(args)
        .output()
        .expect("vpcsim runs")
}

fn root(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .to_string_lossy()
        .into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&d);
    d
}

#[test]
fn check_accepts_every_bundled_scenario() {
    let mut files: Vec<String> = fs::read_dir(root("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".toml"))
        .collect();
    files.sort();
    let args: Vec<&str> = std::iter::once("check")
        .chain(files.iter().map(String::as_str))
        .collect();
    let o = vpcsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let out = String::from_utf8(o.stdout).unwrap();
    for f in &files {
        assert!(out.contains(&format!("ok: {f}")), "{out}");
    }
}

#[test]
fn check_reports_file_line_col_and_exits_2() {
    let bad = root("tests/fixtures/bad/reservation-outside-subnet.toml");
    let good = root("scenarios/subnet-churn.toml");
    let o = vpcsim(&["check", &good, &bad]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8(o.stdout).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(format!("ok: {good}").as_str()));
    let err = lines.next().unwrap();
    let rest = err
        .strip_prefix(&format!("{bad}:"))
        .unwrap_or_else(|| panic!("{err}"));
    let mut parts = rest.splitn(3, ':');
    assert!(parts.next().unwrap().parse::<u32>().is_ok(), "{err}");
    assert!(parts.next().unwrap().parse::<u32>().is_ok(), "{err}");
    assert!(err.contains("outside"), "{err}");
}

#[test]
fn run_of_a_bad_scenario_exits_2_and_writes_nothing() {
    let out = scratch("bad-run");
    let bad = root("tests/fixtures/bad/unknown-instance-type.toml");
    let o = vpcsim(&["run", &bad, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("instance"));
    assert!(
        !out.exists(),
        "no output folder for a scenario that did not run"
    );
}

/// Every output file (plots included, as `plots/NAME`; the folder's lock file is no output), with
/// A run folder's files with summary.json's wall-clock values (`run.wall_s`, `run.events_per_sec`,
/// `run.simulated_s_per_wall_s`) blanked: they measure the machine, and are the only figures allowed to differ
/// between two runs of the same seed.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    run_folder::outputs(dir, |v| {
        assert!(v["run"]["wall_s"].is_f64() && v["run"]["events_per_sec"].is_f64());
        for k in ["wall_s", "events_per_sec", "simulated_s_per_wall_s"] {
            v["run"][k] = serde_json::Value::Null;
        }
    })
}

/// Same scenario and seed ⇒ byte-identical result files but for the wall-clock figures; another seed differs.
#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let scenario = root("scenarios/quickstart.toml");
    let dirs = [scratch("det-a"), scratch("det-b"), scratch("det-c")];
    for (d, seed) in dirs.iter().zip(["42", "42", "43"]) {
        let o = vpcsim(&[
            "run",
            &scenario,
            "--seed",
            seed,
            "--duration",
            "25m",
            "--trace",
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let a = outputs(&dirs[0]);
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    let charts = [
        "ec2-calls",
        "ip-pools",
        "ip-wait-cdf",
        "launch-latency-cdf",
        "subnet-free",
    ];
    let mut expected: Vec<String> = charts
        .iter()
        .flat_map(|c| [format!("plots/{c}.png"), format!("plots/{c}.svg")])
        .collect();
    expected.extend(
        [
            "api_calls.csv",
            "nodes.csv",
            "pods.csv",
            "report.html",
            "summary.json",
            "timeseries.csv",
            "trace.csv",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(names, expected, "no partial file is left behind");
    for ((name, x), (_, y)) in a.iter().zip(outputs(&dirs[1]).iter()) {
        assert!(!x.is_empty(), "{name} is empty");
        assert!(x == y, "{name} differs between two runs with the same seed");
    }
    assert_ne!(
        fs::read(dirs[0].join("pods.csv")).unwrap(),
        fs::read(dirs[2].join("pods.csv")).unwrap()
    );
}

#[test]
fn summary_has_every_documented_key() {
    let out = scratch("summary-keys");
    let o = vpcsim(&[
        "run",
        &root("scenarios/quickstart.toml"),
        "--duration",
        "25m",
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let from_file: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(v, from_file);
    let at = |path: &str| -> &serde_json::Value {
        path.split('.').fold(&v, |v, k| {
            v.get(k).unwrap_or_else(|| panic!("summary lacks {path}"))
        })
    };
    assert_eq!(at("scenario"), "quickstart");
    assert_eq!(at("seed"), 1);
    assert_eq!(at("duration_s"), 1500.0);
    for key in [
        "pods.started",
        "pods.never_started",
        "pods.deleted_before_running",
        "pods.failed_add_attempts",
        "subnets.pods.min_free_addresses",
        "subnets.pods.min_free_prefix_blocks",
        "subnets.pods.final_free_addresses",
        "subnets.pods.final_free_prefix_blocks",
        "ips.allocated_peak",
        "ips.assigned_peak",
        "enis.peak",
        "nodes.peak",
        "nodes.never_ready",
        "run.events",
        "ec2.calls.AttachNetworkInterface",
        "ec2.throttled.AttachNetworkInterface",
        "ec2.calls_total",
        "ec2.throttled_total",
    ] {
        assert!(at(key).is_u64(), "{key}: {}", at(key));
    }
    for q in ["p50", "p90", "p99", "max"] {
        for wait in ["ip_wait_s", "launch_latency_s"] {
            assert!(at(&format!("pods.{wait}.{q}")).is_f64());
            assert!(at(&format!("pods.{wait}.{q}_censored")).is_boolean());
            assert!(at(&format!("pods.started_only.{wait}.{q}")).is_f64());
        }
        assert!(at(&format!("nodes.ready_latency_s.{q}")).is_f64());
        assert!(at(&format!("nodes.ready_latency_s.{q}_censored")).is_boolean());
    }
    for key in [
        "pods.started_ratio",
        "ips.waste_ratio_mean",
        "run.events_per_sec",
        "run.wall_s",
    ] {
        assert!(at(key).is_f64(), "{key}");
    }
    assert!(at("ec2.errors").is_object());
    let p = at("pods.launch_latency_s");
    assert!(p["p50"].as_f64() <= p["p90"].as_f64() && p["p99"].as_f64() <= p["max"].as_f64());
}

#[test]
fn the_table_warns_of_pods_that_never_started_and_shows_lower_bounds_as_such() {
    let out = scratch("fragmented-table");
    let o = vpcsim(&[
        "run",
        &root("scenarios/fragmented-subnet.toml"),
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    // The warning comes right under the title, before any figure.
    assert_eq!(
        stdout.lines().nth(1),
        Some(
            "WARNING: 60 of 120 pods (50 %) never started (still waiting at the end, or deleted first): latency figures marked ≥ are lower bounds"
        ),
        "{stdout}"
    );
    let pods = stdout.lines().find(|l| l.starts_with("pods: ")).unwrap();
    assert!(
        pods.contains("60 started, 60 never started (0 deleted before Running)"),
        "{pods}"
    );
    // The stranded pods have waited since their creation, which the ReplicaSet controller's client spreads
    // over the 1.5 s after the 2 min scale-up (60 creates, 30 of them beyond its burst, at 20 a second); their
    // IP wait since their first CNI ADD, a little later. The pods that started found an address at once.
    assert!(pods.contains("IP wait p50 0.0s p99 ≥ 1679.6s"), "{pods}");
    assert!(
        pods.contains("launch latency p50 3.4s p99 ≥ 1679.9s"),
        "{pods}"
    );
    let group = stdout
        .lines()
        .find(|l| l.starts_with("on-fragmented"))
        .unwrap();
    let cells: Vec<&str> = group.split_whitespace().collect();
    assert_eq!(cells[1..5], ["4", "0", "60", "≥"], "{group}");
}

#[test]
fn subnet_churn_nodes_hold_warm_pools_and_prefix_nodes_run_out_of_blocks() {
    let out = scratch("subnet-churn");
    let o = vpcsim(&[
        "run",
        &root("scenarios/subnet-churn.toml"),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 22 nodes launched with one RunInstances call per group (each group has one subnet).
    assert_eq!(v["nodes"]["launched"], 22);
    assert_eq!(v["ec2"]["calls"]["RunInstances"], 2);
    // Every node runs an ipamd. The prefix nodes in pods-b run out of whole /28 blocks while the subnet
    // still has free addresses: InsufficientCidrBlocks.
    assert_eq!(v["ipamd"]["nodes"], 22);
    let b = &v["subnets"]["pods-b"];
    assert_eq!(b["final_free_prefix_blocks"], 0);
    assert!(b["final_free_addresses"].as_u64().unwrap() > 50, "{b}");
    assert!(
        v["ipamd"]["api_errors"]["InsufficientCidrBlocks"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(v["ips"]["allocated_peak"].as_u64().unwrap() >= 12 * 10);
}

#[test]
fn explain_tells_a_waiting_pods_story_from_the_trace() {
    let out = scratch("explain");
    let o = vpcsim(&[
        "run",
        &root("scenarios/quickstart.toml"),
        "--duration",
        "25m",
        "--trace",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut r = csv::Reader::from_path(out.join("pods.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let waited = r
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[col("failed_add_attempts")] != "0" && !r[col("ip_assigned_s")].is_empty())
        .expect("some pod waited for an address");
    let pod = waited[col("pod")].to_string();
    let o = vpcsim(&["explain", out.to_str().unwrap(), &pod]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains(&format!("pod {pod} of workload")), "{text}");
    assert!(text.contains(&waited[col("wait_reason")]), "{text}");
    assert!(text.contains("CNI ADD failed"), "{text}");
    assert!(text.contains("CNI ADD ok"), "{text}");
    // Where its start-up time went: each phase with how long it took after the one before.
    let phase = |name: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line: {text}"));
        line.split_whitespace().skip(1).map(String::from).collect()
    };
    let secs = |s: &str| s.parse::<f64>().unwrap();
    let bound = phase("bound");
    let scheduled = secs(&waited[col("scheduled_s")]);
    assert!(
        (secs(&bound[1]) - (secs(&bound[0]) - scheduled)).abs() < 1e-3,
        "{text}"
    );
    let sandbox = phase("sandbox");
    let took = secs(&sandbox[1]);
    assert!(
        (took - (secs(&sandbox[0]) - secs(&bound[0]))).abs() < 1e-3,
        "{text}"
    );
    let address = phase("address");
    assert!(
        secs(&address[1]) >= 10.0,
        "a retried ADD waited kubelet's back-off: {text}"
    );
    for name in ["image", "Running", "Ready"] {
        assert_eq!(phase(name).len(), 2, "{name}: {text}");
    }
    assert!(
        text.contains("ipamd"),
        "the node's EC2 calls are shown: {text}"
    );

    let o = vpcsim(&["explain", out.to_str().unwrap(), "99999999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no pod 99999999"));
}

/// Names are keys in summary.json as given, dots and all; no name can collide with another's fields.
#[test]
fn subnet_names_with_dots_are_single_summary_keys() {
    let dir = scratch("dotted");
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dotted.toml");
    fs::write(
        &file,
        r#"name = "dotted"
duration = "1m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "x"
cidr = "10.0.0.0/24"
az = "a"
[[subnets]]
name = "x.cidr"
cidr = "10.0.1.0/24"
az = "a"
"#,
    )
    .unwrap();
    let o = vpcsim(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["subnets"]["x"]["cidr"], "10.0.0.0/24");
    assert_eq!(v["subnets"]["x.cidr"]["final_free_addresses"], 251);
}

// ---------------------------------------------------------------------------------------------------------
// Output folders under faults: a folder another process writes, a folder that cannot be written, a disk that
// refuses a file half-way, a run interrupted before its plots; and the one error format of every failure.
//
// Write failures are made with a file-size limit (`ulimit -f`, in 512-byte blocks in any POSIX `sh`, with
// SIGXFSZ ignored so that the write fails
// with EFBIG instead of killing the process): it works for root, on any file system, without a mount.

/// Runs vpcsim under `sh` with the shell's limit settings `limits` (e.g. `ulimit -f 2`) applied first.
fn vpcsim_limited(limits: &str, args: &[&str]) -> Output {
    let script = format!("trap '' XFSZ; {limits}; exec \"$0\" \"$@\"");
    Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_vpcsim")])
        .args(args)
        .output()
        .expect("sh runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A short quick-start run into `out`, under `limits`.
fn quick_run(limits: &str, out: &Path) -> Output {
    let scenario = root("scenarios/quickstart.toml");
    vpcsim_limited(
        limits,
        &["run", &scenario, "--duration", "2m", "--out", s(out)],
    )
}

/// The message is one line, in the `error: …` form, with no Rust debug output.
fn assert_one_error_line(o: &Output) {
    let err = stderr(o);
    assert!(err.starts_with("error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    for dump in ["Os {", "Custom {", "kind:", "Error(", "Error {"] {
        assert!(!err.contains(dump), "{err}");
    }
}

#[test]
fn a_folder_another_process_writes_is_refused() {
    let out = scratch("in-use");
    // This test process holds the folder, as a running vpcsim would.
    let claim = folder::claim(&out).unwrap();
    let o = vpcsim(&[
        "run",
        &root("scenarios/quickstart.toml"),
        "--duration",
        "2m",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {} is in use by another vpcsim (lock .vpcsim.lock)\n",
            out.display()
        )
    );
    assert_eq!(tree(&out), [folder::LOCK], "nothing was written");
    drop(claim);
    let o = quick_run(":", &out);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_unwritable_folder_is_refused_before_the_simulation() {
    let dir = scratch("unwritable");
    fs::create_dir_all(&dir).unwrap();
    // A folder under a regular file cannot be made, not even by root.
    let file = dir.join("file");
    fs::write(&file, "").unwrap();
    let out = file.join("out");
    // large-day simulates for minutes; two CPU seconds are enough to load it and find the folder unwritable.
    let o = vpcsim_limited(
        "ulimit -t 2",
        &["run", &root("scenarios/large-day.toml"), "--out", s(&out)],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "killed by the CPU limit: the simulation ran first: {}",
        stderr(&o)
    );
    assert_one_error_line(&o);
    assert!(
        stderr(&o).contains(&out.display().to_string()),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_failed_write_is_an_io_failure_naming_the_file_and_leaves_no_partial_file() {
    let out = scratch("file-too-large");
    // 1 KB a file: api_calls.csv (3 KB), streamed as the run goes, does not fit.
    let o = quick_run("ulimit -f 2", &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_one_error_line(&o);
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "error: writing {}: ",
            out.join("api_calls.csv").display()
        )),
        "{err}"
    );
    assert!(err.contains("(os error 27)"), "{err}");
    // Neither the streamed files' temporary names nor any file under a final name is left.
    assert_eq!(tree(&out), [folder::LOCK]);
}

#[test]
fn new_results_never_sit_beside_an_older_runs_plots() {
    let out = scratch("old-plots");
    let plant = || {
        fs::create_dir_all(out.join("plots")).unwrap();
        fs::write(out.join("report.html"), "old report").unwrap();
        fs::write(out.join("plots/old-chart.svg"), "old chart").unwrap();
    };
    // Charts that fail to be written (20 KB a file: the results, at most 6 KB, fit; the PNGs, 45 KB and more,
    // do not).
    plant();
    let o = quick_run("ulimit -f 40", &out);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_one_error_line(&o);
    assert!(stderr(&o).contains("plots/"), "{}", stderr(&o));
    let files = tree(&out);
    assert!(files.contains(&"summary.json".to_string()), "{files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f == "report.html" || f.contains("old-chart")),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.contains(".partial")), "{files:?}");

    // No plots asked for: the old ones go all the same.
    plant();
    let scenario = root("scenarios/quickstart.toml");
    let o = vpcsim(&[
        "run",
        &scenario,
        "--duration",
        "2m",
        "--no-plots",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files = tree(&out);
    assert!(
        !files
            .iter()
            .any(|f| f == "report.html" || f.starts_with("plots")),
        "{files:?}"
    );
}

#[test]
fn every_failure_prints_one_line_in_the_documented_format() {
    // Bad input in a file: FILE:LINE:COL: key: message, nothing before it.
    let bad = root("tests/fixtures/bad/unknown-instance-type.toml");
    let o = vpcsim(&["run", &bad]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.starts_with(&format!("{bad}:")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // Everything else: `error: message`.
    let missing = scratch("missing-folder");
    for (args, code) in [
        (vec!["max-pods", "m5.larg"], 2),
        (vec!["run", "no-such-file.toml"], 2),
        (vec!["explain", s(&missing), "3"], 2),
        (vec!["plot", s(&missing)], 2),
        (vec!["merge", s(&missing), "--out", s(&missing)], 2),
    ] {
        let o = vpcsim(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        assert_one_error_line(&o);
    }
}

#[test]
fn a_sweep_that_cannot_write_its_results_fails_naming_the_file_and_leaves_no_partial_file() {
    let dir = scratch("sweep-file-too-large");
    fs::create_dir_all(&dir).unwrap();
    let text = fs::read_to_string(root("tests/fixtures/sweeps/small.toml")).unwrap();
    let file = dir.join("one-run.toml");
    let base = &text[..text.find("[sweep]").unwrap()];
    fs::write(&file, format!("{base}[sweep]\nreplicates = 1\n")).unwrap();
    let out = dir.join("out");
    // 30 KB a file: results.csv (22 KB) fits, results.json (49 KB) does not.
    let o = vpcsim_limited(
        "ulimit -f 60",
        &["sweep", s(&file), "--out", s(&out), "--no-plots"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_one_error_line(&o);
    assert!(
        stderr(&o).starts_with(&format!(
            "error: writing {}: ",
            out.join("results.json").display()
        )),
        "{}",
        stderr(&o)
    );
    let files = tree(&out);
    assert!(!files.iter().any(|f| f.contains(".partial")), "{files:?}");
}

/// The counts of a "waited for …: N (reason n, …)" line of the table: N and the reasons' sum.
fn waited_counts(stdout: &str, what: &str) -> (u64, u64) {
    let prefix = format!("waited for {what}: ");
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in\n{stdout}"));
    let (total, reasons) = line.split_once(" (").unwrap();
    let sum = reasons
        .trim_end_matches(')')
        .split(", ")
        .map(|r| r.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    (total.parse().unwrap(), sum)
}

/// Runs the quick-start scenario into a fresh scratch folder `name` with `args`; its folder and stdout.
fn run_quickstart(name: &str, args: &[&str]) -> (PathBuf, String) {
    let out = scratch(name);
    let scenario = root("scenarios/quickstart.toml");
    let mut all = vec!["run", &scenario, "--out", out.to_str().unwrap()];
    all.extend(args);
    let o = vpcsim(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (out, String::from_utf8(o.stdout).unwrap())
}

#[test]
fn run_names_its_folder_report_and_plots_and_its_wait_reasons_add_up() {
    let (out, stdout) = run_quickstart("stdout-names", &[]);
    let tail: Vec<&str> = stdout.lines().rev().take(3).collect();
    let charts = fs::read_dir(out.join("plots"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "png")
        .count();
    assert!(charts > 0);
    assert_eq!(
        tail,
        [
            format!(
                "plots: {} ({charts} charts, PNG and SVG)",
                out.join("plots").display()
            ),
            format!("report: {}", out.join("report.html").display()),
            format!("results in {}", out.display()),
        ],
        "{stdout}"
    );
    assert!(out.join("report.html").is_file());

    // Quick-start pods wait both for addresses and for nodes: each line's reasons add up to its count, and the
    // counts are summary.json's.
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let pods = &summary["pods"];
    let sum = |m: &serde_json::Value| -> u64 {
        m.as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    for (what, count, reasons) in [
        (
            "an address",
            "waited_for_an_address",
            "address_wait_reasons",
        ),
        ("a node", "waited_for_a_node", "node_wait_reasons"),
    ] {
        let (total, of_reasons) = waited_counts(&stdout, what);
        assert!(total > 0, "{stdout}");
        assert_eq!(total, of_reasons, "{stdout}");
        assert_eq!(pods[count].as_u64(), Some(total), "{pods}");
        assert_eq!(sum(&pods[reasons]), total, "{pods}");
    }
}

#[test]
fn run_without_plots_says_it_drew_none() {
    let (out, stdout) = run_quickstart("stdout-no-plots", &["--duration", "10m", "--no-plots"]);
    assert!(
        stdout.ends_with(&format!(
            "results in {}\nplots: none (--no-plots)\n",
            out.display()
        )),
        "{stdout}"
    );
    assert!(!out.join("report.html").exists() && !out.join("plots").exists());
}

#[test]
fn a_run_whose_clock_stalls_exits_1_naming_the_instant_and_the_events() {
    let out = scratch("run-stall");
    let o = vpcsim(&[
        "run",
        &root("tests/fixtures/limits/stalling-retries.toml"),
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    // The loop alternates a throttled answer and its retry; which of the two the guard stops on depends on
    // how many events the run had before, so either names it.
    assert!(
        err.contains("simulated time stalled at 60.000s")
            && (err.contains("EC2 throttled answer") || err.contains("EC2 retry")),
        "{err}"
    );
    // Nothing under a final name, and the streamed files' temporary names removed.
    assert_eq!(tree(&out), [folder::LOCK]);
}

#[test]
fn check_and_run_refuse_a_run_over_the_memory_limit_unless_raised() {
    let cron = root("tests/fixtures/bad/cronjob-million-pods-every-second.toml");
    let o = vpcsim(&["check", &cron]);
    assert_eq!(o.status.code(), Some(2));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains(":24:1: workloads[0].pods: about 3.6e9 pods in 1h")
            && shown.contains("over the 8Gi limit"),
        "{shown}"
    );
    // Possible on a machine with the memory: the override lets it through.
    let o = vpcsim(&["check", &cron, "--max-memory", "2048Gi"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    // `--duration` counts: quickstart fits 64Mi for its hour, not for a hundred days. Refused before it starts,
    // naming the key that drives it.
    let quickstart = root("scenarios/quickstart.toml");
    let o = vpcsim(&["check", &quickstart, "--max-memory", "64Mi"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let out = scratch("run-over-limit");
    let o = vpcsim(&[
        "run",
        &quickstart,
        "--out",
        out.to_str().unwrap(),
        "--max-memory",
        "64Mi",
        "--duration",
        "100d",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "quickstart.toml:48:1: workloads[1].pods_per_minute: about 576,000 pods in 2400h"
        ) && err.contains("over the 64Mi limit"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Two groups of m5.large nodes on fixed start-up delays; `heavy_lifecycle` is the second group's own
/// `lifecycle` table, if any.
fn two_amis(heavy_lifecycle: &str) -> String {
    format!(
        r#"name = "two-amis"
seed = 3
duration = "4m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/20"
az = "us-east-1a"
[ec2.lifecycle]
instance_start = "10s"
[node_lifecycle]
boot = "4s"
aws_node_start = "2s"
cni_ready = "500ms"
[[node_groups]]
name = "lean"
instance_type = "m5.large"
count = 4
subnets = ["a"]
[[node_groups]]
name = "heavy"
instance_type = "m5.large"
count = 4
subnets = ["a"]
{heavy_lifecycle}
"#
    )
}

/// Runs `scenario` and returns its summary and its nodes.csv rows as (group, registered_s, aws_node_started_s,
/// ready_s).
fn run_nodes(name: &str, scenario: &str) -> (serde_json::Value, Vec<(String, f64, f64, f64)>) {
    let dir = scratch(name);
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("s.toml");
    fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let o = vpcsim(&["run", s(&file), "--out", s(&out), "--no-plots"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let mut r = csv::Reader::from_path(out.join("nodes.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (g, reg, aws, ready) = (
        col("node_group"),
        col("registered_s"),
        col("aws_node_started_s"),
        col("ready_s"),
    );
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            let f = |i: usize| rec[i].parse::<f64>().unwrap();
            (rec[g].to_string(), f(reg), f(aws), f(ready))
        })
        .collect();
    (summary, rows)
}

#[test]
fn a_groups_own_boot_moves_its_nodes_only_and_nodes_csv_shows_each_phase() {
    let p50 = |v: &serde_json::Value, group: &str| {
        v["node_groups"][group]["ready_latency_s"]["p50"]
            .as_f64()
            .unwrap()
    };
    let (same, _) = run_nodes("two-amis-same", &two_amis(""));
    let (slow, rows) = run_nodes("two-amis-slow", &two_amis("lifecycle = { boot = \"60s\" }"));
    assert_eq!(rows.len(), 8);
    for (group, registered, aws_node, ready) in &rows {
        // aws-node starts `aws_node_start` after registration; ipamd's start-up and `cni_ready` follow.
        assert!(
            (aws_node - registered - 2.0).abs() < 1e-6,
            "{group}: {rows:?}"
        );
        assert!(ready - aws_node >= 0.5, "{group}: {rows:?}");
        // RunInstances answers within a second or two; then EC2's 10 s and the group's boot.
        let boot = if group == "heavy" { 60.0 } else { 4.0 };
        assert!(
            (10.0 + boot..10.0 + boot + 3.0).contains(registered),
            "{group}: {rows:?}"
        );
    }
    // The heavy group's nodes are Ready 56 s later; the lean group's are as they were beside a lean twin.
    let moved = p50(&slow, "heavy") - p50(&same, "heavy");
    assert!((moved - 56.0).abs() < 1.0, "heavy moved {moved} s");
    let lean = p50(&slow, "lean") - p50(&same, "lean");
    assert!(lean.abs() < 1.0, "lean moved {lean} s");
    assert!(p50(&same, "lean") < 20.0, "{}", same["node_groups"]);
}
