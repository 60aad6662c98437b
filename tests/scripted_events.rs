//! Scripted `[[events]]` end to end: workload control (scale, paused deletions, stopped arrivals), external
//! callers on the account's buckets, lost nodes with and without notice, launch-template changes; each run
//! keeps the invariants every run must keep.

mod invariants;

use invariants::{one_subnet, run_checked};
use vpcsim::scenarios::Scenario;
use vpcsim::sim::ec2::Action;
use vpcsim::sim::kube::pods::{Pod, PodState};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::world::World;

/// Four m5.large nodes of group "g" in a /20, then `rest`.
fn scenario(duration: &str, rest: &str) -> Scenario {
    let group = "[[node_groups]]\nname = \"g\"\ninstance_type = \"m5.large\"\ncount = 4\nsubnets = [\"a\"]\n";
    one_subnet("t", 7, duration, "10.0.0.0/20", &format!("{group}{rest}"))
}

/// Two events on the queue workload: `on` at `from`, `off` at `to`.
fn queue_between(on: &str, from: &str, off: &str, to: &str) -> String {
    format!(
        "{QUEUE}\n[[events]]\nat = \"{from}\"\ndo = \"{on}\"\nworkload = \"queue\"\n\
         [[events]]\nat = \"{to}\"\ndo = \"{off}\"\nworkload = \"queue\"\n"
    )
}

const QUEUE: &str = r#"
[[workloads]]
name = "queue"
type = "steady"
pods_per_minute = 12
lifetime = { dist = "fixed", value = "2m" }
"#;

fn pods(w: &World) -> Vec<&Pod> {
    w.all_pods()
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

#[test]
fn stopped_arrivals_create_nothing_and_resume_with_the_uninterrupted_runs_pods() {
    let plain = run_checked(&scenario("30m", QUEUE));
    let gated = run_checked(&scenario(
        "30m",
        &queue_between("stop-arrivals", "10m", "start-arrivals", "20m"),
    ));
    let created = |w: &World| -> Vec<SimTime> { pods(w).iter().map(|p| p.created).collect() };
    let (all, some) = (created(&plain), created(&gated));
    assert!(some.iter().all(|&t| t < secs(600) || t >= secs(1200)));
    // The arrival process kept its draws: outside the gap the creation instants are the same.
    let outside: Vec<SimTime> = all
        .iter()
        .copied()
        .filter(|&t| t < secs(600) || t >= secs(1200))
        .collect();
    assert_eq!(some, outside);
    let dropped = all.len() - some.len();
    assert!(dropped > 100, "{dropped} arrivals dropped");
    assert_eq!(gated.cluster.gates()[0].dropped as usize, dropped);
}

#[test]
fn paused_deletions_keep_pods_and_their_addresses_until_resumed() {
    let w = run_checked(&scenario(
        "40m",
        &queue_between("pause-deletions", "10m", "resume-deletions", "25m"),
    ));
    let ended = |p: &Pod| p.deleted;
    // No pod of the workload ends during the pause; at its end every held pod ends at once.
    assert!(
        pods(&w)
            .into_iter()
            .filter_map(ended)
            .all(|t| t < secs(600) || t >= secs(1500))
    );
    let at_resume = pods(&w)
        .into_iter()
        .filter(|p| p.deleted == Some(secs(1500)))
        .count();
    let gate = &w.cluster.gates()[0];
    assert_eq!(gate.ends_held as usize, at_resume);
    assert!(at_resume > 100, "{at_resume} ends held");
    assert!(gate.held.is_empty());
    // Held pods kept running past their two-minute lifetime, holding their addresses.
    let overstayed = pods(&w)
        .into_iter()
        .filter(|p| {
            p.running.is_some_and(|r| {
                p.deleted
                    .is_some_and(|d| d.since(r) > SimDuration::from_secs(300))
            })
        })
        .count();
    assert!(overstayed > 50, "{overstayed} pods overstayed");
}

#[test]
fn a_scale_event_sets_a_deployments_replicas() {
    let w = run_checked(&scenario(
        "10m",
        r#"
[[workloads]]
name = "web"
type = "deployment"
replicas = 10
[[events]]
at = "2m"
do = "scale"
workload = "web"
replicas = 40
"#,
    ));
    let running = pods(&w)
        .into_iter()
        .filter(|p| p.state == PodState::Running)
        .count();
    assert_eq!(running, 40);
    assert!(
        pods(&w)
            .into_iter()
            .filter(|p| p.created >= secs(120))
            .count()
            >= 30
    );
}

#[test]
fn ec2_1_3_an_external_caller_draws_on_the_accounts_buckets_and_is_counted_apart() {
    // DescribeNetworkInterfaces refills 20 tokens a second (docs/reference/ec2.md §1.3): 60 calls a second
    // for five minutes are throttled, and the cluster's own nodes, starting meanwhile, feel it.
    let load = r#"
[[events]]
at = "0s"
do = "api-load"
caller = "other-cluster"
for = "5m"
calls_per_second = { DescribeNetworkInterfaces = 60 }
"#;
    let quiet = run_checked(&scenario("10m", ""));
    let busy = run_checked(&scenario("10m", load));
    let (name, tally) = busy.external.tallies().next().expect("one caller");
    assert_eq!(name, "other-cluster");
    let a = Action::DescribeNetworkInterfaces.index();
    let calls = tally.calls[a];
    assert!((15_000..21_000).contains(&calls), "{calls} calls");
    assert!(tally.throttled[a] > calls / 2, "{:?}", tally);
    // Its attempts are not the cluster's.
    let cluster = |w: &World| {
        w.ec2
            .record()
            .action(Action::DescribeNetworkInterfaces)
            .attempts()
    };
    assert!(cluster(&busy) < 1_000, "{}", cluster(&busy));
    assert!(
        busy.ec2.record().total_throttled() > quiet.ec2.record().total_throttled(),
        "the nodes' start-up Describe calls were throttled too"
    );
}

/// A deployment of 60 on four nodes, and three of them lost at 5 minutes.
fn lost(notice: &str) -> World {
    run_checked(&scenario(
        "15m",
        &format!(
            r#"
[[workloads]]
name = "web"
type = "deployment"
replicas = 60
[[events]]
at = "5m"
do = "lose-nodes"
node_group = "g"
count = 3
notice = "{notice}"
"#
        ),
    ))
}

#[test]
fn kube_5_6_a_spot_interruption_drains_at_its_notice_and_the_group_replaces_the_instances() {
    let w = lost("2m");
    assert_eq!(w.cluster.nodes_lost, 3);
    let evicted: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.deleted.is_some_and(|d| d >= secs(300) && d < secs(301)))
        .collect();
    assert!(
        evicted.len() >= 30,
        "{} evicted at the notice",
        evicted.len()
    );
    // Replacements run on the surviving node and the replacement instances.
    let running = pods(&w)
        .into_iter()
        .filter(|p| p.state == PodState::Running)
        .count();
    assert_eq!(running, 60);
    assert_eq!(
        w.cluster.nodes.len(),
        7,
        "four nodes and three replacements"
    );
    let live = w
        .ec2
        .inventory()
        .instances()
        .iter()
        .filter(|i| i.state == vpcsim::sim::ec2::InstanceState::Running)
        .count();
    assert_eq!(live, 4);
}

#[test]
fn kube_5_6_a_failed_instance_takes_its_pods_until_the_garbage_collector_deletes_them() {
    let w = lost("0s");
    let lost_at = secs(300);
    let collected = lost_at + SimDuration::from_secs(90);
    // The lost nodes' pods end with their instance, their addresses gone with its ENIs; the pod garbage
    // collector deletes them 50 s + 40 s later, and only then are they replaced.
    let gone: Vec<&Pod> = pods(&w)
        .into_iter()
        .filter(|p| p.deleted == Some(lost_at))
        .collect();
    assert!(gone.len() >= 30, "{}", gone.len());
    assert!(gone.iter().all(|p| p.ip_released == Some(lost_at)));
    assert!(
        pods(&w)
            .into_iter()
            .all(|p| p.created <= lost_at || p.created >= collected)
    );
    let replacements = pods(&w)
        .into_iter()
        .filter(|p| p.created >= collected)
        .count();
    assert!(replacements >= gone.len(), "{replacements} replacements");
    let running = pods(&w)
        .into_iter()
        .filter(|p| p.state == PodState::Running)
        .count();
    assert_eq!(running, 60);
}

#[test]
fn a_launch_template_change_applies_to_nodes_launched_after_it() {
    let w = run_checked(&scenario(
        "20m",
        r#"
[[events]]
at = "1m"
do = "launch-template"
node_group = "g"
max_pods = 20
[[events]]
at = "3m"
do = "lose-nodes"
node_group = "g"
count = 2
"#,
    ));
    let max_pods: Vec<u32> = w.cluster.nodes.iter().map(|n| n.max_pods).collect();
    assert_eq!(max_pods, vec![29, 29, 29, 29, 20, 20]);
}

#[test]
fn events_are_sweep_axes_by_name_or_index() {
    let text = format!(
        r#"name = "t"
duration = "20m"
[vpc]
cidr = "10.0.0.0/16"
[[subnets]]
name = "a"
cidr = "10.0.0.0/20"
az = "us-east-1a"
[[node_groups]]
name = "g"
instance_type = "m5.large"
count = 2
subnets = ["a"]
{QUEUE}
[[events]]
name = "stall"
at = "5m"
do = "pause-deletions"
workload = "queue"
[[events]]
at = "15m"
do = "resume-deletions"
workload = "queue"
[sweep.axes]
"events.stall.at" = ["2m", "8m"]
"events.1.at" = ["10m", "12m"]
"#
    );
    let sweep =
        vpcsim::scenarios::sweep::parse_sweep(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sweep.points(), 4);
    let times: Vec<(u64, u64)> = (0..4)
        .map(|p| {
            let s = sweep.scenario(p, 0).unwrap_or_else(|e| panic!("{e:?}"));
            let at = |label: &str| {
                s.script
                    .events
                    .iter()
                    .find(|e| e.label == label)
                    .expect("event")
                    .at
                    .as_secs_f64() as u64
            };
            (at("stall"), at("resume-deletions#1"))
        })
        .collect();
    assert_eq!(times, vec![(120, 600), (120, 720), (480, 600), (480, 720)]);
}

/// Four nodes of `g` and a second group `h` of two, with the given events.
fn two_groups(events: &str) -> World {
    run_checked(&scenario(
        "30m",
        &format!(
            r#"
[[node_groups]]
name = "h"
instance_type = "m5.large"
count = 2
subnets = ["a"]
[node_groups.ipamd]
WARM_IP_TARGET = 3
{events}"#
        ),
    ))
}

#[test]
fn kube_5_5_an_aws_node_update_rolls_each_group_and_stacks_on_earlier_updates() {
    let w = two_groups(
        r#"
[[events]]
at = "5m"
do = "update-aws-node"
max_unavailable = 1
ipamd = { WARM_IP_TARGET = 1 }
[[events]]
at = "15m"
do = "update-aws-node"
node_group = "h"
max_unavailable = "100%"
ipamd = { MINIMUM_IP_TARGET = 4 }
"#,
    );
    let rollouts = &w.cluster.rollouts;
    assert_eq!(rollouts.len(), 3, "g and h at 5m, h at 15m");
    assert_eq!(
        rollouts
            .iter()
            .map(|r| (r.group, r.restarted, r.max_down))
            .collect::<Vec<_>>(),
        vec![(0, 4, 1), (1, 2, 1), (1, 2, 2)]
    );
    assert!(rollouts.iter().all(|r| r.finished.is_some()));
    let targets = |g: usize| -> Vec<(u32, u32)> {
        w.cluster
            .nodes
            .iter()
            .filter(|n| n.group == g)
            .map(|n| {
                let st = n.ipamd.state();
                (st.cfg.warm_ip_target, st.cfg.minimum_ip_target)
            })
            .collect()
    };
    assert_eq!(targets(0), vec![(1, 0); 4]);
    // The second update stacks on the first for group h.
    assert_eq!(targets(1), vec![(1, 4); 2]);
}

#[test]
fn kube_5_5_an_aws_node_restart_keeps_the_configuration_and_restarts_every_node() {
    let w = two_groups(
        r#"
[[events]]
at = "5m"
do = "restart-aws-node"
max_unavailable = "50%"
"#,
    );
    let restarted: u32 = w.cluster.rollouts.iter().map(|r| r.restarted).sum();
    assert_eq!(restarted, 6);
    let h: Vec<u32> = w
        .cluster
        .nodes
        .iter()
        .filter(|n| n.group == 1)
        .map(|n| n.ipamd.state().cfg.warm_ip_target)
        .collect();
    assert_eq!(h, vec![3, 3]);
    assert_eq!(
        w.cluster
            .rollouts
            .iter()
            .map(|r| r.max_down)
            .collect::<Vec<_>>(),
        vec![2, 1]
    );
}

fn summary_of(s: &Scenario, w: &World) -> serde_json::Value {
    let perf = vpcsim::report::Perf {
        wall_s: 1.0,
        stats: vpcsim::sim::engine::RunStats::default(),
        simulated_s: s.duration.as_secs_f64(),
    };
    vpcsim::report::summary(s, w, perf, vpcsim::report::Keys::Used)
}

#[test]
fn ec2_3_5_reservation_events_call_ec2_and_say_how_it_went() {
    let s = scenario(
        "30m",
        r#"
[[subnets.reservations]]
type = "explicit"
cidr = "10.0.15.0/24"
[[events]]
name = "reserve"
at = "5m"
do = "create-reservation"
subnet = "a"
type = "prefix"
cidr = "10.0.8.0/22"
[[events]]
name = "overlapping"
at = "6m"
do = "create-reservation"
subnet = "a"
type = "prefix"
cidr = "10.0.14.0/23"
[[events]]
name = "unreserve"
at = "20m"
do = "delete-reservation"
subnet = "a"
cidr = "10.0.8.0/22"
[[events]]
name = "unreserve-the-refused"
at = "21m"
do = "delete-reservation"
subnet = "a"
cidr = "10.0.14.0/23"
"#,
    );
    let w = run_checked(&s);
    let sum = summary_of(&s, &w);
    let outcome = |label: &str| sum["events"]["fired"][label]["outcome"].clone();
    assert_eq!(outcome("reserve"), "ok");
    assert_eq!(outcome("overlapping"), "InvalidParameterValue");
    assert_eq!(outcome("unreserve"), "ok");
    assert_eq!(
        outcome("unreserve-the-refused"),
        "InvalidSubnetCidrReservationID.NotFound"
    );
    let r = &sum["subnets"]["a"]["reservations"]["10.0.8.0/22"];
    let created = r["created_s"].as_f64().unwrap();
    assert!((300.0..301.0).contains(&created), "{r}");
    assert!(r["deleted_s"].as_f64().unwrap() >= 1200.0, "{r}");
}

#[test]
fn ec2_3_7_a_launch_template_change_makes_later_nodes_leak() {
    let s = scenario(
        "40m",
        r#"
[[events]]
at = "1m"
do = "launch-template"
node_group = "g"
eni_leak_probability = 1.0
delete_on_termination = false
[[events]]
at = "2m"
do = "lose-nodes"
node_group = "g"
count = 2
notice = "2m"
[[events]]
at = "20m"
do = "lose-nodes"
node_group = "g"
count = 4
"#,
    );
    let w = run_checked(&s);
    let sum = summary_of(&s, &w);
    let leaked = &sum["enis"]["leaked"];
    // Only the two replacements, launched after the change, leave ENIs behind: their primaries at least.
    assert!(leaked["primary"].as_u64().unwrap() >= 2, "{leaked}");
    assert!(leaked["primary"].as_u64().unwrap() <= 4, "{leaked}");
}
