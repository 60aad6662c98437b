//! `vpcsim check` and `vpcsim run` end to end: exit codes, error format, determinism of the result files, and
//! no partial result left behind by a scenario that fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Every output file (plots included, as `plots/NAME`), with summary.json's wall-clock values (`run.wall_s`,
/// `run.events_per_sec`, `run.simulated_s_per_wall_s`) blanked: they measure the machine, and are the only
/// figures allowed to differ between two runs of the same seed.
fn outputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let plots = dir.join("plots");
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .chain(fs::read_dir(&plots).into_iter().flatten())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mut bytes = fs::read(&p).unwrap();
            if name == "summary.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert!(v["run"]["wall_s"].is_f64() && v["run"]["events_per_sec"].is_f64());
                for k in ["wall_s", "events_per_sec", "simulated_s_per_wall_s"] {
                    v["run"][k] = serde_json::Value::Null;
                }
                bytes = serde_json::to_vec_pretty(&v).unwrap();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    files
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
        "pods.failed_add_attempts",
        "subnets.pods.min_free_addresses",
        "subnets.pods.min_free_prefix_blocks",
        "subnets.pods.final_free_addresses",
        "subnets.pods.final_free_prefix_blocks",
        "ips.allocated_peak",
        "ips.assigned_peak",
        "enis.peak",
        "nodes.peak",
        "run.events",
        "ec2.calls.AttachNetworkInterface",
        "ec2.throttled.AttachNetworkInterface",
        "ec2.calls_total",
        "ec2.throttled_total",
    ] {
        assert!(at(key).is_u64(), "{key}: {}", at(key));
    }
    for q in ["p50", "p90", "p99", "max"] {
        assert!(at(&format!("pods.ip_wait_s.{q}")).is_f64());
        assert!(at(&format!("pods.launch_latency_s.{q}")).is_f64());
    }
    for key in ["ips.waste_ratio_mean", "run.events_per_sec", "run.wall_s"] {
        assert!(at(key).is_f64(), "{key}");
    }
    assert!(at("ec2.errors").is_object());
    let p = at("pods.launch_latency_s");
    assert!(p["p50"].as_f64() <= p["p90"].as_f64() && p["p99"].as_f64() <= p["max"].as_f64());
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
    assert!(
        err.contains("simulated time stalled at 60.000s") && err.contains("EC2 throttled answer"),
        "{err}"
    );
    assert!(!out.join("summary.json").exists());
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
