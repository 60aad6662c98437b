//! Address allocation cost in a /16: one automatic secondary IP (random placement) in a half-used subnet, and
//! one /28 prefix in a lightly used one, each assigned and released again so the occupancy stays put.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

use vpcsim::sim::rng::stream;
use vpcsim::sim::vpc::{InUseSpec, InitialPlacement, Placement, Subnet};

/// A /16 (65,536 addresses, 4,096 /28 blocks) with `in_use` addresses taken at random.
fn slash16_with(in_use: u32) -> Subnet {
    let cidr = "10.0.0.0/16".parse().unwrap();
    let mut s = Subnet::new("bench", cidr, "a", vec![], Placement::Random, &[]).unwrap();
    let spec = InUseSpec {
        count: in_use,
        placement: InitialPlacement::Random,
        ..InUseSpec::default()
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

    // About half the addresses in use.
    let mut s = slash16_with(30_000);
    let mut ips = Vec::with_capacity(1);
    g.bench_function("assign_release_ip_slash16", |b| {
        b.iter(|| {
            ips.clear();
            s.assign_ips(1, &mut rng, &mut ips).unwrap();
            s.release_address(black_box(ips[0])).unwrap();
        })
    });

    // Few enough addresses in use that about 2,400 blocks are still wholly free for prefixes.
    let mut s = slash16_with(2_000);
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
