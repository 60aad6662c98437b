//! Workloads: the sources of pods (and of timed node-group changes from traces). Each workload draws from its
//! own random stream and hands what it decides to the cluster as [`WorkloadAction`]s.

use rand::RngExt;
use rand_distr::Exp1;

use crate::scenarios::{DayCurve, PodShape, TraceAction, WorkloadKind, WorkloadSpec};
use crate::sim::engine::Context;
use crate::sim::rng::{SimRng, stream};
use crate::sim::time::{SimDuration, SimTime};

/// Wakes workload `workload`; `step` is the workload's own counter (the next scale step, trace row, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkloadEvent {
    pub workload: u32,
    pub step: u32,
}

/// A pod a workload wants created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodRequest {
    pub workload: u32,
    /// Node group the pod is bound to, or any node.
    pub node_group: Option<usize>,
    pub shape: PodShape,
    /// The pod deletes itself this long after it starts Running; `None`: until something deletes it.
    pub lifetime: Option<SimDuration>,
    /// The trace pod number, for trace workloads.
    pub trace_pod: Option<u32>,
}

/// What a workload asks of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadAction {
    CreatePod(PodRequest),
    /// Make the deployment `workload` have `replicas` pods (create, or delete newest first).
    ScaleDeployment {
        workload: u32,
        replicas: u32,
    },
    /// Delete trace pod `pod` of workload `workload`.
    DeleteTracePod {
        workload: u32,
        pod: u32,
    },
    ScaleNodeGroup {
        group: usize,
        count: u32,
    },
    RolloutNodeGroup {
        group: usize,
        batch: u32,
    },
}

/// One workload and its random stream.
struct Workload {
    spec: WorkloadSpec,
    rng: SimRng,
}

/// Every workload of a scenario. Each wake-up is a [`WorkloadEvent`]; what a workload decides goes to the
/// caller as [`WorkloadAction`]s.
///
/// `WorkloadEvent::step` is the workload's position: for a trace, the index of the next row; for a deployment,
/// 0 at time 0 and then 1 + the index of the next scale step; an arrival or run counter otherwise.
pub struct Workloads {
    items: Vec<Workload>,
}

impl Workloads {
    /// One random stream per workload, named by its `stream` (its name unless the scenario says otherwise), so
    /// that a workload's draws depend neither on the others nor on its place in the file, and two workloads
    /// given one stream draw the same values.
    pub fn new(specs: &[WorkloadSpec], seed: u64) -> Self {
        let items = specs
            .iter()
            .map(|spec| Workload {
                spec: spec.clone(),
                rng: stream(seed, &format!("workload/{}", spec.stream), 0),
            })
            .collect();
        Workloads { items }
    }

    /// Schedules each workload's first wake-up; emits nothing. A deployment wakes at time 0 to set its
    /// initial replicas.
    pub fn start<E: From<WorkloadEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        for (i, w) in self.items.iter_mut().enumerate() {
            let ev = WorkloadEvent {
                workload: i as u32,
                step: 0,
            };
            let rng = &mut w.rng;
            let first = match &w.spec.kind {
                WorkloadKind::Steady {
                    rate_per_s,
                    start,
                    stop,
                    ..
                } => Some(SimTime::ZERO + *start + exp_gap(rng, *rate_per_s))
                    .filter(|&t| before_stop(t, *stop)),
                WorkloadKind::Deployment { .. } => Some(SimTime::ZERO),
                WorkloadKind::CronJob { start, .. } => Some(SimTime::ZERO + *start),
                WorkloadKind::Diurnal { curve, .. } => Some(curve.next_arrival(rng, SimTime::ZERO)),
                WorkloadKind::Trace { rows } => rows.first().map(|r| SimTime::ZERO + r.at),
            };
            if let Some(t) = first {
                ctx.schedule_at(t, ev);
            }
        }
    }

    /// Handles one wake-up of `ev.workload`: pushes what it decided onto `out` (never clears it) and schedules
    /// its next wake-up, if any.
    pub fn handle<E: From<WorkloadEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ev: WorkloadEvent,
        out: &mut Vec<WorkloadAction>,
    ) {
        let workload = ev.workload;
        let Workload { spec, rng } = &mut self.items[workload as usize];
        let now = ctx.now();
        let at = |d: SimDuration| SimTime::ZERO + d;
        let pod = |lifetime: SimDuration| {
            WorkloadAction::CreatePod(PodRequest {
                workload,
                node_group: spec.node_group,
                shape: spec.pod,
                lifetime: Some(lifetime),
                trace_pod: None,
            })
        };
        let next = |step: u32| WorkloadEvent { workload, step };
        match &spec.kind {
            WorkloadKind::Steady {
                rate_per_s,
                lifetime,
                stop,
                ..
            } => {
                out.push(pod(lifetime.sample(rng)));
                let t = now + exp_gap(rng, *rate_per_s);
                if before_stop(t, *stop) {
                    ctx.schedule_at(t, next(ev.step.wrapping_add(1)));
                }
            }
            WorkloadKind::Deployment { replicas, steps } => {
                let mut k = ev.step as usize;
                if k == 0 {
                    out.push(WorkloadAction::ScaleDeployment {
                        workload,
                        replicas: *replicas,
                    });
                    k = 1;
                }
                // Every step due now in this wake-up, in order: the last one sets the count.
                while let Some(s) = steps.get(k - 1).filter(|s| at(s.at) <= now) {
                    out.push(WorkloadAction::ScaleDeployment {
                        workload,
                        replicas: s.count,
                    });
                    k += 1;
                }
                if let Some(s) = steps.get(k - 1) {
                    ctx.schedule_at(at(s.at), next(k as u32));
                }
            }
            WorkloadKind::CronJob {
                period,
                pods,
                duration,
                ..
            } => {
                for _ in 0..*pods {
                    out.push(pod(duration.sample(rng)));
                }
                ctx.schedule_at(now + *period, next(ev.step.wrapping_add(1)));
            }
            WorkloadKind::Diurnal { curve, lifetime } => {
                out.push(pod(lifetime.sample(rng)));
                let t = curve.next_arrival(rng, now);
                ctx.schedule_at(t, next(ev.step.wrapping_add(1)));
            }
            WorkloadKind::Trace { rows } => {
                // Every row due now in this wake-up.
                let mut k = ev.step as usize;
                while let Some(row) = rows.get(k).filter(|r| at(r.at) <= now) {
                    out.push(match row.action {
                        TraceAction::CreatePod {
                            pod,
                            node_group,
                            shape,
                            lifetime,
                        } => WorkloadAction::CreatePod(PodRequest {
                            workload,
                            node_group,
                            shape,
                            lifetime,
                            trace_pod: Some(pod),
                        }),
                        TraceAction::DeletePod { pod } => {
                            WorkloadAction::DeleteTracePod { workload, pod }
                        }
                        TraceAction::ScaleNodeGroup { group, count } => {
                            WorkloadAction::ScaleNodeGroup { group, count }
                        }
                        TraceAction::RolloutNodeGroup { group, batch } => {
                            WorkloadAction::RolloutNodeGroup { group, batch }
                        }
                    });
                    k += 1;
                }
                if let Some(row) = rows.get(k) {
                    ctx.schedule_at(at(row.at), next(k as u32));
                }
            }
        }
    }
}

/// An exponential gap with rate `rate_per_s` (a Poisson process's inter-arrival time).
fn exp_gap(rng: &mut SimRng, rate_per_s: f64) -> SimDuration {
    let x: f64 = rng.sample(Exp1);
    SimDuration::from_secs_f64(x / rate_per_s)
}

/// Whether an arrival at `t` comes before the workload's `stop`.
fn before_stop(t: SimTime, stop: Option<SimDuration>) -> bool {
    stop.is_none_or(|s| t < SimTime::ZERO + s)
}

/// Sampling a diurnal workload's arrivals from its curve.
impl DayCurve {
    fn rate(&self, t: SimTime) -> f64 {
        let period = i128::from(self.period.0.max(1));
        let phase = (i128::from(t.0) - i128::from(self.peak_at.0)).rem_euclid(period);
        let angle = std::f64::consts::TAU * phase as f64 / period as f64;
        self.mean_rate_per_s * (1.0 + self.amplitude * angle.cos())
    }

    /// The first arrival after `from`, by thinning (Lewis and Shedler): candidates of a Poisson process at the
    /// curve's peak rate, each kept with probability rate(t) / peak rate. Rejected candidates cost draws, not
    /// events: at most 1 + amplitude candidates per arrival on average.
    fn next_arrival(&self, rng: &mut SimRng, from: SimTime) -> SimTime {
        let peak = self.mean_rate_per_s * (1.0 + self.amplitude);
        let mut t = from;
        loop {
            t += exp_gap(rng, peak);
            let u: f64 = rng.random();
            if u * peak < self.rate(t) || t == SimTime(u64::MAX) {
                return t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{ScaleStep, TraceRow};
    use crate::sim::dist::DurationDist;
    use crate::sim::engine::{Engine, Model};

    /// Drives `Workloads` alone and records what it emits, with the time.
    struct Rig {
        w: Workloads,
        out: Vec<WorkloadAction>,
        log: Vec<(SimTime, WorkloadAction)>,
    }

    impl Model for Rig {
        type Event = WorkloadEvent;
        fn handle(&mut self, ctx: &mut Context<'_, WorkloadEvent>, ev: WorkloadEvent) {
            self.w.handle(ctx, ev, &mut self.out);
            let now = ctx.now();
            self.log.extend(self.out.drain(..).map(|a| (now, a)));
        }
    }

    /// Runs `specs` from time 0 to `end`; the emitted actions and the number of wake-ups.
    fn run(
        specs: &[WorkloadSpec],
        seed: u64,
        end: SimDuration,
    ) -> (Vec<(SimTime, WorkloadAction)>, u64) {
        let mut engine = Engine::new(seed);
        let mut rig = Rig {
            w: Workloads::new(specs, seed),
            out: Vec::new(),
            log: Vec::new(),
        };
        rig.w.start(&mut engine.context());
        engine.run_until(&mut rig, SimTime::ZERO + end);
        (rig.log, engine.stats().events)
    }

    fn spec(kind: WorkloadKind) -> WorkloadSpec {
        WorkloadSpec {
            name: "w".to_string(),
            stream: "w".to_string(),
            node_group: Some(1),
            pod: PodShape {
                cpu_milli: 250,
                memory_mib: 128,
                pod_eni: false,
            },
            image: None,
            readiness: None,
            termination: Default::default(),
            kind,
        }
    }

    fn steady(rate_per_s: f64, start: u64, stop: Option<u64>) -> WorkloadSpec {
        spec(WorkloadKind::Steady {
            rate_per_s,
            lifetime: DurationDist::uniform_ms(1_000, 5_000),
            start: secs(start),
            stop: stop.map(secs),
        })
    }

    fn secs(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    fn t(s: u64) -> SimTime {
        SimTime::ZERO + secs(s)
    }

    fn created(log: &[(SimTime, WorkloadAction)]) -> Vec<(SimTime, PodRequest)> {
        log.iter()
            .filter_map(|(at, a)| match a {
                WorkloadAction::CreatePod(p) => Some((*at, *p)),
                _ => None,
            })
            .collect()
    }

    /// `|n − expected| ≤ 5 σ` for a Poisson count with mean `expected`.
    fn within_5_sigma(n: usize, expected: f64) -> bool {
        (n as f64 - expected).abs() <= 5.0 * expected.sqrt()
    }

    #[test]
    fn steady_arrivals_match_the_rate() {
        let (log, events) = run(&[steady(1.0, 0, None)], 7, secs(10_000));
        let pods = created(&log);
        assert!(within_5_sigma(pods.len(), 10_000.0), "{}", pods.len());
        // One wake-up per arrival.
        assert_eq!(events as usize, pods.len());
        for (_, p) in &pods {
            assert_eq!(p.workload, 0);
            assert_eq!(p.node_group, Some(1));
            assert_eq!(p.shape.cpu_milli, 250);
            assert_eq!(p.trace_pod, None);
            let l = p.lifetime.unwrap();
            assert!((secs(1)..=secs(5)).contains(&l), "{l}");
        }
    }

    #[test]
    fn steady_arrivals_stay_inside_start_and_stop() {
        let (log, _) = run(&[steady(10.0, 100, Some(200))], 3, secs(1_000));
        let pods = created(&log);
        assert!(within_5_sigma(pods.len(), 1_000.0), "{}", pods.len());
        assert!(pods.iter().all(|(at, _)| (t(100)..t(200)).contains(at)));
        // Arrivals come in time order.
        assert!(pods.windows(2).all(|w| w[0].0 <= w[1].0));
    }

    #[test]
    fn deployment_sets_its_replicas_at_zero_and_at_each_step() {
        let d = spec(WorkloadKind::Deployment {
            replicas: 3,
            steps: vec![
                ScaleStep {
                    at: SimDuration::ZERO,
                    count: 4,
                },
                ScaleStep {
                    at: secs(600),
                    count: 50,
                },
                ScaleStep {
                    at: secs(1200),
                    count: 5,
                },
                ScaleStep {
                    at: secs(1200),
                    count: 7,
                },
            ],
        });
        let (log, events) = run(&[d], 1, secs(3600));
        let scale = |at: u64, replicas: u32| {
            (
                t(at),
                WorkloadAction::ScaleDeployment {
                    workload: 0,
                    replicas,
                },
            )
        };
        assert_eq!(
            log,
            [
                scale(0, 3),
                scale(0, 4),
                scale(600, 50),
                scale(1200, 5),
                scale(1200, 7)
            ]
        );
        // Steps at the same time share a wake-up.
        assert_eq!(events, 3);
        // Without steps: the initial replicas only.
        let d = spec(WorkloadKind::Deployment {
            replicas: 2,
            steps: vec![],
        });
        assert_eq!(run(&[d], 1, secs(3600)).0, [scale(0, 2)]);
    }

    #[test]
    fn cronjob_runs_from_start_every_period() {
        let c = spec(WorkloadKind::CronJob {
            period: secs(900),
            start: secs(300),
            pods: 2,
            duration: DurationDist::uniform_ms(60_000, 120_000),
        });
        let (log, _) = run(&[c], 1, secs(3600));
        let pods = created(&log);
        let times: Vec<u64> = pods.iter().map(|(at, _)| at.0 / 1_000_000).collect();
        assert_eq!(times, [300, 300, 1200, 1200, 2100, 2100, 3000, 3000]);
        for (_, p) in &pods {
            assert!((secs(60)..=secs(120)).contains(&p.lifetime.unwrap()));
        }
    }

    #[test]
    fn diurnal_arrivals_follow_the_day_curve() {
        let mean = 10.0 / 60.0;
        let d = spec(WorkloadKind::Diurnal {
            curve: DayCurve {
                mean_rate_per_s: mean,
                amplitude: 0.9,
                period: secs(86_400),
                peak_at: secs(14 * 3600),
            },
            lifetime: DurationDist::fixed(secs(600)),
        });
        let days = 4;
        let (log, events) = run(&[d], 5, secs(days * 86_400));
        let pods = created(&log);
        // Only accepted arrivals wake the workload.
        assert_eq!(events as usize, pods.len());
        assert!(
            within_5_sigma(pods.len(), mean * (days * 86_400) as f64),
            "{}",
            pods.len()
        );
        let hour_of_day = |at: SimTime| (at.0 / 3_600_000_000) % 24;
        let near_peak = pods
            .iter()
            .filter(|(at, _)| (12..16).contains(&hour_of_day(*at)))
            .count();
        let near_trough = pods
            .iter()
            .filter(|(at, _)| (0..4).contains(&hour_of_day(*at)))
            .count();
        // Expected over the 4 hours around each, over 4 days:
        // 10/min · (1 ± 0.9 · 0.955) · 240 min · 4 ≈ 17,800 and 1,340.
        assert!(
            near_peak > 4 * near_trough,
            "peak {near_peak}, trough {near_trough}"
        );
    }

    #[test]
    fn diurnal_rate_peaks_at_peak_at_and_wraps_with_the_period() {
        let c = DayCurve {
            mean_rate_per_s: 1.0,
            amplitude: 0.5,
            period: secs(100),
            peak_at: secs(30),
        };
        assert!((c.rate(t(30)) - 1.5).abs() < 1e-9);
        assert!((c.rate(t(130)) - 1.5).abs() < 1e-9);
        assert!((c.rate(t(80)) - 0.5).abs() < 1e-9);
        // Before the first peak too.
        assert!((c.rate(t(0)) - c.rate(t(100))).abs() < 1e-9);
    }

    #[test]
    fn trace_rows_come_out_in_order_at_their_times() {
        let row = |at: u64, line: usize, action: TraceAction| TraceRow {
            at: secs(at),
            line,
            action,
        };
        let shape = PodShape {
            cpu_milli: 100,
            memory_mib: 0,
            pod_eni: false,
        };
        let tr = spec(WorkloadKind::Trace {
            rows: vec![
                row(
                    5,
                    2,
                    TraceAction::CreatePod {
                        pod: 0,
                        node_group: None,
                        shape,
                        lifetime: Some(secs(60)),
                    },
                ),
                row(5, 3, TraceAction::ScaleNodeGroup { group: 0, count: 3 }),
                row(10, 4, TraceAction::DeletePod { pod: 0 }),
                row(20, 5, TraceAction::RolloutNodeGroup { group: 1, batch: 2 }),
            ],
        });
        let (log, events) = run(&[tr], 1, secs(100));
        assert_eq!(
            log,
            [
                (
                    t(5),
                    WorkloadAction::CreatePod(PodRequest {
                        workload: 0,
                        node_group: None,
                        shape,
                        lifetime: Some(secs(60)),
                        trace_pod: Some(0),
                    })
                ),
                (t(5), WorkloadAction::ScaleNodeGroup { group: 0, count: 3 }),
                (
                    t(10),
                    WorkloadAction::DeleteTracePod {
                        workload: 0,
                        pod: 0
                    }
                ),
                (
                    t(20),
                    WorkloadAction::RolloutNodeGroup { group: 1, batch: 2 }
                ),
            ]
        );
        assert_eq!(events, 3);
    }

    #[test]
    fn same_seed_same_sequence_and_each_workload_has_its_own_stream() {
        let a = steady(0.5, 0, None);
        let cron = spec(WorkloadKind::CronJob {
            period: secs(60),
            start: SimDuration::ZERO,
            pods: 3,
            duration: DurationDist::uniform_ms(1_000, 9_000),
        });
        let end = secs(3_600);
        let (one, _) = run(&[a.clone(), cron.clone()], 11, end);
        let (two, _) = run(&[a.clone(), cron.clone()], 11, end);
        assert_eq!(one, two);
        let (other_seed, _) = run(&[a.clone(), cron.clone()], 12, end);
        assert_ne!(one, other_seed);
        // Workload 0 draws the same whether or not workload 1 exists.
        let only_a = |log: &[(SimTime, WorkloadAction)]| -> Vec<(SimTime, WorkloadAction)> {
            log.iter()
                .filter(|(_, x)| matches!(x, WorkloadAction::CreatePod(p) if p.workload == 0))
                .copied()
                .collect()
        };
        let (alone, _) = run(&[a], 11, end);
        assert_eq!(only_a(&one), alone);
    }

    #[test]
    fn workloads_sharing_a_stream_create_the_same_pods() {
        let a = steady(0.5, 0, None);
        let mut b = steady(0.5, 0, None);
        b.name = "b".to_string();
        let mut c = steady(0.5, 0, None);
        c.name = "c".to_string();
        c.stream = "c".to_string();
        let (log, _) = run(&[a, b, c], 3, secs(600));
        let of = |w: u32| -> Vec<(SimTime, Option<SimDuration>)> {
            log.iter()
                .filter_map(|(t, x)| match x {
                    WorkloadAction::CreatePod(p) if p.workload == w => Some((*t, p.lifetime)),
                    _ => None,
                })
                .collect()
        };
        assert!(!of(0).is_empty());
        assert_eq!(of(0), of(1), "one stream, the same arrivals and lifetimes");
        assert_ne!(of(0), of(2));
    }
}
