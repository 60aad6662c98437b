//! Address allocation cost in a large, half-used subnet: one automatic secondary IP (random placement) and one
//! /28 prefix, each assigned and released again so the occupancy stays put.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use vpcsim::sim::rng::stream;
use vpcsim::sim::vpc::{InUseSpec, InitialPlacement, Placement, Subnet};

/// A /16 with half its addresses in use, placed at random: 65,536 addresses, 4,096 /28 blocks.
fn half_used_slash16() -> Subnet {
    let mut s = Subnet::new(
        "bench",
        "10.0.0.0/16".parse().unwrap(),
        "a",
        vec![],
        Placement::Random,
        &[],
    )
    .unwrap();
    let spec = InUseSpec {
        count: 30_000,
        placement: InitialPlacement::Random,
        addresses: vec![],
    };
    s.occupy(&spec, &mut stream(1, "bench.occupy", 0)).unwrap();
    s
}

fn allocation(c: &mut Criterion) {
    let mut g = c.benchmark_group("subnet");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut rng = stream(2, "bench.placement", 0);

    let mut s = half_used_slash16();
    let mut ips = Vec::with_capacity(1);
    g.bench_function("assign_release_ip_slash16", |b| {
        b.iter(|| {
            ips.clear();
            s.assign_ips(1, &mut rng, &mut ips).unwrap();
            s.release_address(black_box(ips[0])).unwrap();
        })
    });

    let mut s = Subnet::new(
        "bench",
        "10.0.0.0/16".parse().unwrap(),
        "a",
        vec![],
        Placement::Random,
        &[],
    )
    .unwrap();
    let spec = InUseSpec {
        count: 2_000,
        placement: InitialPlacement::Random,
        addresses: vec![],
    };
    s.occupy(&spec, &mut stream(1, "bench.occupy", 0)).unwrap();
    let mut prefixes = Vec::with_capacity(1);
    g.bench_function("assign_release_prefix_slash16", |b| {
        b.iter(|| {
            prefixes.clear();
            s.assign_prefixes(1, &mut rng, &mut prefixes).unwrap();
            s.release_prefix(black_box(prefixes[0])).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, allocation);
criterion_main!(benches);
