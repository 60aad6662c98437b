//! A subnet CIDR reservation created during a run over addresses in use (docs/reference/ec2.md §3.5), end to
//! end: the operator's call goes through EC2's buckets, the reservation heals as other tenants release its
//! addresses, and the reports follow it (timeseries.csv columns, `subnets.<name>.reservations.<cidr>`).

use vpcsim::report::{self, Keys, Perf};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::{Request, Response};
use vpcsim::sim::engine::{Engine, RunStats};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::{ReservationKind, SubnetId};
use vpcsim::sim::world::{Event, World};

/// A scenario of two hours with one /24 subnet "a" and `rest` (its tables, then anything else).
fn in_a_24(name: &str, seed: u64, rest: &str) -> Scenario {
    let text = format!(
        r#"name = "{name}"
seed = {seed}
duration = "2h"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/24"
az = "us-east-1a"
{rest}"#
    );
    scenarios::parse(&text, "b.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// A /24 whose addresses short-lived tenants keep taking and releasing all over it; no nodes.
fn busy_subnet() -> Scenario {
    in_a_24(
        "brownfield",
        5,
        r#"[[subnets.tenants]]
name = "lambda"
interarrival = { dist = "exponential", mean = "5s" }
hold = { dist = "exponential", mean = "5m" }
max_in_use = 120
"#,
    )
}

fn perf() -> Perf {
    Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: 0.0,
    }
}

#[test]
fn ec2_3_5_a_reservation_made_mid_run_heals_and_the_reports_show_how_fast() {
    let s = busy_subnet();
    let (mut w, mut engine): (World, Engine<Event>) =
        World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
    let at = SimTime::ZERO + SimDuration::from_secs(1800);
    engine.run_until(&mut w, at);
    let before = w.ec2.inventory().subnet(SubnetId(0)).used();
    let request = Request::CreateSubnetCidrReservation {
        subnet: SubnetId(0),
        cidr: "10.0.0.128/26".parse().unwrap(),
        kind: ReservationKind::Prefix,
    };
    w.operator_call(&mut engine.context(), 0, request);
    let end = SimTime::ZERO + s.duration;
    engine.run_until(&mut w, end);

    let answer = &w.operator_answers[0];
    assert!(
        matches!(answer.result, Ok(Response::SubnetCidrReservation(_))),
        "{answer:?}"
    );
    let r = &w.ec2.inventory().reservations().all()[0];
    assert_eq!(r.blocks, 4);
    assert!(
        r.free_at_creation < 4,
        "tenants held addresses in the range"
    );
    assert!(before > 0);
    let subnet = w.ec2.inventory().subnet(SubnetId(0));
    assert!(subnet.reservations_changed());
    subnet.check_invariants().unwrap();
    // Released addresses returned to the reservation: by the end it is whole again.
    assert_eq!(subnet.free_reserved_prefix_blocks(), 4);

    let json = report::summary(&s, &w, perf(), Keys::Used);
    let figures = &json["subnets"]["a"]["reservations"]["10.0.0.128/26"];
    assert_eq!(figures["type"], "prefix");
    assert_eq!(figures["blocks"], 4);
    assert_eq!(figures["free_blocks_final"], 4);
    let created = figures["created_s"].as_f64().unwrap();
    assert!((1800.0..1801.0).contains(&created), "{created}");
    let first = figures["first_free_block_s"].as_f64().unwrap();
    let half = figures["half_free_s"].as_f64().unwrap();
    let all = figures["all_free_s"].as_f64().unwrap();
    assert!(first <= half && half <= all, "{figures}");
    assert!(figures["deleted_s"].is_null());

    let csv = String::from_utf8(report::timeseries_csv(&w).unwrap()).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.ends_with(",a.reserved_blocks,a.reserved_free_blocks"),
        "{header}"
    );
    let last = csv.lines().last().unwrap();
    assert!(last.ends_with(",4,4"), "{last}");
}

#[test]
fn ec2_3_5_runs_without_runtime_reservations_report_as_before() {
    let s = busy_subnet();
    let (mut w, mut engine): (World, Engine<Event>) =
        World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
    engine.run_until(&mut w, SimTime::ZERO + s.duration);
    let json = report::summary(&s, &w, perf(), Keys::All);
    assert!(json["subnets"]["a"].get("reservations").is_none());
    let csv = String::from_utf8(report::timeseries_csv(&w).unwrap()).unwrap();
    assert!(!csv.lines().next().unwrap().contains("reserved"));
}

/// A /24 with 128 addresses in use spread over every block, drained by `drain` (a TOML line).
fn draining(drain: &str) -> Scenario {
    in_a_24(
        "drain",
        9,
        &format!("[subnets.in_use]\ncount = 128\nplacement = \"spread\"\n{drain}\n"),
    )
}

fn used_at(w: &World, secs: u64) -> u32 {
    let row = w
        .timeseries
        .rows
        .iter()
        .find(|r| r.time == SimTime::ZERO + SimDuration::from_secs(secs))
        .unwrap();
    251 - row.subnets[0].0
}

#[test]
fn ec2_3_5_in_use_addresses_drain_on_schedule_and_a_reservation_over_them_heals() {
    let s = draining(r#"release = [{ at = "20m", count = 64 }, { at = "40m", count = 64 }]"#);
    let (mut w, mut engine): (World, Engine<Event>) =
        World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
    engine.run_until(&mut w, SimTime::ZERO + SimDuration::from_secs(600));
    let request = Request::CreateSubnetCidrReservation {
        subnet: SubnetId(0),
        cidr: "10.0.0.128/25".parse().unwrap(),
        kind: ReservationKind::Prefix,
    };
    w.operator_call(&mut engine.context(), 0, request);
    engine.run_until(&mut w, SimTime::ZERO + s.duration);
    assert_eq!(used_at(&w, 1190), 128);
    assert_eq!(used_at(&w, 1200), 64);
    assert_eq!(used_at(&w, 2400), 0);
    let r = &w.ec2.inventory().reservations().all()[0];
    // The spread left no block of the range whole; the last block (an edge) never counts.
    assert_eq!((r.blocks, r.free_at_creation), (7, 0));
    let json = report::summary(&s, &w, perf(), Keys::Used);
    let figures = &json["subnets"]["a"]["reservations"]["10.0.0.128/25"];
    assert_eq!(figures["free_blocks_final"], 7);
    // Healed at the second release, 40 m into the run, 30 m after the reservation.
    let all = figures["all_free_s"].as_f64().unwrap();
    assert!((1799.0..1800.0).contains(&all), "{figures}");
}

#[test]
fn in_use_addresses_with_a_hold_time_drain_in_a_seeded_order() {
    let s = draining(r#"hold = { dist = "exponential", mean = "10m" }"#);
    let run = || {
        let (mut w, mut engine): (World, Engine<Event>) =
            World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
        engine.run_until(&mut w, SimTime::ZERO + s.duration);
        w
    };
    let (a, b) = (run(), run());
    assert_eq!(a.timeseries.rows, b.timeseries.rows);
    let used: Vec<u32> = [0, 600, 1800, 7190].map(|t| used_at(&a, t)).to_vec();
    assert_eq!(used[0], 128);
    assert!(used.windows(2).all(|w| w[0] >= w[1]), "{used:?}");
    assert!(used[1] < 128 && used[3] < 5, "{used:?}");
    a.ec2
        .inventory()
        .subnet(SubnetId(0))
        .check_invariants()
        .unwrap();
}
