//! The reports of a brownfield run: subnet CIDR reservations created or deleted during the run, followed until
//! their blocks are free (docs/reference/ec2.md §3.5), and ENIs left behind by terminated instances
//! (docs/reference/ec2.md §3.7). Each appears only in runs that use it, so other runs' files are unchanged.

use serde_json::{Value, json};

use super::quantiles;
use crate::sim::ec2::reservations::CidrReservation;
use crate::sim::time::SimTime;
use crate::sim::vpc::{ReservationKind, SubnetId};
use crate::sim::world::World;

/// The timeseries.csv columns this module adds, in order: for each subnet whose reservations changed during the
/// run, `<subnet>.reserved_blocks` and `<subnet>.reserved_free_blocks`; with leaks reported, `enis_leaked` and
/// `enis_leaked_addresses`.
pub(super) fn timeseries_header(world: &World) -> Vec<String> {
    let inv = world.ec2.inventory();
    let mut header = Vec::new();
    for s in inv.subnets().iter().filter(|s| s.reservations_changed()) {
        header.push(format!("{}.reserved_blocks", s.name()));
        header.push(format!("{}.reserved_free_blocks", s.name()));
    }
    if inv.leaks().reported() {
        header.extend(["enis_leaked", "enis_leaked_addresses"].map(String::from));
    }
    header
}

/// The values of [`timeseries_header`]'s columns for sample `i`.
pub(super) fn timeseries_row(world: &World, i: usize, row: &mut Vec<String>) {
    let inv = world.ec2.inventory();
    let r = &world.timeseries.rows[i];
    for (s, b) in inv.subnets().iter().zip(&r.reserved) {
        if s.reservations_changed() {
            row.extend([b.blocks, b.free].map(|v| v.to_string()));
        }
    }
    if inv.leaks().reported() {
        row.extend([r.leaked_enis, r.leaked_addresses].map(|v| v.to_string()));
    }
}

/// Seconds from `from` to the first sample at or after it (and before `until`) where `test` holds.
fn first_sample(
    world: &World,
    k: usize,
    from: SimTime,
    until: SimTime,
    test: impl Fn(u32) -> bool,
) -> Option<f64> {
    world
        .timeseries
        .rows
        .iter()
        .filter(|r| r.time >= from && r.time < until)
        .find(|r| test(r.reservations[k].free))
        .map(|r| r.time.since(from).as_secs_f64())
}

/// One reservation's figures: when it came and went, its whole /28 blocks, how many were wholly free when it was
/// created and at its end (its deletion or the run's), and the time from its creation until the first sample
/// at which at least one, at least half, and all of its blocks were wholly free (`null` if that never happened):
/// how long a reservation made over addresses in use takes to become useful.
fn reservation_figures(world: &World, k: usize, r: &CidrReservation, end: SimTime) -> Value {
    let until = r.deleted.unwrap_or(end).min(end);
    let last = world
        .timeseries
        .rows
        .iter()
        .rfind(|s| s.time >= r.created && s.time < until)
        .map(|s| s.reservations[k].free);
    let blocks = r.blocks;
    json!({
        "type": match r.kind {
            ReservationKind::Prefix => "prefix",
            ReservationKind::Explicit => "explicit",
        },
        "created_s": r.created.since(SimTime::ZERO).as_secs_f64(),
        "deleted_s": r.deleted.map(|d| d.since(SimTime::ZERO).as_secs_f64()),
        "blocks": blocks,
        "free_blocks_at_creation": r.free_at_creation,
        "free_blocks_final": last,
        "first_free_block_s": first_sample(world, k, r.created, until, |f| f >= 1 && blocks > 0),
        "half_free_s": first_sample(world, k, r.created, until, |f| blocks > 0 && 2 * f >= blocks),
        "all_free_s": first_sample(world, k, r.created, until, |f| blocks > 0 && f == blocks),
    })
}

/// `subnets.<name>.reservations`, keyed by CIDR (a CIDR reserved again after a deletion is keyed
/// `<cidr>@<created_s>`), for a subnet whose reservations changed during the run; `None` otherwise.
pub(super) fn reservations(world: &World, subnet: SubnetId, end: SimTime) -> Option<Value> {
    let inv = world.ec2.inventory();
    if !inv.subnet(subnet).reservations_changed() {
        return None;
    }
    let mut out = serde_json::Map::new();
    for (k, r) in inv.reservations().all().iter().enumerate() {
        if r.subnet != subnet {
            continue;
        }
        let mut key = r.cidr.to_string();
        if out.contains_key(&key) {
            key = format!("{key}@{}", r.created.since(SimTime::ZERO).as_secs_f64());
        }
        out.insert(key, reservation_figures(world, k, r, end));
    }
    Some(Value::Object(out))
}

/// `enis.leaked` when leaks are reported: ENIs left available by their instance's termination (`total`, of which
/// `primary`), deleted since by a sweep (`cleaned`, with the time each stayed leaked in `cleaned_after_s`),
/// still there at the end (`at_end`, holding `addresses_at_end`), and the peaks of both, exact.
pub(super) fn leaks(world: &World) -> Option<Value> {
    let leaks = world.ec2.inventory().leaks();
    if !leaks.reported() {
        return None;
    }
    let all = leaks.all();
    let mut cleaned_after: Vec<f64> = all
        .iter()
        .filter_map(|l| Some(l.cleaned_at?.since(l.leaked_at).as_secs_f64()))
        .collect();
    Some(json!({
        "total": all.len(),
        "primary": all.iter().filter(|l| l.primary).count(),
        "cleaned": cleaned_after.len(),
        "cleaned_after_s": quantiles(&mut cleaned_after),
        "at_end": leaks.enis(),
        "addresses_at_end": leaks.addresses(),
        "peak": leaks.peak_enis(),
        "addresses_peak": leaks.peak_addresses(),
    }))
}
