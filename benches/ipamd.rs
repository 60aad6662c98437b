//! One node's ipamd: the CPU cost of a pool-manager tick on a steady node (the loop's 5 s of simulated time,
//! engine included, no EC2 work because the pool is at its target), and of a CNI ADD followed by a DEL on a
//! node whose pool is large (m5.24xlarge, 15 ENIs × 49 /28 prefixes).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/ipamd_rig/mod.rs"]
mod ipamd_rig;

use ipamd_rig::Rig;
use vpcsim::sim::ec2::EniId;
use vpcsim::sim::ipamd::config::{Choice, IpamdConfig};
use vpcsim::sim::ipamd::datastore::{Chooser, Datastore};
use vpcsim::sim::ipamd::limits::Mode;
use vpcsim::sim::ipamd::{IdleTicks, Task};
use vpcsim::sim::rng::stream;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::SubnetId;

/// A steady m5.large node in secondary-IP mode with 5 pods, its pool grown to WARM_ENI_TARGET=1.
fn steady_node() -> Rig {
    let mut rig = Rig::new("m5.large", vec![]);
    // Every half-tick an event: the bench measures what one costs.
    rig.ipamd(IpamdConfig::default(), 29, Task::Run)
        .set_idle_ticks(IdleTicks::Simulate);
    rig.d().state_mut().call_trace = None;
    rig.start();
    rig.run_for(SimDuration::from_secs(60));
    for pod in 0..5 {
        assert!(rig.add_pod(pod), "the warm pool has addresses");
    }
    rig.run_for(SimDuration::from_secs(120));
    // 5 pods leave 4 of the primary's 9 addresses free, below one ENI's worth: a second ENI was added.
    assert_eq!(rig.d().state().ds.eni_count(), 2);
    rig
}

/// A prefix-mode datastore with 15 ENIs × 49 prefixes (11,760 addresses), half of them assigned.
fn large_prefix_pool() -> Datastore {
    let mut ds = Datastore::new(Mode::Prefix, SimDuration::from_secs(30));
    for e in 0..15u32 {
        ds.add_eni(EniId(e), e, e == 0, SubnetId(0), false, SimTime::ZERO);
        for p in 0..49u32 {
            let base = (10u32 << 24) | (e << 12) | (p << 4);
            let net = ipnet::Ipv4Net::new(base.into(), 28).unwrap();
            ds.add_cidr(EniId(e), net);
        }
    }
    let mut rng = stream(1, "bench.choice", 0);
    let mut chooser = Chooser {
        choice: Choice::Random,
        rng: &mut rng,
    };
    for pod in 0..5_880 {
        ds.assign(pod, SimTime::ZERO, &mut chooser).unwrap();
    }
    ds
}

fn ipamd(c: &mut Criterion) {
    let mut g = c.benchmark_group("ipamd");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let mut rig = steady_node();
    g.bench_function("tick_steady_node", |b| {
        b.iter(|| rig.run_for(SimDuration::from_secs(5)))
    });

    let mut ds = large_prefix_pool();
    let mut rng = stream(2, "bench.choice", 0);
    let mut now = SimTime::ZERO;
    let pod = 1_000_000;
    g.bench_function("add_del_large_prefix_pool", |b| {
        b.iter(|| {
            // Past the cooldown, so that released addresses are reused as they would be under churn.
            now += SimDuration::from_secs(31);
            let mut chooser = Chooser {
                choice: Choice::Random,
                rng: &mut rng,
            };
            black_box(ds.assign(pod, now, &mut chooser).unwrap());
            black_box(ds.unassign(pod, now));
        })
    });
    g.finish();
}

criterion_group!(benches, ipamd);
criterion_main!(benches);
