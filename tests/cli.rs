//! The `vpcsim` binary's acceptance values and exit codes.

use std::process::{Command, Output};

fn vpcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(args)
        .output()
        .expect("vpcsim runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs `max-pods` and returns the printed number, asserting success and a bare number on stdout.
fn max_pods(args: &[&str]) -> u32 {
    let mut all = vec!["max-pods"];
    all.extend_from_slice(args);
    let o = vpcsim(&all);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    let out = stdout(&o);
    out.strip_suffix('\n')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{args:?}: stdout is not a single number: {out:?}"))
}

#[test]
fn max_pods_acceptance_values() {
    assert_eq!(max_pods(&["m5.large"]), 29);
    assert_eq!(max_pods(&["m5.large", "--prefix-delegation"]), 110);
    assert_eq!(max_pods(&["m5.24xlarge", "--prefix-delegation"]), 250);
    assert_eq!(max_pods(&["t2.medium", "--prefix-delegation"]), 17);
    assert_eq!(max_pods(&["m4.large"]), 20);
}

#[test]
fn max_pods_flags() {
    assert_eq!(
        max_pods(&["m5.24xlarge", "--prefix-delegation", "--show-max-allowed"]),
        11762
    );
    assert_eq!(max_pods(&["m5.large", "--custom-networking"]), 20);
    assert_eq!(max_pods(&["m5.large", "--max-eni", "1"]), 11);
}

#[test]
fn max_pods_notes_when_prefix_delegation_is_not_applied() {
    let o = vpcsim(&["max-pods", "t2.medium", "--prefix-delegation"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o), "17\n");
    assert!(
        stderr(&o).contains("prefix delegation not supported on xen: secondary-IP formula used"),
        "{}",
        stderr(&o)
    );
    let o = vpcsim(&["max-pods", "m5.large", "--prefix-delegation"]);
    assert_eq!(stderr(&o), "");
}

#[test]
fn max_pods_without_vcpus_needs_show_max_allowed() {
    let o = vpcsim(&["max-pods", "bmn-sf1.metal"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.contains("no vCPU count for bmn-sf1.metal"), "{err}");
    assert!(
        err.contains("737") && err.contains("--show-max-allowed"),
        "{err}"
    );
    assert_eq!(max_pods(&["bmn-sf1.metal", "--show-max-allowed"]), 737);
}

#[test]
fn unknown_type_suggests_and_exits_2() {
    let o = vpcsim(&["max-pods", "m5.larg"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    assert!(err.contains("unknown instance type \"m5.larg\""), "{err}");
    assert!(err.contains("m5.large"), "{err}");
}

#[test]
fn instance_types_glob() {
    let o = vpcsim(&["instance-types", "m5.*"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TYPE"), "{out}");
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "m5.12xlarge",
            "m5.16xlarge",
            "m5.24xlarge",
            "m5.2xlarge",
            "m5.4xlarge",
            "m5.8xlarge",
            "m5.large",
            "m5.metal",
            "m5.xlarge"
        ]
    );
    // type, vCPUs, ENIs, IPv4/ENI, hypervisor, metal, cards, eni-max-pods, max pods SIP, max pods PD.
    let large: Vec<&str> = lines[7].split_whitespace().collect();
    assert_eq!(
        large,
        [
            "m5.large", "2", "3", "10", "nitro", "no", "1", "(3)", "29", "29", "110"
        ]
    );
    let metal: Vec<&str> = lines[8].split_whitespace().collect();
    assert_eq!(
        metal,
        [
            "m5.metal", "96", "15", "50", "unknown", "yes", "1", "(15)", "737", "250", "250"
        ]
    );
    // Aligned columns: every line puts the ENIS column's right edge at the same offset.
    let edge = lines[0].find("ENIS").unwrap() + "ENIS".len();
    for l in &lines[1..] {
        assert!(
            l.as_bytes()[edge - 1].is_ascii_digit() && l.as_bytes()[edge] == b' ',
            "{l}"
        );
    }
}

#[test]
fn instance_types_substring_and_unknown_vcpus() {
    let o = vpcsim(&["instance-types", "p5.48"]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("32 (2 each)"), "{out}");
    let o = vpcsim(&["instance-types", "bmn-sf1"]);
    assert!(o.status.success());
    let row: Vec<String> = stdout(&o)
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(row[1], "-", "vCPUs");
    assert_eq!(row[row.len() - 2..], ["-", "-"], "max pods");
    assert!(stderr(&o).contains("no vCPU count"));
}

#[test]
fn instance_types_no_match_exits_1() {
    let o = vpcsim(&["instance-types", "zz*"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o), "");
    assert!(stderr(&o).contains("no instance type matches"));
}
