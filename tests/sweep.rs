//! `vpcsim sweep` and `vpcsim merge` end to end: grid expansion and seeds, byte-identical results whatever
//! `--jobs`, resume after a killed sweep, shards merged into the single-machine results, and sweep files that
//! fail before any run starts.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vpcsim::scenarios::sweep::{self, Sweep};

mod run_folder;

fn vpcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(args)
        .output()
        .expect("vpcsim runs")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sweeps/small.toml")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs `vpcsim sweep FILE --out DIR ARGS…` and asserts success.
fn sweep_ok(file: &Path, out: &Path, args: &[&str]) -> Output {
    let mut all = vec!["sweep", s(file), "--out", s(out)];
    all.extend_from_slice(args);
    let o = vpcsim(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// The small fixture with its `[sweep]` table replaced by `sweep_table`.
fn with_sweep(dir: &Path, sweep_table: &str) -> PathBuf {
    let text = fs::read_to_string(fixture()).unwrap();
    let base = &text[..text.find("[sweep]").unwrap()];
    let path = dir.join("sweep.toml");
    fs::write(&path, format!("{base}{sweep_table}")).unwrap();
    path
}

/// Runs `vpcsim ARGS…`, asserts it exits 2 (bad input), and returns its stdout and stderr together.
fn refused(args: &[&str]) -> String {
    let o = vpcsim(args);
    let shown = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert_eq!(o.status.code(), Some(2), "{args:?}: {shown}");
    shown
}

fn load(path: &Path) -> Sweep {
    sweep::load(path).unwrap_or_else(|e| panic!("{e}")).0
}

#[test]
fn the_grid_is_the_product_of_the_axes_with_zipped_axes_moving_together() {
    let sw = load(&fixture());
    assert_eq!(sw.axes.len(), 2, "the zip makes two keys one axis");
    assert_eq!(sw.axes[1].name, "warm");
    assert_eq!(sw.points(), 6);
    assert_eq!(sw.runs(), 12);
    // The first axis varies slowest; replicates are within a point.
    assert_eq!(sw.coordinates(0), [0, 0]);
    assert_eq!(sw.coordinates(2), [0, 2]);
    assert_eq!(sw.coordinates(3), [1, 0]);
    assert_eq!(sw.run_at(7), (3, 1));
    assert_eq!(sw.labels(5), ["m5.xlarge", "ip-2/min-10"]);
    // The zipped values land together in the point's scenario.
    let sc = sw.scenario(5, 0).unwrap();
    assert_eq!(sc.node_groups[0].instance_type.name, "m5.xlarge");
    assert_eq!(sc.node_groups[0].ipamd.warm_ip_target, 2);
    assert_eq!(sc.node_groups[0].ipamd.minimum_ip_target, 10);
    let sc = sw.scenario(1, 0).unwrap();
    assert_eq!(sc.node_groups[0].instance_type.name, "m5.large");
    assert_eq!(
        (
            sc.node_groups[0].ipamd.warm_ip_target,
            sc.node_groups[0].ipamd.minimum_ip_target
        ),
        (5, 0)
    );
}

#[test]
fn ranges_expand_inclusively_and_labels_default_to_the_values() {
    let dir = scratch("sweep-ranges");
    let path = with_sweep(
        &dir,
        "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0, to = 10, step = 5 }\n\
         \"subnets.pods.in_use.count\" = { from = 10, to = 20, step = 2.5 }\n",
    );
    let sw = load(&path);
    assert_eq!(sw.axes[0].labels, ["0", "5", "10"]);
    assert_eq!(sw.axes[1].labels.len(), 5, "{:?}", sw.axes[1].labels);
    assert_eq!(sw.axes[1].labels[4], "20.0");

    // A range across all of TOML's integers, in few steps: its span does not fit in an integer.
    let path = with_sweep(
        &dir,
        "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = -9223372036854775808, \
         to = 9223372036854775807, step = 4611686018427387904 }\n",
    );
    assert_eq!(
        load(&path).axes[0].labels,
        [
            "-9223372036854775808",
            "-4611686018427387904",
            "0",
            "4611686018427387904"
        ]
    );
}

#[test]
fn seeds_derive_from_the_sweep_seed_the_point_and_the_replicate() {
    let sw = load(&fixture());
    let mut seeds: Vec<u64> = (0..sw.runs())
        .map(|r| {
            let (p, rep) = sw.run_at(r);
            sw.run_seed(p, rep)
        })
        .collect();
    assert_eq!(sw.scenario(4, 1).unwrap().seed, sw.run_seed(4, 1));
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), 12, "every run has its own seed");
    // Pinned: a change here changes every sweep's results.
    assert_eq!(sw.run_seed(0, 0), 8946990292487845988);

    let mut other = sw.clone();
    other.seed = 6;
    assert_ne!(other.run_seed(0, 0), sw.run_seed(0, 0));

    // Common random numbers: replicate r has one seed at every point.
    let mut crn = sw.clone();
    crn.common_random_numbers = true;
    assert_eq!(crn.run_seed(0, 1), crn.run_seed(5, 1));
    assert_ne!(crn.run_seed(0, 0), crn.run_seed(0, 1));
}

/// The result files of a sweep folder, by name.
fn result_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    ["results.csv", "results.json", "sweep.json"]
        .iter()
        .map(|n| (n.to_string(), fs::read(dir.join(n)).unwrap()))
        .collect()
}

/// The report and every chart of a sweep folder, by name.
fn plot_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files.push((
        "report.html".into(),
        fs::read(dir.join("report.html")).unwrap(),
    ));
    files
}

#[test]
fn results_are_byte_identical_at_one_and_two_jobs() {
    let dir = scratch("sweep-jobs");
    let (one, two) = (dir.join("one"), dir.join("two"));
    sweep_ok(&fixture(), &one, &["--jobs", "1"]);
    sweep_ok(&fixture(), &two, &["--jobs", "2"]);
    assert_eq!(result_files(&one), result_files(&two));
    let plots = plot_files(&one);
    assert!(plots.len() > 4, "{} files", plots.len());
    assert!(
        plots
            .iter()
            .any(|(n, _)| n == "sweep-pods.ip_wait_s.p99-by-warm.png")
    );
    assert!(
        plots == plot_files(&two),
        "plots and report differ between --jobs 1 and 2"
    );

    let text = fs::read_to_string(one.join("results.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[..6],
        [
            "run",
            "point",
            "replicate",
            "seed",
            "node_groups.workers.instance_type",
            "warm"
        ]
    );
    for col in [
        "pods.ip_wait_s.p99",
        "pods.never_started",
        "pods.started_ratio",
        "node_groups.workers.pods.never_started",
        "ec2.calls_total",
        "ipamd.api_errors.InsufficientCidrBlocks",
    ] {
        assert!(header.contains(&col), "{col} missing");
    }
    // Every run has a lower-bound flag for each quantile, set or not, so the runs share one header.
    let flag = header
        .iter()
        .position(|h| *h == "pods.launch_latency_s.p99_censored")
        .expect("pods.launch_latency_s.p99_censored column");
    for line in text.lines().skip(1) {
        let cell = line.split(',').nth(flag).unwrap();
        assert!(cell == "true" || cell == "false", "{cell:?} in {line}");
    }
    assert!(
        !header.iter().any(|h| h.contains("wall_s")),
        "wall-clock goes to timings.csv"
    );
    let runs: Vec<u64> = lines
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(runs, (0..12).collect::<Vec<_>>());
    // The settings reach the runs: more warm addresses, more of them unused.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(one.join("results.json")).unwrap()).unwrap();
    let waste = |run: usize| json["runs"][run]["ips.waste_ratio_mean"].as_f64().unwrap();
    assert!(
        waste(0) > waste(4),
        "eni-1 {} vs ip-2/min-10... {}",
        waste(0),
        waste(4)
    );
    let timings = fs::read_to_string(one.join("timings.csv")).unwrap();
    assert_eq!(timings.lines().count(), 13);
    assert!(
        !one.join("runs").exists(),
        "run folders only with --keep-runs"
    );
}

#[test]
fn keep_runs_keeps_each_runs_folder() {
    let dir = scratch("sweep-keep");
    sweep_ok(&fixture(), &dir, &["--keep-runs", "--shard", "0/6"]);
    let kept: Vec<String> = fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(dir.join("runs/00006/summary.json").exists(), "{kept:?}");
    assert!(dir.join("runs/00006/pods.csv").exists());
}

#[test]
fn shards_merge_into_the_single_machine_results() {
    let dir = scratch("sweep-shards");
    let whole = dir.join("whole");
    sweep_ok(&fixture(), &whole, &[]);
    let shards: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("shard-{k}"))).collect();
    for (k, d) in shards.iter().enumerate() {
        sweep_ok(
            &fixture(),
            d,
            &["--shard", &format!("{k}/3"), "--jobs", "1"],
        );
        let rows = fs::read_to_string(d.join("results.csv"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(rows, 1 + 4, "shard {k} runs 4 of 12");
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().rev().map(|d| s(d)));
    args.extend(["--out", s(&merged)]);
    let o = vpcsim(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    // sweep.json names the shard; the results are those of the single machine.
    assert_eq!(
        fs::read(merged.join("results.csv")).unwrap(),
        fs::read(whole.join("results.csv")).unwrap()
    );
    assert_eq!(
        fs::read(merged.join("results.json")).unwrap(),
        fs::read(whole.join("results.json")).unwrap()
    );
    assert!(
        plot_files(&merged) == plot_files(&whole),
        "the merged plots differ"
    );
    assert!(!shards[0].join("plots").exists(), "a shard draws no plots");

    // A missing shard, or one given twice, is refused.
    let o = vpcsim(&[
        "merge",
        s(&shards[0]),
        s(&shards[1]),
        "--out",
        s(&dir.join("bad")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("4 of 12 runs are missing"),
        "{}",
        stderr(&o)
    );
    let o = vpcsim(&[
        "merge",
        s(&shards[0]),
        s(&shards[0]),
        "--out",
        s(&dir.join("bad")),
    ]);
    assert!(stderr(&o).contains("run 0 is in both"), "{}", stderr(&o));
}

#[test]
fn a_killed_sweep_resumes_where_it_stopped_and_ends_with_the_same_results() {
    let dir = scratch("sweep-kill");
    // Longer runs, so that the sweep can be killed in the middle.
    let text = fs::read_to_string(fixture())
        .unwrap()
        .replace("duration = \"20m\"", "duration = \"4h\"");
    let file = dir.join("slow.toml");
    fs::write(&file, text).unwrap();
    let (killed, whole) = (dir.join("killed"), dir.join("whole"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(["sweep", s(&file), "--out", s(&killed), "--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let results = killed.join("results.csv");
    // Complete rows only: a line without its newline is still being written.
    let rows =
        || fs::read_to_string(&results).map_or(0, |t| t.matches('\n').count().saturating_sub(1));
    let start = Instant::now();
    while rows() < 2 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep ended before it was killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no run finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // While it runs, the folder is its own: a second vpcsim is refused and writes nothing there.
    let o = vpcsim(&["sweep", s(&file), "--out", s(&killed), "--jobs", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {} is in use by another vpcsim (lock .vpcsim.lock)\n",
            killed.display()
        )
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let done = rows();
    assert!((2..12).contains(&done), "{done} runs done when killed");

    let o = sweep_ok(&file, &killed, &["--resume", "--jobs", "2"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("{done} already done")), "{out}");
    sweep_ok(&file, &whole, &[]);
    assert_eq!(result_files(&killed), result_files(&whole));
    let timings = fs::read_to_string(killed.join("timings.csv")).unwrap();
    assert!(timings.lines().count() >= 12, "{timings}");

    // Nothing left to do: a second resume skips every run.
    let o = sweep_ok(&file, &killed, &["--resume"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("12 already done"));
    assert_eq!(result_files(&killed), result_files(&whole));
}

#[test]
fn resume_refuses_the_results_of_another_sweep() {
    let dir = scratch("sweep-resume-other");
    let out = dir.join("out");
    sweep_ok(&fixture(), &out, &["--shard", "0/4"]);
    let other = with_sweep(&dir, "[sweep]\nreplicates = 3\n");
    let o = vpcsim(&["sweep", s(&other), "--out", s(&out), "--resume"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("another sweep or shard"),
        "{}",
        stderr(&o)
    );
    let o = vpcsim(&[
        "sweep",
        s(&fixture()),
        "--out",
        s(&out),
        "--resume",
        "--shard",
        "1/4",
    ]);
    assert!(
        stderr(&o).contains("another sweep or shard"),
        "{}",
        stderr(&o)
    );
}

/// Each bad sweep definition: the message names the file, line and key, the exit code is 2, and no output
/// folder is made.
#[test]
fn bad_sweep_definitions_fail_before_any_run_naming_the_key() {
    let dir = scratch("sweep-bad");
    let cases: &[(&str, &str)] = &[
        (
            "[sweep]\n[sweep.axes]\n\"node_groups.workers.instance_typo\" = [\"m5.large\"]\n",
            "sweep.toml:44:1: sweep.axes.\"node_groups.workers.instance_typo\": at point 0 \
             (node_groups.workers.instance_typo=m5.large): node_groups[0].instance_typo: unknown key",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"node_groups.cpu.count\" = [1, 2]\n",
            "sweep.toml:44:1: sweep.axes.\"node_groups.cpu.count\": `node_groups` has no element `cpu`",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"node_groups.workers.count\" = [3, \"four\"]\n",
            "sweep.toml:44:1: sweep.axes.\"node_groups.workers.count\": at point 1 \
             (node_groups.workers.count=four): node_groups[0].count: invalid type: string \"four\", \
             expected an integer from 0 to 4294967295",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"node_groups.workers.count\" = []\n",
            "sweep.toml:44:31: sweep.axes.\"node_groups.workers.count\": an axis needs at least one value",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"subnets.pods.in_use\" = [1]\n",
            "sweep.toml:44:1: sweep.axes.\"subnets.pods.in_use\": `subnets.pods.in_use` is a table, not a \
             scalar key",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"subnets.pods.cidr\" = [\"10.0.0.0/24\", \"10.0.0.0/26\"]\n",
            "at point 1 (subnets.pods.cidr=10.0.0.0/26): subnets[0].in_use.count: 60 addresses do not fit",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"node_groups.workers.count\" = { from = 1, to = 2000, step = 1 }\n",
            "the grid has 2000 runs, more than max_runs = 1000; pass --force",
        ),
        (
            "[sweep]\nmax_runs = 4\nreplicates = 5\n",
            "the grid has 5 runs, more than max_runs = 4",
        ),
        (
            "[sweep]\nmetrics = [\"pods.ip_wait.p99\"]\n",
            "sweep.toml:43:12: sweep.metrics: `pods.ip_wait.p99` is not a result column",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = [1, 2]\n[sweep.zip]\nw = [\"ipamd.WARM_IP_TARGET\", \
             \"ipamd.MINIMUM_IP_TARGET\"]\n",
            "sweep.zip.w: `ipamd.MINIMUM_IP_TARGET` is not a key of [sweep.axes]",
        ),
        (
            "[sweep]\nreplicates = 0\n",
            "sweep.toml:43:14: sweep.replicates: must be at least 1",
        ),
        ("[sweep]\nrepeats = 2\n", "sweep: unknown key `repeats`"),
        (
            "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = -9223372036854775808, \
             to = 9223372036854775807, step = 1 }\n",
            "sweep.toml:44:26: sweep.axes.\"ipamd.WARM_IP_TARGET\": the range has 18446744073709551616 \
             values; at most 10000",
        ),
        (
            "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0.0, to = 1e300, step = 1e-300 }\n",
            "sweep.toml:44:26: sweep.axes.\"ipamd.WARM_IP_TARGET\": the range has more than 10000 values",
        ),
    ];
    for (i, (table, expected)) in cases.iter().enumerate() {
        let case = dir.join(format!("case-{i}"));
        fs::create_dir_all(&case).unwrap();
        let file = with_sweep(&case, table);
        let out = case.join("out");
        let o = vpcsim(&["sweep", s(&file), "--out", s(&out)]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        assert!(
            err.contains(expected),
            "case {i}: expected {expected:?} in\n{err}"
        );
        assert!(!out.exists(), "case {i}: an output folder was made");
    }
}

#[test]
fn force_runs_a_grid_over_the_limit() {
    let dir = scratch("sweep-force");
    let file = with_sweep(&dir, "[sweep]\nmax_runs = 2\nreplicates = 3\n");
    let out = dir.join("out");
    let o = vpcsim(&["sweep", s(&file), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    sweep_ok(&file, &out, &["--force"]);
    assert_eq!(
        fs::read_to_string(out.join("results.csv"))
            .unwrap()
            .lines()
            .count(),
        4
    );
}

#[test]
fn check_validates_every_point_of_a_sweep() {
    let o = vpcsim(&["check", s(&fixture())]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let dir = scratch("sweep-check");
    let file = with_sweep(
        &dir,
        "[sweep]\n[sweep.axes]\n\"node_groups.workers.count\" = [1, -1]\n",
    );
    assert!(refused(&["check", s(&file)]).contains("at point 1"));
}

/// The command line of `deploy/k8s-indexed-job.yaml`'s shard pods, with Kubernetes' substitutions made, runs
/// the shard named by the completion index, and the Job's completions match the shard count.
#[test]
fn the_indexed_job_runs_the_shard_of_its_completion_index() {
    let yaml = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s-indexed-job.yaml"),
    )
    .unwrap();
    let value = |key: &str| {
        yaml.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.split('#').next().unwrap().trim().to_string())
            .unwrap_or_else(|| panic!("no {key}"))
    };
    let shards: u64 = value("completions:").parse().unwrap();
    let start = yaml
        .find("          args:\n")
        .expect("the sweep container's args")
        + 16;
    let args: Vec<String> = yaml[start..]
        .lines()
        .map_while(|l| l.strip_prefix("            - "))
        .map(|a| {
            a.split("  #")
                .next()
                .unwrap()
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    assert_eq!(args[0], "sweep");
    let dir = scratch("sweep-k8s");
    let index = 3;
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("$(JOB_COMPLETION_INDEX)", &index.to_string())
                .replace("/sweep/sweep.toml", s(&fixture()))
                .replace("/results", s(&dir))
        })
        .collect();
    assert!(args.contains(&format!("{index}/{shards}")), "{args:?}");
    let o = vpcsim(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let results = fs::read_to_string(dir.join(format!("shard-{index}/results.csv"))).unwrap();
    let runs: Vec<&str> = results
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        runs,
        ["3"],
        "run 3 is the only run of 12 with 3 = run mod {shards}"
    );
}

/// `vpcsim run` on a sweep file runs its base scenario, ignoring `[sweep]`.
#[test]
fn run_of_a_sweep_file_runs_the_base_scenario() {
    let dir = scratch("sweep-run-base");
    let o = vpcsim(&[
        "run",
        s(&fixture()),
        "--out",
        s(&dir),
        "--no-plots",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["scenario"], "small-sweep");
    assert_eq!(v["seed"], 5, "the base seed, not a derived one");
    assert!(!dir.join("plots").exists(), "--no-plots draws nothing");
}

#[test]
fn resume_and_merge_refuse_results_of_another_seed() {
    let dir = scratch("sweep-other-seed");
    let file = with_sweep(&dir, "[sweep]\nreplicates = 2\n");
    let (first, second) = (dir.join("first"), dir.join("second"));
    sweep_ok(&file, &first, &["--shard", "0/2"]);
    let o = vpcsim(&[
        "sweep",
        s(&file),
        "--out",
        s(&first),
        "--resume",
        "--shard",
        "0/2",
        "--seed",
        "7",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("seed: 7 now, 5 in sweep.json"),
        "{}",
        stderr(&o)
    );

    sweep_ok(&file, &second, &["--shard", "1/2", "--seed", "7"]);
    let o = vpcsim(&[
        "merge",
        s(&first),
        s(&second),
        "--out",
        s(&dir.join("merged")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let expected = format!("seed: 7 in {}, 5 in {}", second.display(), first.display());
    assert!(stderr(&o).contains(&expected), "{}", stderr(&o));
    assert!(!dir.join("merged").exists(), "nothing merged");
}

#[test]
fn resume_refuses_results_made_from_another_trace() {
    let dir = scratch("sweep-trace-changed");
    let trace = dir.join("arrivals.csv");
    fs::write(
        &trace,
        "time,action,target,attributes\n0s,create_pod,a,node_group=workers;lifetime=5m\n",
    )
    .unwrap();
    let file = with_sweep(
        &dir,
        "[[workloads]]\nname = \"replay\"\ntype = \"trace\"\nfile = \"arrivals.csv\"\n\n\
         [sweep]\nreplicates = 2\n",
    );
    let out = dir.join("out");
    sweep_ok(&file, &out, &["--shard", "0/2"]);
    let manifest = fs::read_to_string(out.join("sweep.json")).unwrap();
    assert!(manifest.contains("\"arrivals.csv\""), "{manifest}");

    fs::write(
        &trace,
        "time,action,target,attributes\n0s,create_pod,a,node_group=workers;lifetime=9m\n",
    )
    .unwrap();
    let o = vpcsim(&[
        "sweep",
        s(&file),
        "--out",
        s(&out),
        "--resume",
        "--shard",
        "0/2",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("content of arrivals.csv (fingerprint): "),
        "{}",
        stderr(&o)
    );
}

/// Three axes of 10,000 values: 10^12 runs, refused from the axes' lengths alone (the grid used to be built,
/// an 88 TB allocation), with or without `--force`, by `check` and by `sweep`.
#[test]
fn a_grid_too_large_to_hold_is_refused_without_building_it() {
    let dir = scratch("sweep-huge-grid");
    let file = with_sweep(
        &dir,
        "[sweep]\n[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0, to = 9999, step = 1 }\n\
         \"ipamd.MINIMUM_IP_TARGET\" = { from = 0, to = 9999, step = 1 }\n\
         \"ipamd.WARM_ENI_TARGET\" = { from = 0, to = 9999, step = 1 }\n",
    );
    let out = dir.join("out");
    for args in [
        vec!["check", s(&file)],
        vec!["check", s(&file), "--force"],
        vec!["sweep", s(&file), "--out", s(&out), "--force"],
    ] {
        let shown = refused(&args);
        assert!(
            shown.contains(
                "the grid has 1000000000000 runs, more than the 1000000 one sweep can hold"
            ),
            "{args:?}: {shown}"
        );
    }
    assert!(!out.exists());
}

/// `check` honours `max_runs` as `sweep` does, and `--force` as `sweep --force` does; 4294967295 replicates
/// are more than any sweep can hold, `--force` or not.
#[test]
fn check_refuses_a_grid_over_max_runs_and_huge_replicates_even_with_force() {
    let dir = scratch("sweep-check-size");
    let file = with_sweep(&dir, "[sweep]\nreplicates = 1001\n");
    assert!(refused(&["check", s(&file)]).contains("more than max_runs = 1000; pass --force"));
    // Located at the file's [sweep], like every error about the file.
    let located = format!("{}:", file.display());
    for args in [
        vec!["check", s(&file)],
        vec!["sweep", s(&file), "--out", s(&dir.join("o"))],
    ] {
        let shown = refused(&args);
        let rest = shown
            .strip_prefix(&located)
            .unwrap_or_else(|| panic!("{shown}"));
        let line = rest.split(':').next().unwrap();
        assert!(
            line.parse::<usize>().is_ok() && rest.contains(": sweep: the grid has"),
            "{shown}"
        );
    }
    let o = vpcsim(&["check", s(&file), "--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let file = with_sweep(&dir, "[sweep]\nreplicates = 4294967295\n");
    let out = dir.join("out");
    for args in [
        vec!["check", s(&file), "--force"],
        vec!["sweep", s(&file), "--out", s(&out), "--force"],
    ] {
        let shown = refused(&args);
        assert!(
            shown.contains("4294967295 runs, more than the 1000000"),
            "{shown}"
        );
    }
    assert!(!out.exists());
}

/// A point whose run would not fit fails alone: its row says why, the other rows are complete, the plots are
/// drawn, and the sweep exits 1 counting the failed runs. `--resume` runs it again (and it fails again).
#[test]
fn an_oversized_point_fails_alone_and_the_sweep_exits_non_zero() {
    let dir = scratch("sweep-oversized-point");
    let file = with_sweep(
        &dir,
        "[sweep]\n[sweep.axes]\n\"workloads.queue-workers.pods_per_minute\" = [6, 50000000]\n",
    );
    assert!(refused(&["check", s(&file)]).contains("at point 1"));

    let out = dir.join("out");
    let read = || {
        let text = fs::read_to_string(out.join("results.csv")).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    };
    // The second time, only the failed run is made again.
    for (args, made) in [(vec![], 2), (vec!["--resume"], 1)] {
        let mut all = vec!["sweep", s(&file), "--out", s(&out)];
        all.extend(args);
        let o = vpcsim(&all);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("1 of the {made} runs made failed")),
            "{err}"
        );
        let (header, rows) = read();
        assert_eq!(header.last().map(String::as_str), Some("error"));
        assert_eq!(rows.len(), 2, "one row per run, none repeated");
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (ok, bad) = (&rows[0], &rows[1]);
        assert_eq!(ok[col("error")], "");
        assert!(ok[col("pods.created")].parse::<u64>().unwrap() > 0);
        assert!(
            bad[col("error")].starts_with("workloads[1].pods_per_minute: about 1.0e9 pods in 20m"),
            "{}",
            bad[col("error")]
        );
        assert_eq!(bad[col("pods.created")], "");
        assert!(!bad[col("seed")].is_empty());
        assert!(out.join("report.html").exists());
        let json: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join("results.json")).unwrap()).unwrap();
        assert_eq!(json["runs"].as_array().unwrap().len(), 2);
    }
    // Merged, the results are as mixed, and so is the exit code.
    let merged = dir.join("merged");
    let o = vpcsim(&["merge", s(&out), "--out", s(&merged), "--no-plots"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("1 of the 2 runs failed"), "{err}");
    assert_eq!(
        fs::read(merged.join("results.csv")).unwrap(),
        fs::read(out.join("results.csv")).unwrap()
    );
}

/// Every bundled sweep's points share one results.csv header: their summaries under `Keys::All` have the
/// same keys, whatever an axis changes (a group's subnets, a reservation, the address mode). Each point runs
/// a few simulated minutes: the keys do not depend on how long it runs.
#[test]
fn every_point_of_every_bundled_sweep_has_point_0s_summary_keys() {
    use vpcsim::report::{Keys, simulate, summary};
    use vpcsim::sim::time::SimDuration;
    use vpcsim::sweep::results::flatten;
    let mut sweeps = 0;
    for file in run_folder::bundled_scenarios() {
        let Some((sweep, _)) = sweep::load_if_sweep(&file).unwrap() else {
            continue;
        };
        sweeps += 1;
        let keys = |point: u64| {
            let mut scenario = sweep.scenario(point, 0).expect("a bundled point loads");
            scenario.duration = scenario.duration.min(SimDuration::from_secs(180));
            let (world, perf) = simulate(&scenario, false, false).expect("runs");
            let summary = summary(&scenario, &world, perf, Keys::All);
            flatten(&summary)
                .into_iter()
                .map(|(k, _)| k)
                .collect::<Vec<_>>()
        };
        let first = keys(0);
        for point in 1..sweep.points() {
            assert_eq!(
                keys(point),
                first,
                "{}: point {point} ({})",
                file.display(),
                sweep.describe(point)
            );
        }
    }
    assert!(sweeps >= 6, "{sweeps} bundled sweeps");
}
