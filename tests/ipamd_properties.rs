//! Invariants of a running ipamd under random pod churn, over random configurations (docs/reference/ipamd.md §2, §3):
//! the datastore never holds a CIDR that EC2 has not assigned to that ENI of this instance (it adds after EC2
//! answers and removes before it asks EC2 to release), no address is held by two pods, a pod keeps the
//! address ADD gave it until its DEL, the node never has more ENIs than `maxENI`, and the datastore's counts
//! agree with a recount.

mod ipamd_rig;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipamd_rig::Rig;
use proptest::prelude::*;
use vpcsim::sim::ipamd::Task;
use vpcsim::sim::ipamd::config::{Choice, IpamdConfig};
use vpcsim::sim::ipamd::datastore::PodKey;
use vpcsim::sim::time::SimDuration;

#[derive(Clone, Debug)]
enum Op {
    Add,
    /// Delete the k-th live pod (modulo their number).
    Del(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Add),
        3 => (0usize..1000).prop_map(Op::Del),
        3 => (1u64..40).prop_map(Op::Wait),
    ]
}

fn config() -> impl Strategy<Value = IpamdConfig> {
    (
        any::<bool>(),
        0u32..3,
        prop_oneof![Just(0u32), 1u32..20],
        prop_oneof![Just(0u32), 1u32..30],
        0u32..3,
        prop_oneof![Just(0u64), 1u64..40],
    )
        .prop_map(|(pd, warm_eni, warm_ip, min_ip, warm_prefix, cooldown)| {
            let mut c = IpamdConfig {
                enable_prefix_delegation: pd,
                warm_eni_target: warm_eni,
                warm_ip_target: warm_ip,
                minimum_ip_target: min_ip,
                warm_prefix_target: warm_prefix,
                ip_cooldown_period: SimDuration::from_secs(cooldown),
                choice: Choice::Random,
                ..IpamdConfig::default()
            };
            if c.entrypoint_refuses() {
                c.warm_prefix_target = 1;
            }
            c
        })
}

/// Checks every invariant of the module doc against EC2's view.
fn check(rig: &Rig, live: &BTreeMap<PodKey, Ipv4Addr>) -> Result<(), TestCaseError> {
    let d = rig.d();
    let st = d.state();
    st.ds.check_invariants().map_err(TestCaseError::fail)?;
    prop_assert!(st.ds.eni_count() <= st.limits.max_eni);
    let ec2 = rig.attached_enis();
    for e in st.ds.enis() {
        let Some(held) = ec2.iter().find(|x| x.id == e.id) else {
            return Err(TestCaseError::fail(format!(
                "{} is not attached in EC2",
                e.id
            )));
        };
        for c in &e.cidrs {
            let in_ec2 = if c.is_prefix() {
                held.prefixes.contains(&c.net)
            } else {
                held.secondary_ips.contains(&c.net.addr())
            };
            prop_assert!(in_ec2, "{} on {} is not assigned in EC2", c.net, e.id);
        }
    }
    for (&pod, &addr) in live {
        prop_assert_eq!(st.ds.pod_address(pod), Some(addr), "pod {} moved", pod);
    }
    let mut addrs: Vec<Ipv4Addr> = live.values().copied().collect();
    addrs.sort();
    addrs.dedup();
    prop_assert_eq!(addrs.len(), live.len(), "an address is held twice");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn ipamd_under_churn_keeps_its_datastore_inside_ec2(
        cfg in config(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let mut rig = Rig::new("t3.medium", vec![]);
        rig.ipamd(cfg, 110, Task::Run);
        rig.d().state_mut().call_trace = None;
        rig.start();
        rig.run_for(SimDuration::from_secs(20));
        let mut live: BTreeMap<PodKey, Ipv4Addr> = BTreeMap::new();
        let mut next: PodKey = 0;
        for op in ops {
            match op {
                Op::Add => {
                    if rig.add_pod(next) {
                        let address = rig.d().state().ds.pod_address(next).expect("just added");
                        live.insert(next, address);
                    }
                    next += 1;
                }
                Op::Del(k) if !live.is_empty() => {
                    let pod = *live.keys().nth(k % live.len()).unwrap();
                    rig.del_pod(pod);
                    live.remove(&pod);
                }
                Op::Del(_) => {}
                Op::Wait(s) => rig.run_for(SimDuration::from_secs(s)),
            }
            check(&rig, &live)?;
        }
    }
}
