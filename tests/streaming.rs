//! Results streamed as a run goes: the world keeps no record of the pods and attempts it has finished with,
//! the summary's figures stay exact whatever the attempt log keeps, and a run's streamed files appear under
//! their final names only when it is complete.

use std::fs;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use serde_json::Value;
use vpcsim::report;
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::ec2::record::CallLog;

fn quickstart() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.toml");
    scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// An empty folder of this test binary's own.
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("streaming")
        .join(name);
    let _ = fs::remove_dir_all(&d);
    d
}

/// The summary without its wall-clock figures, which measure the machine.
fn summary_of(dir: &Path) -> Value {
    let text = fs::read_to_string(dir.join("summary.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let run = v["run"].as_object_mut().unwrap();
    for wall in ["wall_s", "events_per_sec", "simulated_s_per_wall_s"] {
        run.remove(wall);
    }
    v
}

/// The quick-start hour creates and deletes pods all along (a deployment scaled up and down, a steady queue,
/// cron jobs): at its end the world holds the records of its live pods only, and no attempt.
#[test]
fn a_churny_run_holds_only_its_live_pods_records_and_no_attempt() {
    let s = quickstart();
    let (world, _) = report::simulate(&s, false, false).unwrap();
    let pods = &world.cluster.pods;
    let live = pods.live().len();
    assert_eq!(pods.records_held(), live);
    assert!(
        pods.created() > 3 * live,
        "{} created, {live} alive",
        pods.created()
    );
    assert!(world.ec2.record().log().is_empty());
    assert!(world.ec2.record().total_attempts() > 0);

    // Kept in memory, every pod is there once: the finished ones as the sink got them, the others alive.
    let (kept, _) = report::simulate(&s, true, false).unwrap();
    let records = kept.kept().unwrap();
    assert_eq!(records.pods.len() + live, pods.created());
    assert_eq!(kept.cluster.pods.records_held(), live);
    assert_eq!(
        records.attempts.len() as u64,
        kept.ec2.record().total_attempts()
    );
}

/// `[ec2] api_calls_csv` chooses the rows of `api_calls.csv` only: the summary is the same byte for byte with
/// every attempt, the failures or none.
#[test]
fn the_summary_is_the_same_whatever_the_attempt_log_keeps() {
    let mut runs = Vec::new();
    for (name, keep) in [
        ("all", CallLog::All),
        ("failures", CallLog::Failures),
        ("none", CallLog::None),
    ] {
        let mut s = quickstart();
        s.ec2.call_log = keep;
        let dir = scratch(&format!("log-{name}"));
        report::run(&dir, &s, false, &ProgressBar::hidden()).unwrap();
        let calls = fs::read_to_string(dir.join("api_calls.csv")).unwrap();
        runs.push((summary_of(&dir), calls));
    }
    let (all, failures, none) = (&runs[0], &runs[1], &runs[2]);
    assert_eq!(all.0, failures.0);
    assert_eq!(all.0, none.0);
    let rows = |csv: &str| csv.lines().count() - 1;
    let attempts = all.0["ec2"]["calls_total"].as_u64().unwrap() as usize;
    assert_eq!(rows(&all.1), attempts);
    assert!(failures.1.lines().skip(1).all(|l| !l.contains(",ok,")));
    assert!(rows(&failures.1) < rows(&all.1));
    assert_eq!(rows(&none.1), 0);
}

/// A complete run has its files under their final names and no temporary file; `pods.csv` lists each pod
/// once, those finished with first, then those still alive in creation order.
#[test]
fn a_complete_run_leaves_final_names_only_and_lists_live_pods_last_in_creation_order() {
    let s = quickstart();
    let dir = scratch("complete");
    let (world, _, written) = report::run(&dir, &s, true, &ProgressBar::hidden()).unwrap();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "api_calls.csv",
            "nodes.csv",
            "pods.csv",
            "summary.json",
            "timeseries.csv",
            "trace.csv"
        ]
    );
    assert_eq!(written.len(), 6);
    let pods = fs::read_to_string(dir.join("pods.csv")).unwrap();
    let ids: Vec<u32> = pods
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..world.cluster.pods.created() as u32).collect::<Vec<_>>()
    );
    let live: Vec<u32> = world
        .cluster
        .pods
        .live()
        .iter()
        .map(|&(id, _)| id)
        .collect();
    assert!(!live.is_empty());
    assert_eq!(ids[ids.len() - live.len()..], live[..]);
    assert_ne!(
        ids, sorted,
        "finished pods come in the order they were finished with"
    );
}

/// The same run twice gives the same streamed files, byte for byte.
#[test]
fn streamed_files_are_the_same_for_the_same_seed() {
    let mut s = quickstart();
    s.duration = vpcsim::sim::time::SimDuration::from_secs(20 * 60);
    let (a, b) = (scratch("same-a"), scratch("same-b"));
    for dir in [&a, &b] {
        report::run(dir, &s, true, &ProgressBar::hidden()).unwrap();
    }
    for file in ["api_calls.csv", "pods.csv", "trace.csv"] {
        assert!(
            fs::read(a.join(file)).unwrap() == fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
}
