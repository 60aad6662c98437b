//! `vpcsim import` on the fixture VPC of tests/fixtures/aws/ (the AWS CLI's output for three fragmented subnets
//! with prefixes, reservations, unattached and requester-managed ENIs), and on every class of bad input.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use ipnet::Ipv4Net;
use serde_json::Value;
use vpcsim::import::{self, ImportError, Inputs, Location};
use vpcsim::scenarios;
use vpcsim::sim::world::World;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/aws")
        .join(name)
}

fn inputs() -> Inputs {
    Inputs {
        subnets: fixture("subnets.json"),
        network_interfaces: fixture("enis.json"),
        reservations: Some(fixture("reservations.json")),
        instances: Some(fixture("instances.json")),
        fill_unseen: false,
    }
}

/// A fresh folder for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vpcsim-import-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(name: &str) -> Value {
    let text = fs::read_to_string(fixture(name)).unwrap();
    // The fixture files may hold several pages one after another.
    let pages: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let key = pages[0]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| *k != "NextToken")
        .unwrap()
        .clone();
    let all: Vec<Value> = pages
        .iter()
        .flat_map(|p| p[&key].as_array().unwrap().clone())
        .collect();
    serde_json::json!({ key: all })
}

/// Per subnet id: (CIDR, addresses held singly, prefixes, reservations as (type, CIDR)), read straight from the
/// fixture JSON.
struct Expected {
    cidr: Ipv4Net,
    addresses: Vec<Ipv4Addr>,
    prefixes: Vec<Ipv4Net>,
    reservations: Vec<(String, Ipv4Net)>,
}

fn expected() -> Vec<(String, Expected)> {
    let subnets = json("subnets.json");
    let enis = json("enis.json");
    let reservations = json("reservations.json");
    subnets["Subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let id = s["SubnetId"].as_str().unwrap().to_string();
            let mine = |e: &&Value| e["SubnetId"].as_str() == Some(&id);
            let list = |v: &Value, k: &str| v[k].as_array().cloned().unwrap_or_default();
            let e = Expected {
                cidr: s["CidrBlock"].as_str().unwrap().parse().unwrap(),
                addresses: list(&enis, "NetworkInterfaces")
                    .iter()
                    .filter(mine)
                    .flat_map(|e| list(e, "PrivateIpAddresses"))
                    .map(|a| a["PrivateIpAddress"].as_str().unwrap().parse().unwrap())
                    .collect(),
                prefixes: list(&enis, "NetworkInterfaces")
                    .iter()
                    .filter(mine)
                    .flat_map(|e| list(e, "Ipv4Prefixes"))
                    .map(|p| p["Ipv4Prefix"].as_str().unwrap().parse().unwrap())
                    .collect(),
                reservations: list(&reservations, "SubnetIpv4CidrReservations")
                    .iter()
                    .filter(mine)
                    .map(|r| {
                        (
                            r["ReservationType"].as_str().unwrap().to_string(),
                            r["Cidr"].as_str().unwrap().parse().unwrap(),
                        )
                    })
                    .collect(),
            };
            (id, e)
        })
        .collect()
}

/// Wholly free aligned /28 blocks that EC2 could delegate: not the first or last block (AWS-reserved
/// addresses), none of their addresses held singly or as a prefix, not touching an explicit reservation.
fn free_blocks(e: &Expected) -> u32 {
    let subnets28: Vec<Ipv4Net> = e.cidr.subnets(28).unwrap().collect();
    let last = subnets28.len() - 1;
    subnets28
        .iter()
        .enumerate()
        .filter(|(i, b)| {
            *i != 0
                && *i != last
                && !e.addresses.iter().any(|a| b.contains(a))
                && !e.prefixes.contains(b)
                && !e
                    .reservations
                    .iter()
                    .any(|(t, r)| t == "explicit" && (r.contains(*b) || b.contains(r)))
        })
        .count() as u32
}

#[test]
fn the_fixture_imports_loads_and_holds_every_address_and_prefix() {
    let done = import::import(&inputs()).unwrap();
    let scenario = scenarios::parse(&done.scenario, "imported.toml").unwrap();
    let (world, _engine) = World::build(&scenario, None, false).unwrap();
    let built = world.ec2.inventory().subnets();
    let expected = expected();
    assert_eq!(built.len(), expected.len());
    for (id, e) in &expected {
        let s = built
            .iter()
            .find(|s| s.cidr() == e.cidr)
            .unwrap_or_else(|| panic!("{id} not built"));
        for a in &e.addresses {
            assert!(!s.is_free(*a), "{id}: {a} is free");
        }
        for p in &e.prefixes {
            assert!(
                s.is_prefix_assigned(*p),
                "{id}: {p} is not held as a prefix"
            );
        }
        assert_eq!(
            s.used() as usize,
            e.addresses.len() + 16 * e.prefixes.len(),
            "{id}: nothing else in use"
        );
        assert_eq!(s.reservations().len(), e.reservations.len(), "{id}");
        assert_eq!(
            s.free_prefix_blocks(),
            free_blocks(e),
            "{id}: free /28 blocks at t = 0"
        );
    }
}

#[test]
fn the_mismatch_is_reported_and_fill_unseen_places_it() {
    let done = import::import(&inputs()).unwrap();
    assert_eq!(done.notes.len(), 1, "{:?}", done.notes);
    assert!(done.notes[0].contains("eks-pods-a") && done.notes[0].contains("3 addresses"));
    assert!(
        done.scenario
            .contains("# MISMATCH: subnet-0a11aa22bb33cc44d")
    );

    let filled = import::import(&Inputs {
        fill_unseen: true,
        ..inputs()
    })
    .unwrap();
    let scenario = scenarios::parse(&filled.scenario, "filled.toml").unwrap();
    let a = &scenario.subnets[0];
    assert_eq!(a.in_use.count, 3);
    let (world, _engine) = World::build(&scenario, None, false).unwrap();
    let s = &world.ec2.inventory().subnets()[0];
    assert_eq!(s.used(), 40 + 3);
}

#[test]
fn the_comments_say_where_each_part_came_from() {
    let text = import::import(&inputs()).unwrap().scenario;
    for fragment in [
        "13 ENIs (10 interface, 1 lambda, 1 network_load_balancer, 1 vpc_endpoint)",
        "4 requester-managed, 2 unattached",
        "2 IPv4 CIDR reservations",
        "Pods and workloads are not imported",
        "# [[node_groups]]    # inferred: 3 instances, tag eks:nodegroup-name = workers",
        "# subnets = [\"eks-pods-a\", \"eks-pods-b\"]",
        "1 stopped or terminated left out",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in\n{text}");
    }
    let scenario = scenarios::parse(&text, "x.toml").unwrap();
    assert!(scenario.node_groups.is_empty() && scenario.workloads.is_empty());
    assert_eq!(scenario.vpc.cidr.to_string(), "10.0.0.0/22");
}

/// The scenario's settings without its comments (which name the input files).
fn body(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn pages_in_an_array_or_one_after_another_merge_to_the_plain_output() {
    let dir = scratch("pages");
    let enis = json("enis.json");
    let list = enis["NetworkInterfaces"].as_array().unwrap();
    let (first, rest) = list.split_at(5);
    let page = |l: &[Value], token: bool| {
        let mut p = serde_json::json!({ "NetworkInterfaces": l });
        if token {
            p["NextToken"] = "abc".into();
        }
        p
    };
    let array = serde_json::json!([page(first, true), page(rest, false)]);
    fs::write(dir.join("array.json"), array.to_string()).unwrap();
    let concatenated = format!("{}\n{}", page(first, true), page(rest, false));
    fs::write(dir.join("concatenated.json"), concatenated).unwrap();
    fs::write(dir.join("plain.json"), enis.to_string()).unwrap();
    let run = |f: &str| {
        import::import(&Inputs {
            network_interfaces: dir.join(f),
            ..inputs()
        })
        .unwrap()
        .scenario
    };
    let plain = run("plain.json");
    assert_eq!(body(&run("array.json")), body(&plain));
    assert_eq!(body(&run("concatenated.json")), body(&plain));
}

#[test]
fn the_imported_scenario_runs() {
    let dir = scratch("runs");
    let out = dir.join("scenario.toml");
    let status = Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .arg("import")
        .arg("--subnets")
        .arg(fixture("subnets.json"))
        .arg("--network-interfaces")
        .arg(fixture("enis.json"))
        .arg("--reservations")
        .arg(fixture("reservations.json"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success());
    assert!(String::from_utf8_lossy(&status.stderr).contains("warning: subnet-0a11aa22bb33cc44d"));
    let run = Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(["run", "--no-plots", "--duration", "5m", "--out"])
        .arg(dir.join("run"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Imports with one input replaced by `text`, expecting a failure.
fn failure(flag: &str, text: &str) -> ImportError {
    let dir = scratch(&format!("bad-{flag}-{}", text.len()));
    let path = dir.join(format!("{flag}.json"));
    fs::write(&path, text).unwrap();
    let mut i = inputs();
    match flag {
        "subnets" => i.subnets = path,
        "enis" => i.network_interfaces = path,
        "reservations" => i.reservations = Some(path),
        _ => i.instances = Some(path),
    }
    match import::import(&i) {
        Ok(_) => panic!("{flag}: imported"),
        Err(e) => e,
    }
}

/// The ENI fixture with `edit` applied to entry `k`.
fn enis_with(k: usize, edit: impl FnOnce(&mut Value)) -> String {
    let mut v = json("enis.json");
    edit(&mut v["NetworkInterfaces"][k]);
    v.to_string()
}

#[test]
fn not_json_names_the_line_and_column() {
    let e = failure("enis", "{\n  \"NetworkInterfaces\": [\n    {,\n");
    assert_eq!(e.location, Location::Text { line: 3, column: 6 });
    assert!(e.to_string().contains("enis.json:3:6: not JSON"), "{e}");
}

#[test]
fn the_wrong_commands_output_says_which_it_looks_like() {
    let instances = fs::read_to_string(fixture("instances.json")).unwrap();
    let e = failure("subnets", &instances);
    let shown = e.to_string();
    assert!(
        shown.contains("looks like the output of `aws ec2 describe-instances`")
            && shown.contains("expected the output of `aws ec2 describe-subnets`"),
        "{shown}"
    );
    let e = failure("enis", "{\"Foo\": []}");
    assert!(
        e.to_string()
            .contains("no top-level `NetworkInterfaces` list"),
        "{e}"
    );
}

#[test]
fn a_missing_required_field_is_named_by_its_path() {
    let mut v = json("subnets.json");
    v["Subnets"][1].as_object_mut().unwrap().remove("CidrBlock");
    let e = failure("subnets", &v.to_string());
    assert_eq!(e.location, Location::Path("Subnets[1].CidrBlock".into()));
    assert!(
        e.to_string()
            .contains("subnets.json: Subnets[1].CidrBlock: missing"),
        "{e}"
    );
}

#[test]
fn overlapping_subnets_are_refused() {
    let mut v = json("subnets.json");
    v["Subnets"][2]["CidrBlock"] = "10.0.1.64/26".into();
    let e = failure("subnets", &v.to_string());
    assert_eq!(e.location, Location::Path("Subnets[2].CidrBlock".into()));
    assert!(e.to_string().contains("overlaps 10.0.1.0/24"), "{e}");
}

#[test]
fn an_eni_in_a_subnet_not_given_is_refused() {
    let e = failure(
        "enis",
        &enis_with(3, |e| e["SubnetId"] = "subnet-0abc".into()),
    );
    assert_eq!(
        e.location,
        Location::Path("NetworkInterfaces[3].SubnetId".into())
    );
    assert!(e.to_string().contains("subnet-0abc is not in"), "{e}");
    assert!(e.to_string().contains("subnets.json"), "{e}");
}

#[test]
fn an_address_outside_its_subnet_is_refused() {
    let e = failure(
        "enis",
        &enis_with(0, |e| {
            e["PrivateIpAddresses"][2]["PrivateIpAddress"] = "10.0.9.9".into()
        }),
    );
    assert_eq!(
        e.location,
        Location::Path("NetworkInterfaces[0].PrivateIpAddresses[2].PrivateIpAddress".into())
    );
    assert!(
        e.to_string().contains("10.0.9.9 lies outside 10.0.0.0/24"),
        "{e}"
    );
}

#[test]
fn duplicates_are_refused() {
    let mut v = json("enis.json");
    let first = v["NetworkInterfaces"][0].clone();
    v["NetworkInterfaces"].as_array_mut().unwrap().push(first);
    let e = failure("enis", &v.to_string());
    assert!(
        e.to_string()
            .contains("NetworkInterfaces[13].NetworkInterfaceId"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("listed twice (also NetworkInterfaces[0])"),
        "{e}"
    );

    let e = failure(
        "enis",
        &enis_with(1, |e| {
            e["PrivateIpAddresses"][0]["PrivateIpAddress"] = "10.0.0.6".into()
        }),
    );
    assert!(e.to_string().contains("10.0.0.6 is held twice"), "{e}");
}

#[test]
fn a_failed_import_exits_2_and_writes_nothing() {
    let dir = scratch("cli-failure");
    let out = dir.join("scenario.toml");
    let run = Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .arg("import")
        .arg("--subnets")
        .arg(fixture("enis.json"))
        .arg("--network-interfaces")
        .arg(fixture("enis.json"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(
            "enis.json: this looks like the output of `aws ec2 describe-network-interfaces`"
        ),
        "{stderr}"
    );
    assert!(!out.exists());
}
