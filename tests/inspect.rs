//! `vpcsim inspect`: a scenario's subnets at t = 0, checked against an independent count from the addresses
//! the scenario lists, against the simulator's own counters in a run of the same file, and its files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vpcsim::report::{self, inspect};
use vpcsim::scenarios;

const FIXTURE: &str = "tests/fixtures/inspect/explicit.toml";

/// The fixture's in-use addresses in subnet `pods` (10.0.0.0/24), as offsets, and its prefix reservation.
const IN_USE: [u32; 9] = [20, 37, 38, 70, 100, 101, 102, 150, 200];
const RESERVED: std::ops::Range<u32> = 192..224;

fn vpcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(args)
        .output()
        .expect("vpcsim runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("inspect-{name}"));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn inspected(out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["inspect", FIXTURE, "--format", "json", "--out"];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = vpcsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn ec2_3_1_figures_match_an_independent_count_of_the_listed_addresses() {
    let size = 256u32;
    let mut taken: BTreeSet<u32> = [0, 1, 2, 3, size - 1].into();
    taken.extend(IN_USE);
    let free_addresses = size - taken.len() as u32;
    // Blocks 1..=14 (the first and last hold AWS's addresses), wholly free.
    let free_block = |b: u32| (b * 16..b * 16 + 16).all(|o| !taken.contains(&o));
    let free_blocks: Vec<u32> = (1..size / 16 - 1).filter(|&b| free_block(b)).collect();
    let in_reservation = free_blocks
        .iter()
        .filter(|&&b| RESERVED.contains(&(b * 16)))
        .count();
    let (mut run, mut longest) = (0, 0);
    for o in 0..size {
        run = if taken.contains(&o) { 0 } else { run + 1 };
        longest = longest.max(run);
    }

    let v = inspected(&scratch("figures"), &[]);
    let pods = &v["subnets"]["pods"];
    assert_eq!(pods["free_addresses"], free_addresses);
    assert_eq!(pods["free_prefix_blocks"], free_blocks.len());
    assert_eq!(pods["more_prefixes"], free_blocks.len());
    assert_eq!(pods["free_reserved_prefix_blocks"], in_reservation);
    assert_eq!(pods["largest_free_run"], longest);
    assert_eq!(pods["size"], size);
    assert_eq!(pods["aws_reserved"], 5);
    assert_eq!(pods["blocks"]["free"], free_blocks.len() - in_reservation);
    assert_eq!(pods["blocks"]["aws_reserved"], 2);
    for key in [
        "cidr",
        "az",
        "used_addresses",
        "free_unreserved_addresses",
        "prefixes_assigned",
        "nodes",
    ] {
        assert!(pods.get(key).is_some(), "subnets.pods.{key}");
    }
    // A fresh m5.large in secondary-IP mode (WARM_ENI_TARGET 1) takes its primary plus a full ENI's 9;
    // in prefix mode with WARM_PREFIX_TARGET 1 its primary and one prefix (ipamd.md §2.7, §6.8).
    let workers = &pods["nodes"]["workers"];
    assert_eq!(workers["addresses_per_node"], 10);
    let unreserved = workers_free_unreserved(&taken);
    assert_eq!(workers["more_nodes"], unreserved / 10);
    let pd = &pods["nodes"]["pd"];
    assert_eq!(
        (
            pd["addresses_per_node"].clone(),
            pd["prefixes_per_node"].clone()
        ),
        (1.into(), 1.into())
    );
    assert_eq!(pd["more_nodes"], free_blocks.len());
    assert!(v["subnets"]["spare"]["nodes"].get("workers").is_none());
}

/// Free addresses outside the reservation: what single addresses are assigned from.
fn workers_free_unreserved(taken: &BTreeSet<u32>) -> u32 {
    (0..256)
        .filter(|o| !taken.contains(o) && !RESERVED.contains(o))
        .count() as u32
}

#[test]
fn an_instance_type_and_mode_given_replace_the_node_groups() {
    let v = inspected(
        &scratch("query"),
        &["--instance-type", "m5.large", "--mode", "prefix"],
    );
    let nodes = v["subnets"]["spare"]["nodes"].as_object().unwrap();
    assert_eq!(nodes.len(), 1);
    let n = &nodes["m5.large prefix"];
    assert_eq!(n["mode"], "prefix");
    assert_eq!(n["prefixes_per_node"], 1);
    // The /26: blocks 1 and 2 are wholly free.
    assert_eq!(n["more_nodes"], 2);
}

#[test]
fn figures_agree_with_the_simulators_counters_at_time_zero() {
    for file in [FIXTURE, "scenarios/fragmented-subnet.toml"] {
        let scenario = scenarios::load(Path::new(file)).unwrap();
        let ins = inspect::inspect(&scenario, None).unwrap();
        let (world, _) = report::simulate(&scenario, false, false).unwrap();
        let first = &world.timeseries.rows[0];
        assert_eq!(first.time.0, 0);
        for (i, s) in ins.subnets.iter().enumerate() {
            assert_eq!(
                first.subnets[i],
                (s.free_addresses, s.free_prefix_blocks),
                "{file}: {}",
                s.name
            );
            let reserved_free = first.reserved[i].free;
            assert_eq!(
                reserved_free, s.free_reserved_prefix_blocks,
                "{file}: {}",
                s.name
            );
        }
    }
}

/// ipamd.md §11.2: an IPv6 node takes only its own IPv4 address from its subnet, so that is what inspect counts.
#[test]
fn spec_11_2_an_ipv6_group_takes_one_ipv4_address_a_node() {
    let scenario = scenarios::load(Path::new("scenarios/ipv6-vs-ipv4.toml")).unwrap();
    let ins = inspect::inspect(&scenario, None).unwrap();
    let v6 = ins.subnets.iter().find(|s| s.name == "v6").unwrap();
    let node = &v6.nodes[0];
    assert_eq!(node.mode_name(), "ipv6");
    assert_eq!((node.per_node.addresses, node.per_node.prefixes), (1, 0));
    assert_eq!(node.more_nodes, v6.free_addresses);
}

#[test]
fn a_prefix_assigned_in_a_built_subnet_is_drawn_as_held() {
    let scenario = scenarios::load(Path::new(FIXTURE)).unwrap();
    let (mut world, _) = vpcsim::sim::world::World::build(&scenario, None, false).unwrap();
    let s = &mut world.ec2.inventory_mut().subnets_mut()[0];
    s.assign_prefix("10.0.0.224/28".parse().unwrap()).unwrap();
    assert!(s.is_prefix_assigned("10.0.0.224/28".parse().unwrap()));
    let states = inspect::blocks::states(s);
    assert_eq!(states[14], inspect::BlockState::Prefix);
    assert_eq!(
        states
            .iter()
            .filter(|&&b| b == inspect::BlockState::Prefix)
            .count(),
        1
    );
    assert_eq!(states[0], inspect::BlockState::AwsReserved);
    assert_eq!(states[1], inspect::BlockState::PartlyUsed);
    assert_eq!(states[12], inspect::BlockState::ReservedUsed);
    assert_eq!(states[13], inspect::BlockState::ReservedFree);
}

#[test]
fn pictures_and_page_are_written_self_contained_and_byte_identical() {
    let out = scratch("files");
    inspected(&out, &[]);
    let read = |p: &str| fs::read(out.join(p)).unwrap();
    let png = read("plots/subnet-pods.png");
    assert_eq!(&png[1..4], b"PNG");
    // Width and height from the IHDR chunk.
    let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!(dim(16), 1000);
    assert!(dim(20) > 200 && dim(20) < 1000, "height {}", dim(20));
    let svg = String::from_utf8(read("plots/subnet-pods.svg")).unwrap();
    assert!(
        svg.contains("Subnet pods (10.0.0.0/24"),
        "the subnet's name"
    );
    for label in [
        "AWS-reserved",
        "held as a prefix",
        "reserved, free",
        "partly used",
    ] {
        assert!(svg.contains(label), "legend {label}");
    }
    // A /24's 16 blocks make one row, labelled with its first address.
    assert!(svg.contains(">\n10.0.0.0\n</text>"), "the row's address");
    assert!(out.join("plots/subnet-spare.svg").is_file());
    let html = String::from_utf8(read("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("free /28 blocks"));
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
    assert!(out.join(inspect::FIGURES).is_file());

    let again = scratch("files-again");
    inspected(&again, &[]);
    for f in [
        "plots/subnet-pods.png",
        "plots/subnet-pods.svg",
        "report.html",
        "inspect.json",
    ] {
        assert_eq!(read(f), fs::read(again.join(f)).unwrap(), "{f}");
    }
}

#[test]
fn a_bad_file_fails_with_the_loaders_error_naming_it() {
    let dir = scratch("bad");
    fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    fs::write(&bad, "name = \"x\"\n[vpc]\ncidr = \"10.0.0.0/33\"\n").unwrap();
    let o = vpcsim(&[
        "inspect",
        bad.to_str().unwrap(),
        "--out",
        dir.join("o").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with(&format!("{}:", bad.display())), "{err}");
    assert!(!dir.join("o").exists(), "nothing written for a bad file");
    let o = vpcsim(&["inspect", "no/such.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such.toml"));
}
