//! Where new nodes go (docs/reference/ec2.md §7.1, §7.2): a provisioned group offers EC2 Fleet one subnet per
//! zone, the most free by its last DescribeSubnets (less its launches since, with in-flight accounting), and
//! blocks a zone for 3 min after an address shortage; an Auto Scaling group balances its zones and, after a
//! failed launch, moves on (best effort) or stays (balanced only).

mod invariants;

use std::collections::BTreeMap;

use invariants::{check_invariants, run_checked};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::Action;
use vpcsim::sim::engine::Engine;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

/// Zone x with subnets x1 and x2 (/20 each), zone y with subnet y1 (/20), zone z with the /28 `tiny` (11
/// addresses) with `tiny_in_use` of them taken, and `rest`.
fn scenario(duration: &str, tiny_in_use: u32, rest: &str) -> Scenario {
    let text = format!(
        r#"name = "p"
seed = 11
duration = "{duration}"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "x1"
cidr = "10.0.0.0/20"
az = "us-east-1x"
[[subnets]]
name = "x2"
cidr = "10.0.16.0/20"
az = "us-east-1x"
[[subnets]]
name = "y1"
cidr = "10.0.32.0/20"
az = "us-east-1y"
[[subnets]]
name = "tiny"
cidr = "10.0.48.0/28"
az = "us-east-1z"
[subnets.in_use]
count = {tiny_in_use}
{rest}"#
    );
    scenarios::parse(&text, "p.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// A group `g` of m5.large (max-pods 29) over `subnets`, with `settings` added.
fn group(subnets: &str, settings: &str) -> String {
    format!(
        "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\nsubnets = [{subnets}]\n{settings}\n"
    )
}

fn build(s: &Scenario) -> (World, Engine<Event>) {
    World::build(s, vpcsim::sim::sink::Kept::boxed(), false).expect("builds")
}

fn run_to(world: &mut World, engine: &mut Engine<Event>, at: &str) {
    let end = SimTime::ZERO + SimDuration::parse(at).unwrap();
    engine.run_until(world, end);
    check_invariants(world, end);
}

/// Group 0's instances launched and failed RunInstances calls, by subnet name.
fn by_subnet(world: &World) -> BTreeMap<String, (u32, u64)> {
    let inventory = world.ec2.inventory();
    world.cluster.node_groups.stats()[0]
        .by_subnet
        .iter()
        .map(|(s, l)| {
            let name = inventory.subnet(*s).name().to_string();
            (name, (l.launched, l.failed_launches))
        })
        .collect()
}

fn launched(world: &World, subnet: &str) -> u32 {
    by_subnet(world)[subnet].0
}

fn failures(world: &World, subnet: &str) -> u64 {
    by_subnet(world)[subnet].1
}

/// Twelve nodes launched at 10 s by a provisioned group over zones x (x1, x2 with equal counts) and y.
fn burst(policy: &str) -> World {
    let s = scenario(
        "1m",
        0,
        &group(
            r#""x1", "x2", "y1""#,
            &format!(
                "count = 12\nlaunch_at = \"10s\"\nprovisioner = {{ subnet_policy = \"{policy}\" }}"
            ),
        ),
    );
    run_checked(&s)
}

#[test]
fn ec2_7_1_a_burst_piles_into_the_zones_most_free_subnet_as_last_read_and_spreads_with_in_flight_accounting()
 {
    // As last read, x1 and x2 tie and x1 comes first in status order: every node Fleet puts in zone x goes to
    // x1, however many.
    let cached = burst("most-free-cached");
    assert_eq!(launched(&cached, "x1") + launched(&cached, "y1"), 12);
    assert!(launched(&cached, "x1") >= 3, "{:?}", by_subnet(&cached));
    assert_eq!(launched(&cached, "x2"), 0, "{:?}", by_subnet(&cached));
    // With in-flight accounting each launch takes 29 off the subnet it was offered, so zone x's offer alternates
    // between x1 and x2 (Karpenter's default).
    let in_flight = burst("most-free-in-flight");
    let (x1, x2) = (launched(&in_flight, "x1"), launched(&in_flight, "x2"));
    assert_eq!(x1 + x2 + launched(&in_flight, "y1"), 12);
    assert!(x1 >= 1 && x2 >= 1, "{:?}", by_subnet(&in_flight));
    assert!(x1.abs_diff(x2) <= 2, "{:?}", by_subnet(&in_flight));
}

#[test]
fn ec2_7_1_a_subnet_short_of_addresses_is_skipped_for_three_minutes_then_tried_again() {
    // Zone z's only subnet is full; the group grows at 10 s, 1 min (inside the 3 min block) and 4 min (after).
    let s = scenario(
        "5m",
        11,
        &group(
            r#""y1", "tiny""#,
            "count = 0\nprovisioner = { max_nodes = 60, consolidate_after = \"never\" }\n\
             scale = [{ at = \"10s\", count = 10 }, { at = \"1m\", count = 20 }, { at = \"4m\", count = 40 }]",
        ),
    );
    let (mut w, mut e) = build(&s);
    run_to(&mut w, &mut e, "50s");
    // Fleet put some of the first ten in zone z: that call failed, and the retry 10 s later went to y1.
    assert_eq!(failures(&w, "tiny"), 1, "{:?}", by_subnet(&w));
    assert_eq!(launched(&w, "y1"), 10);
    run_to(&mut w, &mut e, "3m");
    // The ten of the 1 min step all went to zone y: zone z had no offering.
    assert_eq!(failures(&w, "tiny"), 1, "{:?}", by_subnet(&w));
    assert_eq!(launched(&w, "y1"), 20);
    run_to(&mut w, &mut e, "5m");
    // Past the block, zone z is offered again and fails again; y1 ends with all forty.
    assert_eq!(failures(&w, "tiny"), 2, "{:?}", by_subnet(&w));
    assert_eq!(launched(&w, "y1"), 40);
    assert_eq!(launched(&w, "tiny"), 0);
}

/// DescribeSubnets calls of a run with one provisioned group and no nodes (so no ipamd).
fn describe_subnets_calls(duration: &str, provisioner: &str) -> u64 {
    let s = scenario(
        duration,
        0,
        &group(
            r#""x1", "y1""#,
            &format!("count = 0\nprovisioner = {provisioner}"),
        ),
    );
    run_checked(&s)
        .ec2
        .record()
        .action(Action::DescribeSubnets)
        .attempts()
}

#[test]
fn ec2_7_1_the_provisioner_reads_its_subnets_once_a_minute() {
    // At 0 s, 1 min, … 9 min: ten calls in ten minutes (the one due at the horizon is not made).
    assert_eq!(describe_subnets_calls("10m", "{}"), 10);
    assert_eq!(
        describe_subnets_calls("10m", "{ subnet_refresh = \"5m\" }"),
        2
    );
}

#[test]
fn ec2_7_2_an_auto_scaling_group_of_six_over_three_zones_gets_two_per_zone() {
    let s = scenario("1m", 0, &group(r#""x1", "x2", "y1", "tiny""#, "count = 6"));
    let per = by_subnet(&run_checked(&s));
    assert_eq!(per["x1"].0 + per["x2"].0, 2, "{per:?}");
    assert_eq!(per["y1"].0, 2, "{per:?}");
    assert_eq!(per["tiny"].0, 2, "{per:?}");
}

/// An Auto Scaling group of one node over zone z (full) and zone y, run for 2 min.
fn one_node_first_zone_full(strategy: &str) -> World {
    let s = scenario(
        "2m",
        11,
        &group(
            r#""tiny", "y1""#,
            &format!("count = 1\ncapacity_distribution = \"{strategy}\""),
        ),
    );
    run_checked(&s)
}

#[test]
fn ec2_7_2_best_effort_moves_to_another_zone_on_failure_while_balanced_only_retries_the_same_zone()
{
    // Both zones hold no instance: the first listed, z, is tried first and has no address.
    let best_effort = one_node_first_zone_full("balanced-best-effort");
    assert_eq!(failures(&best_effort, "tiny"), 1);
    assert_eq!(launched(&best_effort, "y1"), 1);
    let only = one_node_first_zone_full("balanced-only");
    assert_eq!(launched(&only, "y1"), 0);
    assert!(failures(&only, "tiny") >= 10, "{:?}", by_subnet(&only));
    assert_eq!(failures(&only, "y1"), 0);
}
