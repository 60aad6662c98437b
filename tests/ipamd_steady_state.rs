//! ipamd's whole life on one node against docs/reference/ipamd.md: start-up, then the loop run until nothing changes.
//! Covers the integration tests' steady states (§6.8), the documentation's tables (§6.9, with the two rows the
//! code does not reproduce asserted as the code behaves), the worked growth sequences of §2.7, and the
//! surprises of §8 as they show at loop level.
//!
//! Nodes start fresh: the primary ENI alone, in a /24 tagged for the CNI, 0 pods. Their kubelet max-pods is the
//! EKS calculator's value for the mode (§5.2). Pods arrive one at a time, a tick (5 s) apart, a failed ADD
//! retried every second as the kubelet would; the documented numbers are the steady states of such a node.
//! `Choice::Ordered` puts pods on the lowest device, then the lowest address. The leaked-ENI sweep is off.

mod ipamd_rig;

use ipamd_rig::{Rig, fixed_ec2, ordered, refused_assign, secs};
use vpcsim::sim::dist::DurationDist;
use vpcsim::sim::ec2::action::BucketSpec;
use vpcsim::sim::ec2::config::Ec2Config;
use vpcsim::sim::ec2::instance_types::lookup;
use vpcsim::sim::ec2::max_pods::{MaxPodsOptions, max_pods};
use vpcsim::sim::ec2::{Action, AddressCount, ErrorCode, Request};
use vpcsim::sim::ipamd::Task;
use vpcsim::sim::ipamd::config::IpamdConfig;
use vpcsim::sim::ipamd::daemon::{CallTrace, HALF_TICK};
use vpcsim::sim::kube::diagnosis::why_no_address;
use vpcsim::sim::kube::pods::WaitReason;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::SubnetId;

const TICK: SimDuration = SimDuration::from_secs(5);
/// Long enough for every node here to stop changing: growth is one action per tick, releases 35 s apart, ENIs
/// freed only at 60 s of age.
const SETTLE: SimDuration = SimDuration::from_secs(300);

fn warm_eni(n: u32) -> IpamdConfig {
    IpamdConfig {
        warm_eni_target: n,
        ..ordered()
    }
}

fn warm_ip(w: u32, m: u32) -> IpamdConfig {
    IpamdConfig {
        warm_ip_target: w,
        minimum_ip_target: m,
        ..ordered()
    }
}

fn pd(warm_prefix: u32, w: u32, m: u32) -> IpamdConfig {
    IpamdConfig {
        enable_prefix_delegation: true,
        warm_prefix_target: warm_prefix,
        ..warm_ip(w, m)
    }
}

/// Starts the node's ipamd for its whole life (`Task::Run`), without the leaked-ENI sweep: that goroutine's
/// hourly DescribeNetworkInterfaces would land in the call traces at a random time (it has tests of its own).
fn start_ipamd(mut rig: Rig, cfg: IpamdConfig) -> Rig {
    let cfg = IpamdConfig {
        disable_leaked_eni_cleanup: true,
        ..cfg
    };
    let opts = MaxPodsOptions {
        prefix_delegation: cfg.enable_prefix_delegation,
        ..MaxPodsOptions::default()
    };
    let max_pods = max_pods(lookup(rig.instance_type).unwrap(), &opts).unwrap();
    rig.ipamd(cfg, max_pods, Task::Run);
    rig.start();
    rig
}

/// A fresh node of `instance` with its ipamd started.
fn fresh_node(instance: &'static str, cfg: IpamdConfig) -> Rig {
    start_ipamd(Rig::new(instance, vec![]), cfg)
}

/// A fresh node settled, then given `pods` pods one by one, then settled again.
fn steady(instance: &'static str, cfg: IpamdConfig, pods: u64) -> Rig {
    let mut rig = fresh_node(instance, cfg);
    rig.run_for(SETTLE);
    rig.add_pods(0..pods, TICK);
    rig.run_for(SETTLE);
    rig
}

/// Addresses in the pool not held by pods.
fn unused(rig: &Rig) -> u32 {
    let m = rig.d().metrics(rig.now());
    m.total_ip_addresses - m.assigned_ip_addresses
}

/// Secondary IPs per ENI, by device index (asserting there are no prefixes).
fn ips_per_eni(rig: &Rig) -> Vec<usize> {
    let layout = rig.layout();
    assert!(layout.iter().all(|&(_, p)| p == 0), "{layout:?}");
    layout.iter().map(|&(ips, _)| ips).collect()
}

/// Prefixes per ENI, by device index (asserting there are no secondary IPs).
fn prefixes_per_eni(rig: &Rig) -> Vec<usize> {
    let layout = rig.layout();
    assert!(layout.iter().all(|&(ips, _)| ips == 0), "{layout:?}");
    layout.iter().map(|&(_, p)| p).collect()
}

fn calls_of(rig: &Rig, action: Action) -> Vec<CallTrace> {
    rig.calls()
        .into_iter()
        .filter(|c| c.request.action() == action)
        .collect()
}

// §6.8 End-to-end steady states. The integration tests ran on m5-class nodes; an m5.xlarge (M = 14, 4 ENIs,
// P = 14) has room for every row.

fn m5_xlarge(cfg: IpamdConfig) -> Rig {
    steady("m5.xlarge", cfg, 0)
}

#[test]
fn case_55_warm_target_test_warm_eni_3_max_eni_2() {
    let cfg = IpamdConfig {
        max_eni: Some(2),
        ..warm_eni(3)
    };
    assert_eq!(ips_per_eni(&m5_xlarge(cfg)), vec![14, 14]);
}

#[test]
fn case_56_warm_target_test_warm_eni_3() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_eni(3))), vec![14, 14, 14]);
}

#[test]
fn case_57_warm_target_test_warm_eni_2() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_eni(2))), vec![14, 14]);
}

#[test]
fn case_58_warm_target_test_warm_ip_2() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_ip(2, 0))), vec![2]);
}

#[test]
fn case_59_warm_target_test_warm_ip_16() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_ip(16, 0))), vec![14, 2]);
}

#[test]
fn case_60_warm_target_test_minimum_ip_2() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_ip(0, 2))), vec![2]);
}

#[test]
fn case_61_warm_target_test_minimum_ip_16() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_ip(0, 16))), vec![14, 2]);
}

#[test]
fn case_62_warm_target_test_warm_ip_6_minimum_ip_10() {
    assert_eq!(ips_per_eni(&m5_xlarge(warm_ip(6, 10))), vec![10]);
}

#[test]
fn case_63_warm_target_test_pd_enabled_warm_ip_or_minimum_ip_give_1_prefix() {
    for (w, m) in [(2, 0), (16, 0), (0, 2), (0, 16), (6, 10)] {
        let rig = m5_xlarge(pd(0, w, m));
        assert_eq!(prefixes_per_eni(&rig), vec![1], "W {w}, M {m}");
    }
}

#[test]
fn case_64_warm_target_test_pd_enabled_warm_prefix_2() {
    let rig = m5_xlarge(pd(2, 0, 0));
    assert_eq!(prefixes_per_eni(&rig), vec![2]);
    let assigns: Vec<String> = calls_of(&rig, Action::AssignPrivateIpAddresses)
        .iter()
        .map(ipamd_rig::summarize)
        .collect();
    assert_eq!(assigns, vec!["AssignPrivateIpAddresses(prefixes=2)"]);
}

#[test]
fn case_65_warm_target_test_pd_enabled_warm_ip_overrides_warm_prefix() {
    for (wp, w, m) in [(1, 2, 0), (0, 16, 0), (2, 0, 2), (0, 0, 16), (1, 6, 10)] {
        let rig = m5_xlarge(pd(wp, w, m));
        assert_eq!(prefixes_per_eni(&rig), vec![1], "WP {wp}, W {w}, M {m}");
    }
}

// §6.9 SIP, t3.small (M = 3, 3 ENIs).

#[test]
fn doc_sip_t3_small_warm_eni_1_pods_0() {
    let rig = steady("t3.small", warm_eni(1), 0);
    assert_eq!(ips_per_eni(&rig), vec![3]);
}

#[test]
fn doc_sip_t3_small_warm_eni_1_pods_5() {
    let rig = steady("t3.small", warm_eni(1), 5);
    assert_eq!(ips_per_eni(&rig), vec![3, 3, 3]);
}

#[test]
fn doc_sip_t3_small_warm_eni_1_pods_9() {
    let rig = steady("t3.small", warm_eni(1), 9);
    assert_eq!(ips_per_eni(&rig), vec![3, 3, 3]);
}

#[test]
fn doc_sip_t3_small_warm_ip_1_min_1_pods_0() {
    let rig = steady("t3.small", warm_ip(1, 1), 0);
    assert_eq!(ips_per_eni(&rig), vec![1]);
}

#[test]
fn doc_sip_t3_small_warm_ip_1_min_1_pods_5() {
    let rig = steady("t3.small", warm_ip(1, 1), 5);
    assert_eq!(ips_per_eni(&rig), vec![3, 3]);
}

#[test]
fn doc_sip_t3_small_warm_ip_2_min_5_pods_0() {
    let rig = steady("t3.small", warm_ip(2, 5), 0);
    assert_eq!(ips_per_eni(&rig), vec![3, 2]);
}

#[test]
fn doc_sip_t3_small_warm_ip_2_min_5_pods_5() {
    let rig = steady("t3.small", warm_ip(2, 5), 5);
    assert_eq!(ips_per_eni(&rig), vec![3, 3, 1]);
}

// §6.9 SIP, p3dn.24xlarge (M = 49).

#[test]
fn doc_sip_p3dn_warm_eni_1_pods_3() {
    let rig = steady("p3dn.24xlarge", warm_eni(1), 3);
    assert_eq!(ips_per_eni(&rig), vec![49, 49]);
}

#[test]
fn doc_sip_p3dn_warm_eni_1_pods_95() {
    let rig = steady("p3dn.24xlarge", warm_eni(1), 95);
    assert_eq!(ips_per_eni(&rig), vec![49, 49, 49]);
}

#[test]
fn doc_sip_p3dn_warm_ip_5_min_10_pods_0() {
    let rig = steady("p3dn.24xlarge", warm_ip(5, 10), 0);
    assert_eq!(ips_per_eni(&rig), vec![10]);
}

#[test]
fn doc_sip_p3dn_warm_ip_5_min_10_pods_7() {
    let rig = steady("p3dn.24xlarge", warm_ip(5, 10), 7);
    assert_eq!(ips_per_eni(&rig), vec![12]);
}

#[test]
fn doc_sip_p3dn_warm_ip_5_min_10_pods_15() {
    let rig = steady("p3dn.24xlarge", warm_ip(5, 10), 15);
    assert_eq!(ips_per_eni(&rig), vec![20]);
}

#[test]
fn doc_sip_p3dn_warm_ip_5_min_10_pods_45() {
    let rig = steady("p3dn.24xlarge", warm_ip(5, 10), 45);
    assert_eq!(ips_per_eni(&rig), vec![49, 1]);
}

// §6.9 PD, t3.small (3 prefixes per ENI).

/// Prefixes per ENI and unused addresses.
fn pd_t3_small(cfg: IpamdConfig, pods: u64) -> (Vec<usize>, u32) {
    let rig = steady("t3.small", cfg, pods);
    (prefixes_per_eni(&rig), unused(&rig))
}

#[test]
fn doc_pd_t3_small_warm_prefix_1_pods_0() {
    assert_eq!(pd_t3_small(pd(1, 0, 0), 0), (vec![1], 16));
}

#[test]
fn doc_pd_t3_small_warm_prefix_1_pods_5() {
    assert_eq!(pd_t3_small(pd(1, 0, 0), 5), (vec![2], 27));
}

#[test]
fn doc_pd_t3_small_warm_prefix_1_pods_16() {
    assert_eq!(pd_t3_small(pd(1, 0, 0), 16), (vec![2], 16));
}

#[test]
fn doc_pd_t3_small_warm_prefix_1_pods_17() {
    assert_eq!(pd_t3_small(pd(1, 0, 0), 17), (vec![3], 31));
}

#[test]
fn doc_pd_t3_small_warm_prefix_1_pods_58() {
    assert_eq!(pd_t3_small(pd(1, 0, 0), 58), (vec![3, 2], 22));
}

#[test]
fn doc_pd_t3_small_warm_ip_1_min_1_pods_58() {
    assert_eq!(pd_t3_small(pd(0, 1, 1), 58), (vec![3, 1], 6));
}

/// The doc says 1 prefix and 16 unused; the code allocates ceil(20/16) = 2 prefixes and never releases the
/// second, because needM = 2.
#[test]
fn doc_mismatch_pd_t3_small_warm_ip_7_min_20_pods_0_code_keeps_2_prefixes() {
    assert_eq!(pd_t3_small(pd(0, 7, 20), 0), (vec![2], 32));
}

// §6.9 PD, p3dn.24xlarge (49 prefixes per ENI), WARM_IP = 5, MIN = 10. The doc shows 2 or 3 ENIs on some rows,
// the extra ones without prefixes; the code never creates an ENI while the primary has free prefix slots, so
// every row stays on 1 ENI (the doc mismatch of §6.9), with the doc's prefix counts.

fn pd_p3dn(pods: u64) -> Vec<usize> {
    prefixes_per_eni(&steady("p3dn.24xlarge", pd(0, 5, 10), pods))
}

#[test]
fn doc_pd_p3dn_warm_ip_5_min_10_pods_0() {
    assert_eq!(pd_p3dn(0), vec![1]);
}

#[test]
fn doc_pd_p3dn_warm_ip_5_min_10_pods_7() {
    assert_eq!(pd_p3dn(7), vec![1]);
}

#[test]
fn doc_mismatch_pd_p3dn_warm_ip_5_min_10_pods_15_code_keeps_1_eni() {
    assert_eq!(pd_p3dn(15), vec![2]);
}

#[test]
fn doc_mismatch_pd_p3dn_warm_ip_5_min_10_pods_45_code_keeps_1_eni() {
    assert_eq!(pd_p3dn(45), vec![4]);
}

// §2.7 Worked growth sequences.

/// One tick, plus the few seconds a new ENI takes to attach and show in IMDS.
const TICK_AND_ENI: SimDuration = SimDuration::from_secs(10);

fn eni_count(rig: &Rig) -> usize {
    rig.layout().len()
}

#[test]
fn spec_2_7_sip_warm_eni_1_m4_4xlarge_0_1_29_30_pods_give_1_2_2_3_enis() {
    let mut rig = fresh_node("m4.4xlarge", warm_eni(1));
    rig.run_for(SETTLE);
    // 29 free on the primary: 29 < 29 is false (the README's 2 ENIs at 0 pods is off by one).
    assert_eq!(ips_per_eni(&rig), vec![29]);
    let mut pods = 0;
    for (upto, enis) in [(1, 2), (29, 2), (30, 3)] {
        rig.add_pods(pods..upto, TICK);
        pods = upto;
        rig.run_for(TICK_AND_ENI);
        assert_eq!(eni_count(&rig), enis, "{upto} pods, one tick later");
        rig.run_for(SETTLE);
        assert_eq!(eni_count(&rig), enis, "{upto} pods, settled");
    }
}

#[test]
fn spec_2_7_sip_warm_ip_2_min_5_t3_small_primary_then_eni_with_2() {
    let mut rig = fresh_node("t3.small", warm_ip(2, 5));
    rig.run_for(SETTLE);
    let calls = rig.calls();
    let summary = rig.call_summary();
    // Tick 1 (start-up's pre-scaling): short = max(2, 5) = 5, min(3, 5) = 3 on the primary.
    assert_eq!(
        summary[..2],
        [
            "DescribeNetworkInterfaces()",
            "AssignPrivateIpAddresses(ips=3)"
        ]
    );
    // Tick 2, the loop's first: short = 2, the primary is full, so an ENI with 2.
    assert_eq!(
        summary[2..4],
        ["DescribeSubnets()", "CreateNetworkInterface(ips=2)"]
    );
    assert_eq!(calls[2].sent.since(calls[1].answered), HALF_TICK);
    assert_eq!(summary.len(), 8, "{summary:?}");
    assert_eq!(ips_per_eni(&rig), vec![3, 2]);
}

#[test]
fn spec_2_7_pd_warm_prefix_1_t3_small_5_17_58_pods() {
    let mut rig = fresh_node("t3.small", pd(1, 0, 0));
    rig.run_for(SETTLE);
    let mut pods = 0;
    for (upto, prefixes, free) in [(5, vec![2], 27), (17, vec![3], 31), (58, vec![3, 2], 22)] {
        rig.add_pods(pods..upto, TICK);
        pods = upto;
        rig.run_for(SETTLE);
        assert_eq!((prefixes_per_eni(&rig), unused(&rig)), (prefixes, free));
    }
}

// §8 Surprises at loop level.

#[test]
fn surprise_8_2_warm_eni_target_1_keeps_one_enis_worth_at_0_pods() {
    let mut rig = steady("t3.small", warm_eni(1), 0);
    assert_eq!(ips_per_eni(&rig), vec![3]);
    rig.add_pods(0..1, TICK);
    rig.run_for(TICK_AND_ENI);
    assert_eq!(ips_per_eni(&rig), vec![3, 3]);
    rig.del_pod(0);
    rig.run_for(SETTLE);
    // 6 available ≥ (1 + 1)·3: the idle second ENI goes once 60 s old; the primary stays full.
    assert_eq!(ips_per_eni(&rig), vec![3]);
}

#[test]
fn surprise_8_4_after_churn_add_fails_for_30_s_while_the_loop_sees_a_full_pool() {
    // t3.small, WARM_ENI_TARGET = 1: 3 pods fill the primary, the second ENI's 3 IPs are free.
    let mut rig = steady("t3.small", warm_eni(1), 3);
    assert_eq!(ips_per_eni(&rig), vec![3, 3]);
    let calls_before = rig.calls().len();
    // A burst: the 3 pods go and 4 come. Three get the second ENI's never-used IPs.
    let deleted = rig.now();
    for pod in 0..3 {
        rig.del_pod(pod);
    }
    for pod in 10..13 {
        assert!(rig.add_pod(pod));
    }
    // The 3 cooling addresses count as available, so the pool meets WARM_ENI_TARGET = 1 and the loop does
    // nothing; the fourth ADD fails until their cooldown (inclusive 30 s) is over.
    while !rig.add_pod(13) {
        rig.run_for(secs(1));
    }
    assert_eq!(rig.now().since(deleted), secs(31));
    assert_eq!(rig.d().metrics(rig.now()).counters.add_failures, 31);
    assert_eq!(rig.calls().len(), calls_before, "no EC2 call meanwhile");
}

/// The first call that is part of a growth action: an AssignPrivateIpAddresses or a new ENI's DescribeSubnets.
fn growth_starts(rig: &Rig) -> Vec<SimTime> {
    let calls = rig.calls();
    calls
        .iter()
        .enumerate()
        .filter(|(i, c)| match c.request.action() {
            Action::AssignPrivateIpAddresses => true,
            Action::DescribeSubnets => calls
                .get(i + 1)
                .is_some_and(|n| n.request.action() == Action::CreateNetworkInterface),
            _ => false,
        })
        .map(|(_, c)| c.sent)
        .collect()
}

#[test]
fn surprise_8_5_one_growth_action_per_tick() {
    let mut rig = fresh_node("m5.xlarge", warm_ip(40, 0));
    rig.run_for(SETTLE);
    assert_eq!(ips_per_eni(&rig), vec![14, 14, 12]);
    let calls = rig.calls();
    let ends: Vec<SimTime> = calls
        .iter()
        .filter(|c| {
            matches!(
                c.request.action(),
                Action::AssignPrivateIpAddresses | Action::DescribeSubnets
            )
        })
        .map(|c| c.answered)
        .collect();
    // Start-up fills the primary; each later tick (2.5 s of sleep, reconcile, 2.5 s) adds one ENI: the ENI's
    // set-up ends with setupENI's DescribeSubnets, and the next growth starts 5 s after it.
    let starts = growth_starts(&rig);
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[1].since(ends[0]), HALF_TICK);
    assert_eq!(starts[2].since(ends[2]), secs(5));
}

#[test]
fn surprise_8_5_releases_35_s_apart_with_ideal_ticks() {
    let mut rig = steady("m5.xlarge", warm_ip(1, 0), 10);
    assert_eq!(ips_per_eni(&rig), vec![11]);
    for pod in 0..5 {
        rig.del_pod(pod);
    }
    while calls_of(&rig, Action::UnassignPrivateIpAddresses).is_empty() {
        rig.run_for(SimDuration::from_millis(100));
    }
    for pod in 5..10 {
        rig.del_pod(pod);
    }
    rig.run_for(SETTLE);
    let releases = calls_of(&rig, Action::UnassignPrivateIpAddresses);
    let sizes: Vec<String> = releases.iter().map(ipamd_rig::summarize).collect();
    assert_eq!(
        sizes,
        vec!["UnassignPrivateIpAddresses(ips=5,prefixes=0)"; 2]
    );
    // lastDecrease is stamped when the first release's tick ends, as its call returns. The tick 30 s later fails
    // `now − lastDecrease ≤ 30 s`; the next one, 5 s later, releases.
    assert_eq!(releases[1].sent.since(releases[0].answered), secs(35));
    assert_eq!(ips_per_eni(&rig), vec![1]);
}

#[test]
fn surprise_8_5_enis_freed_one_per_tick_and_only_at_60_s() {
    // A t3.small with three full ENIs and no pods: 9 available ≥ (1 + 1)·3 under WARM_ENI_TARGET = 1.
    let mut rig = Rig::new("t3.small", vec![]);
    let primary = rig.primary_eni();
    rig.assign(primary, AddressCount::SecondaryIps(3));
    for device in [1, 2] {
        rig.attach_eni(AddressCount::SecondaryIps(3), device);
    }
    let mut rig = start_ipamd(rig, warm_eni(1));
    rig.run_for(SETTLE);
    let entered = rig.calls()[0].answered;
    let detaches = calls_of(&rig, Action::DetachNetworkInterface);
    let deletes = calls_of(&rig, Action::DeleteNetworkInterface);
    assert_eq!((detaches.len(), deletes.len()), (2, 2));
    // The first free waits for the ENIs to be 60 s in the datastore: the first tick at or after that.
    let first = detaches[0].sent.since(entered).as_secs_f64();
    assert!((60.0..65.2).contains(&first), "first free after {first} s");
    // The next tick frees the second: 6 available ≥ 6 still.
    assert_eq!(
        detaches[1].sent.since(deletes[0].answered),
        SimDuration::from_millis(5_100)
    );
    assert_eq!(ips_per_eni(&rig), vec![3]);
}

#[test]
fn surprise_8_6_with_discovery_failing_assigns_repeat_every_tick_without_eni_room() {
    let mut rig = Rig::new("m5.xlarge", vec![]);
    rig.fill_subnet(SubnetId(0), 0);
    let cfg = IpamdConfig {
        max_eni: Some(1),
        ..warm_eni(1)
    };
    let mut rig = start_ipamd(rig, cfg);
    rig.run_for(secs(30));
    let summary = rig.call_summary();
    let pair = refused_assign(
        AddressCount::SecondaryIps(14),
        ErrorCode::InsufficientFreeAddressesInSubnet,
    );
    assert_eq!(summary[0], "DescribeNetworkInterfaces()");
    assert!(summary[1..].chunks(2).all(|c| c == pair), "{summary:?}");
    // Start-up, then one pair per tick: 5 s of sleep plus the two 100 ms calls.
    let starts: Vec<SimTime> = rig.calls()[1..].iter().step_by(2).map(|c| c.sent).collect();
    assert_eq!(starts.len(), 7);
    for w in starts[1..].windows(2) {
        assert_eq!(w[1].since(w[0]), SimDuration::from_millis(5_200));
    }
    assert_eq!(rig.d().state().last_insufficient, None);
}

#[test]
fn surprise_8_7_minimum_ip_target_alone_stops_growth() {
    let mut rig = steady("m5.xlarge", warm_ip(0, 2), 2);
    let calls = rig.call_summary();
    assert_eq!(
        calls,
        [
            "DescribeNetworkInterfaces()",
            "AssignPrivateIpAddresses(ips=2)"
        ]
    );
    assert!(!rig.add_pod(2));
    rig.run_for(SETTLE);
    assert!(!rig.add_pod(2), "still no address");
    assert_eq!(rig.call_summary(), calls, "no growth");
}

/// §8.7 as a pod's wait reason: the pool has no free address, nothing is in flight, and the next tick will not
/// grow it either, so the diagnosis says the targets are met rather than "awaiting the tick", before and after
/// many ticks.
#[test]
fn surprise_8_7_a_pod_without_an_address_waits_as_targets_met() {
    let mut rig = steady("m5.xlarge", warm_ip(0, 2), 2);
    assert!(!rig.add_pod(2));
    let reason = |rig: &Rig| why_no_address(rig.d(), &rig.node.ec2, rig.now());
    assert_eq!(reason(&rig), WaitReason::TargetsMet);
    rig.run_for(SETTLE);
    assert!(!rig.add_pod(2));
    assert_eq!(reason(&rig), WaitReason::TargetsMet);
}

#[test]
fn surprise_8_8_max_pods_caps_growth_at_chunk_granularity() {
    // §5.3: t3.small in PD, max-pods 110 (the calculator's cap): growth stops at 7 prefixes, 112 addresses.
    let rig = steady("t3.small", pd(1, 0, 0), 100);
    assert_eq!(rig.d().state().limits.max_pods, 110);
    assert_eq!((prefixes_per_eni(&rig), unused(&rig)), (vec![3, 3, 1], 12));
}

#[test]
fn surprise_8_9_failed_detach_leaves_the_eni_outside_the_datastore_until_reconcile() {
    // Every DetachNetworkInterface is throttled: the detach fails after its 12 tries (§4.5).
    let mut ec2 = fixed_ec2();
    let detach = &mut ec2.accounts[0].limits[Action::DetachNetworkInterface.index()];
    detach.request = BucketSpec::new(0.0, 0.0);
    let mut rig = Rig::with_ec2("t3.small", vec![], ec2);
    let primary = rig.primary_eni();
    rig.assign(primary, AddressCount::SecondaryIps(3));
    let spare = rig.attach_eni(AddressCount::SecondaryIps(3), 1).id;
    let mut rig = start_ipamd(rig, warm_eni(1));
    while calls_of(&rig, Action::DetachNetworkInterface).len() < 12 {
        rig.run_for(secs(1));
        if !calls_of(&rig, Action::DetachNetworkInterface).is_empty() {
            // While the detach is retried, the ENI is attached in EC2 but gone from the datastore.
            assert!(rig.d().state().ds.eni(spare).is_none());
            assert_eq!(rig.attached_enis().len(), 2);
        }
    }
    let removed = calls_of(&rig, Action::DetachNetworkInterface)[0].sent;
    let last_failure = calls_of(&rig, Action::DetachNetworkInterface)[11].answered;
    assert!(calls_of(&rig, Action::DeleteNetworkInterface).is_empty());
    // The next reconcile finds the ENI attached by "someone else" and sets it up again.
    while rig.d().state().ds.eni(spare).is_none() {
        rig.run_for(secs(1));
    }
    let back = rig.d().state().ds.eni(spare).unwrap().created;
    assert!(back > last_failure && back.since(last_failure) <= secs(6));
    assert!(back.since(removed) >= secs(60));
    assert_eq!(ips_per_eni(&rig), vec![3, 3]);
}

#[test]
fn surprise_8_10_xen_type_with_pd_requested_runs_secondary_ips() {
    let rig = steady("m4.large", pd(1, 0, 0), 0);
    // WARM_ENI_TARGET (default 1) applies: the primary filled with 9 secondary IPs, no prefix.
    assert_eq!(
        rig.call_summary(),
        [
            "DescribeNetworkInterfaces()",
            "AssignPrivateIpAddresses(ips=9)"
        ]
    );
    assert_eq!(ips_per_eni(&rig), vec![9]);
}

// §2.10 Reconcile after a reconcile that found IMDS and the datastore matching: it still sees every later change
// to IMDS, including addresses that reach IMDS only after their lag (docs/reference/ec2.md §2.3).

/// Runs a second at a time until the datastore holds `n` CIDRs on the primary ENI (within 5 minutes); returns
/// when.
fn primary_cidrs_reach(rig: &mut Rig, n: usize) -> SimTime {
    let primary = rig.primary_eni();
    let deadline = rig.now() + SimDuration::from_secs(300);
    loop {
        let held = rig.d().state().ds.eni(primary).map_or(0, |e| e.cidrs.len());
        if held == n {
            return rig.now();
        }
        assert!(
            rig.now() < deadline,
            "the primary holds {held} CIDRs, not {n}"
        );
        rig.run_for(secs(1));
    }
}

/// An m5.large with WARM_IP_TARGET=2 settled: two secondary IPs on its primary, a reconcile that found them
/// matching IMDS.
fn settled_with_room(ec2: Ec2Config) -> Rig {
    let mut rig = start_ipamd(Rig::with_ec2("m5.large", vec![], ec2), warm_ip(2, 0));
    rig.run_for(SETTLE);
    assert_eq!(ips_per_eni(&rig), vec![2]);
    assert!(rig.d().state().ds.matched_imds().is_some());
    rig
}

#[test]
fn spec_2_10_reconcile_adds_addresses_someone_else_assigned_once_imds_shows_them() {
    // Addresses take 150 s to reach IMDS: reconciles in between find IMDS and the datastore still matching.
    let mut ec2 = fixed_ec2();
    ec2.lifecycle.imds_ip_propagation = DurationDist::Fixed(secs(150));
    let mut rig = settled_with_room(ec2);
    let primary = rig.primary_eni();
    let assigned = rig.now();
    rig.assign(primary, AddressCount::SecondaryIps(2));
    let adopted = primary_cidrs_reach(&mut rig, 4);
    let shown = assigned + secs(150);
    assert!(
        adopted >= shown,
        "adopted at {adopted}, before IMDS showed them at {shown}"
    );
    assert!(
        adopted <= shown + secs(65),
        "adopted at {adopted}, IMDS showed them at {shown}"
    );
}

#[test]
fn spec_2_10_reconcile_drops_addresses_someone_else_unassigned() {
    let mut rig = settled_with_room(fixed_ec2());
    let primary = rig.primary_eni();
    let ip = rig.attached_enis()[0].secondary_ips[0];
    let r = rig.call(Request::UnassignPrivateIpAddresses {
        eni: primary,
        ips: vec![ip],
        prefixes: vec![],
    });
    assert!(r.is_ok(), "{r:?}");
    let unassigned = rig.now();
    let dropped = primary_cidrs_reach(&mut rig, 1);
    assert!(dropped <= unassigned + secs(65), "dropped at {dropped}");
}
