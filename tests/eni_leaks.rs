//! ENIs left behind by terminated instances (docs/reference/ec2.md §3.7): a node group's leak probability
//! leaves ipamd's ENIs available with their addresses until the leaked-ENI sweep (docs/reference/ipamd.md §4.6)
//! deletes them; `delete_on_termination = false` leaves the primary ENIs, which no sweep touches; the default
//! settings leave the run as it was; a change of settings applies to the nodes launched after it.

mod invariants;

use invariants::{check_invariants, one_subnet, run_checked};
use vpcsim::report::{Keys, Perf, summary};
use vpcsim::scenarios::Scenario;
use vpcsim::sim::ec2::LeakSettings;
use vpcsim::sim::ec2::api::EniStatus;
use vpcsim::sim::engine::{Engine, RunStats};
use vpcsim::sim::ipamd::daemon::LEAKED_ENI_MIN_AGE;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

fn perf() -> Perf {
    Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: 0.0,
    }
}

/// Three m5.large nodes, each with a second ENI from the warm target, replaced one by one at 10 m, in a run
/// of `duration` with the group's extra keys `group`.
fn churn(duration: &str, group: &str) -> Scenario {
    let rest = format!(
        r#"[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 3
subnets = ["a"]
rollouts = [{{ at = "10m", batch = 1 }}]
{group}
[[workloads]]
name = "web"
type = "deployment"
replicas = 30
"#
    );
    one_subnet("leaks", 11, duration, "10.0.0.0/20", &rest)
}

#[test]
fn ec2_3_7_leaked_enis_keep_their_addresses_until_the_sweep_deletes_them() {
    let s = churn("2h", "eni_leak_probability = 1.0");
    let w = run_checked(&s);
    let inv = w.ec2.inventory();
    let leaks = inv.leaks();
    assert!(leaks.reported());
    // Each of the three replaced nodes had at least one ENI besides its primary.
    let leaked: Vec<_> = leaks.all().iter().filter(|l| !l.primary).collect();
    assert!(leaked.len() >= 3, "{leaked:?}");
    assert!(leaks.all().iter().all(|l| !l.primary));
    assert!(leaks.peak_addresses() >= 3 * 10);
    for l in &leaked {
        let eni = inv.eni(l.eni).unwrap();
        match l.cleaned_at {
            // The sweep deletes only ENIs tagged at least 5 minutes before.
            Some(t) => {
                assert!(t - eni.created_at >= LEAKED_ENI_MIN_AGE);
                assert!(eni.is_deleted());
            }
            None => assert_eq!(eni.status(), EniStatus::Available),
        }
    }
    // The new nodes' sweeps (a random start within 5 minutes, then hourly) have found them within the 2 hours.
    assert_eq!(leaks.enis(), 0, "{leaked:?}");
    let json = summary(&s, &w, perf(), Keys::Used);
    let l = &json["enis"]["leaked"];
    assert_eq!(l["total"], leaked.len());
    assert_eq!(l["cleaned"], leaked.len());
    assert_eq!(l["at_end"], 0);
    assert_eq!(l["addresses_peak"], leaks.peak_addresses());
    // While leaked they held their addresses: the series shows them.
    assert!(w.timeseries.rows.iter().any(|r| r.leaked_addresses > 0));
}

#[test]
fn ec2_3_7_delete_on_termination_false_leaves_the_primary_enis_which_no_sweep_deletes() {
    let s = churn("1h", "delete_on_termination = false");
    let w = run_checked(&s);
    let inv = w.ec2.inventory();
    let primaries: Vec<_> = inv.leaks().all().iter().filter(|l| l.primary).collect();
    assert_eq!(primaries.len(), 3);
    // ipamd's secondary addresses on the primary ENI stay with it.
    let held: u32 = primaries.iter().map(|l| l.addresses).sum();
    for l in primaries {
        assert_eq!(inv.eni(l.eni).unwrap().status(), EniStatus::Available);
        assert!(l.addresses > 1);
    }
    assert_eq!(inv.leaks().enis(), 3);
    let json = summary(&s, &w, perf(), Keys::Used);
    assert_eq!(json["enis"]["leaked"]["primary"], 3);
    assert_eq!(json["enis"]["leaked"]["addresses_at_end"], held);
}

#[test]
fn ec2_3_7_default_settings_leak_nothing_and_change_nothing() {
    let plain = churn("30m", "");
    let explicit = churn(
        "30m",
        "eni_leak_probability = 0.0\ndelete_on_termination = true",
    );
    let (a, b) = (run_checked(&plain), run_checked(&explicit));
    assert!(!a.ec2.inventory().leaks().reported());
    assert!(!b.ec2.inventory().leaks().reported());
    assert_eq!(a.timeseries.rows, b.timeseries.rows);
    let (sa, sb) = (
        summary(&plain, &a, perf(), Keys::All),
        summary(&explicit, &b, perf(), Keys::All),
    );
    assert_eq!(sa, sb);
    assert!(sa["enis"].get("leaked").is_none());
}

#[test]
fn ec2_3_7_new_leak_settings_apply_to_nodes_launched_afterwards() {
    // No leaks at the start; from 5 m, the rollout's replacements (launched at 10 m) leak. The first three nodes
    // keep their settings, so only ENIs of the replacements could leak, and none of them terminates: none.
    let s = churn("30m", "");
    let (mut w, mut engine): (World, Engine<Event>) =
        World::build(&s, vpcsim::sim::sink::Kept::boxed(), false).unwrap();
    engine.run_until(&mut w, SimTime::ZERO + SimDuration::from_secs(300));
    let leaky = LeakSettings {
        delete_on_termination: false,
        eni_leak_probability: 1.0,
    };
    w.cluster
        .node_groups
        .set_leak_settings(0, leaky, &mut w.ec2);
    assert_eq!(w.cluster.node_groups.spec(0).leaks, leaky);
    let end = SimTime::ZERO + s.duration;
    engine.run_until(&mut w, end);
    check_invariants(&w, end);
    let inv = w.ec2.inventory();
    assert!(inv.leaks().reported());
    assert!(inv.leaks().all().is_empty(), "{:?}", inv.leaks().all());
    let replacements = &inv.instances()[3..];
    assert!(!replacements.is_empty());
    assert!(replacements.iter().all(|i| i.eni_leak_probability == 1.0));
    assert!(
        inv.instances()[..3]
            .iter()
            .all(|i| i.eni_leak_probability == 0.0)
    );
}
