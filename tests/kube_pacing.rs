//! The pace of the Kubernetes control plane, end to end: the ReplicaSet and Job controllers' clients, slow
//! start and per-sync cap (docs/reference/kube.md §2), and the scheduler's one pod per cycle and binding
//! client (§3).

mod invariants;

use invariants::run_checked;
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::kube::pods::{Pod, PodState};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::World;

/// A VPC with one /16 subnet and the given node groups, workloads and extra tables.
fn scenario(duration: &str, rest: &str) -> Scenario {
    let text = format!(
        r#"name = "t"
seed = 3
duration = "{duration}"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/16"
az = "us-east-1a"
{rest}"#
    );
    scenarios::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn pods(world: &World) -> Vec<&Pod> {
    world.all_pods()
}

fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

/// Sorted times picked off every pod that has one.
fn times(world: &World, of: impl Fn(&Pod) -> Option<SimTime>) -> Vec<SimTime> {
    let mut t: Vec<SimTime> = pods(world).into_iter().filter_map(of).collect();
    t.sort_unstable();
    t
}

fn deployment(replicas: u32) -> String {
    format!("[[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = {replicas}\n")
}

/// Pods created in each group of equal creation times, in time order.
fn runs_of_equal_times(created: &[SimTime]) -> Vec<usize> {
    created
        .chunk_by(|a, b| a == b)
        .map(|run| run.len())
        .collect()
}

/// docs/reference/kube.md §2.1: kube-controller-manager's client (20 qps, burst 30) paces a 5,000-replica
/// deployment: after the burst, one create every 50 ms, so the last pod appears (5000 − 30) / 20 = 248.5 s
/// after the first, and never sooner than the bucket allows.
#[test]
fn kube_2_1_a_5000_replica_deployment_is_created_at_the_replicaset_clients_qps() {
    let w = run_checked(&scenario("6m", &deployment(5_000)));
    let created = times(&w, |p| Some(p.created));
    assert_eq!(created.len(), 5_000);
    let first = created[0];
    // Each pod is one API latency (under a second here) after its token.
    let slack = 1.0;
    let span = secs(created[4_999]) - secs(first);
    assert!(
        (248.5 - slack..248.5 + slack).contains(&span),
        "last pod {span} s after the first"
    );
    for (k, &t) in created.iter().enumerate() {
        let earliest = (k as f64 + 1.0 - 30.0) / 20.0;
        assert!(
            secs(t) - secs(first) >= earliest - slack,
            "pod {k} created {} s after the first, before its token at {earliest} s",
            secs(t) - secs(first)
        );
    }
    // The controller's client, not the simulation, sets the pace.
    let fast = scenario(
        "6m",
        &format!(
            "[controllers]\nreplicaset = {{ qps = 1000, burst = 1000 }}\n{}",
            deployment(5_000)
        ),
    );
    let w = run_checked(&fast);
    let created = times(&w, |p| Some(p.created));
    assert_eq!(created.len(), 5_000);
    let span = secs(created[4_999]) - secs(created[0]);
    assert!(span < 20.0, "{span} s at 1000 qps");
}

/// docs/reference/kube.md §2.3: a sync sends its creates in batches of 1, 2, 4, …, each batch once the last
/// has returned, and at most `burst_replicas` creates a sync; the next sync follows once the informer has
/// seen them. With a fixed 100 ms API latency and a client that never throttles, each batch appears 100 ms
/// after the one before.
#[test]
fn kube_2_3_creates_go_in_slow_start_batches_at_most_burst_replicas_a_sync() {
    let quick = "[api_server]\nlatency = \"100ms\"\n\
                 [controllers]\nreplicaset = { qps = 100000, burst = 100000";
    let w = run_checked(&scenario(
        "1m",
        &format!("{quick} }}\n{}", deployment(1_200)),
    ));
    let created = times(&w, |p| Some(p.created));
    let sync = |last: usize| {
        let mut b = vec![1, 2, 4, 8, 16, 32, 64, 128];
        b.push(last);
        b
    };
    let mut expected = sync(245);
    expected.extend(sync(245));
    expected.extend([1, 2, 4, 8, 16, 32, 64, 73]);
    assert_eq!(runs_of_equal_times(&created), expected);
    // One batch every 100 ms, without a gap between syncs.
    let distinct: Vec<SimTime> = created
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for (k, t) in distinct.iter().enumerate() {
        assert_eq!(
            *t,
            SimTime::ZERO + SimDuration::from_millis(100 * (k as u64 + 1))
        );
    }
    // kube.md §2.3's example: 100 creates a sync go as 1, 2, 4, 8, 16, 32, 37.
    let w = run_checked(&scenario(
        "1m",
        &format!("{quick}, burst_replicas = 100 }}\n{}", deployment(200)),
    ));
    let created = times(&w, |p| Some(p.created));
    let one = [1, 2, 4, 8, 16, 32, 37];
    assert_eq!(runs_of_equal_times(&created), [one, one].concat());
}

/// docs/reference/kube.md §2.3 (`getPodsToDelete`): a scale-down deletes the pods not yet on a node before
/// running ones, and the newest running ones first.
#[test]
fn kube_2_3_scale_down_deletes_pending_pods_before_running_ones() {
    // One m5.large: 27 pod slots beside the 2 host-network pods; 40 replicas leave 13 pending.
    let s = scenario(
        "6m",
        "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 1\nsubnets = [\"a\"]\n\
         [[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = 40\n\
         scale = [{ at = \"4m\", replicas = 20 }]\n",
    );
    let w = run_checked(&s);
    let all = pods(&w);
    assert_eq!(all.len(), 40, "a scale-down creates nothing");
    let never_scheduled: Vec<&Pod> = all
        .iter()
        .copied()
        .filter(|p| p.scheduled.is_none())
        .collect();
    assert_eq!(never_scheduled.len(), 13);
    assert!(never_scheduled.iter().all(|p| p.state == PodState::Gone));
    let ran: Vec<(usize, &Pod)> = all
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, p)| p.running.is_some())
        .collect();
    assert_eq!(ran.len(), 27);
    let deleted: Vec<usize> = ran
        .iter()
        .filter(|(_, p)| p.deleted.is_some())
        .map(|&(i, _)| i)
        .collect();
    // 20 remain: the 7 newest running pods went with the 13 pending ones.
    let newest: Vec<usize> = ran[20..].iter().map(|&(i, _)| i).collect();
    assert_eq!(deleted, newest);
    let kept = ran
        .iter()
        .filter(|(_, p)| p.state == PodState::Running)
        .count();
    assert_eq!(kept, 20);
}

/// docs/reference/kube.md §3: one pod per scheduling cycle, and one `pods/binding` POST per pod through the
/// scheduler's client (50 qps, burst 100): 1,000 pods waiting for nodes are placed 2.5 ms apart, but kubelet
/// sees the bindings beyond the first 100 at 50 a second.
#[test]
fn kube_3_the_scheduler_places_one_pod_a_cycle_and_binds_at_its_clients_qps() {
    // The pods are all created (at 1,000 qps) before the node, with a slot for each, is Ready.
    let s = scenario(
        "2m",
        &format!(
            "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.24xlarge\"\ncount = 1\nmax_pods = 1010\n\
             subnets = [\"a\"]\n\
             [controllers]\nreplicaset = {{ qps = 1000, burst = 1000 }}\n{}",
            deployment(1_000)
        ),
    );
    let w = run_checked(&s);
    let ready = w
        .cluster
        .nodes
        .iter()
        .filter_map(|n| n.ready_at)
        .min()
        .expect("a node is Ready");
    assert!(pods(&w).into_iter().all(|p| p.created < ready));
    let scheduled = times(&w, |p| p.scheduled);
    let bound = times(&w, |p| p.bound);
    assert_eq!((scheduled.len(), bound.len()), (1_000, 1_000));
    let cycle = SimDuration::from_micros(2_500);
    assert!(scheduled.windows(2).all(|w| w[1] >= w[0] + cycle));
    // Placing every pod takes 1,000 cycles.
    let placing = scheduled[999].since(scheduled[0]);
    assert_eq!(placing, SimDuration::from_micros(2_500 * 999));
    // Binding pod k takes a token at (k + 1 − 100) / 50 s after the first placement at the earliest, and
    // kubelet sees it an API latency (under a second) later.
    let first = secs(scheduled[0]);
    for (k, &t) in bound.iter().enumerate() {
        let token = (k as f64 + 1.0 - 100.0).max(0.0) / 50.0;
        let after = secs(t) - first;
        assert!(
            (token..token + 1.0).contains(&after),
            "binding {k} seen {after} s after the first placement, its token at {token} s"
        );
    }
}

/// docs/reference/kube.md §2.3: a drained node's deployment pods are replaced by their ReplicaSet, through
/// its client: a replacement exists only once the controller's create has returned, at least an API latency
/// after the eviction.
#[test]
fn kube_2_3_evicted_deployment_pods_are_replaced_through_the_replicaset() {
    let s = scenario(
        "12m",
        "[api_server]\nlatency = \"50ms\"\n\
         [[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n\
         rollouts = [{ at = \"3m\", batch = 1 }]\n\
         [[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = 12\n",
    );
    let w = run_checked(&s);
    let all = pods(&w);
    let replacements: Vec<&Pod> = all
        .iter()
        .copied()
        .filter(|p| p.replaces.is_some())
        .collect();
    assert!(
        replacements.len() >= 12,
        "{} replacements",
        replacements.len()
    );
    for p in replacements {
        let old = &all[p.replaces.unwrap() as usize];
        let evicted = old.deleted.expect("the replaced pod was deleted");
        assert!(
            p.created >= evicted + SimDuration::from_millis(50),
            "replacement created {} s, eviction {} s",
            secs(p.created),
            secs(evicted)
        );
    }
    let running = all
        .iter()
        .copied()
        .filter(|p| p.state == PodState::Running)
        .count();
    assert_eq!(running, 12);
}

/// docs/reference/kube.md §2.4: evicted pods of a steady workload are replaced by the Job controller, which
/// coalesces pod events for `sync_batch` (1 s) before it syncs.
#[test]
fn kube_2_4_evicted_steady_pods_are_replaced_after_the_job_controllers_sync_batch() {
    let s = scenario(
        "12m",
        "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n\
         rollouts = [{ at = \"3m\", batch = 1 }]\n\
         [[workloads]]\nname = \"api\"\ntype = \"steady\"\npods_per_minute = 30\nlifetime = \"1h\"\n",
    );
    let w = run_checked(&s);
    let all = pods(&w);
    let replacements: Vec<&Pod> = all
        .iter()
        .copied()
        .filter(|p| p.replaces.is_some())
        .collect();
    assert!(!replacements.is_empty());
    for p in replacements {
        let evicted = all[p.replaces.unwrap() as usize].deleted.unwrap();
        assert!(p.created >= evicted + SimDuration::from_secs(1));
        assert!(
            p.lifetime < Some(SimDuration::from_secs(3600)),
            "the lifetime it had left"
        );
    }
}
