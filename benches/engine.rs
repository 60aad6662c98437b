//! Event-queue throughput on the classic hold model: N events pending; each step pops the earliest and schedules
//! one new event at now + a random delay, so the pending count stays at N.
//!
//! The delays come from a pre-generated ring (exponential, mean 1 s), so the RNG is not measured. The baseline is
//! a bare `BinaryHeap<Reverse<(time, seq)>>` doing the same steps with the same delays. Throughput is in events
//! (pop + schedule) per second.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand_distr::{Distribution, Exp};

use vpcsim::sim::engine::Scheduler;
use vpcsim::sim::rng::stream;
use vpcsim::sim::time::{SimDuration, SimTime};

const PENDING: [usize; 3] = [100, 10_000, 1_000_000];
/// Events per measured iteration; large enough that the timing overhead per iteration vanishes.
const STEPS: u64 = 4096;
/// Delays in the ring (a power of two, so the index is a mask).
const RING: usize = 1 << 16;
const MEAN_DELAY_US: f64 = 1_000_000.0;

fn delays() -> Vec<u64> {
    let mut rng = stream(42, "bench.delays", 0);
    let exp = Exp::new(1.0 / MEAN_DELAY_US).unwrap();
    (0..RING)
        .map(|_| exp.sample(&mut rng).round() as u64)
        .collect()
}

/// The engine's scheduler, filled with `n` events at random times in the first mean delay.
fn engine_queue(n: usize, ring: &[u64]) -> Scheduler<u64> {
    let mut s = Scheduler::with_capacity(n);
    for i in 0..n {
        s.schedule_at(SimTime(ring[i % RING]), i as u64);
    }
    s
}

fn baseline_queue(n: usize, ring: &[u64]) -> (BinaryHeap<Reverse<(u64, u64)>>, u64) {
    let mut h = BinaryHeap::with_capacity(n);
    for i in 0..n {
        h.push(Reverse((ring[i % RING], i as u64)));
    }
    (h, n as u64)
}

fn hold(c: &mut Criterion) {
    let ring = delays();
    let mut g = c.benchmark_group("hold");
    g.throughput(Throughput::Elements(STEPS))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for n in PENDING {
        // The queue is built once per N and then held at N pending across all iterations; only the steps are timed.
        let mut sched = engine_queue(n, &ring);
        let mut next = 0usize;
        g.bench_function(BenchmarkId::new("engine", n), |b| {
            b.iter(|| {
                for _ in 0..STEPS {
                    let (t, ev) = sched.pop().unwrap();
                    let d = ring[next & (RING - 1)];
                    next = next.wrapping_add(1);
                    sched.schedule_at(t + SimDuration(d), black_box(ev));
                }
            })
        });
        assert_eq!(sched.pending(), n);
        drop(sched);

        let (mut heap, mut seq) = baseline_queue(n, &ring);
        let mut next = 0usize;
        g.bench_function(BenchmarkId::new("binary_heap", n), |b| {
            b.iter(|| {
                for _ in 0..STEPS {
                    let Reverse((t, _)) = heap.pop().unwrap();
                    let d = ring[next & (RING - 1)];
                    next = next.wrapping_add(1);
                    heap.push(Reverse((t + d, black_box(seq))));
                    seq += 1;
                }
            })
        });
        assert_eq!(heap.len(), n);
    }
    g.finish();
}

criterion_group!(benches, hold);
criterion_main!(benches);
