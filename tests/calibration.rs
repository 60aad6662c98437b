//! Calibration against published measurements of real clusters' pod start-up: each scenario under
//! `scenarios/calibration/` reproduces one measurement's setup, and the simulated figure must land within 2× of
//! the published one (README, "Fidelity: how long pods take"). The sources are in each scenario's header.
//! `cargo test --test calibration -- --nocapture` prints the comparison table.

mod invariants;

use std::path::Path;

use invariants::run_checked;
use vpcsim::report::{self, Perf};
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::engine::RunStats;
use vpcsim::sim::kube::pods::Pod;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::World;

fn run(name: &str) -> (Scenario, World) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/calibration")
        .join(format!("{name}.toml"));
    let s = scenarios::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let world = run_checked(&s);
    (s, world)
}

/// The pods of workload `name`, every one of which must have started (a calibration run strands none).
fn started<'w>(s: &Scenario, w: &'w World, name: &str) -> Vec<&'w Pod> {
    let pods: Vec<&Pod> = w
        .all_pods()
        .into_iter()
        .filter(|p| s.workloads[p.workload as usize].name == name)
        .collect();
    assert!(!pods.is_empty());
    assert!(
        pods.iter()
            .all(|p| p.running.is_some() && p.ready.is_some()),
        "every {name} pod starts"
    );
    pods
}

fn secs(from: SimTime, to: Option<SimTime>) -> f64 {
    to.expect("reached").since(from).as_secs_f64()
}

/// The nearest-rank `q`-quantile.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Asserts each simulated figure is within 2× of its published one, printing the comparison.
fn within_2x(scenario: &str, figures: &[(&str, f64, f64)]) {
    for &(what, published, simulated) in figures {
        let ratio = simulated / published;
        println!(
            "{scenario}: {what}: published {published:.2} s, simulated {simulated:.2} s, ratio {ratio:.2}"
        );
        assert!(
            (0.5..=2.0).contains(&ratio),
            "{scenario}: {what}: simulated {simulated:.2} s against {published:.2} s published (ratio {ratio:.2})"
        );
    }
}

/// Seconds from the scale-up at 1 minute to the first and to the last of the 100 pods Ready. The last is
/// also the summary's `deployments.inflate.scale_up_s`.
fn dense_node(name: &str) -> (f64, f64) {
    let (s, w) = run(name);
    let pods = started(&s, &w, "inflate");
    assert_eq!(pods.len(), 100);
    let scale_up = SimTime::ZERO + SimDuration::from_secs(60);
    let ready: Vec<f64> = pods.iter().map(|p| secs(scale_up, p.ready)).collect();
    let all = quantile(&ready, 1.0);
    let perf = Perf {
        wall_s: 1.0,
        stats: RunStats::default(),
        simulated_s: s.duration.as_secs_f64(),
    };
    let summary = report::summary(&s, &w, perf, report::Keys::Used);
    let up = &summary["deployments"]["inflate"];
    assert_eq!(up["scale_ups"], 1, "{up}");
    assert_eq!(up["scale_up_s"]["max"].as_f64(), Some(all), "{up}");
    assert_eq!(up["scale_up_s"]["max_censored"], false, "{up}");
    (quantile(&ready, 0.0), all)
}

/// awslabs/amazon-eks-ami PR #1030: 100 pods on one node Ready after 67.5 s at kubelet QPS 5/10 (the first
/// after 22 s) and after 32.8 s at 10/20 (the first after 10 s): twice the rate, half the time.
#[test]
fn a_dense_nodes_start_is_paced_by_kubelets_api_client_as_measured_in_eks_ami_pr_1030() {
    let (first5, all5) = dense_node("dense-node-kubelet-qps-5");
    within_2x(
        "dense-node-kubelet-qps-5",
        &[
            ("100th pod Ready", 67.5, all5),
            ("first pod Ready", 22.0, first5),
        ],
    );
    let (first10, all10) = dense_node("dense-node-kubelet-qps-10");
    within_2x(
        "dense-node-kubelet-qps-10",
        &[
            ("100th pod Ready", 32.8, all10),
            ("first pod Ready", 10.0, first10),
        ],
    );
    let halved = all5 / all10;
    assert!((1.6..=2.4).contains(&halved), "QPS 5 vs 10: {halved:.2}×");
}

/// kubernetes/perf-tests' storage pod-startup results: 100 bare pods created at 100/s on one node at kubelet
/// QPS 5, creation → Running p50 62.8 s, p90 78.8 s, p99 82.4 s.
#[test]
fn bare_pods_on_one_node_start_as_measured_by_clusterloader2_at_kubelet_qps_5() {
    let (s, w) = run("single-node-pod-startup-qps-5");
    let pods = started(&s, &w, "pods");
    assert_eq!(pods.len(), 100);
    let l: Vec<f64> = pods.iter().map(|p| secs(p.created, p.running)).collect();
    within_2x(
        "single-node-pod-startup-qps-5",
        &[
            ("p50 created → Running", 62.8, quantile(&l, 0.5)),
            ("p90 created → Running", 78.8, quantile(&l, 0.9)),
            ("p99 created → Running", 82.4, quantile(&l, 0.99)),
        ],
    );
}

/// The warm path on 100 full nodes: creation → Running p50 1.94 s, p90 2.50 s, p99 4.32 s (Kubernetes blog,
/// 2015) and p50 2.2 s, p90 2.8 s, p99 3.15 s (kubernetes/kubernetes #86217, Kubernetes 1.14).
#[test]
fn the_warm_path_on_100_full_nodes_takes_the_seconds_upstreams_density_tests_measured() {
    let (s, w) = run("warm-path-100-nodes");
    let pods = started(&s, &w, "latency");
    assert!(pods.len() > 500, "{}", pods.len());
    assert!(
        pods.iter().all(|p| p.failed_adds == 0),
        "no latency pod waits for an address"
    );
    let l: Vec<f64> = pods.iter().map(|p| secs(p.created, p.running)).collect();
    let (p50, p90, p99) = (quantile(&l, 0.5), quantile(&l, 0.9), quantile(&l, 0.99));
    within_2x(
        "warm-path-100-nodes (blog 2015)",
        &[("p50", 1.94, p50), ("p90", 2.50, p90), ("p99", 4.32, p99)],
    );
    within_2x(
        "warm-path-100-nodes (#86217)",
        &[("p50", 2.2, p50), ("p90", 2.8, p90), ("p99", 3.15, p99)],
    );
}

/// awslabs/node-latency-for-k8s, example 1 (c6a.large, EKS AL2 AMI): from the pod's creation, kubelet
/// registered at 22 s, Node Ready at 26 s, the pod's container started at 28 s.
#[test]
fn a_pod_that_needs_a_new_node_starts_when_node_latency_for_k8s_measured() {
    let (s, w) = run("new-node-pod-start");
    let pods = started(&s, &w, "inflate");
    assert_eq!(pods.len(), 1);
    let created = pods[0].created;
    let node = &w.cluster.nodes[pods[0].node.expect("bound") as usize];
    within_2x(
        "new-node-pod-start",
        &[
            (
                "kubelet registered",
                22.0,
                secs(created, Some(node.registered)),
            ),
            ("Node Ready", 26.0, secs(created, node.ready_at)),
            ("pod Running", 28.0, secs(created, pods[0].running)),
        ],
    );
}
