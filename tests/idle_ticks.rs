//! Passing over the pool manager's idle steps changes no result: every bundled scenario, run with
//! `idle_ticks = "skip"` (the default) and `"simulate"` (every half-tick an event), writes the same files, trace
//! and call log included, but for the run's own event counts and wall-clock figures.
//!
//! Runs are cut at [`HORIZON`] of simulated time, shorter for clusters of more than 1,000 nodes (a budget of
//! node-minutes), so that the test takes a minute in a debug build; the cut takes in every scenario's
//! start-up, first churn and warm-pool moves. `vpcsim run` of a full bundled
//! scenario with `idle_ticks = "simulate"` written into it compares the same way (README, "Performance").

use std::fs;
use std::path::Path;

mod run_folder;

use indicatif::ProgressBar;
use vpcsim::report::{run, simulate};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ipamd::IdleTicks;
use vpcsim::sim::time::SimDuration;

const HORIZON: SimDuration = SimDuration::from_secs(20 * 60);

/// How far a scenario runs: [`HORIZON`], or less so that nodes × time stays within 1,000 nodes' horizon.
fn horizon(scenario: &Scenario) -> SimDuration {
    let nodes: u64 = scenario
        .node_groups
        .iter()
        .map(|g| u64::from(g.count))
        .sum();
    SimDuration(HORIZON.0 * 1_000 / nodes.max(1_000)).min(scenario.duration)
}

/// The files a run writes, summary.json without its `run` section (events handled, wall clock).
fn outputs(scenario: &Scenario, dir: &Path) -> Vec<(String, Vec<u8>)> {
    run(dir, scenario, true, &ProgressBar::hidden()).expect("runs and writes");
    run_folder::outputs(dir, |v| {
        assert!(v["run"]["events"].as_u64().unwrap() > 0);
        v["run"] = serde_json::Value::Null;
    })
}

#[test]
fn skipping_idle_ticks_changes_no_result_of_any_bundled_scenario() {
    let files = run_folder::bundled_scenarios();
    assert!(files.len() >= 20, "{files:?}");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("idle-ticks");
    for file in files {
        let mut scenario = scenarios::load(&file).expect("a bundled scenario loads");
        scenario.duration = horizon(&scenario);
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let both = |mode: IdleTicks, label: &str| {
            let s = Scenario {
                idle_ticks: mode,
                ..scenario.clone()
            };
            let dir = tmp.join(&name).join(label);
            let _ = fs::remove_dir_all(&dir);
            outputs(&s, &dir)
        };
        let skip = both(IdleTicks::Skip, "skip");
        let simulate = both(IdleTicks::Simulate, "simulate");
        let names = |o: &[(String, Vec<u8>)]| o.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&skip), names(&simulate), "{name}");
        assert!(names(&skip).contains(&"trace.csv".to_string()), "{name}");
        for ((file, a), (_, b)) in skip.iter().zip(&simulate) {
            assert!(
                a == b,
                "{name}: {file} differs between skipped and simulated idle ticks"
            );
        }
    }
}

/// The skip is real: a quiet cluster handles far fewer events when idle ticks are passed over.
#[test]
fn a_quiet_cluster_handles_a_fraction_of_the_events_when_idle_ticks_are_skipped() {
    let text = |mode: &str| {
        format!(
            "name = \"quiet\"\nduration = \"1h\"\nidle_ticks = \"{mode}\"\n[vpc]\ncidr = \"10.0.0.0/16\"\n\
             [[subnets]]\nname = \"a\"\ncidr = \"10.0.0.0/18\"\naz = \"us-east-1a\"\n\
             [[node_groups]]\nname = \"w\"\ninstance_type = \"m5.large\"\ncount = 20\nsubnets = [\"a\"]\n"
        )
    };
    let events = |mode: &str| {
        let s = scenarios::parse(&text(mode), "quiet.toml").unwrap();
        simulate(&s, false, false).unwrap().1.stats.events
    };
    let (skip, simulated) = (events("skip"), events("simulate"));
    // 20 nodes × 1,440 half-ticks an hour when simulated; reconcile's once a minute when skipped.
    assert!(simulated > 20 * 1_400, "{simulated}");
    assert!(skip * 5 < simulated, "skip {skip}, simulate {simulated}");
}
