//! `vpcsim advise` on a fragmented subnet: it recommends settings that the recommended scenario then meets,
//! says when nothing meets the targets and which target binds, does not depend on --jobs, and refuses bad
//! targets clearly.

use std::path::Path;
use std::process::{Command, Output};

const FIXTURE: &str = "tests/fixtures/advise/fragmented.toml";

/// A fresh folder under the target's temporary directory.
fn fresh(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("advise-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn vpcsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vpcsim"))
        .args(args)
        .output()
        .expect("vpcsim runs")
}

fn advise(out: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec![
        "advise",
        FIXTURE,
        "--replicates",
        "2",
        "--format",
        "json",
        "--out",
    ];
    args.push(out.to_str().unwrap());
    args.extend_from_slice(extra);
    let o = vpcsim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    (o, json)
}

#[test]
fn recommends_settings_that_meet_the_targets_when_run() {
    let dir = fresh("rec");
    let (_, json) = advise(dir.as_path(), &["--jobs", "2"]);
    // Prefix mode as the file has it fails on the fragmented subnet.
    let bare = json["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["label"] == "web: prefix · WARM_PREFIX_TARGET=1 · in pods | no reservation")
        .expect("the coarse grid holds the file's own mode");
    assert_eq!(bare["feasible"], false);
    assert!(
        bare["missed"]
            .to_string()
            .contains("InsufficientCidrBlocks")
    );
    let rec = &json["recommendation"];
    assert!(
        rec["node_groups"][0]["mode"] == "secondary-ip"
            || !rec["reservations"].as_array().unwrap().is_empty(),
        "{rec}"
    );
    let run_dir = dir.as_path().join("run");
    let recommended = dir.as_path().join("recommended.toml");
    let o = vpcsim(&[
        "run",
        recommended.to_str().unwrap(),
        "--out",
        run_dir.to_str().unwrap(),
        "--no-plots",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["pods"]["started_ratio"].as_f64(), Some(1.0));
    let icb = &summary["ipamd"]["api_errors"]["InsufficientCidrBlocks"];
    assert!(icb.is_null() || icb.as_f64() == Some(0.0), "{icb}");
    assert!(dir.as_path().join("candidates.csv").exists());
}

#[test]
fn an_infeasible_target_is_said_plainly_with_the_binding_target() {
    let dir = fresh("infeasible");
    let (_, json) = advise(dir.as_path(), &["--target", "ec2.calls_total<=0"]);
    assert!(json["recommendation"].is_null());
    assert_eq!(json["binding"]["target"], "ec2.calls_total<=0");
    assert!(!dir.as_path().join("recommended.toml").exists());
    let table = vpcsim(&[
        "advise",
        FIXTURE,
        "--replicates",
        "1",
        "--target",
        "ec2.calls_total<=0",
        "--out",
        dir.as_path().to_str().unwrap(),
    ]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("nothing meets the targets: `ec2.calls_total<=0` binds"),
        "{text}"
    );
}

#[test]
fn results_do_not_depend_on_jobs() {
    let (a, b) = (fresh("jobs1"), fresh("jobs2"));
    let (one, _) = advise(a.as_path(), &["--jobs", "1"]);
    let (two, _) = advise(b.as_path(), &["--jobs", "2"]);
    assert_eq!(one.stdout, two.stdout);
    for f in [
        "advise.json",
        "candidates.csv",
        "recommended.toml",
        "report.html",
        "plots/advise-pareto.svg",
        "plots/advise-pareto.png",
    ] {
        assert_eq!(
            std::fs::read(a.as_path().join(f)).unwrap(),
            std::fs::read(b.as_path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn bad_targets_are_refused_clearly() {
    let o = vpcsim(&["advise", FIXTURE, "--target", "pods.started_ratio=1"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.contains("--target") && e.contains("expected KEY<=VALUE or KEY>=VALUE"),
        "{e}"
    );
    let dir = fresh("bad");
    let o = vpcsim(&[
        "advise",
        FIXTURE,
        "--target",
        "pods.nope<=1",
        "--out",
        dir.as_path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(
        e.contains("--target `pods.nope`: not a key of summary.json"),
        "{e}"
    );
    let o = vpcsim(&["advise", FIXTURE, "--minimize", "nope"]);
    assert!(
        String::from_utf8(o.stderr)
            .unwrap()
            .contains("--minimize `nope`")
    );
}

/// ipamd.md §11: an IPv6 node group has no warm pool or IPv4 mode, so advise refuses a file with one.
#[test]
fn spec_11_2_a_scenario_with_an_ipv6_group_is_refused() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/ipv6-vs-ipv4.toml");
    let o = vpcsim(&["advise", file]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8(o.stderr).unwrap();
    assert!(e.contains("node group `ipv6` runs IPv6"), "{e}");
}

/// docs/reference/ec2.md §3.5: a reservation made over addresses in use leaves them in use, so a candidate
/// reservation over the addresses an imported file lists holds fewer free blocks; advice says so per subnet.
#[test]
fn ec2_3_5_a_reservation_over_listed_addresses_is_warned_about() {
    let dir = fresh("crowded");
    std::fs::create_dir_all(&dir).unwrap();
    let listed = ["10.0.0.20", "10.0.0.130", "10.0.0.200", "10.0.0.201"];
    let text = std::fs::read_to_string(FIXTURE).unwrap().replace(
        "count = 32\nplacement = \"spread\"",
        &format!("addresses = {listed:?}"),
    );
    let file = dir.join("listed.toml");
    std::fs::write(&file, text).unwrap();
    let offset = |a: &str| a.rsplit('.').next().unwrap().parse::<u32>().unwrap();
    // The top 25 % of the /24 is 192..256 (blocks 12..15, the last AWS's), the top 50 % 128..256.
    for (percent, start, blocks) in [(25, 192, 3), (50, 128, 7)] {
        let in_use = listed.iter().filter(|a| offset(a) >= start).count();
        let crowded: std::collections::BTreeSet<u32> = listed
            .iter()
            .map(|a| offset(a) / 16)
            .filter(|&b| b >= start / 16)
            .collect();
        let o = vpcsim(&[
            "advise",
            file.to_str().unwrap(),
            "--replicates",
            "1",
            "--out",
            dir.join("out").to_str().unwrap(),
        ]);
        let text = String::from_utf8(o.stdout).unwrap();
        let line = format!(
            "warning: reserve {percent}% at the top of pods (10.0.0.{start}–10.0.0.255) covers {in_use} address(es) \
             in use: they stay in use (docs/reference/ec2.md §3.5), so it holds {} of its {blocks} /28 blocks \
             free, not {blocks}",
            blocks - crowded.len()
        );
        assert!(text.contains(&line), "{line}\n{text}");
    }
    // The bundled fixture's addresses are placed by count, outside reservations: no warning.
    let (_, json) = advise(fresh("uncrowded").as_path(), &[]);
    assert_eq!(json["warnings"], serde_json::json!([]));
}

#[test]
fn the_pareto_chart_and_the_page_are_written_and_self_contained() {
    let dir = fresh("page");
    let (_, json) = advise(dir.as_path(), &[]);
    let svg = std::fs::read_to_string(dir.join("plots/advise-pareto.svg")).unwrap();
    for text in [
        "Advice for advise-fragmented: ips.allocated_mean against pods.ip_wait_s.p99",
        "ips.allocated_mean (mean, minimised)",
        "pods.ip_wait_s.p99 (s, mean)",
        "meets every target",
        "misses a target",
        "recommendation",
    ] {
        assert!(svg.contains(text), "{text}");
    }
    let png = std::fs::read(dir.join("plots/advise-pareto.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("<link"));
    assert!(html.contains("<svg"), "the chart is inline");
    let label = json["recommendation"]["label"].as_str().unwrap();
    assert!(html.contains(&format!("recommendation: {label}")));
    // Every candidate is in the page's table, and the targets are stated.
    for c in json["candidates"].as_array().unwrap() {
        assert!(html.contains(c["label"].as_str().unwrap()));
    }
    assert!(html.contains("pods.started_ratio&gt;=1"));
}
