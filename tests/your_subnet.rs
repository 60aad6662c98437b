//! The walk a user takes on their own subnets, end to end on the fixture VPC of tests/fixtures/aws/: import the
//! AWS CLI's output, inspect it (each subnet's free aligned /28 count checked against a count made here from
//! the JSON alone), add a node group and a workload so that something runs, run it, ask for advice, and run
//! the recommended scenario to check that it meets the targets.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpcsim::advise::{self, Target};
use vpcsim::import::{self, Inputs};
use vpcsim::report::{self, Keys, inspect};
use vpcsim::scenarios;
use vpcsim::sweep::results::flatten;

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(file)
}

/// Every JSON document of a file the AWS CLI wrote (pages may be concatenated), each entry under `key`.
fn entries(file: &str, key: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture(file)).unwrap();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .flat_map(|doc| doc.unwrap()[key].as_array().cloned().unwrap_or_default())
        .collect()
}

fn address(v: &Value) -> u32 {
    u32::from(v.as_str().unwrap().parse::<Ipv4Addr>().unwrap())
}

/// `a.b.c.d/n` as its first address and its size.
fn cidr(v: &Value) -> (u32, u32) {
    let (ip, len) = v.as_str().unwrap().split_once('/').unwrap();
    let len: u32 = len.parse().unwrap();
    (address(&Value::from(ip)), 1 << (32 - len))
}

/// Each subnet's name as import writes it (its `Name` tag, else its id) and its count of aligned /28 blocks
/// that automatic prefix assignment can still take: none of the block's addresses reserved by AWS (the first
/// four and the last of the subnet, docs/reference/ec2.md §3.1), held by an ENI singly or in a prefix, or
/// inside an explicit CIDR reservation (ec2.md §3.5).
fn free_blocks_from_the_json() -> BTreeMap<String, usize> {
    let mut taken: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for eni in entries("enis.json", "NetworkInterfaces") {
        let t = taken
            .entry(eni["SubnetId"].as_str().unwrap().to_string())
            .or_default();
        for a in eni["PrivateIpAddresses"].as_array().into_iter().flatten() {
            t.insert(address(&a["PrivateIpAddress"]));
        }
        for p in eni["Ipv4Prefixes"].as_array().into_iter().flatten() {
            let (first, size) = cidr(&p["Ipv4Prefix"]);
            t.extend(first..first + size);
        }
    }
    for r in entries("reservations.json", "SubnetIpv4CidrReservations") {
        if r["ReservationType"] == "explicit" {
            let (first, size) = cidr(&r["Cidr"]);
            taken
                .entry(r["SubnetId"].as_str().unwrap().to_string())
                .or_default()
                .extend(first..first + size);
        }
    }
    entries("subnets.json", "Subnets")
        .iter()
        .map(|s| {
            let id = s["SubnetId"].as_str().unwrap();
            let name = s["Tags"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["Key"] == "Name")
                .map_or(id, |t| t["Value"].as_str().unwrap());
            let (first, size) = cidr(&s["CidrBlock"]);
            let mut t = taken.remove(id).unwrap_or_default();
            t.extend(first..first + 4);
            t.insert(first + size - 1);
            let free = (first..first + size)
                .step_by(16)
                .filter(|b| (*b..b + 16).all(|a| !t.contains(&a)))
                .count();
            (name.to_string(), free)
        })
        .collect()
}

/// A small prefix-mode group and a workload on the most fragmented subnet (the README's walkthrough adds the
/// same).
const CHURN: &str = include_str!("fixtures/aws/churn.toml");

fn summary(scenario: &scenarios::Scenario) -> Vec<(String, Value)> {
    let (world, perf) = report::simulate(scenario, false, false).unwrap();
    flatten(&report::summary(scenario, &world, perf, Keys::All))
}

fn value(summary: &[(String, Value)], key: &str) -> Option<f64> {
    summary
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_f64())
}

#[test]
fn ec2_3_1_import_inspect_run_and_advise_the_fixture_vpc() {
    let imported = import::import(&Inputs {
        subnets: fixture("subnets.json"),
        network_interfaces: fixture("enis.json"),
        reservations: Some(fixture("reservations.json")),
        instances: Some(fixture("instances.json")),
        fill_unseen: false,
    })
    .unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("your-subnet");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Inspect: the free /28 blocks agree with the JSON, subnet by subnet.
    let plain = scenarios::parse(&imported.scenario, "imported.toml").unwrap();
    let inspection = inspect::inspect(&plain, None).unwrap();
    let expected = free_blocks_from_the_json();
    let found: BTreeMap<String, usize> = inspection
        .subnets
        .iter()
        .map(|s| (s.name.clone(), s.free_prefix_blocks as usize))
        .collect();
    assert_eq!(found, expected);
    let fragmented = inspection
        .subnets
        .iter()
        .filter(|s| s.free_addresses > 64)
        .min_by_key(|s| s.free_prefix_blocks)
        .unwrap();
    assert_eq!(fragmented.name, "eks-pods-a");

    // Run: the imported file with churn added, for five simulated minutes.
    let text = imported
        .scenario
        .replace("duration = \"1h\"", "duration = \"5m\"")
        + "\n"
        + CHURN;
    let file = dir.join("scenario.toml");
    std::fs::write(&file, &text).unwrap();
    let (churn, _) = scenarios::read(&file).unwrap();
    let ran = summary(&churn);
    assert!(value(&ran, "pods.created").unwrap() > 0.0);

    // Advise, then run what it recommends.
    let targets: Vec<Target> = advise::DEFAULT_TARGETS
        .iter()
        .map(|t| t.parse().unwrap())
        .collect();
    let request = advise::Request {
        targets: targets.clone(),
        default_targets: true,
        minimize: advise::DEFAULT_MINIMIZE.to_string(),
        replicates: 2,
        jobs: 2,
    };
    let advice = advise::advise(&file, &request).unwrap();
    // The file as it is (prefix mode on one free /28) misses the targets.
    assert!(advice.candidates.iter().any(|c| {
        c.decision.groups[0].mode == advise::Mode::Prefix
            && c.decision.groups[0].subnets == ["eks-pods-a"]
            && c.decision.reservations.is_empty()
            && !c.feasible()
    }));
    // A reservation over the subnet's top overlaps its explicit reservation (10.0.0.224/28): such a
    // candidate is infeasible with the reason, at the key it wrote and where the file has that subnet's
    // reservations, not the end of the search.
    let over = advice
        .candidates
        .iter()
        .find(|c| {
            c.decision
                .reservation("eks-pods-a")
                .is_some_and(|r| r.side == advise::Side::Top)
        })
        .unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("[[subnets.reservations]]"))
        .unwrap()
        + 1;
    let at = format!(
        "{}:{line}:11: subnets.eks-pods-a.reservations: ",
        file.display()
    );
    assert!(
        over.error
            .as_deref()
            .is_some_and(|e| e.starts_with("the setting does not fit the file")
                && e.contains(&at)
                && e.contains("overlaps")),
        "{:?}",
        over.error
    );
    assert!(advice.recommendation().is_some(), "{}", advice.table());
    let recommended = scenarios::parse(
        advice.recommended_toml.as_deref().unwrap(),
        "recommended.toml",
    )
    .unwrap();
    let checked = summary(&recommended);
    for t in &targets {
        assert!(t.met_by(value(&checked, &t.key)), "{t}: {checked:?}");
    }
}
