//! Conformance tests of ipamd's datastore and pool arithmetic against docs/reference/ipamd.md (v1.23.1), without the
//! control loop or EC2:
//!
//! * §6.1–§6.2 (cases 1–17): `isDatastorePoolTooLow` in secondary-IP and prefix mode;
//! * §6.3 (cases 18–24): `datastoreTargetState`; case 25 needs the loop and is tested elsewhere;
//! * §6.4 (cases 26–32) and the end of `TestPodIPv4Address`: which unused ENI `RemoveUnusedENIFromStore` picks;
//! * §6.7 (cases 52–54): address choice and the stats' cooldown count;
//! * the §3 rules without a numbered case: the reuse pass of `getUnusedIP`, cooling addresses, releasing
//!   cooling addresses, mode switching, idempotent ADD;
//! * the §8 surprises that show at this level (`surprise_8_N_…`), 8.1 (no packing) among them;
//! * a property test over random operation sequences.
//!
//! Every ENI is created at time 0; the calls that care about `minENILifeTime` run at [`OLD`] (60 s) or later.
//! "Cooling" is inclusive (`now − released ≤ cooldown`, §3.3): where the CNI's test says "after the cooldown" the
//! tests look one microsecond past it, and check that the exact boundary still counts as cooling.

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use vpcsim::sim::ec2::EniId;
use vpcsim::sim::ec2::instance_types::lookup;
use vpcsim::sim::ipamd::config::{Choice, IpamdConfig};
use vpcsim::sim::ipamd::datastore::{
    Chooser, Datastore, DsEni, NoAvailableAddress, PodKey, Released, Stats,
};
use vpcsim::sim::ipamd::limits::{Mode, NodeLimits};
use vpcsim::sim::ipamd::policy::{Policy, TargetState};
use vpcsim::sim::rng::{SimRng, stream};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::SubnetId;

const SUBNET: SubnetId = SubnetId(1);
/// When every ENI is created.
const T0: SimTime = SimTime(0);
/// `minENILifeTime` after [`T0`]: every ENI counts as old.
const OLD: SimTime = SimTime(60_000_000);
/// The code's default `IP_COOLDOWN_PERIOD`.
const COOLDOWN: SimDuration = SimDuration::from_secs(30);
const MICROSECOND: SimDuration = SimDuration::from_micros(1);

fn secs(s: u64) -> SimTime {
    SimTime(SimDuration::from_secs(s).0)
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

/// A datastore, the random stream its [`Chooser`] draws from, and a counter for fresh pod keys.
struct Rig {
    ds: Datastore,
    choice: Choice,
    rng: SimRng,
    next_pod: PodKey,
}

impl Rig {
    fn new(mode: Mode, cooldown: SimDuration, choice: Choice, seed: u64) -> Self {
        Rig {
            ds: Datastore::new(mode, cooldown),
            choice,
            rng: stream(seed, "ipamd_datastore_test", 0),
            next_pod: 1,
        }
    }

    /// Secondary-IP mode, default cooldown, lowest-first choices.
    fn sip() -> Self {
        Rig::new(Mode::SecondaryIp, COOLDOWN, Choice::Ordered, 0)
    }

    /// Prefix mode, default cooldown, lowest-first choices.
    fn pd() -> Self {
        Rig::new(Mode::Prefix, COOLDOWN, Choice::Ordered, 0)
    }

    /// The datastore and a chooser that draws from the rig's stream.
    fn parts(&mut self) -> (&mut Datastore, Chooser<'_>) {
        let chooser = Chooser {
            choice: self.choice,
            rng: &mut self.rng,
        };
        (&mut self.ds, chooser)
    }

    fn eni(&mut self, id: u32, device: u32, primary: bool) {
        self.ds
            .add_eni(EniId(id), device, primary, SUBNET, false, T0);
    }

    /// ENI `id` with `n_ips` /32s, 10.0.`id`.10 upwards.
    fn eni_with_ips(&mut self, id: u32, device: u32, primary: bool, n_ips: u32) {
        self.eni(id, device, primary);
        for i in 0..n_ips {
            let a = Ipv4Addr::new(10, 0, id as u8, 10 + i as u8);
            assert!(self.ds.add_cidr(EniId(id), Ipv4Net::from(a)));
        }
    }

    /// ENI `id` with `n_prefixes` /28s, 10.`id`.0.0/28 upwards.
    fn eni_with_prefixes(&mut self, id: u32, device: u32, primary: bool, n_prefixes: u32) {
        self.eni(id, device, primary);
        for i in 0..n_prefixes {
            let a = Ipv4Addr::new(10, id as u8, 0, 16 * i as u8);
            assert!(self.ds.add_cidr(EniId(id), Ipv4Net::new(a, 28).unwrap()));
        }
    }

    fn add(&mut self, pod: PodKey, now: SimTime) -> Result<Ipv4Addr, NoAvailableAddress> {
        let (ds, mut chooser) = self.parts();
        ds.assign(pod, now, &mut chooser).map(|p| p.address)
    }

    /// ADD for a new pod.
    fn add_pod(&mut self, now: SimTime) -> Result<(PodKey, Ipv4Addr), NoAvailableAddress> {
        let pod = self.next_pod;
        self.next_pod += 1;
        self.add(pod, now).map(|a| (pod, a))
    }

    /// ADD for `n` new pods, each of which must get an address.
    fn add_pods(&mut self, n: u32, now: SimTime) -> Vec<(PodKey, Ipv4Addr)> {
        (0..n)
            .map(|_| self.add_pod(now).expect("the pool has a free address"))
            .collect()
    }

    fn del(&mut self, pod: PodKey, now: SimTime) -> Released {
        self.ds
            .unassign(pod, now)
            .expect("the pod holds an address")
    }

    fn remove_unused_eni(&mut self, w: u32, m: u32, wp: u32, now: SimTime) -> Option<EniId> {
        let (ds, mut chooser) = self.parts();
        ds.remove_unused_eni(w, m, wp, now, &mut chooser)
    }

    fn take_freeable_cidrs(&mut self, eni: u32, max: u32) -> Vec<Ipv4Net> {
        let (ds, mut chooser) = self.parts();
        ds.take_freeable_cidrs(EniId(eni), max, &mut chooser)
    }

    fn stats(&self, now: SimTime) -> Stats {
        self.ds.stats(now)
    }
}

/// (TotalIPs, AssignedIPs, CooldownIPs), as `TestGetIPStatsV4` reads them.
fn ip_stats(s: &Stats) -> (u32, u32, u32) {
    (s.total, s.assigned, s.cooling)
}

/// Secondary-IP limits with `maxIPsPerENI = m`.
fn sip_limits(m: u32, max_pods: u32) -> NodeLimits {
    NodeLimits {
        mode: Mode::SecondaryIp,
        max_eni: 4,
        ipv4_limit: m + 1,
        max_ips_per_eni: m,
        max_prefixes_per_eni: 0,
        max_pods,
        supports_trunking: true,
    }
}

/// Prefix limits with `p` prefixes per ENI (`maxIPsPerENI = 16·p`).
fn pd_limits(p: u32, max_pods: u32) -> NodeLimits {
    NodeLimits {
        mode: Mode::Prefix,
        max_eni: 4,
        ipv4_limit: p + 1,
        max_ips_per_eni: 16 * p,
        max_prefixes_per_eni: p,
        max_pods,
        supports_trunking: true,
    }
}

/// The warm targets; everything else at the code's defaults. [`Policy`] reads the mode from the limits.
fn targets(warm_eni: u32, warm_ip: u32, min_ip: u32, warm_prefix: u32) -> IpamdConfig {
    IpamdConfig {
        warm_eni_target: warm_eni,
        warm_ip_target: warm_ip,
        minimum_ip_target: min_ip,
        warm_prefix_target: warm_prefix,
        ..IpamdConfig::default()
    }
}

fn too_low(cfg: &IpamdConfig, limits: &NodeLimits, s: &Stats) -> bool {
    Policy { cfg, limits }.too_low(s)
}

fn too_high(cfg: &IpamdConfig, limits: &NodeLimits, s: &Stats) -> bool {
    Policy { cfg, limits }.too_high(s)
}

fn target_state(cfg: &IpamdConfig, limits: &NodeLimits, s: &Stats) -> TargetState {
    Policy { cfg, limits }.target_state(s)
}

fn state(short: u32, over: u32, defined: bool) -> TargetState {
    TargetState {
        short,
        over,
        defined,
    }
}

/// The SIP datastore of §6.1/§6.3: no ENI when `ips` is 0, else the primary ENI with `ips` /32s of which
/// `pods` are assigned.
fn sip_pool(ips: u32, pods: u32) -> Stats {
    let mut r = Rig::sip();
    if ips > 0 {
        r.eni_with_ips(1, 0, true, ips);
    }
    r.add_pods(pods, OLD);
    r.stats(OLD)
}

/// The PD datastore of §6.2/§6.3: no ENI when `prefixes` is 0, else the primary ENI with that many /28s and
/// `pods` assigned addresses.
fn pd_pool(prefixes: u32, pods: u32) -> Stats {
    let mut r = Rig::pd();
    if prefixes > 0 {
        r.eni_with_prefixes(1, 0, true, prefixes);
    }
    r.add_pods(pods, OLD);
    r.stats(OLD)
}

// ---------------------------------------------------------------------------------------------------------
// §6.1 `TestIPAMContext_nodeIPPoolTooLow`: SIP, maxPods 500 unless stated.

/// One §6.1 row: M, WARM_ENI, WARM_IP, the DS (IPs on the primary, pods), maxPods.
fn node_ip_pool_too_low(
    m: u32,
    warm_eni: u32,
    warm_ip: u32,
    ips: u32,
    pods: u32,
    max_pods: u32,
) -> bool {
    too_low(
        &targets(warm_eni, warm_ip, 0, 0),
        &sip_limits(m, max_pods),
        &sip_pool(ips, pods),
    )
}

#[test]
fn case_01_node_ip_pool_too_low_new_ds_all_defaults() {
    assert!(node_ip_pool_too_low(14, 1, 0, 0, 0, 500));
}

#[test]
fn case_02_node_ip_pool_too_low_new_ds_0_enis() {
    assert!(node_ip_pool_too_low(14, 0, 0, 0, 0, 500), "avail 0 and N 0");
}

#[test]
fn case_03_node_ip_pool_too_low_new_ds_3_warm_ips() {
    assert!(node_ip_pool_too_low(14, 0, 3, 0, 0, 500), "short 3");
}

#[test]
fn case_04_node_ip_pool_too_low_3_unused_ips_1_warm() {
    assert!(!node_ip_pool_too_low(3, 1, 1, 3, 0, 500), "short 0");
}

#[test]
fn case_05_node_ip_pool_too_low_1_used_1_warm_eni() {
    assert!(node_ip_pool_too_low(3, 1, 0, 3, 1, 500), "2 < 3");
}

#[test]
fn case_06_node_ip_pool_too_low_1_used_0_warm_eni() {
    assert!(!node_ip_pool_too_low(3, 0, 0, 3, 1, 500));
}

#[test]
fn case_07_node_ip_pool_too_low_3_used_1_warm_eni() {
    assert!(node_ip_pool_too_low(3, 1, 0, 3, 3, 500));
}

#[test]
fn case_08_node_ip_pool_too_low_3_used_0_warm_eni() {
    assert!(node_ip_pool_too_low(3, 0, 0, 3, 3, 500), "avail 0");
}

#[test]
fn case_09_node_ip_pool_too_low_max_pods_exceeded() {
    assert!(!node_ip_pool_too_low(3, 0, 5, 3, 3, 3), "total ≥ maxPods");
}

// ---------------------------------------------------------------------------------------------------------
// §6.2 `TestIPAMContext_nodePrefixPoolTooLow`: PD, M = 256, P = 16.

/// One §6.2 row: WARM_PREFIX, the DS (prefixes on the primary, pods), maxPods.
fn node_prefix_pool_too_low(warm_prefix: u32, prefixes: u32, pods: u32, max_pods: u32) -> bool {
    too_low(
        &targets(1, 0, 0, warm_prefix),
        &pd_limits(16, max_pods),
        &pd_pool(prefixes, pods),
    )
}

#[test]
fn case_10_node_prefix_pool_too_low_new_ds_all_defaults() {
    assert!(node_prefix_pool_too_low(1, 0, 0, 500));
}

#[test]
fn case_11_node_prefix_pool_too_low_new_ds_0_enis() {
    assert!(node_prefix_pool_too_low(0, 0, 0, 500));
}

#[test]
fn case_12_node_prefix_pool_too_low_3_unused_ips_1_warm() {
    assert!(!node_prefix_pool_too_low(1, 1, 0, 500), "16 free");
}

#[test]
fn case_13_node_prefix_pool_too_low_1_used_1_warm_prefix() {
    assert!(node_prefix_pool_too_low(1, 1, 1, 500), "15 < 16");
}

#[test]
fn case_14_node_prefix_pool_too_low_1_used_0_warm_prefix() {
    assert!(!node_prefix_pool_too_low(0, 1, 1, 500));
}

#[test]
fn case_15_node_prefix_pool_too_low_3_used_1_warm_prefix() {
    assert!(node_prefix_pool_too_low(1, 1, 3, 500));
}

#[test]
fn case_16_node_prefix_pool_too_low_3_used_0_warm_prefix() {
    assert!(!node_prefix_pool_too_low(0, 1, 3, 500));
}

#[test]
fn case_17_node_prefix_pool_too_low_max_pods_exceeded() {
    assert!(!node_prefix_pool_too_low(1, 1, 3, 4), "16 ≥ 4");
}

// ---------------------------------------------------------------------------------------------------------
// §6.3 `datastoreTargetState` (short, over, defined).

fn sip_target_state(warm_ip: u32, min_ip: u32, ips: u32, pods: u32) -> TargetState {
    target_state(
        &targets(1, warm_ip, min_ip, 0),
        &sip_limits(14, 500),
        &sip_pool(ips, pods),
    )
}

fn pd_target_state(warm_ip: u32, prefixes: u32, pods: u32) -> TargetState {
    target_state(
        &targets(1, warm_ip, 0, 0),
        &pd_limits(16, 500),
        &pd_pool(prefixes, pods),
    )
}

#[test]
fn case_18_get_warm_ip_target_state_undefined() {
    assert!(!sip_target_state(0, 0, 0, 0).defined);
}

#[test]
fn case_19_get_warm_ip_target_state_empty_ds() {
    assert_eq!(sip_target_state(5, 0, 0, 0), state(5, 0, true));
}

#[test]
fn case_20_get_warm_ip_target_state_2_ips() {
    assert_eq!(sip_target_state(5, 0, 2, 0), state(3, 0, true));
}

#[test]
fn case_21_get_warm_ip_target_state_5_ips() {
    assert_eq!(sip_target_state(5, 0, 5, 0), state(0, 0, true));
}

#[test]
fn case_22_get_warm_ip_target_state_with_pd_enabled_empty_ds() {
    assert_eq!(
        pd_target_state(5, 0, 0),
        state(1, 0, true),
        "1 prefix short"
    );
}

#[test]
fn case_23_get_warm_ip_target_state_with_pd_enabled_2_free_prefixes() {
    assert_eq!(pd_target_state(5, 2, 0), state(0, 1, true), "1 prefix over");
}

#[test]
fn case_24_get_warm_ip_target_state_with_pd_enabled_1_free_prefix() {
    assert_eq!(pd_target_state(5, 1, 0), state(0, 0, true));
}

// ---------------------------------------------------------------------------------------------------------
// §6.4 `TestWarmENIInteractions`: SIP, all ENIs old. The rows run in sequence on one datastore; each test
// replays the rows before its own.

/// eni-1 (primary) with 2 IPs and 2 pods, eni-2 with 2 IPs, eni-3 with 1 IP. The pods are placed before the
/// other ENIs exist, so they land on eni-1 whatever the choice.
fn warm_eni_interactions_start(choice: Choice, seed: u64) -> Rig {
    let mut r = Rig::new(Mode::SecondaryIp, COOLDOWN, choice, seed);
    r.eni_with_ips(1, 0, true, 2);
    r.add_pods(2, T0);
    r.eni_with_ips(2, 1, false, 2);
    r.eni_with_ips(3, 2, false, 1);
    r
}

/// One row of §6.4: `RemoveUnusedENIFromStore(W, M, WP)` and the number of the ENI it removes.
struct WarmEniRow {
    case: u32,
    w: u32,
    m: u32,
    wp: u32,
    removes: Option<u32>,
}

const fn row(case: u32, (w, m, wp): (u32, u32, u32), removes: Option<u32>) -> WarmEniRow {
    WarmEniRow {
        case,
        w,
        m,
        wp,
        removes,
    }
}

const WARM_ENI_ROWS: [WarmEniRow; 7] = [
    row(26, (3, 1, 0), None),
    row(27, (1, 5, 0), None),
    row(28, (2, 4, 0), Some(3)),
    row(29, (0, 3, 0), None),
    row(30, (0, 2, 0), Some(2)),
    row(31, (0, 2, 0), None),
    row(32, (0, 2, 0), Some(6)),
];

/// Runs the §6.4 rows up to and including `last_case`, for the lowest-first choice and a few random walks:
/// every row has at most one qualifying ENI, so the walk order must not matter.
fn warm_eni_interactions(last_case: u32) {
    let walks = [
        (Choice::Ordered, 0),
        (Choice::Random, 1),
        (Choice::Random, 2),
        (Choice::Random, 3),
    ];
    for (choice, seed) in walks {
        let mut r = warm_eni_interactions_start(choice, seed);
        for WarmEniRow {
            case,
            w,
            m,
            wp,
            removes,
        } in WARM_ENI_ROWS
        {
            match case {
                31 => {
                    r.eni_with_ips(4, 3, false, 1);
                    r.eni_with_ips(5, 4, false, 1);
                    r.ds.set_kind(EniId(4), true, false);
                    r.ds.set_kind(EniId(5), false, true);
                }
                32 => r.eni_with_ips(6, 5, false, 0),
                _ => {}
            }
            let got = r.remove_unused_eni(w, m, wp, OLD);
            assert_eq!(
                got,
                removes.map(EniId),
                "case {case}: RemoveUnusedENIFromStore({w}, {m}, {wp}) with {choice:?} walk {seed}"
            );
            if case == last_case {
                break;
            }
        }
    }
}

#[test]
fn case_26_warm_eni_interactions_others_never_reach_3_free() {
    warm_eni_interactions(26);
}

#[test]
fn case_27_warm_eni_interactions_others_never_reach_5_total() {
    warm_eni_interactions(27);
}

#[test]
fn case_28_warm_eni_interactions_removes_eni_3() {
    warm_eni_interactions(28);
}

#[test]
fn case_29_warm_eni_interactions_other_total_2_below_3() {
    warm_eni_interactions(29);
}

#[test]
fn case_30_warm_eni_interactions_removes_eni_2() {
    warm_eni_interactions(30);
}

#[test]
fn case_31_warm_eni_interactions_trunk_and_efa_never_deleted() {
    warm_eni_interactions(31);
}

#[test]
fn case_32_warm_eni_interactions_removes_empty_eni_6() {
    warm_eni_interactions(32);
}

/// The start of `TestPodIPv4Address` (case 54): eni-1 (primary) holds 1.1.1.1, eni-2 holds 1.1.2.2, and one
/// pod sits on each. Returns the rig and the pod on eni-2.
fn pod_ipv4_address_start(cooldown: SimDuration) -> (Rig, PodKey) {
    let mut r = Rig::new(Mode::SecondaryIp, cooldown, Choice::Ordered, 0);
    r.eni(1, 0, true);
    r.ds.add_cidr(EniId(1), net("1.1.1.1/32"));
    r.eni(2, 1, false);
    r.ds.add_cidr(EniId(2), net("1.1.2.2/32"));
    let placed = r.add_pods(2, T0);
    assert_eq!(
        placed.iter().map(|&(_, a)| a).collect::<Vec<_>>(),
        [ip("1.1.1.1"), ip("1.1.2.2")]
    );
    (r, placed[1].0)
}

/// `TestPodIPv4Address`, end: `RemoveUnusedENIFromStore(0, 0, 0)` keeps eni-2 while it is younger than 60 s.
#[test]
fn case_6_4_end_pod_ipv4_address_young_eni_is_kept() {
    let (mut r, pod) = pod_ipv4_address_start(COOLDOWN);
    r.del(pod, T0);
    let almost_old = SimTime(OLD.0 - 1);
    assert_eq!(r.stats(almost_old).cooling, 0);
    assert_eq!(
        r.remove_unused_eni(0, 0, 0, almost_old),
        None,
        "59.999999 s old"
    );
    assert_eq!(
        r.remove_unused_eni(0, 0, 0, OLD),
        Some(EniId(2)),
        "60 s old"
    );
}

/// `TestPodIPv4Address`, end: a cooling address keeps eni-2 even once it is old; it goes one microsecond after
/// the cooldown (which is inclusive) ends.
#[test]
fn case_6_4_end_pod_ipv4_address_cooling_address_keeps_eni() {
    let (mut r, pod) = pod_ipv4_address_start(COOLDOWN);
    let released = secs(40);
    r.del(pod, released);
    assert_eq!(
        r.remove_unused_eni(0, 0, 0, secs(50)),
        None,
        "young and cooling"
    );
    assert_eq!(r.remove_unused_eni(0, 0, 0, OLD), None, "old, cooling");
    let cooldown_end = released + COOLDOWN;
    assert_eq!(
        r.remove_unused_eni(0, 0, 0, cooldown_end),
        None,
        "cooling is inclusive"
    );
    assert_eq!(
        r.remove_unused_eni(0, 0, 0, cooldown_end + MICROSECOND),
        Some(EniId(2))
    );
}

// ---------------------------------------------------------------------------------------------------------
// §6.7 address choice.

#[test]
fn case_52_pod_ipv4_address_with_pd_enabled() {
    let mut r = Rig::pd();
    r.eni(1, 0, true);
    r.ds.add_cidr(EniId(1), net("10.0.0.0/28"));
    let got: Vec<Ipv4Addr> = r.add_pods(3, T0).into_iter().map(|(_, a)| a).collect();
    assert_eq!(got, [ip("10.0.0.0"), ip("10.0.0.1"), ip("10.0.0.2")]);
    assert_eq!(r.stats(T0).total, 16);
}

/// `TestGetIPStatsV4` with a 1 s cooldown. Cooling is inclusive, so at exactly 1 s after the release the
/// address still cools; the CNI test's "after 1 s" {2, 1, 0} is checked at 1 s + 1 µs.
#[test]
fn case_53_get_ip_stats_v4() {
    let cooldown = SimDuration::from_secs(1);
    let mut r = Rig::new(Mode::SecondaryIp, cooldown, Choice::Ordered, 0);
    r.eni_with_ips(1, 0, true, 2);
    let pods = r.add_pods(2, T0);
    assert_eq!(ip_stats(&r.stats(T0)), (2, 2, 0));
    let released = secs(5);
    r.del(pods[0].0, released);
    assert_eq!(ip_stats(&r.stats(released)), (2, 1, 1));
    assert_eq!(ip_stats(&r.stats(released + cooldown)), (2, 1, 1));
    assert_eq!(
        ip_stats(&r.stats(released + cooldown + MICROSECOND)),
        (2, 1, 0)
    );
}

#[test]
fn case_54_pod_ipv4_address() {
    let (mut r, _) = pod_ipv4_address_start(COOLDOWN);
    assert!(r.ds.add_cidr(EniId(1), net("1.1.1.2/32")));
    assert_eq!(r.add_pod(T0).map(|(_, a)| a), Ok(ip("1.1.1.2")));
    assert_eq!(r.add_pod(T0), Err(NoAvailableAddress));
}

// ---------------------------------------------------------------------------------------------------------
// §3 rules without a numbered case.

/// §3.2 step 3: one reuse candidate is picked at random, and every other released entry out of cooldown is
/// dropped, so the next two ADDs scan from the lowest address: they get the two remaining candidates in
/// ascending order, whichever one the reuse pass took.
#[test]
fn spec_3_2_reuse_pass_drops_the_other_candidates() {
    for seed in 0..32 {
        let mut r = Rig::new(Mode::Prefix, COOLDOWN, Choice::Random, seed);
        r.eni(1, 0, true);
        r.ds.add_cidr(EniId(1), net("10.0.0.0/28"));
        let pods = r.add_pods(5, T0);
        for &(pod, _) in &pods[1..4] {
            r.del(pod, T0);
        }
        let later = T0 + COOLDOWN + MICROSECOND;
        let (_, reused) = r.add_pod(later).unwrap();
        let candidates = [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")];
        assert!(candidates.contains(&reused), "seed {seed}: reused {reused}");
        let rest: Vec<Ipv4Addr> = candidates.into_iter().filter(|&a| a != reused).collect();
        let next: Vec<Ipv4Addr> = r.add_pods(2, later).into_iter().map(|(_, a)| a).collect();
        assert_eq!(next, rest, "seed {seed}: after reusing {reused}");
        assert_eq!(r.add_pod(later).unwrap().1, ip("10.0.0.5"), "seed {seed}");
    }
}

/// §3.2: a released address out of cooldown is reused before a lower address that has no entry.
#[test]
fn spec_3_2_reuse_comes_before_the_upward_scan() {
    let mut r = Rig::pd();
    r.eni(1, 0, true);
    r.ds.add_cidr(EniId(1), net("10.0.0.0/28"));
    let pods = r.add_pods(5, T0);
    // .1 and .4 released; the reuse pass takes .1 and forgets .4.
    r.del(pods[1].0, T0);
    r.del(pods[4].0, T0);
    let t1 = T0 + COOLDOWN + MICROSECOND;
    assert_eq!(r.add_pod(t1).unwrap().1, ip("10.0.0.1"));
    // .3 released and out of cooldown: reused, although .4 (no entry any more) is lower.
    r.del(pods[3].0, t1);
    let t2 = t1 + COOLDOWN + MICROSECOND;
    assert_eq!(r.add_pod(t2).unwrap().1, ip("10.0.0.3"));
    assert_eq!(r.add_pod(t2).unwrap().1, ip("10.0.0.4"));
}

/// §3.3, §3.4, §8.4: cooling addresses count as available and their prefix as free, but are not handed out.
#[test]
fn spec_3_3_cooling_addresses_count_as_available_but_are_not_handed_out() {
    let mut r = Rig::pd();
    r.eni_with_prefixes(1, 0, true, 1);
    let pods = r.add_pods(16, T0);
    let released = secs(1);
    for &(pod, _) in &pods {
        r.del(pod, released);
    }
    let s = r.stats(released);
    assert_eq!((s.total, s.assigned, s.cooling), (16, 0, 16));
    assert_eq!(s.available(), 16);
    assert_eq!((s.total_prefixes, s.free_prefixes), (1, 1));
    assert_eq!(r.add_pod(released + COOLDOWN), Err(NoAvailableAddress));
    assert!(r.add_pod(released + COOLDOWN + MICROSECOND).is_ok());
}

/// §2.8, §3.3: a decrease can release a prefix whose addresses are all still cooling.
#[test]
fn spec_3_3_a_cooling_prefix_can_be_released() {
    let mut r = Rig::pd();
    r.eni_with_prefixes(1, 0, true, 2);
    let pods = r.add_pods(17, T0);
    for &(pod, _) in &pods[..16] {
        r.del(pod, secs(1));
    }
    assert_eq!(r.stats(secs(1)).cooling, 16);
    assert_eq!(r.take_freeable_cidrs(1, 2), [net("10.1.0.0/28")]);
    let s = r.stats(secs(1));
    assert_eq!(
        (s.total, s.assigned, s.cooling, s.total_prefixes),
        (16, 1, 0, 1)
    );
}

/// §3.4: in prefix mode, leftover /32s are neither counted nor handed out (and the other way round in SIP).
#[test]
fn spec_3_4_only_the_current_modes_cidrs_count_and_are_handed_out() {
    for (mode, counted, skipped) in [
        (Mode::Prefix, "10.0.0.0/28", "10.0.1.1/32"),
        (Mode::SecondaryIp, "10.0.1.1/32", "10.0.0.0/28"),
    ] {
        let mut r = Rig::new(mode, COOLDOWN, Choice::Random, 7);
        r.eni(1, 0, true);
        r.ds.add_cidr(EniId(1), net(skipped));
        r.ds.add_cidr(EniId(1), net(counted));
        let size = 1 << (32 - net(counted).prefix_len());
        assert_eq!(r.stats(T0).total, size, "{mode:?}");
        let got = r.add_pods(size, T0);
        assert!(
            got.iter().all(|&(_, a)| net(counted).contains(&a)),
            "{mode:?}: {got:?}"
        );
        assert_eq!(r.add_pod(T0), Err(NoAvailableAddress), "{mode:?}");
        assert_eq!(r.ds.other_mode_leftovers(), [(EniId(1), net(skipped))]);
    }
}

/// §3.4, §8.12: after a switch to SIP, a DEL of an address in a leftover prefix (a pod restored from the
/// checkpoint) removes every pod-free prefix on that ENI and reports them for release; the prefix still holding
/// a pod stays, and so do the ENI's /32s and other ENIs.
#[test]
fn spec_3_4_del_in_a_leftover_prefix_frees_the_enis_pod_free_prefixes() {
    let mut r = Rig::sip();
    r.eni(1, 0, true);
    r.eni(2, 1, false);
    for cidr in ["10.0.0.0/28", "10.0.0.16/28", "10.0.0.32/28", "10.0.1.1/32"] {
        r.ds.add_cidr(EniId(1), net(cidr));
    }
    r.ds.add_cidr(EniId(2), net("10.0.2.0/28"));
    let old_pod = 100;
    let other_old_pod = 101;
    assert!(r.ds.restore(old_pod, ip("10.0.0.1")).is_some());
    assert!(r.ds.restore(other_old_pod, ip("10.0.0.33")).is_some());
    let s = r.stats(T0);
    assert_eq!(
        (s.total, s.assigned),
        (1, 0),
        "restored prefixes are not counted in SIP"
    );

    let released = r.del(old_pod, T0);
    assert_eq!(released.address, ip("10.0.0.1"));
    assert_eq!(released.eni, EniId(1));
    assert_eq!(
        released.other_mode_leftovers,
        [net("10.0.0.0/28"), net("10.0.0.16/28")],
        "the pod-free prefixes on eni-1; 10.0.0.32/28 still holds a pod"
    );
    let left: Vec<Ipv4Net> =
        r.ds.eni(EniId(1))
            .unwrap()
            .cidrs
            .iter()
            .map(|c| c.net)
            .collect();
    assert_eq!(left, [net("10.0.0.32/28"), net("10.0.1.1/32")]);
    assert_eq!(
        r.ds.eni(EniId(2)).unwrap().cidrs.len(),
        1,
        "other ENIs are untouched"
    );

    let current = r.add_pod(T0).unwrap();
    assert!(r.del(current.0, T0).other_mode_leftovers.is_empty());
    r.ds.check_invariants().unwrap();
}

/// §3.4, §8.12: after a switch to prefix mode, a DEL of a pod's leftover /32 releases nothing
/// (`DelNetwork`'s branch asks for `IsPrefix`): the /32 stays on its ENI, keeps its slot and is neither counted
/// nor handed out, until a decrease or a restart releases it.
#[test]
fn spec_3_4_del_of_a_leftover_ip_in_prefix_mode_releases_nothing() {
    let mut r = Rig::pd();
    r.eni(1, 0, true);
    for cidr in ["10.0.1.1/32", "10.0.1.2/32", "10.0.0.0/28"] {
        r.ds.add_cidr(EniId(1), net(cidr));
    }
    let old_pod = 100;
    assert!(r.ds.restore(old_pod, ip("10.0.1.1")).is_some());
    assert_eq!(
        r.ds.restore(102, ip("10.0.1.1")),
        None,
        "held by another pod"
    );
    let released = r.del(old_pod, T0);
    assert_eq!(released.address, ip("10.0.1.1"));
    assert!(released.other_mode_leftovers.is_empty());
    assert_eq!(r.ds.cidr_count(EniId(1)), 3, "the /32s keep their slots");
    assert_eq!(r.stats(secs(60)).total, 16, "only the prefix counts");
    assert_eq!(
        r.ds.other_mode_leftovers(),
        [
            (EniId(1), net("10.0.1.1/32")),
            (EniId(1), net("10.0.1.2/32"))
        ],
        "a restart's clean-up would release both"
    );
    r.ds.check_invariants().unwrap();
}

/// §3.2 step 2, §2.2, §3.5: the primary and the trunk ENI hand out addresses; an excluded ENI neither hands
/// out addresses nor counts in the stats.
#[test]
fn spec_3_2_primary_and_trunk_hand_out_addresses_excluded_enis_do_not() {
    let mut r = Rig::sip();
    r.eni_with_ips(1, 0, true, 1);
    r.eni_with_ips(2, 1, false, 1);
    r.ds.set_kind(EniId(2), true, false);
    r.ds.add_eni(EniId(3), 2, false, SUBNET, true, T0);
    r.ds.add_cidr(EniId(3), net("10.0.3.10/32"));
    assert_eq!(r.stats(T0).total, 2);
    let got: Vec<Ipv4Addr> = r.add_pods(2, T0).into_iter().map(|(_, a)| a).collect();
    assert_eq!(got, [ip("10.0.1.10"), ip("10.0.2.10")]);
    assert_eq!(r.add_pod(T0), Err(NoAvailableAddress));
}

/// §2.9 in prefix mode: WARM_IP_TARGET is rounded up to whole prefixes before the other ENIs' free addresses
/// are compared with it, and WARM_PREFIX_TARGET asks for that many CIDRs without pods on the other ENIs.
#[test]
fn spec_2_9_prefix_mode_deletable_eni_rounds_warm_ip_and_counts_free_prefixes() {
    let mut r = Rig::pd();
    r.eni_with_prefixes(1, 0, true, 1);
    r.add_pods(1, T0);
    r.eni_with_prefixes(2, 1, false, 1);
    assert_eq!(r.remove_unused_eni(5, 0, 0, OLD), None, "15 free < 16");
    assert_eq!(
        r.remove_unused_eni(0, 0, 1, OLD),
        None,
        "no free prefix on eni-1"
    );
    r.ds.add_cidr(EniId(1), net("10.1.0.16/28"));
    assert_eq!(r.remove_unused_eni(5, 0, 1, OLD), Some(EniId(2)));
}

/// §3.2 step 1: a second ADD for the same pod key returns the same address and takes nothing more.
#[test]
fn spec_3_2_add_is_idempotent_per_pod_key() {
    let mut r = Rig::new(Mode::SecondaryIp, COOLDOWN, Choice::Random, 3);
    r.eni_with_ips(1, 0, true, 3);
    r.eni_with_ips(2, 1, false, 3);
    let first = r.add(42, T0).unwrap();
    for t in [T0, secs(10), secs(100)] {
        assert_eq!(r.add(42, t), Ok(first));
    }
    assert_eq!(r.stats(T0).assigned, 1);
    assert_eq!(r.ds.pod_address(42), Some(first));
}

// ---------------------------------------------------------------------------------------------------------
// §8 surprises.

/// §8.2: WARM_ENI_TARGET is an address threshold. A full primary ENI with 0 pods satisfies N = 1, and under
/// WARM_ENI in SIP the pool is never too high, however much is free; only whole ENIs go.
/// Which ENI a pod lands on, per pod, for 10 pods on two ENIs with 10 free /32s each.
fn landing_enis(choice: Choice, seed: u64) -> Vec<u32> {
    let mut r = Rig::new(Mode::SecondaryIp, COOLDOWN, choice, seed);
    r.eni_with_ips(1, 0, true, 10);
    r.eni_with_ips(2, 1, false, 10);
    (0..10)
        .map(|_| {
            let (_, a) = r.add_pod(T0).unwrap();
            u32::from(a.octets()[2])
        })
        .collect()
}

#[test]
fn surprise_8_1_no_packing_random_map_order_spreads_pods_over_enis() {
    // Go map order: each ADD walks the ENIs in a random order, so pods land on both ENIs, not packed on
    // the first; the same seed gives the same walk.
    let a = landing_enis(Choice::Random, 1);
    assert!(a.contains(&1) && a.contains(&2), "{a:?}");
    assert_eq!(a, landing_enis(Choice::Random, 1));
    assert!((2..40).any(|seed| landing_enis(Choice::Random, seed) != a));
    // The `ordered` stand-in takes the lowest device, then the lowest address.
    assert_eq!(landing_enis(Choice::Ordered, 1), vec![1; 10]);
}

#[test]
fn surprise_8_2_warm_eni_target_is_an_address_threshold() {
    let cfg = targets(1, 0, 0, 0);
    let limits = sip_limits(9, 500);
    assert!(
        !too_low(&cfg, &limits, &sip_pool(9, 0)),
        "a full primary ENI is one warm ENI"
    );
    assert!(too_low(&cfg, &limits, &sip_pool(9, 1)), "8 < 9");

    let mut r = Rig::sip();
    for id in 1..=3 {
        r.eni_with_ips(id, id - 1, id == 1, 9);
    }
    let s = r.stats(OLD);
    assert_eq!(s.available(), 27);
    let policy = Policy {
        cfg: &cfg,
        limits: &limits,
    };
    assert!(!policy.too_high(&s));
    assert_eq!(policy.decrease_over(&s), 0);
    assert!(
        policy.should_remove_extra_enis(&s, r.ds.freeable_eni_exists()),
        "27 ≥ 2·9"
    );
}

/// §8.3: PD grows while free addresses < 16·N but shrinks while entirely free prefixes > N. Two half-used
/// prefixes satisfy N = 1 on the growth side, and fragmented free space is never released.
#[test]
fn surprise_8_3_warm_prefix_target_grows_on_addresses_shrinks_on_prefixes() {
    let cfg = targets(1, 0, 0, 1);
    let limits = pd_limits(9, 500);

    let mut r = Rig::pd();
    r.eni_with_prefixes(1, 0, true, 2);
    let pods = r.add_pods(32, T0);
    // Free 8 addresses in each prefix: 16 free addresses, no free prefix.
    for &(pod, a) in &pods {
        if a.octets()[3] % 16 >= 8 {
            r.del(pod, T0);
        }
    }
    let s = r.stats(OLD);
    assert_eq!((s.available(), s.free_prefixes), (16, 0));
    assert!(!too_low(&cfg, &limits, &s), "8 + 8 free satisfies N = 1");

    // Three prefixes with 8 free each: 24 free addresses, still nothing to release.
    r.ds.add_cidr(EniId(1), net("10.1.0.32/28"));
    r.add_pods(8, T0);
    let s = r.stats(OLD);
    assert_eq!((s.available(), s.free_prefixes), (24, 0));
    assert!(!too_high(&cfg, &limits, &s));

    // Two entirely free prefixes are one over N = 1.
    r.ds.add_cidr(EniId(1), net("10.1.0.48/28"));
    r.ds.add_cidr(EniId(1), net("10.1.0.64/28"));
    let s = r.stats(OLD);
    assert_eq!(s.free_prefixes, 2);
    assert!(too_high(&cfg, &limits, &s));
    assert_eq!(
        Policy {
            cfg: &cfg,
            limits: &limits
        }
        .decrease_over(&s),
        1
    );
}

/// §8.4: after pod churn the pool looks full to the warm arithmetic while ADD fails until the cooldown ends.
#[test]
fn surprise_8_4_cooling_addresses_fail_add_while_pool_is_not_low() {
    let cfg = targets(1, 3, 0, 0);
    let limits = sip_limits(3, 500);
    let mut r = Rig::sip();
    r.eni_with_ips(1, 0, true, 3);
    let pods = r.add_pods(3, T0);
    let released = secs(10);
    for &(pod, _) in &pods {
        r.del(pod, released);
    }
    let s = r.stats(released);
    assert_eq!((s.available(), s.cooling), (3, 3));
    assert!(!too_low(&cfg, &limits, &s));
    assert_eq!(
        r.add_pod(released + SimDuration::from_secs(1)),
        Err(NoAvailableAddress)
    );
    assert!(r.add_pod(released + COOLDOWN + MICROSECOND).is_ok());
}

/// §8.7: MINIMUM_IP_TARGET without WARM_IP_TARGET stops growth once total ≥ MIN, even when the pods use every
/// address and ADD fails.
#[test]
fn surprise_8_7_minimum_ip_target_alone_stops_growth() {
    let cfg = targets(1, 0, 3, 0);
    let limits = sip_limits(9, 500);
    assert_eq!(
        target_state(&cfg, &limits, &sip_pool(0, 0)),
        state(3, 0, true)
    );

    let mut r = Rig::sip();
    r.eni_with_ips(1, 0, true, 3);
    r.add_pods(3, T0);
    let s = r.stats(T0);
    assert_eq!(target_state(&cfg, &limits, &s), state(0, 0, true));
    assert!(!too_low(&cfg, &limits, &s));
    assert_eq!(r.add_pod(T0), Err(NoAvailableAddress));
}

/// §8.8, §5.3: maxPods caps growth only, at chunk granularity. PD on m5.large with max-pods 110 and
/// WARM_PREFIX_TARGET = 1 is still low at 96 addresses (6 prefixes) but not at 112 (7 prefixes), even with
/// only 2 free addresses; the release side ignores maxPods.
#[test]
fn surprise_8_8_max_pods_caps_growth_at_chunk_granularity() {
    let mut cfg = targets(1, 0, 0, 1);
    cfg.enable_prefix_delegation = true;
    let limits = NodeLimits::new(lookup("m5.large").unwrap(), &cfg, 110);
    assert_eq!(limits.mode, Mode::Prefix);

    let full_96 = pd_pool(6, 96);
    assert_eq!(full_96.total, 96);
    assert!(too_low(&cfg, &limits, &full_96));

    let at_110_pods = pd_pool(7, 110);
    assert_eq!((at_110_pods.total, at_110_pods.available()), (112, 2));
    assert!(!too_low(&cfg, &limits, &at_110_pods));

    let idle_112 = pd_pool(7, 0);
    assert!(too_high(&cfg, &limits, &idle_112), "7 free prefixes > 1");
}

// ---------------------------------------------------------------------------------------------------------
// Property test: random operation sequences, Choice::Random.

#[derive(Clone, Debug)]
enum Op {
    AddEni {
        excluded: bool,
    },
    /// A /32 (`prefix` false) or /28 numbered `slot` on the ENI at this index (modulo the ENI count).
    AddCidr {
        eni: usize,
        prefix: bool,
        slot: u8,
    },
    RemoveCidr {
        eni: usize,
        cidr: usize,
        force: bool,
    },
    Assign(PodKey),
    Unassign(PodKey),
    TakeFreeable {
        eni: usize,
        max: u32,
    },
    RemoveUnusedEni {
        w: u32,
        m: u32,
        wp: u32,
    },
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => prop::bool::weighted(0.1).prop_map(|excluded| Op::AddEni { excluded }),
        4 => (any::<usize>(), any::<bool>(), 0u8..6)
            .prop_map(|(eni, prefix, slot)| Op::AddCidr { eni, prefix, slot }),
        1 => (any::<usize>(), any::<usize>(), any::<bool>())
            .prop_map(|(eni, cidr, force)| Op::RemoveCidr { eni, cidr, force }),
        8 => (0u64..40).prop_map(Op::Assign),
        5 => (0u64..40).prop_map(Op::Unassign),
        2 => (any::<usize>(), 0u32..4).prop_map(|(eni, max)| Op::TakeFreeable { eni, max }),
        1 => (0u32..20, 0u32..40, 0u32..3).prop_map(|(w, m, wp)| Op::RemoveUnusedEni { w, m, wp }),
        3 => (0u64..40_000_000).prop_map(Op::Advance),
    ]
}

/// The CIDR an address lies in, with its ENI.
fn cidr_of(ds: &Datastore, a: Ipv4Addr) -> Option<(&DsEni, Ipv4Net)> {
    ds.enis().iter().find_map(|e| {
        e.cidrs
            .iter()
            .find(|c| c.net.contains(&a))
            .map(|c| (e, c.net))
    })
}

/// Checks the datastore against recounts through its public API and against `released`, the model's last
/// release time of each address still in the datastore.
fn check(
    ds: &Datastore,
    now: SimTime,
    released: &BTreeMap<Ipv4Addr, SimTime>,
) -> Result<(), TestCaseError> {
    ds.check_invariants().map_err(TestCaseError::fail)?;
    let mode = ds.mode();
    let held: Vec<Ipv4Addr> = (0..40).filter_map(|p| ds.pod_address(p)).collect();
    let distinct: HashSet<Ipv4Addr> = held.iter().copied().collect();
    prop_assert_eq!(
        distinct.len(),
        held.len(),
        "an address held by two pods: {:?}",
        held
    );
    let current = |n: &Ipv4Net| (n.prefix_len() < 32) == (mode == Mode::Prefix);
    for &a in &held {
        let (e, n) =
            cidr_of(ds, a).ok_or_else(|| TestCaseError::fail(format!("{a} in no CIDR")))?;
        prop_assert!(current(&n), "{} lies in {}, not a CIDR of {:?}", a, n, mode);
        prop_assert!(!e.excluded, "{} on excluded {:?}", a, e.id);
    }
    let s = ds.stats(now);
    let live = || ds.enis().iter().filter(|e| !e.excluded);
    let total: u32 = live()
        .flat_map(|e| e.cidrs.iter().filter(|c| current(&c.net)).map(|c| c.size()))
        .sum();
    prop_assert_eq!(s.total, total);
    prop_assert_eq!(s.assigned as usize, held.len());
    prop_assert_eq!(s.total - s.assigned, s.available());
    let cooling = live()
        .flat_map(|e| e.cidrs.iter().filter(|c| current(&c.net)))
        .flat_map(|c| addresses(c.net))
        .filter(|a| !held.contains(a))
        .filter(|a| released.get(a).is_some_and(|&t| now - t <= ds.cooldown()))
        .count() as u32;
    prop_assert_eq!(s.cooling, cooling);
    Ok(())
}

/// Every address of a CIDR.
fn addresses(n: Ipv4Net) -> impl Iterator<Item = Ipv4Addr> {
    let base = u32::from(n.network());
    (0..1u32 << (32 - n.prefix_len())).map(move |i| Ipv4Addr::from(base + i))
}

fn run_ops(prefix_mode: bool, seed: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mode = if prefix_mode {
        Mode::Prefix
    } else {
        Mode::SecondaryIp
    };
    let mut r = Rig::new(mode, SimDuration::from_secs(5), Choice::Random, seed);
    let mut now = T0;
    let mut next_eni = 1;
    // Last release of each address that is still in the datastore.
    let mut released: BTreeMap<Ipv4Addr, SimTime> = BTreeMap::new();
    r.eni(0, 0, true);
    for op in ops {
        let ids: Vec<EniId> = r.ds.enis().iter().map(|e| e.id).collect();
        let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
        match op {
            Op::AddEni { excluded } => {
                r.ds.add_eni(EniId(next_eni), next_eni, false, SUBNET, excluded, now);
                next_eni += 1;
            }
            Op::AddCidr { eni, prefix, slot } => {
                if let Some(id) = pick(eni) {
                    let (third, last, len) = if prefix {
                        (2, 16 * slot, 28)
                    } else {
                        (1, slot, 32)
                    };
                    let a = Ipv4Addr::new(10, id.0 as u8, third, last);
                    r.ds.add_cidr(id, Ipv4Net::new(a, len).unwrap());
                }
            }
            Op::RemoveCidr { eni, cidr, force } => {
                if let Some(e) = pick(eni).and_then(|id| r.ds.eni(id))
                    && let Some(c) = e.cidrs.get(cidr % e.cidrs.len().max(1))
                {
                    let (id, n) = (e.id, c.net);
                    r.ds.remove_cidr(id, n, force);
                }
            }
            Op::Assign(pod) => {
                let before = r.ds.pod_address(pod);
                match r.add(pod, now) {
                    Ok(a) => {
                        if let Some(b) = before {
                            prop_assert_eq!(a, b, "ADD is idempotent");
                        } else if let Some(&t) = released.get(&a) {
                            prop_assert!(
                                now - t > r.ds.cooldown(),
                                "{} handed out while cooling",
                                a
                            );
                        }
                    }
                    Err(NoAvailableAddress) => {
                        prop_assert!(before.is_none());
                        // Every current-mode address on a usable ENI is held or cooling.
                        let held: HashSet<Ipv4Addr> =
                            (0..40).filter_map(|p| r.ds.pod_address(p)).collect();
                        for e in r.ds.enis().iter().filter(|e| !e.excluded) {
                            for c in e
                                .cidrs
                                .iter()
                                .filter(|c| (c.net.prefix_len() < 32) == prefix_mode)
                            {
                                for a in addresses(c.net) {
                                    let cooling = released
                                        .get(&a)
                                        .is_some_and(|&t| now - t <= r.ds.cooldown());
                                    prop_assert!(
                                        held.contains(&a) || cooling,
                                        "ADD failed but {} is free",
                                        a
                                    );
                                }
                            }
                        }
                    }
                }
            }
            Op::Unassign(pod) => {
                if let Some(rel) = r.ds.unassign(pod, now) {
                    released.insert(rel.address, now);
                }
            }
            Op::TakeFreeable { eni, max } => {
                if let Some(id) = pick(eni) {
                    let taken = r.take_freeable_cidrs(id.0, max);
                    prop_assert!(taken.len() as u32 <= max);
                }
            }
            Op::RemoveUnusedEni { w, m, wp } => {
                if let Some(id) = r.remove_unused_eni(w, m, wp, now) {
                    prop_assert!(r.ds.eni(id).is_none());
                }
            }
            Op::Advance(us) => now += SimDuration::from_micros(us),
        }
        // Addresses whose CIDR left the datastore start afresh if it comes back.
        released.retain(|&a, _| cidr_of(&r.ds, a).is_some());
        check(&r.ds, now, &released)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_operation_sequences_keep_the_datastore_consistent(
        prefix_mode in any::<bool>(),
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        run_ops(prefix_mode, seed, ops)?;
    }
}
