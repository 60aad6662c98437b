//! Property tests of the subnet allocator: random subnets (/20 to /28) with random reservations and initial
//! occupancy, driven by random sequences of assignments and releases, checked against a simple model and
//! brute-force recounts through the public API. The sequences also create and delete reservations while
//! addresses are in use (docs/reference/ec2.md §3.5): nothing is unassigned, and the index stays exact.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use rand::SeedableRng;
use vpcsim::sim::rng::SimRng;
use vpcsim::sim::vpc::{
    AllocError, InUseSpec, InitialPlacement, Placement, ReservationKind, ReservationRange,
    ReservationSpec, Subnet,
};

#[derive(Clone, Debug)]
enum Op {
    AssignIps(u32),
    AssignPrefixes(u32),
    /// Explicit assignment of the address at this offset (modulo the subnet size).
    AssignAddress(u32),
    /// Release the held single address with this index (modulo the number held).
    ReleaseIp(usize),
    ReleasePrefix(usize),
    /// Create a reservation during the run (kept only if EC2 would accept it).
    CreateReservation(ResCandidate),
    /// Delete the reservation with this index (modulo the number there are).
    DeleteReservation(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u32..=40).prop_map(Op::AssignIps),
        3 => (1u32..=12).prop_map(Op::AssignPrefixes),
        1 => any::<u32>().prop_map(Op::AssignAddress),
        3 => any::<usize>().prop_map(Op::ReleaseIp),
        2 => any::<usize>().prop_map(Op::ReleasePrefix),
        1 => res_candidate().prop_map(Op::CreateReservation),
        1 => any::<usize>().prop_map(Op::DeleteReservation),
    ]
}

/// A candidate reservation, placed relative to the subnet once its size is known.
#[derive(Clone, Debug)]
struct ResCandidate {
    prefix: bool,
    /// 0: CIDR; 1: top percent; 2: bottom percent.
    shape: u8,
    /// CIDR: extra prefix bits beyond the subnet's (clamped); percent: the percentage.
    extra: u8,
    position: u32,
    percent: f64,
}

fn res_candidate() -> impl Strategy<Value = ResCandidate> {
    (any::<bool>(), 0u8..3, 0u8..=16, any::<u32>(), 1.0f64..=60.0).prop_map(
        |(prefix, shape, extra, position, percent)| ResCandidate {
            prefix,
            shape,
            extra,
            position,
            percent,
        },
    )
}

fn place(c: &ResCandidate, cidr: Ipv4Net) -> ReservationSpec {
    let kind = if c.prefix {
        ReservationKind::Prefix
    } else {
        ReservationKind::Explicit
    };
    let range = match c.shape {
        0 => {
            let max_len = if c.prefix { 28 } else { 32 };
            let len = (cidr.prefix_len() + c.extra).min(max_len);
            let count = 1u32 << (len - cidr.prefix_len());
            let step = 1u32 << (32 - len);
            let start = u32::from(cidr.network()) + (c.position % count) * step;
            ReservationRange::Cidr(Ipv4Net::new(Ipv4Addr::from(start), len).unwrap())
        }
        1 => ReservationRange::TopPercent(c.percent),
        _ => ReservationRange::BottomPercent(c.percent),
    };
    ReservationSpec { kind, range }
}

#[derive(Clone, Debug)]
struct Setup {
    len: u8,
    net_bits: u32,
    placement: Placement,
    reservations: Vec<ResCandidate>,
    occupy_per_mille: u32,
    occupy_placement: InitialPlacement,
    seed: u64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        20u8..=28,
        any::<u32>(),
        prop_oneof![Just(Placement::Random), Just(Placement::Lowest)],
        prop::collection::vec(res_candidate(), 0..4),
        0u32..150,
        prop_oneof![
            Just(InitialPlacement::Random),
            Just(InitialPlacement::Lowest),
            Just(InitialPlacement::Spread)
        ],
        any::<u64>(),
    )
        .prop_map(
            |(len, net_bits, placement, reservations, occupy_per_mille, occupy_placement, seed)| {
                Setup {
                    len,
                    net_bits,
                    placement,
                    reservations,
                    occupy_per_mille,
                    occupy_placement,
                    seed,
                }
            },
        )
}

/// Builds the subnet, keeping each candidate reservation that does not overlap those already kept.
fn build(s: &Setup) -> (Subnet, SimRng) {
    let cidr = Ipv4Net::new(Ipv4Addr::from(s.net_bits), s.len)
        .unwrap()
        .trunc();
    let mut specs: Vec<ReservationSpec> = Vec::new();
    for c in &s.reservations {
        let spec = place(c, cidr);
        let mut trial = specs.clone();
        trial.push(spec);
        if Subnet::new("p", cidr, "az", vec![], s.placement, &trial).is_ok() {
            specs = trial;
        }
    }
    let mut subnet = Subnet::new("p", cidr, "az", vec![], s.placement, &specs).unwrap();
    let mut rng = SimRng::seed_from_u64(s.seed);
    let count = subnet.free_unreserved_addresses() * s.occupy_per_mille / 1000;
    let spec = InUseSpec {
        count,
        placement: s.occupy_placement,
        addresses: vec![],
        ..InUseSpec::default()
    };
    subnet.occupy(&spec, &mut rng).unwrap();
    (subnet, rng)
}

fn addr_at(subnet: &Subnet, o: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.cidr().network()) + o)
}

fn in_kind(subnet: &Subnet, a: Ipv4Addr, kind: ReservationKind) -> bool {
    subnet
        .reservations()
        .iter()
        .any(|r| r.kind() == kind && r.contains(a))
}

fn in_any_reservation(subnet: &Subnet, a: Ipv4Addr) -> bool {
    subnet.reservations().iter().any(|r| r.contains(a))
}

/// (free prefix blocks, of which in prefix reservations, free unreserved addresses), recounted address by address.
fn brute_force(subnet: &Subnet) -> (u32, u32, u32) {
    let blocks = subnet.size() / 16;
    let (mut free, mut reserved) = (0, 0);
    for b in 1..blocks.saturating_sub(1) {
        let addrs: Vec<Ipv4Addr> = (0..16).map(|i| addr_at(subnet, b * 16 + i)).collect();
        let wholly_free = addrs.iter().all(|&a| subnet.is_free(a));
        let explicit = addrs
            .iter()
            .any(|&a| in_kind(subnet, a, ReservationKind::Explicit));
        if wholly_free && !explicit {
            free += 1;
            if in_kind(subnet, addrs[0], ReservationKind::Prefix) {
                reserved += 1;
            }
        }
    }
    let unreserved = (0..subnet.size())
        .map(|o| addr_at(subnet, o))
        .filter(|&a| subnet.is_free(a) && !in_any_reservation(subnet, a))
        .count() as u32;
    (free, reserved, unreserved)
}

fn check_prefix_shape(subnet: &Subnet, p: Ipv4Net) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.prefix_len(), 28);
    prop_assert_eq!(p.trunc(), p, "not aligned");
    prop_assert!(subnet.cidr().contains(&p));
    let o = u32::from(p.network()) - u32::from(subnet.cidr().network());
    prop_assert!(
        o != 0 && o != subnet.size() - 16,
        "{} is the first or last block",
        p
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_the_invariants(s in setup(), ops in prop::collection::vec(op(), 1..40)) {
        let (mut subnet, mut rng) = build(&s);
        // Model: everything held (including initial occupancy), singly held addresses, held prefixes.
        let mut held: BTreeSet<Ipv4Addr> = (0..subnet.size())
            .map(|o| addr_at(&subnet, o))
            .filter(|&a| !subnet.is_free(a))
            .collect();
        prop_assert_eq!(held.len() as u32, subnet.used() + Subnet::AWS_RESERVED);
        let mut singles: Vec<Ipv4Addr> = Vec::new();
        let mut prefixes: Vec<Ipv4Net> = Vec::new();
        let mut out_ips = Vec::new();
        let mut out_prefixes = Vec::new();

        for op in ops {
            let (free_blocks, free_reserved, free_unreserved) = brute_force(&subnet);
            let used_before = subnet.used();
            match op {
                Op::AssignIps(n) => {
                    out_ips.clear();
                    match subnet.assign_ips(n, &mut rng, &mut out_ips) {
                        Ok(()) => {
                            prop_assert!(n <= free_unreserved);
                            prop_assert_eq!(out_ips.len() as u32, n);
                            for &a in &out_ips {
                                prop_assert!(held.insert(a), "{} handed out twice", a);
                                prop_assert!(!in_any_reservation(&subnet, a), "{} is reserved", a);
                                singles.push(a);
                            }
                            if s.placement == Placement::Lowest {
                                prop_assert!(out_ips.windows(2).all(|w| w[0] < w[1]));
                            }
                        }
                        Err(e) => {
                            prop_assert_eq!(e, AllocError::InsufficientFreeAddresses { requested: n, available: free_unreserved });
                            prop_assert!(out_ips.is_empty());
                            prop_assert_eq!(subnet.used(), used_before);
                        }
                    }
                }
                Op::AssignPrefixes(n) => {
                    out_prefixes.clear();
                    match subnet.assign_prefixes(n, &mut rng, &mut out_prefixes) {
                        Ok(()) => {
                            prop_assert!(n <= free_blocks);
                            prop_assert_eq!(out_prefixes.len() as u32, n);
                            for (i, &p) in out_prefixes.iter().enumerate() {
                                check_prefix_shape(&subnet, p)?;
                                for a in p.hosts().chain([p.network(), p.broadcast()]) {
                                    prop_assert!(held.insert(a), "{} of {} handed out twice", a, p);
                                }
                                let from_reservation = in_kind(&subnet, p.network(), ReservationKind::Prefix);
                                // Prefix reservations first, while any of their blocks is free.
                                prop_assert_eq!(from_reservation, (i as u32) < free_reserved, "{} at position {}", p, i);
                                prop_assert!(!in_kind(&subnet, p.network(), ReservationKind::Explicit));
                                prop_assert!(!in_kind(&subnet, p.broadcast(), ReservationKind::Explicit));
                                prefixes.push(p);
                            }
                        }
                        Err(e) => {
                            prop_assert_eq!(e, AllocError::InsufficientCidrBlocks { requested: n, available: free_blocks });
                            prop_assert!(out_prefixes.is_empty());
                            prop_assert_eq!(subnet.used(), used_before);
                        }
                    }
                }
                Op::AssignAddress(o) => {
                    let a = addr_at(&subnet, o % subnet.size());
                    let was_free = subnet.is_free(a);
                    match subnet.assign_address(a) {
                        Ok(()) => {
                            prop_assert!(was_free);
                            prop_assert!(held.insert(a));
                            singles.push(a);
                        }
                        Err(AllocError::AddressInUse(x) | AllocError::AddressReserved(x)) => {
                            prop_assert_eq!(x, a);
                            prop_assert!(!was_free);
                        }
                        Err(e) => prop_assert!(false, "unexpected {:?}", e),
                    }
                }
                Op::ReleaseIp(i) => {
                    if !singles.is_empty() {
                        let a = singles.swap_remove(i % singles.len());
                        subnet.release_address(a).unwrap();
                        prop_assert!(held.remove(&a));
                        prop_assert!(subnet.is_free(a));
                        prop_assert_eq!(subnet.release_address(a), Err(AllocError::NotAssigned(a)));
                    }
                }
                Op::ReleasePrefix(i) => {
                    if !prefixes.is_empty() {
                        let p = prefixes.swap_remove(i % prefixes.len());
                        subnet.release_prefix(p).unwrap();
                        for a in p.hosts().chain([p.network(), p.broadcast()]) {
                            prop_assert!(held.remove(&a));
                        }
                        prop_assert_eq!(subnet.release_prefix(p), Err(AllocError::PrefixNotAssigned(p)));
                    }
                }
                Op::CreateReservation(c) => {
                    let spec = place(&c, subnet.cidr());
                    let before = subnet.reservations().len();
                    match subnet.add_reservation(spec) {
                        Ok(r) => {
                            prop_assert_eq!(subnet.reservations().len(), before + 1);
                            prop_assert!(subnet.reservations_changed());
                            let mut trial: Vec<ReservationSpec> =
                                subnet.reservations().iter().map(|r| r.spec()).collect();
                            trial.pop();
                            trial.push(r.spec());
                            prop_assert!(Subnet::new("p", subnet.cidr(), "az", vec![], s.placement, &trial).is_ok());
                        }
                        Err(_) => {
                            prop_assert_eq!(subnet.reservations().len(), before);
                            let mut trial: Vec<ReservationSpec> =
                                subnet.reservations().iter().map(|r| r.spec()).collect();
                            trial.push(spec);
                            prop_assert!(Subnet::new("p", subnet.cidr(), "az", vec![], s.placement, &trial).is_err());
                        }
                    }
                    // Creating a reservation unassigns nothing.
                    prop_assert_eq!(subnet.used(), used_before);
                    for &a in &held {
                        prop_assert!(!subnet.is_free(a));
                    }
                }
                Op::DeleteReservation(i) => {
                    let n = subnet.reservations().len();
                    if n > 0 {
                        let r = subnet.reservations()[i % n];
                        for net in r.cidrs().into_iter().filter(|_| r.cidrs().len() == 1) {
                            prop_assert_eq!(subnet.remove_reservation(net).unwrap(), r);
                            prop_assert_eq!(subnet.reservations().len(), n - 1);
                        }
                        prop_assert_eq!(subnet.used(), used_before);
                    }
                }
            }

            prop_assert_eq!(subnet.free_addresses() + subnet.used() + Subnet::AWS_RESERVED, subnet.size());
            prop_assert_eq!(held.len() as u32, subnet.used() + Subnet::AWS_RESERVED);
            let (free_blocks, free_reserved, free_unreserved) = brute_force(&subnet);
            prop_assert_eq!(subnet.free_prefix_blocks(), free_blocks);
            prop_assert_eq!(subnet.free_reserved_prefix_blocks(), free_reserved);
            prop_assert_eq!(subnet.free_unreserved_addresses(), free_unreserved);
            if let Err(e) = subnet.check_invariants() {
                prop_assert!(false, "{}", e);
            }
        }
    }

    #[test]
    fn same_seed_same_choices(s in setup(), ops in prop::collection::vec(op(), 1..20)) {
        let run = || {
            let (mut subnet, mut rng) = build(&s);
            let mut ips = Vec::new();
            let mut prefixes = Vec::new();
            for op in &ops {
                match *op {
                    Op::AssignIps(n) => { let _ = subnet.assign_ips(n, &mut rng, &mut ips); }
                    Op::AssignPrefixes(n) => { let _ = subnet.assign_prefixes(n, &mut rng, &mut prefixes); }
                    _ => {}
                }
            }
            (ips, prefixes, subnet.used(), subnet.free_prefix_blocks())
        };
        prop_assert_eq!(run(), run());
    }

    #[test]
    fn spread_touches_as_many_blocks_as_possible(len in 20u8..=28, per_mille in 0u32..=1000) {
        let cidr = Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), len).unwrap();
        let mut subnet = Subnet::new("p", cidr, "az", vec![], Placement::Random, &[]).unwrap();
        let blocks = subnet.free_prefix_blocks();
        let count = subnet.free_unreserved_addresses() * per_mille / 1000;
        let spec = InUseSpec { count, placement: InitialPlacement::Spread, ..InUseSpec::default() };
        subnet.occupy(&spec, &mut SimRng::seed_from_u64(1)).unwrap();
        prop_assert_eq!(subnet.used(), count);
        prop_assert_eq!(subnet.free_prefix_blocks(), blocks.saturating_sub(count));
    }
}
