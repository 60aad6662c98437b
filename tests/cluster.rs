//! The Kubernetes layer end to end, through the library: scheduling policies, kubelet's sandbox retries and
//! the wait reasons they record, max-pods and max-ENIs limits, node-group scale steps, rollouts, the
//! provisioner and its consolidation, trace replay, and the invariants every run must keep (no address held by
//! two live pods, monotone pod timestamps).

mod invariants;

use invariants::check_invariants;
use vpcsim::scenarios::{self, Scenario};
use vpcsim::sim::engine::Engine;
use vpcsim::sim::kube::nodes::NodePhase;
use vpcsim::sim::kube::pods::{Pod, PodState, WaitReason};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::{Event, World};

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

fn run(s: &Scenario) -> World {
    let (mut world, mut engine): (World, Engine<Event>) =
        World::build(s, false, false).expect("builds");
    engine.run_until(&mut world, SimTime::ZERO + s.duration);
    check_invariants(&world, SimTime::ZERO + s.duration);
    world
}

fn pods(world: &World) -> &[Pod] {
    world.cluster.pods.all()
}

fn in_state(world: &World, state: PodState) -> Vec<&Pod> {
    pods(world).iter().filter(|p| p.state == state).collect()
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
    let w = run(&s);
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
    let w = run(&s);
    assert_eq!(running(&w), 25);
    let waited: Vec<&Pod> = pods(&w).iter().filter(|p| p.failed_adds > 0).collect();
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
    let spread = run(&scenario("4m", &two));
    assert_eq!(pods_per_node(&spread), vec![3, 3]);
    let pack = run(&scenario(
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
    let w = run(&s);
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
    let w = run(&scenario("60m", &format!("{ONE_NODE}{flood}")));
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
    let w = run(&scenario("5m", &rest));
    let of = |workload: u32| pods(&w).iter().filter(move |p| p.workload == workload);
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
    let w = run(&s);
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
    let w = run(&s);
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
    let w = run(&s);
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
    let w = run(&s);
    let nodes = &w.cluster.nodes;
    assert_eq!(nodes.len(), 6);
    for n in &nodes[..3] {
        assert_eq!(n.phase, NodePhase::Terminated);
    }
    for n in &nodes[3..] {
        assert_eq!(n.phase, NodePhase::Ready);
    }
    assert_eq!(running(&w), 12);
    let replacements = pods(&w).iter().filter(|p| p.replaces.is_some()).count();
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
    let w = run(&s);
    // 50 pods at 29 per node: two nodes, launched together in one batch.
    assert_eq!(w.cluster.nodes.len(), 2);
    let launched: Vec<f64> = w
        .cluster
        .nodes
        .iter()
        .map(|n| n.booted.as_secs_f64())
        .collect();
    assert!((launched[0] - launched[1]).abs() < 5.0, "{launched:?}");
    assert_eq!(pods(&w).iter().filter(|p| p.running.is_some()).count(), 50);
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
    let w = run(&s);
    let api = pods(&w).iter().filter(|p| p.workload == 0).count();
    assert!(
        (120..=240).contains(&api),
        "{api} steady arrivals in 30 min at 6/min"
    );
    let cron: Vec<f64> = pods(&w)
        .iter()
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
    // Steady pods live 2 min from Running; none lives much longer.
    for p in pods(&w).iter().filter(|p| p.workload == 0) {
        if let (Some(r), Some(d)) = (p.running, p.deleted) {
            assert_eq!(d.since(r).as_secs_f64(), 120.0);
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
    let w = run(&s);
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
    let w = run(&s);
    let p = pods(&w);
    assert_eq!(p.len(), 3);
    let secs = |t: Option<SimTime>| t.map(|t| t.as_secs_f64());
    assert_eq!(p[0].created.as_secs_f64(), 60.0);
    // "a" lives 2 minutes from Running.
    assert_eq!(
        p[0].deleted.unwrap().since(p[0].running.unwrap()),
        SimDuration::from_secs(120)
    );
    assert_eq!(secs(p[1].deleted), Some(240.0));
    assert_eq!(p[2].created.as_secs_f64(), 300.0);
    assert_eq!(p[2].shape.cpu_milli, 500);
    assert_eq!(p[2].state, PodState::Running);
    // The group grew to two nodes at 90 s.
    assert_eq!(w.cluster.nodes.len(), 2);
    assert!(w.cluster.nodes[1].booted.as_secs_f64() > 90.0);
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
    let w = run(&s);
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
    let w = run(&s);
    let calls = w
        .ec2
        .record()
        .action(vpcsim::sim::ec2::Action::TerminateInstances);
    assert!(calls.throttled > 0);
    assert_eq!(w.timeseries.rows.last().unwrap().instances_running, 0);
}
