//! The Kubernetes layer end to end, through the library: scheduling policies, kubelet's sandbox retries and
//! the wait reasons they record, max-pods and max-ENIs limits, node-group scale steps, rollouts, the
//! provisioner and its consolidation, trace replay, and the invariants every run must keep (no address held by
//! two live pods, monotone pod timestamps).

mod invariants;

use invariants::run_checked;
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::kube::nodes::NodePhase;
use vpcsim::sim::kube::pods::{Pod, PodState, WaitReason};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::World;

/// A VPC with two /20 subnets and the given node groups, workloads and extra tables.
fn scenario(duration: &str, rest: &str) -> Scenario {
    scenario_at("t.toml", duration, rest)
}

/// [`scenario`], as if read from `file` (a trace workload's file is found next to it).
fn scenario_at(file: &str, duration: &str, rest: &str) -> Scenario {
    let text = format!(
        r#"name = "t"
seed = 7
duration = "{duration}"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/20"
az = "us-east-1a"
[[subnets]]
name = "b"
cidr = "10.0.16.0/20"
az = "us-east-1a"
{rest}"#
    );
    scenarios::parse(&text, file).unwrap_or_else(|e| panic!("{e}"))
}

fn pods(world: &World) -> Vec<&Pod> {
    world.all_pods()
}

fn in_state(world: &World, state: PodState) -> Vec<&Pod> {
    pods(world)
        .into_iter()
        .filter(|p| p.state == state)
        .collect()
}

fn running(world: &World) -> usize {
    in_state(world, PodState::Running).len()
}

fn wait_reasons(pods: &[&Pod]) -> Vec<Option<WaitReason>> {
    pods.iter().map(|p| p.wait_reason).collect()
}

fn pods_per_node(world: &World) -> Vec<u32> {
    world.cluster.nodes.iter().map(|n| n.pods).collect()
}

/// A deployment "web" of `replicas` that scales to `to` at one minute.
fn web(replicas: u32, to: u32) -> String {
    format!(
        "[[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = {replicas}\n\
         scale = [{{ at = \"1m\", replicas = {to} }}]\n"
    )
}

const ONE_NODE: &str = r#"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 1
subnets = ["a"]
"#;

#[test]
fn a_deployment_runs_on_a_node_and_its_pods_get_distinct_addresses() {
    let s = scenario("5m", &format!("{ONE_NODE}{}", web(20, 20)));
    let w = run_checked(&s);
    assert_eq!(running(&w), 20);
    assert_eq!(pods_per_node(&w), vec![20]);
    let node = &w.cluster.nodes[0];
    assert_eq!(node.phase, NodePhase::Ready);
    // docs/reference/ec2.md §7: instance running after 10–12 s, boot 8–9 s, then ipamd's init, then cni_ready.
    let ready = node.ready_at.unwrap().as_secs_f64();
    assert!((19.0..40.0).contains(&ready), "node Ready at {ready}s");
}

#[test]
fn pods_that_outgrow_the_warm_pool_wait_for_an_eni_and_say_why() {
    // The pool starts with one ENI's 9 addresses plus a warm ENI; 25 pods at once need a third ENI.
    let s = scenario("5m", &format!("{ONE_NODE}{}", web(0, 25)));
    let w = run_checked(&s);
    assert_eq!(running(&w), 25);
    let waited: Vec<&Pod> = pods(&w).into_iter().filter(|p| p.failed_adds > 0).collect();
    assert!(!waited.is_empty(), "some pods retried their sandbox");
    for p in &waited {
        let reason = p.wait_reason.expect("a pod that waited has a reason");
        assert!(
            matches!(
                reason,
                WaitReason::EniAttaching | WaitReason::PoolEmpty | WaitReason::Assigning
            ),
            "{reason}"
        );
        // kubelet's back-off: 10 s with up to 50 % jitter per retry.
        let wait = p
            .ip_assigned
            .unwrap()
            .since(p.scheduled.unwrap())
            .as_secs_f64();
        assert!(
            wait >= 10.0 * f64::from(p.failed_adds),
            "{wait}s for {} retries",
            p.failed_adds
        );
        assert!(
            wait <= 16.0 * f64::from(p.failed_adds),
            "{wait}s for {} retries",
            p.failed_adds
        );
    }
}

#[test]
fn spread_balances_nodes_and_pack_fills_one() {
    let two = format!(
        "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n{}",
        web(0, 6)
    );
    let spread = run_checked(&scenario("4m", &two));
    assert_eq!(pods_per_node(&spread), vec![3, 3]);
    let pack = run_checked(&scenario(
        "4m",
        &format!("{two}\n[scheduler]\npolicy = \"pack\"\n"),
    ));
    let mut per = pods_per_node(&pack);
    per.sort();
    assert_eq!(per, vec![0, 6]);
}

#[test]
fn pods_beyond_max_pods_stay_pending_as_max_pods() {
    let s = scenario("3m", &format!("{ONE_NODE}{}", web(0, 35)));
    let w = run_checked(&s);
    // m5.large: max-pods 29 (3 ENIs × 9 + 2), of which aws-node and kube-proxy (host network) take two.
    assert_eq!(pods_per_node(&w), vec![27]);
    let pending = in_state(&w, PodState::Pending);
    assert_eq!(pending.len(), 8);
    assert!(
        pending
            .iter()
            .all(|p| p.wait_reason == Some(WaitReason::MaxPods))
    );
    assert_eq!(w.timeseries.rows.last().unwrap().pods_pending, 8);
}

#[test]
fn an_overloaded_node_costs_the_scheduler_work_in_its_pods_not_in_their_square() {
    // One m5.large (27 pod slots) receiving 1,000 pods a minute for an hour: nearly every pod is still
    // waiting at the end, and every arrival and every freed slot runs a scheduling cycle.
    let flood = "[[workloads]]\nname = \"flood\"\ntype = \"steady\"\npods_per_minute = 1000\n\
                 lifetime = { dist = \"exponential\", mean = \"1m\" }\n";
    let w = run_checked(&scenario("60m", &format!("{ONE_NODE}{flood}")));
    let created = pods(&w).len() as u64;
    let waiting = in_state(&w, PodState::Pending);
    assert!(waiting.len() > 55_000, "{} pending", waiting.len());
    assert!(
        waiting
            .iter()
            .all(|p| p.wait_reason == Some(WaitReason::MaxPods))
    );
    // Walking every pending pod at each cycle would visit about 10⁹ queue entries.
    let visited = w.cluster.scheduler().pods_visited();
    assert!(
        visited <= 3 * created,
        "{visited} queue entries visited for {created} pods"
    );
}

#[test]
fn pods_keep_the_reason_they_waited_for_when_bound_or_deleted() {
    let rest = format!(
        "{ONE_NODE}[[workloads]]\nname = \"early\"\ntype = \"deployment\"\nreplicas = 3\n\
         [[workloads]]\nname = \"huge\"\ntype = \"deployment\"\nreplicas = 2\ncpu = \"2\"\n\
         scale = [{{ at = \"2m\", replicas = 0 }}]\n\
         [[workloads]]\nname = \"late\"\ntype = \"deployment\"\nreplicas = 0\n\
         scale = [{{ at = \"3m\", replicas = 2 }}]\n"
    );
    let w = run_checked(&scenario("5m", &rest));
    let of = |workload: u32| pods(&w).into_iter().filter(move |p| p.workload == workload);
    // Created before the node was Ready, bound once it was.
    assert!(
        of(0)
            .all(|p| p.state == PodState::Running
                && p.wait_reason == Some(WaitReason::Unschedulable))
    );
    // Too large for the node (2 CPUs requested), deleted while pending.
    assert!(of(1).all(|p| p.state == PodState::Gone
        && p.scheduled.is_none()
        && p.wait_reason == Some(WaitReason::Unschedulable)));
    // Bound at their first cycle: they never waited.
    assert!(of(2).all(|p| p.state == PodState::Running && p.wait_reason.is_none()));
    assert_eq!([of(0).count(), of(1).count(), of(2).count()], [3, 2, 2]);
}

#[test]
fn pods_beyond_the_enis_addresses_wait_as_max_enis() {
    // kubelet allows 40 pods, but 3 ENIs × 9 secondary addresses hold only 27.
    let s = scenario("4m", &format!("{ONE_NODE}max_pods = 40\n{}", web(0, 30)));
    let w = run_checked(&s);
    assert_eq!(running(&w), 27);
    let stuck = in_state(&w, PodState::Starting);
    assert_eq!(stuck.len(), 3);
    // They are still waiting because every ENI is full.
    assert_eq!(wait_reasons(&stuck), [Some(WaitReason::MaxEnis); 3]);
}

#[test]
fn pods_beyond_the_minimum_wait_as_targets_met_and_never_start() {
    // docs/reference/ipamd.md §8.7: in prefix mode, MINIMUM_IP_TARGET = 16 with WARM_IP_TARGET = 0 is met by
    // one /28, so ipamd never asks for a second although max-pods (110) allows it: 4 of 20 pods wait forever.
    let s = scenario(
        "5m",
        &format!(
            "{ONE_NODE}[node_groups.ipamd]\nENABLE_PREFIX_DELEGATION = true\nWARM_PREFIX_TARGET = 0\n\
             WARM_IP_TARGET = 0\nMINIMUM_IP_TARGET = 16\n{}",
            web(0, 20)
        ),
    );
    let w = run_checked(&s);
    assert_eq!(running(&w), 16);
    let stuck = in_state(&w, PodState::Starting);
    assert_eq!(stuck.len(), 4);
    // Not "awaiting-tick": the ticks come and do nothing, because the warm targets say the pool is enough.
    assert_eq!(wait_reasons(&stuck), [Some(WaitReason::TargetsMet); 4]);
    assert!(stuck.iter().all(|p| p.failed_adds > 1));
}

#[test]
fn scale_steps_grow_and_shrink_a_group() {
    let s = scenario(
        "10m",
        r#"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 2
subnets = ["a", "b"]
scale = [{ at = "2m", count = 4 }, { at = "6m", count = 1 }]
"#,
    );
    let w = run_checked(&s);
    let phases: Vec<NodePhase> = w.cluster.nodes.iter().map(|n| n.phase).collect();
    assert_eq!(phases.len(), 4);
    assert_eq!(phases.iter().filter(|&&p| p == NodePhase::Ready).count(), 1);
    assert_eq!(
        phases
            .iter()
            .filter(|&&p| p == NodePhase::Terminated)
            .count(),
        3
    );
    // Terminated nodes' ENIs went with their instances (DeleteOnTermination): only the last node's are left.
    let last = w.timeseries.rows.last().unwrap();
    assert_eq!(last.instances_running, 1);
    let survivor = w
        .cluster
        .nodes
        .iter()
        .find(|n| n.phase == NodePhase::Ready)
        .unwrap();
    assert_eq!(last.enis, survivor.ipamd.state().ds.eni_count());
}

#[test]
fn a_rollout_replaces_every_node_and_the_deployment_keeps_its_pods() {
    let s = scenario(
        "15m",
        r#"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 3
subnets = ["a"]
rollouts = [{ at = "3m", batch = 1 }]
[[workloads]]
name = "web"
type = "deployment"
replicas = 12
"#,
    );
    let w = run_checked(&s);
    let nodes = &w.cluster.nodes;
    assert_eq!(nodes.len(), 6);
    for n in &nodes[..3] {
        assert_eq!(n.phase, NodePhase::Terminated);
    }
    for n in &nodes[3..] {
        assert_eq!(n.phase, NodePhase::Ready);
    }
    assert_eq!(running(&w), 12);
    let replacements = pods(&w)
        .into_iter()
        .filter(|p| p.replaces.is_some())
        .count();
    assert!(replacements >= 12, "every original pod was evicted once");
}

#[test]
fn the_provisioner_launches_nodes_for_pending_pods_and_consolidates_empty_ones() {
    let s = scenario(
        "10m",
        r#"
[[node_groups]]
name = "karpenter"
instance_type = "m5.large"
count = 0
subnets = ["a", "b"]
provisioner = { max_nodes = 10, consolidate_after = "30s" }
[[workloads]]
name = "web"
type = "deployment"
replicas = 0
scale = [{ at = "1m", replicas = 50 }, { at = "6m", replicas = 0 }]
"#,
    );
    let w = run_checked(&s);
    // 50 pods at 29 per node: two nodes, launched together in one batch.
    assert_eq!(w.cluster.nodes.len(), 2);
    let launched: Vec<f64> = w
        .cluster
        .nodes
        .iter()
        .map(|n| n.registered.as_secs_f64())
        .collect();
    assert!((launched[0] - launched[1]).abs() < 5.0, "{launched:?}");
    assert_eq!(
        pods(&w).into_iter().filter(|p| p.running.is_some()).count(),
        50
    );
    // Scaled to zero at 6 min: both nodes empty for 30 s, then gone.
    assert!(
        w.cluster
            .nodes
            .iter()
            .all(|n| n.phase == NodePhase::Terminated)
    );
}

#[test]
fn steady_pods_come_and_go_and_cronjobs_fire_on_time() {
    let s = scenario(
        "30m",
        &format!(
            "{ONE_NODE}
[[workloads]]
name = \"api\"
type = \"steady\"
pods_per_minute = 6
lifetime = \"2m\"
[[workloads]]
name = \"batch\"
type = \"cronjob\"
every = \"10m\"
pods = 3
duration = \"1m\"
"
        ),
    );
    let w = run_checked(&s);
    let api = pods(&w).into_iter().filter(|p| p.workload == 0).count();
    assert!(
        (120..=240).contains(&api),
        "{api} steady arrivals in 30 min at 6/min"
    );
    let cron: Vec<f64> = pods(&w)
        .into_iter()
        .filter(|p| p.workload == 1)
        .map(|p| p.created.as_secs_f64())
        .collect();
    // Each firing's Job creates its 3 pods through the Job controller's client (docs/reference/kube.md §2.4):
    // within its burst, so each appears an API latency after the firing (under a second), the first alone in
    // its slow-start batch. The firing at the run's last instant has no pod in the API yet.
    assert_eq!(cron.len(), 9, "{cron:?}");
    for (firing, at) in cron.chunks(3).zip([0.0, 600.0, 1200.0]) {
        assert!(firing.iter().all(|&t| t > at && t < at + 1.0), "{firing:?}");
        assert!(firing[0] < firing[1].min(firing[2]), "{firing:?}");
    }
    // Steady pods' containers run 2 min from their start, which the API shows as Running after PLEG's next
    // relist (≤ 1 s) and a status update (docs/reference/kube.md §4.2): they complete just under 2 min after
    // Running and over 2 min after their image was present.
    for p in pods(&w).into_iter().filter(|p| p.workload == 0) {
        if let (Some(r), Some(d), Some(i)) = (p.running, p.deleted, p.image_pulled) {
            let lived = d.since(r).as_secs_f64();
            assert!((118.0..120.0).contains(&lived), "{lived}");
            assert!(d.since(i).as_secs_f64() > 120.0);
        }
    }
}

#[test]
fn pods_on_a_group_stay_on_it() {
    let s = scenario(
        "3m",
        r#"
[[node_groups]]
name = "one"
instance_type = "m5.large"
count = 1
subnets = ["a"]
[[node_groups]]
name = "two"
instance_type = "m5.large"
count = 1
subnets = ["b"]
[[workloads]]
name = "web"
type = "deployment"
replicas = 5
node_group = "two"
"#,
    );
    let w = run_checked(&s);
    for p in pods(&w) {
        let n = p.node.expect("scheduled");
        assert_eq!(w.cluster.nodes[n as usize].group, 1);
    }
}

#[test]
fn a_trace_replays_pods_and_node_group_changes_at_their_times() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace-replay");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("trace.csv"),
        "time,action,target,attributes\n\
         60,create_pod,a,lifetime=2m\n\
         60,create_pod,b,\n\
         90,scale_node_group,g,count=2\n\
         4m,delete_pod,b,\n\
         5m,create_pod,b,cpu=500m\n",
    )
    .unwrap();
    let toml = dir.join("t.toml");
    let workload = "[[workloads]]\nname = \"replay\"\ntype = \"trace\"\nfile = \"trace.csv\"\n";
    let s = scenario_at(
        toml.to_str().unwrap(),
        "8m",
        &format!("{ONE_NODE}{workload}"),
    );
    let w = run_checked(&s);
    let p = pods(&w);
    assert_eq!(p.len(), 3);
    let secs = |t: Option<SimTime>| t.map(|t| t.as_secs_f64());
    assert_eq!(p[0].created.as_secs_f64(), 60.0);
    // "a" lives 2 minutes from its containers' start, which the API shows Running a relist and a status
    // update later.
    let lived = secs(p[0].deleted).unwrap() - secs(p[0].running).unwrap();
    assert!((118.0..120.0).contains(&lived), "{lived}");
    assert_eq!(secs(p[1].deleted), Some(240.0));
    assert_eq!(p[2].created.as_secs_f64(), 300.0);
    assert_eq!(p[2].shape.cpu_milli, 500);
    assert_eq!(p[2].state, PodState::Running);
    // The group grew to two nodes at 90 s.
    assert_eq!(w.cluster.nodes.len(), 2);
    assert!(w.cluster.nodes[1].registered.as_secs_f64() > 90.0);
}

#[test]
fn a_rollout_asked_for_during_another_waits_and_the_group_keeps_its_size() {
    let s = scenario(
        "20m",
        &format!(
            "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 2\nsubnets = [\"a\"]\n\
             rollouts = [{{ at = \"2m\", batch = 1 }}, {{ at = \"150s\", batch = 2 }}]\n{}",
            web(10, 10)
        ),
    );
    let w = run_checked(&s);
    let phases: Vec<NodePhase> = w.cluster.nodes.iter().map(|n| n.phase).collect();
    // Two nodes replaced one at a time, then those two replaced together.
    assert_eq!(phases.len(), 6, "{phases:?}");
    assert_eq!(phases.iter().filter(|&&p| p == NodePhase::Ready).count(), 2);
    assert_eq!(running(&w), 10);
}

#[test]
fn a_throttled_termination_is_asked_again_until_the_instance_goes() {
    // One TerminateInstances call per 100 s: three of the four calls fail after the SDK's retries.
    let s = scenario(
        "15m",
        r#"
[accounts.default.limits.TerminateInstances]
burst = 1
refill_per_sec = 0.01
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 4
subnets = ["a"]
scale = [{ at = "2m", count = 0 }]
"#,
    );
    let w = run_checked(&s);
    let calls = w
        .ec2
        .record()
        .action(vpcsim::sim::ec2::Action::TerminateInstances);
    assert!(calls.throttled > 0);
    assert_eq!(w.timeseries.rows.last().unwrap().instances_running, 0);
}

// -------------------------------------------------------------------------------------------------------------
// kubelet (docs/reference/kube.md §4)

/// `n` deployments of one replica each, from `at` on, whose images are given by `image(i)`.
fn one_pod_each(n: usize, image: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[workloads]]\nname = \"w{i}\"\ntype = \"deployment\"\nreplicas = 1\nimage = {}\n",
                image(i)
            )
        })
        .collect()
}

fn secs_between(from: Option<SimTime>, to: Option<SimTime>) -> f64 {
    to.expect("reached")
        .since(from.expect("reached"))
        .as_secs_f64()
}

/// When each pod's image was present, sorted.
fn images_present(world: &World) -> Vec<f64> {
    let mut t: Vec<f64> = pods(world)
        .iter()
        .map(|p| p.image_pulled.expect("pulled").as_secs_f64())
        .collect();
    t.sort_by(f64::total_cmp);
    t
}

#[test]
fn kube_4_4_serialised_pulls_of_different_images_queue_and_of_one_image_end_together() {
    let different = one_pod_each(4, |i| {
        format!("{{ name = \"r/app{i}:1\", pull = \"10s\" }}")
    });
    let w = run_checked(&scenario("3m", &format!("{ONE_NODE}{different}")));
    let t = images_present(&w);
    // Whole microseconds: the differences of the times as seconds carry float error.
    let gaps: Vec<f64> = t
        .windows(2)
        .map(|w| ((w[1] - w[0]) * 1e6).round() / 1e6)
        .collect();
    assert_eq!(gaps, [10.0, 10.0, 10.0], "{t:?}");
    // The first pull starts at its pod's CNI ADD.
    let first = pods(&w)
        .into_iter()
        .map(|p| secs_between(p.ip_assigned, p.image_pulled))
        .fold(f64::INFINITY, f64::min);
    assert_eq!(first, 10.0);

    let same = one_pod_each(4, |_| "{ name = \"r/app:1\", pull = \"10s\" }".to_string());
    let w = run_checked(&scenario("3m", &format!("{ONE_NODE}{same}")));
    let t = images_present(&w);
    assert!(t.iter().all(|&x| x == t[0]), "{t:?}");
}

#[test]
fn kube_4_4_unserialised_pulls_overlap() {
    let different = one_pod_each(4, |i| {
        format!("{{ name = \"r/app{i}:1\", pull = \"10s\" }}")
    });
    let w = run_checked(&scenario(
        "3m",
        &format!("{ONE_NODE}[kubelet]\nserialize_image_pulls = false\n{different}"),
    ));
    for p in pods(&w) {
        assert_eq!(secs_between(p.ip_assigned, p.image_pulled), 10.0);
    }
    let t = images_present(&w);
    assert!(t[3] - t[0] < 10.0, "{t:?}");
}

const TWO_NODES: &str = r#"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 2
subnets = ["a"]
"#;

/// A deployment with `image` scaled to 2 pods at 1 minute, when both nodes are Ready (one pod each, spread),
/// then to 4 at 2 minutes.
fn two_then_four(image: &str) -> String {
    format!(
        "{TWO_NODES}[kubelet]\nmanifest_check = \"250ms\"\n[[workloads]]\nname = \"web\"\ntype = \"deployment\"\n\
         replicas = 0\nscale = [{{ at = \"1m\", replicas = 2 }}, {{ at = \"2m\", replicas = 4 }}]\nimage = {image}\n"
    )
}

#[test]
fn kube_4_4_a_node_pulls_an_image_once_and_another_node_pulls_it_again() {
    let w = run_checked(&scenario(
        "4m",
        &two_then_four("{ name = \"r/app:1.2\", pull = \"10s\" }"),
    ));
    let p = pods(&w);
    assert_eq!(p.len(), 4);
    // The first two pods are on different nodes, and each node pulls.
    assert_ne!(p[0].node, p[1].node);
    for first in &p[..2] {
        assert_eq!(secs_between(first.ip_assigned, first.image_pulled), 10.0);
    }
    // The later two find the image held: present at their CNI ADD.
    for later in &p[2..] {
        assert_eq!(secs_between(later.ip_assigned, later.image_pulled), 0.0);
    }
}

#[test]
fn kube_4_4_always_pays_the_manifest_check_on_a_node_that_holds_the_image() {
    let w = run_checked(&scenario(
        "4m",
        &two_then_four("{ name = \"r/app:1.2\", pull = \"10s\", policy = \"Always\" }"),
    ));
    let p = pods(&w);
    for later in &p[2..] {
        assert_eq!(secs_between(later.ip_assigned, later.image_pulled), 0.25);
    }
}

/// One m5.xlarge node; a deployment of one pod of an `Always` image, scaled to 13 at one minute: twelve
/// manifest checks at once, unserialised, against a registry limiter of `registry`.
fn twelve_checks(registry: &str, duration: &str) -> World {
    run_checked(&scenario(
        duration,
        &format!(
            "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.xlarge\"\ncount = 1\nsubnets = [\"a\"]\n\
             [kubelet]\nserialize_image_pulls = false\n{registry}\n\
             [[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = 1\n\
             scale = [{{ at = \"1m\", replicas = 13 }}]\n\
             image = {{ name = \"r/app:latest\", pull = \"5s\" }}\n"
        ),
    ))
}

#[test]
fn kube_4_4_the_registry_limiter_fails_pulls_at_once_and_they_back_off() {
    // Ten tokens and almost no refill (one token each 1,000 s): the first pod's pull took one, so three of
    // the twelve checks fail, and fail again after 10, 20, 40 and 80 s; the next retry, 160 s later, is past
    // the end.
    let w = twelve_checks("registry_pull_qps = 0.001\nregistry_burst = 10", "5m");
    let failed: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.failed_pulls > 0)
        .collect();
    assert_eq!(failed.len(), 3);
    for p in &failed {
        assert_eq!(p.failed_pulls, 5, "{p:?}");
        assert_eq!(p.wait_reason, Some(WaitReason::ImagePullBackOff));
        assert_eq!(p.image_pulled, None);
        assert_eq!(p.state, PodState::Starting);
    }
    assert_eq!(running(&w), 10);
    // At 5 pulls a second the tokens are back by the first retry, 10 s later. (A burst of 8: the controller
    // and the scheduler spread the twelve pods' checks over a fraction of a second, in which the default 10
    // would nearly suffice.)
    let w = twelve_checks("registry_burst = 8", "3m");
    let failed: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.failed_pulls > 0)
        .collect();
    assert!(!failed.is_empty());
    for p in &failed {
        assert_eq!(p.failed_pulls, 1);
        let waited = secs_between(p.ip_assigned, p.image_pulled);
        assert!((10.0..11.0).contains(&waited), "{waited}");
    }
    assert_eq!(running(&w), 13);
}

#[test]
fn kube_4_4_a_never_pulled_image_the_node_lacks_keeps_its_pod_from_starting() {
    let never = "[[workloads]]\nname = \"w\"\ntype = \"deployment\"\nreplicas = 2\n\
                 image = { name = \"r/app:1\", policy = \"Never\" }\n";
    let w = run_checked(&scenario("2m", &format!("{ONE_NODE}{never}")));
    for p in pods(&w) {
        assert_eq!(p.wait_reason, Some(WaitReason::ImageNeverPull));
        assert!(p.ip_assigned.is_some() && p.running.is_none());
    }
}

/// One m5.4xlarge node that holds 110 addresses by the time 100 pods are bound to it at once, at 2 minutes.
fn hundred_pods(api: &str) -> World {
    run_checked(&scenario(
        "5m",
        &format!(
            "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.4xlarge\"\ncount = 1\nsubnets = [\"a\"]\n\
             max_pods = 110\nipamd = {{ WARM_IP_TARGET = 5, MINIMUM_IP_TARGET = 110 }}\n\
             [kubelet]\n{api}\n\
             [[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = 0\n\
             scale = [{{ at = \"2m\", replicas = 100 }}]\n"
        ),
    ))
}

/// Seconds from the pods' binding until the last of them is Running.
fn all_running_after_binding(w: &World) -> f64 {
    let p = pods(w);
    assert_eq!(p.len(), 100);
    assert!(
        p.iter().all(|p| p.failed_adds == 0),
        "every pod had an address at once"
    );
    let bound = p.iter().filter_map(|p| p.scheduled).min().unwrap();
    let last = p.iter().map(|p| p.running.expect("Running")).max().unwrap();
    last.since(bound).as_secs_f64()
}

/// kube.md §4.1: 100 pods on one node at kubelet's old 5/10 take about a minute (PR #1030 measured 67.5 s
/// to all Ready); at 50/100 a few seconds.
#[test]
fn kube_4_1_kubelet_qps_paces_a_dense_nodes_start() {
    let slow = all_running_after_binding(&hundred_pods("api_qps = 5\napi_burst = 10"));
    let fast = all_running_after_binding(&hundred_pods(""));
    // 300 calls at 5 a second after a burst of 10: (300 − 10) / 5 = 58 s.
    assert!((55.0..65.0).contains(&slow), "{slow}");
    assert!(fast < 10.0, "{fast}");
}

/// A deployment "web" of one pod on one node, with the given extra keys, scaled to 0 at `delete_at`.
fn one_web_pod(extra: &str, delete_at: &str) -> World {
    run_checked(&scenario(
        "5m",
        &format!(
            "{ONE_NODE}[[workloads]]\nname = \"web\"\ntype = \"deployment\"\nreplicas = 1\n\
             scale = [{{ at = \"{delete_at}\", replicas = 0 }}]\n{extra}\n"
        ),
    ))
}

#[test]
fn kube_4_5_ready_at_the_first_probe_at_or_after_warm_up() {
    // Warm after 25 s: probes when PLEG sees the container (within 1 s of its start), then 10 and 20 s
    // later, are too early; the one 30 s later succeeds.
    let w = one_web_pod("readiness = { warmup = \"25s\" }", "4m");
    let p = &pods(&w)[0];
    let after_running = secs_between(p.running, p.ready);
    assert!((29.5..30.5).contains(&after_running), "{after_running}");
    // Ready at once when warm at once; and without a probe, Ready is Running.
    let w = one_web_pod("readiness = {}", "4m");
    let p = &pods(&w)[0];
    assert!(secs_between(p.running, p.ready) < 0.5);
    let w = one_web_pod("", "4m");
    let p = &pods(&w)[0];
    assert_eq!(p.ready, p.running);
}

#[test]
fn kube_4_6_a_grace_period_delays_the_cni_del_until_the_app_exits() {
    let w = one_web_pod("termination = { shutdown = \"5s\" }", "2m");
    let p = &pods(&w)[0];
    let held = secs_between(p.deleted, p.ip_released);
    // The exit after SIGTERM, then at most the API's latency and the sandbox's stop; within the grace.
    assert!((5.0..6.0).contains(&held), "{held}");
    assert!(held <= 30.0 + 0.4);
    // An application that ignores SIGTERM is killed at the grace period's end.
    let w = one_web_pod(
        "termination = { grace_period = \"10s\", shutdown = \"1m\" }",
        "2m",
    );
    let held = secs_between(pods(&w)[0].deleted, pods(&w)[0].ip_released);
    assert!((10.0..11.0).contains(&held), "{held}");
}

#[test]
fn kube_4_6_a_prestop_beyond_the_grace_still_leaves_sigterm_two_seconds() {
    let w = one_web_pod(
        "termination = { grace_period = \"10s\", pre_stop = \"1m\", shutdown = \"30s\" }",
        "2m",
    );
    let held = secs_between(pods(&w)[0].deleted, pods(&w)[0].ip_released);
    assert!((12.0..13.0).contains(&held), "{held}");
}

#[test]
fn kube_4_6_a_completed_pod_frees_its_address_with_no_grace_period() {
    let s = scenario(
        "5m",
        &format!(
            "{ONE_NODE}[[workloads]]\nname = \"batch\"\ntype = \"cronjob\"\nevery = \"1m\"\npods = 2\n\
             duration = \"20s\"\ntermination = {{ grace_period = \"1m\", pre_stop = \"30s\", shutdown = \"30s\" }}\n"
        ),
    );
    let w = run_checked(&s);
    let done: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.ip_released.is_some())
        .collect();
    assert!(done.len() >= 6);
    for p in done {
        // The exit, seen at PLEG's next relist (≤ 1 s), then the sandbox's stop (≤ 0.4 s).
        let held = secs_between(p.deleted, p.ip_released);
        assert!(held <= 1.4, "{held}");
    }
}

#[test]
fn a_group_without_its_own_lifecycle_starts_exactly_as_node_lifecycle_says() {
    let lifecycle = r#"boot = { dist = "uniform", min = "30s", max = "40s" }
aws_node_start = "5s"
cni_ready = { dist = "uniform", min = "1s", max = "2s" }
"#;
    let group = "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 3\nsubnets = [\"a\"]\n";
    let global = scenario("3m", &format!("[node_lifecycle]\n{lifecycle}{group}"));
    let own = scenario(
        "3m",
        &format!("{group}[node_groups.lifecycle]\n{lifecycle}"),
    );
    let phases = |w: &World| -> Vec<_> {
        w.cluster
            .nodes
            .iter()
            .map(|n| (n.registered, n.aws_node_started, n.ready_at))
            .collect()
    };
    let (a, b) = (phases(&run_checked(&global)), phases(&run_checked(&own)));
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
    // And the setting took: registration after EC2's 10–12 s and the 30–40 s boot, aws-node 5 s later.
    for (registered, aws_node, ready) in a {
        assert!(registered.as_secs_f64() >= 40.0, "{registered:?}");
        assert_eq!(aws_node.unwrap() - registered, SimDuration::from_secs(5));
        assert!(ready.unwrap() > aws_node.unwrap());
    }
}

/// A pod whose containers complete before kubelet's status update shows them Running still ran: it counts
/// as started (at its completion), not as a pod that never started.
#[test]
fn kube_4_2_a_pod_that_completes_before_it_shows_running_counts_as_started() {
    let s = scenario(
        "3m",
        &format!(
            "{ONE_NODE}[[workloads]]\nname = \"blink\"\ntype = \"steady\"\npods_per_minute = 30\n\
             lifetime = \"100ms\"\nstart = \"1m\"\n"
        ),
    );
    let w = run_checked(&s);
    let done: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.deleted.is_some())
        .collect();
    assert!(done.len() > 20, "{}", done.len());
    let mut unseen = 0;
    for p in &done {
        let (running, deleted) = (p.running.expect("started"), p.deleted.unwrap());
        assert!(running <= deleted, "{p:?}");
        assert_eq!(p.ready, Some(running));
        unseen += usize::from(running == deleted);
    }
    // Most complete before PLEG's next relist and the status update could show them Running.
    assert!(unseen * 2 > done.len(), "{unseen} of {}", done.len());
}

/// docs/reference/ec2.md §3.6: a VPC with a secondary block from 100.64.0.0/10 for custom networking, as the
/// EKS guide advises: the nodes in the primary block, their pods' ENIs and addresses in the secondary one.
#[test]
fn ec2_3_6_custom_networking_puts_pods_in_a_secondary_100_64_block() {
    let text = r#"name = "t"
duration = "3m"
[vpc]
cidr = "10.0.0.0/16"
secondary_cidrs = ["100.64.0.0/16"]
[[subnets]]
name = "nodes"
cidr = "10.0.0.0/24"
az = "us-east-1a"
[[subnets]]
name = "pods"
cidr = "100.64.0.0/18"
az = "us-east-1a"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 2
subnets = ["nodes"]
ipamd = { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true }
eni_config = { subnet = "pods" }
[[workloads]]
name = "web"
type = "deployment"
replicas = 20
"#;
    let s = scenarios::parse(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.vpc.secondary_cidrs, ["100.64.0.0/16".parse().unwrap()]);
    let w = run_checked(&s);
    let block: ipnet::IpNet = "100.64.0.0/18".parse().unwrap();
    let started: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.running.is_some())
        .collect();
    assert_eq!(started.len(), 20);
    for p in started {
        assert!(block.contains(&p.address.expect("an address")), "{p:?}");
    }
}
