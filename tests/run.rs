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

/// Same scenario and seed ⇒ byte-identical result files (perf.json holds wall-clock figures and is exempt).
#[test]
fn same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let scenario = root("scenarios/subnet-churn.toml");
    let dirs = [scratch("det-a"), scratch("det-b"), scratch("det-c")];
    for (d, seed) in dirs.iter().zip(["42", "42", "43"]) {
        let o = vpcsim(&[
            "run",
            &scenario,
            "--seed",
            seed,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for f in ["summary.json", "timeseries.csv", "api_calls.csv"] {
        let a = fs::read(dirs[0].join(f)).unwrap();
        assert!(!a.is_empty(), "{f} is empty");
        assert_eq!(
            a,
            fs::read(dirs[1].join(f)).unwrap(),
            "{f} differs between two runs with the same seed"
        );
    }
    assert_ne!(
        fs::read(dirs[0].join("timeseries.csv")).unwrap(),
        fs::read(dirs[2].join("timeseries.csv")).unwrap()
    );
    assert!(dirs[0].join("perf.json").exists());
    let leftovers: Vec<_> = fs::read_dir(&dirs[0])
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn run_summary_has_the_subnet_and_api_keys() {
    let out = scratch("summary-keys");
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
    let from_file: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(v, from_file);
    let a = &v["subnets"]["pods-a"];
    for k in [
        "min_free_addresses",
        "min_free_prefix_blocks",
        "final_free_addresses",
        "final_free_prefix_blocks",
    ] {
        assert!(a[k].is_u64(), "subnets.pods-a.{k}: {a}");
    }
    assert!(a["min_free_addresses"].as_u64() <= a["final_free_addresses"].as_u64());
    // 22 nodes launched one RunInstances each against a 5-token bucket: some were throttled.
    assert_eq!(v["nodes"]["launched"], 22);
    assert!(v["ec2"]["throttled"]["RunInstances"].as_u64().unwrap() > 0);
    assert_eq!(
        v["ec2"]["calls"]["RunInstances"].as_u64().unwrap()
            - v["ec2"]["throttled"]["RunInstances"].as_u64().unwrap(),
        22
    );
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
