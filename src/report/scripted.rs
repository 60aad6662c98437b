//! The summary's `events` section: what the scenario's scripted events did, so that a run with a change or
//! a fault in it says so beside its figures: when each event fired (and how its EC2 call went), the workloads it steered (arrivals
//! dropped, ends held), the nodes lost, and each external caller's calls and how many were throttled.

use serde_json::{Value, json};

use super::by_name;
use crate::scenarios::Scenario;
use crate::sim::ec2::Action;
use crate::sim::script::Change;
use crate::sim::world::World;

pub(super) fn events(scenario: &Scenario, world: &World) -> Value {
    // An event that made an EC2 call says how it went: a reservation refused is not a reservation made.
    let fired = by_name(scenario.script.events.iter().enumerate(), |(i, e)| {
        let mut v = json!({ "at_s": e.at.as_secs_f64() });
        if matches!(
            e.change,
            Change::CreateReservation { .. } | Change::DeleteReservation { .. }
        ) {
            v["outcome"] = json!(match world.event_outcomes[i] {
                Some(Ok(())) => "ok",
                Some(Err(code)) => code.code(),
                None => "unanswered",
            });
        }
        (e.label.clone(), v)
    });
    let steered = |w: u32| {
        scenario
            .script
            .events
            .iter()
            .any(|e| matches!(e.change, Change::Workload { workload, .. } if workload == w))
    };
    let gates = world.cluster.gates();
    let workloads = by_name(
        (0..scenario.workloads.len() as u32).filter(|&w| steered(w)),
        |w| {
            let g = &gates[w as usize];
            (
                scenario.workloads[w as usize].name.clone(),
                json!({
                    "arrivals_dropped": g.dropped,
                    "ends_held": g.ends_held,
                    "ends_still_held": g.held.len(),
                }),
            )
        },
    );
    let callers = by_name(world.external.tallies(), |(name, t)| {
        let sum = |v: &[u64]| v.iter().sum::<u64>();
        let by_action = by_name(Action::ALL.iter().filter(|a| t.calls[a.index()] > 0), |a| {
            let i = a.index();
            (
                a.to_string(),
                json!({ "attempts": t.attempts[i], "throttled": t.throttled[i] }),
            )
        });
        (
            name.to_string(),
            json!({
                "calls": sum(&t.calls),
                "attempts": sum(&t.attempts),
                "throttled": sum(&t.throttled),
                "failed_calls": sum(&t.failed),
                "by_action": by_action,
            }),
        )
    });
    json!({
        "fired": fired,
        "workloads": workloads,
        "nodes_lost": world.cluster.nodes_lost,
        "external_callers": callers,
    })
}
