//! Invariants of the engine, the token bucket and the control plane under random operation sequences
//! (GUIDE.md "Tests": time never goes backwards; buckets never go negative; an address is never held twice).

use std::collections::BTreeSet;

use proptest::prelude::*;
use vpcsim::sim::ec2::action::BucketSpec;
use vpcsim::sim::ec2::config::Ec2Config;
use vpcsim::sim::ec2::eni::{self, Eni};
use vpcsim::sim::ec2::instance_types::lookup;
use vpcsim::sim::ec2::token_bucket::TokenBucket;
use vpcsim::sim::ec2::*;
use vpcsim::sim::engine::{Context, Engine, Model, Scheduler};
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::{Placement, Subnet, SubnetId};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Popped times never decrease, cancelled events never fire, every live event fires once.
    #[test]
    fn engine_time_is_monotone(ops in prop::collection::vec((0u64..1_000, any::<bool>()), 1..300)) {
        let mut s: Scheduler<usize> = Scheduler::new();
        let mut cancelled = BTreeSet::new();
        let mut ids = Vec::new();
        for (i, &(dt, cancel_prev)) in ops.iter().enumerate() {
            ids.push(s.schedule_in(SimDuration(dt), i));
            if cancel_prev && i > 0 && s.cancel(ids[i - 1]) {
                cancelled.insert(i - 1);
            }
            // Interleave pops with scheduling.
            if dt % 3 == 0 {
                let before = s.now();
                if let Some((t, e)) = s.pop() {
                    prop_assert!(t >= before);
                    prop_assert!(!cancelled.contains(&e));
                    cancelled.insert(e); // fired: must not fire again
                }
            }
        }
        let mut last = s.now();
        while let Some((t, e)) = s.pop() {
            prop_assert!(t >= last);
            prop_assert!(!cancelled.contains(&e));
            cancelled.insert(e);
            last = t;
        }
        prop_assert_eq!(cancelled.len(), ops.len());
    }

    /// Over any window, a bucket admits at most burst + rate × window, and its level stays within [0, burst].
    #[test]
    fn token_bucket_never_exceeds_burst_plus_refill(
        burst in 1u32..200, rate_milli in 1u64..50_000, gaps in prop::collection::vec(0u64..2_000_000, 1..400),
    ) {
        let spec = BucketSpec::new(burst as f64, rate_milli as f64 / 1000.0);
        let mut b = TokenBucket::new(spec);
        let mut now = SimTime::ZERO;
        let mut taken = 0u64;
        for g in gaps {
            now += SimDuration(g);
            if b.try_take(now, 1) {
                taken += 1;
            }
            let level = b.available(now);
            prop_assert!((0.0..=burst as f64).contains(&level));
        }
        let bound = burst as f64 + spec.refill_per_sec * now.as_secs_f64() + 1e-9;
        prop_assert!(taken as f64 <= bound, "{} > {}", taken, bound);
    }
}

struct Harness {
    ec2: ControlPlane,
}

impl Model for Harness {
    type Event = Ec2Event;
    fn handle(&mut self, ctx: &mut Context<'_, Ec2Event>, e: Ec2Event) {
        self.ec2.handle(ctx, e);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create(u32, bool),
    Attach(usize, usize, u32),
    Detach(usize),
    Delete(usize),
    Assign(usize, u32, bool),
    Unassign(usize),
    Terminate(usize),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..6, any::<bool>()).prop_map(|(n, p)| Op::Create(n, p)),
        (0usize..8, 0usize..3, 1u32..4).prop_map(|(e, i, d)| Op::Attach(e, i, d)),
        (0usize..8).prop_map(Op::Detach),
        (0usize..8).prop_map(Op::Delete),
        (0usize..8, 1u32..6, any::<bool>()).prop_map(|(e, n, p)| Op::Assign(e, n, p)),
        (0usize..8).prop_map(Op::Unassign),
        (0usize..3).prop_map(Op::Terminate),
        (0u64..8_000).prop_map(Op::Wait),
    ]
}

/// A control plane over one /24 with an m5.large, a t3.small and a t2.medium asked for (instances 0, 1, 2),
/// the engine it runs on and its client.
fn three_instances(seed: u64) -> (Harness, Engine<Ec2Event>, ClientId) {
    let subnet = Subnet::new(
        "s",
        "10.0.0.0/24".parse().unwrap(),
        "a",
        vec![],
        Placement::Random,
        &[],
    )
    .unwrap();
    let mut h = Harness {
        ec2: ControlPlane::new(Ec2Config::default(), vec![subnet], false),
    };
    let mut engine: Engine<Ec2Event> = Engine::new(seed);
    let c = h.ec2.register_client(0);
    for t in ["m5.large", "t3.small", "t2.medium"] {
        let req = Request::RunInstances {
            instance_type: lookup(t).unwrap(),
            subnet: SubnetId(0),
            count: 1,
            leaks: LeakSettings::default(),
        };
        h.ec2.submit(&mut engine.context(), c, req);
    }
    (h, engine, c)
}

impl Harness {
    /// Makes `op`'s call (on ENIs and instances counted modulo those that exist), or waits for `Wait`.
    fn apply(&mut self, engine: &mut Engine<Ec2Event>, c: ClientId, op: Op) {
        let enis = self.ec2.inventory().enis().len().max(1);
        let eni = |e: usize| EniId((e % enis) as u32);
        let req = match op {
            Op::Create(n, p) => Some(Request::CreateNetworkInterface {
                subnet: SubnetId(0),
                addresses: if p {
                    AddressCount::Prefixes(n)
                } else {
                    AddressCount::SecondaryIps(n)
                },
                description: String::new(),
                tags: vec![],
            }),
            Op::Attach(e, i, d) => Some(Request::AttachNetworkInterface {
                eni: eni(e),
                instance: InstanceId(i as u32),
                device_index: d,
            }),
            Op::Detach(e) => self
                .ec2
                .inventory()
                .eni(eni(e))
                .and_then(|x| x.state.attachment())
                .map(|a| Request::DetachNetworkInterface { attachment: a.id }),
            Op::Delete(e) => Some(Request::DeleteNetworkInterface { eni: eni(e) }),
            Op::Assign(e, n, p) => Some(Request::AssignPrivateIpAddresses {
                eni: eni(e),
                addresses: if p {
                    AddressCount::Prefixes(n)
                } else {
                    AddressCount::SecondaryIps(n)
                },
            }),
            Op::Unassign(e) => {
                self.ec2
                    .inventory()
                    .eni(eni(e))
                    .map(|x| Request::UnassignPrivateIpAddresses {
                        eni: x.id,
                        ips: x.secondary_ips.iter().take(2).map(|&(ip, _)| ip).collect(),
                        prefixes: x.prefixes.iter().take(1).map(|&(p, _)| p).collect(),
                    })
            }
            Op::Terminate(i) => Some(Request::TerminateInstances {
                instance: InstanceId(i as u32),
            }),
            Op::Wait(ms) => {
                let t = engine.now() + SimDuration::from_millis(ms);
                engine.run_until(self, t);
                None
            }
        };
        if let Some(req) = req {
            self.ec2.submit(&mut engine.context(), c, req);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the sequence of calls, every address in use in the subnet belongs to exactly one live ENI,
    /// attached ENIs respect their instance's limits, devices are unique per instance, and the available ENIs
    /// are listed, and the live ones counted, as a scan of every ENI would find them.
    #[test]
    fn control_plane_keeps_addresses_and_limits_consistent(ops in prop::collection::vec(op(), 1..60)) {
        let (mut h, mut engine, c) = three_instances(3);
        engine.run_until(&mut h, SimTime(20_000_000));
        for op in ops {
            h.apply(&mut engine, c, op);
            let t = engine.now() + SimDuration::from_millis(50);
            engine.run_until(&mut h, t);

            let mut held = BTreeSet::new();
            let mut count = 0u32;
            for e in h.ec2.inventory().enis().iter().filter(|e| !e.is_deleted()) {
                let addrs = std::iter::once(e.primary_ip)
                    .chain(e.secondary_ips.iter().map(|&(ip, _)| ip))
                    .chain(e.prefixes.iter().flat_map(|&(p, _)| p.hosts().chain([p.network(), p.broadcast()])));
                for a in addrs {
                    prop_assert!(held.insert(a), "{} held twice", a);
                    prop_assert!(!h.ec2.inventory().subnet(SubnetId(0)).is_free(a));
                    count += 1;
                }
                if let Some(a) = e.state.attachment() {
                    let inst = h.ec2.inventory().instance(a.instance).unwrap();
                    prop_assert!(e.slots_used() <= inst.instance_type.ipv4_per_eni);
                    prop_assert!(e.prefixes.is_empty() || inst.instance_type.supports_prefixes());
                }
            }
            prop_assert_eq!(count, h.ec2.inventory().subnet(SubnetId(0)).used());
            // The index of available ENIs is the scan it stands for.
            let available = |e: &Eni| e.state == eni::EniState::Available;
            let indexed: Vec<EniId> = h.ec2.inventory().available_enis().map(|e| e.id).collect();
            let scanned: Vec<EniId> = h.ec2.inventory().enis().iter().filter(|e| available(e)).map(|e| e.id).collect();
            prop_assert_eq!(indexed, scanned);
            let live = h.ec2.inventory().enis().iter().filter(|e| !e.is_deleted()).count();
            prop_assert_eq!(h.ec2.inventory().live_enis(), live);
            for inst in h.ec2.inventory().instances() {
                prop_assert!(inst.devices.len() as u32 <= inst.instance_type.eni_limit);
                let mut devs: Vec<u32> = inst.devices.iter().map(|&(d, _)| d).collect();
                devs.dedup();
                prop_assert_eq!(devs.len(), inst.devices.len());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// What IMDS shows of an instance (docs/reference/ec2.md §2.3: ENIs and addresses appear after a lag) is the
    /// same at every instant for as long as the stamp taken of it holds, whatever the calls and waits between.
    #[test]
    fn ec2_2_3_an_imds_view_holds_while_its_stamp_does(ops in prop::collection::vec(op(), 1..60)) {
        let (mut h, mut engine, c) = three_instances(5);
        // Each instance's oldest stamp still holding, with the view it was taken of.
        let mut seen: Vec<Option<(MetadataStamp, Vec<MetadataEni>)>> = vec![None; 3];
        let mut stamped = 0;
        for op in ops {
            h.apply(&mut engine, c, op);
            // Views are read at several instants between calls, so that ENIs and addresses appear in between.
            for _ in 0..4 {
                let t = engine.now() + SimDuration::from_millis(700);
                engine.run_until(&mut h, t);
                let (inv, now) = (h.ec2.inventory(), engine.now());
                for (i, memo) in seen.iter_mut().enumerate() {
                    let instance = InstanceId(i as u32);
                    let view = inv.metadata(instance, now);
                    match memo {
                        Some((stamp, then)) if inv.metadata_unchanged(*stamp) => {
                            prop_assert_eq!(&view, then, "instance {} changed under its stamp", i);
                        }
                        _ => {
                            *memo = inv.metadata_stamp(instance, now).map(|s| (s, view));
                            stamped += usize::from(memo.is_some());
                        }
                    }
                }
            }
        }
        prop_assert!(stamped > 0);
    }
}
