//! `vpcsim advise`'s choices per node group and per subnet: each group's own mode and warm setting, a group
//! moved to another subnet of its zone, a prefix reservation at the bottom of a subnet whose top is
//! fragmented, each checked in the recommended file and by running it; a candidate that does not fit the
//! file is reported at the key it wrote and the file's line; results do not depend on --jobs.

use std::path::{Path, PathBuf};
use std::process::Command;

use vpcsim::advise::{self, Advice, Mode, Side, Target};
use vpcsim::report::{self, Keys};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sweep::results::flatten;

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/advise")
        .join(file)
}

fn defaults() -> Vec<Target> {
    advise::DEFAULT_TARGETS
        .iter()
        .map(|t| t.parse().unwrap())
        .collect()
}

fn advise(path: &Path, minimize: &str) -> Advice {
    let request = advise::Request {
        targets: defaults(),
        default_targets: true,
        minimize: minimize.to_string(),
        replicates: 1,
        jobs: 2,
    };
    advise::advise(path, &request).unwrap()
}

/// The recommended file, validated, and as a table.
fn recommended(advice: &Advice) -> (Scenario, toml::Value) {
    let text = advice
        .recommended_toml
        .as_deref()
        .expect("a recommendation");
    (
        scenarios::parse(text, "recommended.toml").unwrap(),
        toml::from_str(text).unwrap(),
    )
}

/// Runs `scenario` and checks that it meets the default targets.
fn meets_the_targets(scenario: &Scenario) {
    let (world, perf) = report::simulate(scenario, false, false).unwrap();
    let summary = flatten(&report::summary(scenario, &world, perf, Keys::All));
    for t in defaults() {
        let v = summary
            .iter()
            .find(|(k, _)| k == &t.key)
            .and_then(|(_, v)| v.as_f64());
        assert!(t.met_by(v), "{t}: {v:?}");
    }
}

#[test]
fn each_node_group_gets_its_own_mode_and_warm_setting() {
    let advice = advise(&fixture("two-groups.toml"), "ec2.calls_total");
    let rec = advice.recommendation().expect("a feasible candidate");
    let groups = &rec.decision.groups;
    assert_eq!(
        (groups[0].name.as_str(), groups[1].name.as_str()),
        ("legacy", "web")
    );
    // No prefix fits `legacy`'s subnet; prefix mode makes the fewest calls in `web`'s.
    assert_eq!(
        (groups[0].mode, groups[1].mode),
        (Mode::SecondaryIp, Mode::Prefix)
    );
    let label = rec.decision.label();
    assert!(
        label.starts_with("legacy: secondary-ip · ") && label.contains("; web: prefix · "),
        "{label}"
    );
    // Every group alike in prefix mode misses the targets.
    assert!(
        advice
            .candidates
            .iter()
            .filter(|c| c.decision.groups.iter().all(|g| g.mode == Mode::Prefix))
            .all(|c| !c.feasible())
    );
    let (scenario, table) = recommended(&advice);
    for (g, choice) in groups.iter().enumerate() {
        let ipamd = &scenario.node_groups[g].ipamd;
        assert_eq!(
            ipamd.enable_prefix_delegation,
            choice.mode == Mode::Prefix,
            "{}",
            choice.name
        );
        let written = &table["node_groups"][g]["ipamd"];
        assert_eq!(
            written["WARM_IP_TARGET"].as_integer(),
            Some(choice.warm().warm_ip)
        );
        assert_eq!(
            written["WARM_PREFIX_TARGET"].as_integer(),
            Some(choice.warm().warm_prefix)
        );
    }
    meets_the_targets(&scenario);
}

#[test]
fn a_group_moves_to_a_roomier_subnet_of_its_zone() {
    let advice = advise(&fixture("small-subnet.toml"), advise::DEFAULT_MINIMIZE);
    // On its listed /27 nothing meets the targets.
    assert!(
        advice
            .candidates
            .iter()
            .filter(|c| c.decision.groups[0].subnets == ["small"])
            .all(|c| !c.feasible())
    );
    let rec = advice.recommendation().expect("a feasible candidate");
    assert_eq!(rec.decision.groups[0].subnets, ["big"]);
    assert!(rec.decision.label().contains("· in big"));
    let (scenario, table) = recommended(&advice);
    let big = scenario
        .subnets
        .iter()
        .position(|s| s.name == "big")
        .unwrap();
    assert_eq!(scenario.node_groups[0].subnets, [big]);
    assert_eq!(
        table["node_groups"][0]["subnets"],
        toml::Value::Array(vec!["big".into()])
    );
    meets_the_targets(&scenario);
}

/// docs/reference/ec2.md §3.5: a prefix reservation keeps single addresses out, and one made over addresses in
/// use holds no free block while they stay; so where a subnet's top is fragmented and its bottom free, only a
/// reservation at the bottom keeps whole blocks for prefixes.
#[test]
fn ec2_3_5_a_reservation_goes_to_the_bottom_when_the_top_is_fragmented() {
    let advice = advise(&fixture("top-fragmented.toml"), advise::DEFAULT_MINIMIZE);
    let rec = advice.recommendation().expect("a feasible candidate");
    let r = rec.decision.reservation("pods").expect("a reservation");
    assert_eq!(r.side, Side::Bottom);
    assert!(
        advice
            .candidates
            .iter()
            .filter(|c| c
                .decision
                .reservation("pods")
                .is_some_and(|r| r.side == Side::Top))
            .all(|c| !c.feasible())
    );
    assert!(
        advice
            .candidates
            .iter()
            .filter(
                |c| c.decision.groups[0].mode == Mode::Prefix && c.decision.reservations.is_empty()
            )
            .all(|c| !c.feasible())
    );
    let (scenario, table) = recommended(&advice);
    let written = &table["subnets"][0]["reservations"][0];
    assert_eq!(
        written["bottom_percent"].as_integer(),
        Some(i64::from(r.percent))
    );
    assert_eq!(scenario.subnets[0].reservations.len(), 1);
    meets_the_targets(&scenario);
}

#[test]
fn a_candidate_that_does_not_fit_names_the_key_it_wrote_and_the_files_line() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("advise-misfit");
    std::fs::create_dir_all(&dir).unwrap();
    // An explicit reservation over the subnet's top /28: every reservation at the top overlaps it.
    let text = std::fs::read_to_string(fixture("small-subnet.toml"))
        .unwrap()
        .replace(
            "az = \"us-east-1a\"\n\n[[node_groups]]",
            "az = \"us-east-1a\"\n\n[[subnets.reservations]]\ntype = \"explicit\"\ncidr = \"10.0.1.240/28\"\n\n\
             [[node_groups]]",
        );
    let file = dir.join("misfit.toml");
    std::fs::write(&file, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l == "[[subnets.reservations]]")
        .unwrap()
        + 1;
    let advice = advise(&file, advise::DEFAULT_MINIMIZE);
    let misfit = advice
        .candidates
        .iter()
        .find(|c| {
            c.decision
                .reservation("big")
                .is_some_and(|r| r.side == Side::Top)
        })
        .expect("a top reservation in big was tried");
    let error = misfit.error.as_deref().unwrap();
    let at = format!(
        "{}:{line}:11: subnets.big.reservations: reservation top ",
        file.display()
    );
    assert!(
        error.contains(&at) && error.contains("overlaps subnets[1].reservations[0]"),
        "{error}"
    );
}

#[test]
fn per_group_results_do_not_depend_on_jobs() {
    let out = |jobs: &str| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("advise-groups-jobs{jobs}"));
        let _ = std::fs::remove_dir_all(&dir);
        let o = Command::new(env!("CARGO_BIN_EXE_vpcsim"))
            .args([
                "advise",
                "tests/fixtures/advise/two-groups.toml",
                "--replicates",
                "1",
            ])
            .args([
                "--minimize",
                "ec2.calls_total",
                "--format",
                "json",
                "--jobs",
                jobs,
            ])
            .arg("--out")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (o.stdout, dir)
    };
    let (one, a) = out("1");
    let (two, b) = out("2");
    assert_eq!(one, two);
    for f in ["advise.json", "candidates.csv", "recommended.toml"] {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f}"
        );
    }
    let csv = String::from_utf8(std::fs::read(a.join("candidates.csv")).unwrap()).unwrap();
    let header = csv.lines().next().unwrap();
    for column in [
        "node_groups.legacy.mode",
        "node_groups.legacy.warm",
        "node_groups.legacy.subnets",
        "node_groups.web.mode",
        "node_groups.web.subnets",
        "reservations",
    ] {
        assert!(header.split(',').any(|c| c == column), "{column}: {header}");
    }
}
