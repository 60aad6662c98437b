//! aws-node, the VPC CNI's DaemonSet pod, on each node: its container's life (start, liveness kill, crash-loop
//! restarts), its readiness, and rolling updates of the DaemonSet over a node group (docs/reference/kube.md
//! §4.7, §5.5; docs/reference/ipamd.md §9).
//!
//! The entrypoint starts ipamd as a child and waits for its health forever, so an ipamd that exits during
//! start-up leaves the container Running and unready until the liveness probe kills it, 80 s after the
//! container started; kubelet then restarts it after its CrashLoopBackOff. The Go entrypoint installs no
//! SIGTERM handler, so the container exits as soon as it is signalled, well within its 10 s grace period (a
//! modelling reading of `cmd/aws-vpc-cni/main.go`, kube.md §5.5).

use std::collections::VecDeque;

use crate::scenarios::CrashLoopSpec;
use crate::sim::ipamd::config::IpamdConfig;
use crate::sim::time::{SimDuration, SimTime};

/// The liveness probe's third failure after the container started: `initialDelaySeconds` 60, then the
/// defaults `periodSeconds` 10 and `failureThreshold` 3 (the manifest sets neither), kube.md §5.5.
pub const LIVENESS_KILL_AFTER: SimDuration = SimDuration::from_secs(60 + 2 * 10);
/// The readiness probe's `initialDelaySeconds` (manifest) and default `periodSeconds`, kube.md §5.5.
pub const READINESS_INITIAL_DELAY: SimDuration = SimDuration::from_secs(1);
pub const READINESS_PERIOD: SimDuration = SimDuration::from_secs(10);
/// kubelet forgets a container's back-off when it ran longer than this before exiting (`HasExpiredFunc`,
/// hard-coded 600 s; kube.md §4.7).
pub const CRASH_LOOP_RESET: SimDuration = SimDuration::from_secs(600);

/// kubelet's CrashLoopBackOff for one container (`kuberuntime_manager.go:doBackOff` over client-go's
/// `Backoff`, kube.md §4.7): the first exit restarts at once and seeds the initial delay; each later exit waits
/// the current delay, counted from its exit, and doubles it up to the maximum; an exit more than 600 s after the
/// last restart starts over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoop {
    /// The current delay and the time of the last restart (`lastUpdate`).
    entry: Option<(SimDuration, SimTime)>,
}

impl CrashLoop {
    /// The container exited at `finished`: when kubelet may start it again.
    pub fn restart_at(&mut self, finished: SimTime, spec: &CrashLoopSpec) -> SimTime {
        let initial = spec.initial.min(spec.max);
        match self.entry {
            Some((delay, last)) if finished.since(last) <= CRASH_LOOP_RESET => {
                let at = finished + delay;
                let next = SimDuration(delay.0.saturating_mul(2)).min(spec.max);
                self.entry = Some((next, at));
                at
            }
            _ => {
                self.entry = Some((initial, finished));
                finished
            }
        }
    }
}

/// Where a node's aws-node container is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Its pod has not started yet (a node between registration and `aws_node_start`).
    NotStarted,
    /// The container runs; ipamd starts up or serves.
    Running,
    /// The container has exited (a liveness kill, or its pod replaced) and waits to start again.
    Down,
}

/// One node's aws-node.
#[derive(Clone, Debug)]
pub struct AwsNode {
    pub phase: Phase,
    /// Bumped whenever the container starts or stops: events carry it, and a stale one is ignored.
    pub epoch: u32,
    /// When the running container started.
    pub started: Option<SimTime>,
    /// Container starts after the first.
    pub restarts: u32,
    /// Containers killed by the liveness probe.
    pub liveness_kills: u32,
    /// Whether the running container's readiness has been seen (by the API) or is on its way.
    pub ready_reported: bool,
    /// The configuration the next start uses (a DaemonSet update that reached this node).
    pub next_config: Option<IpamdConfig>,
    crash_loop: CrashLoop,
}

impl Default for AwsNode {
    fn default() -> Self {
        AwsNode {
            phase: Phase::NotStarted,
            epoch: 0,
            started: None,
            restarts: 0,
            liveness_kills: 0,
            ready_reported: false,
            next_config: None,
            crash_loop: CrashLoop::default(),
        }
    }
}

impl AwsNode {
    /// The container starts now; returns the epoch its events carry.
    pub fn container_started(&mut self, now: SimTime) -> u32 {
        if self.phase != Phase::NotStarted {
            self.restarts += 1;
        }
        self.phase = Phase::Running;
        self.started = Some(now);
        self.ready_reported = false;
        self.epoch += 1;
        self.epoch
    }

    /// The container stops (killed, or its pod deleted); returns the epoch its restart carries.
    pub fn container_stopped(&mut self) -> u32 {
        self.phase = Phase::Down;
        self.epoch += 1;
        self.epoch
    }

    /// The liveness probe killed the container at `finished`: when kubelet restarts it.
    pub fn killed(&mut self, finished: SimTime, spec: &CrashLoopSpec) -> SimTime {
        self.liveness_kills += 1;
        self.crash_loop.restart_at(finished, spec)
    }

    /// The pod is replaced by a new one (a DaemonSet update): a new pod has a back-off of its own.
    pub fn replaced(&mut self, cfg: Option<IpamdConfig>) {
        self.crash_loop = CrashLoop::default();
        if cfg.is_some() {
            self.next_config = cfg;
        }
    }
}

/// The readiness probe's first success for a container started at `started` whose ipamd serves from `serving`:
/// the first probe at or after it (`initialDelaySeconds` 1, every 10 s).
pub fn readiness_at(started: SimTime, serving: SimTime) -> SimTime {
    let first = started + READINESS_INITIAL_DELAY;
    if serving <= first {
        return first;
    }
    let periods = serving.since(first).0.div_ceil(READINESS_PERIOD.0);
    first + SimDuration(periods * READINESS_PERIOD.0)
}

/// `maxUnavailable` of a DaemonSet's rolling update (kube.md §5.5).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxUnavailable {
    Count(u32),
    /// Of the nodes that run the pod, rounded up.
    Percent(f64),
}

impl Default for MaxUnavailable {
    /// The manifest's and the Helm chart's `10%`.
    fn default() -> Self {
        MaxUnavailable::Percent(10.0)
    }
}

impl MaxUnavailable {
    /// How many of `nodes` may be down at once: at least one, as a rolling update with `maxSurge: 0` needs.
    pub fn of(self, nodes: u32) -> u32 {
        let n = match self {
            MaxUnavailable::Count(n) => n,
            MaxUnavailable::Percent(p) => (p / 100.0 * f64::from(nodes)).ceil() as u32,
        };
        n.max(1)
    }
}

/// A change rolled out to a node group's aws-node pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwsNodeRollout {
    /// The new ipamd configuration; `None`: the same one (a restart, `kubectl rollout restart`).
    pub config: Option<IpamdConfig>,
    pub max_unavailable: MaxUnavailable,
}

/// One rolling update's progress and record.
#[derive(Clone, Debug)]
pub struct Rollout {
    pub group: usize,
    pub change: AwsNodeRollout,
    pub started: SimTime,
    /// When the last node's new pod turned Ready (or the last node left).
    pub finished: Option<SimTime>,
    /// Nodes not yet restarted, in node order.
    pub waiting: VecDeque<u32>,
    /// Nodes restarted whose new pod is not Ready yet.
    pub in_progress: Vec<u32>,
    /// Nodes restarted so far.
    pub restarted: u32,
    /// The most nodes down at once.
    pub max_down: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(initial: u64, max: u64) -> CrashLoopSpec {
        CrashLoopSpec {
            initial: SimDuration::from_secs(initial),
            max: SimDuration::from_secs(max),
        }
    }

    /// Waits before each restart of a container that exits `run` seconds after each start.
    fn waits(spec: &CrashLoopSpec, run: u64, n: usize) -> Vec<u64> {
        let mut c = CrashLoop::default();
        let mut t = SimTime::ZERO;
        (0..n)
            .map(|_| {
                let exit = t + SimDuration::from_secs(run);
                t = c.restart_at(exit, spec);
                t.since(exit).as_secs_f64() as u64
            })
            .collect()
    }

    #[test]
    fn kube_4_7_crash_loop_waits_0_10_20_40_up_to_300_s() {
        assert_eq!(
            waits(&spec(10, 300), 90, 9),
            [0, 10, 20, 40, 80, 160, 300, 300, 300]
        );
    }

    #[test]
    fn kube_4_7_a_run_longer_than_600_s_resets_the_back_off() {
        let s = spec(10, 300);
        assert_eq!(waits(&s, 601, 4), [0, 0, 0, 0]);
        let mut c = CrashLoop::default();
        let t = |s: u64| SimTime::ZERO + SimDuration::from_secs(s);
        assert_eq!(c.restart_at(t(90), &s), t(90));
        assert_eq!(c.restart_at(t(180), &s), t(190));
        assert_eq!(c.restart_at(t(280), &s), t(300));
        assert_eq!(c.restart_at(t(901), &s), t(901), "601 s after the restart");
        assert_eq!(c.restart_at(t(991), &s), t(1_001), "10 s again");
    }

    #[test]
    fn kube_4_7_the_reduced_decay_curve_is_1_s_to_60_s() {
        assert_eq!(waits(&spec(1, 60), 90, 9), [0, 1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(
            waits(&spec(10, 5), 90, 3),
            [0, 5, 5],
            "initial capped by max"
        );
    }

    #[test]
    fn kube_5_5_readiness_is_the_first_probe_after_ipamd_serves() {
        let t = |ms: u64| SimTime::ZERO + SimDuration::from_millis(ms);
        assert_eq!(readiness_at(t(0), t(500)), t(1_000));
        assert_eq!(readiness_at(t(0), t(1_000)), t(1_000));
        assert_eq!(readiness_at(t(0), t(1_001)), t(11_000));
        assert_eq!(readiness_at(t(0), t(25_000)), t(31_000));
    }

    #[test]
    fn kube_5_5_max_unavailable_rounds_a_percentage_up() {
        assert_eq!(MaxUnavailable::default().of(20), 2);
        assert_eq!(MaxUnavailable::default().of(21), 3);
        assert_eq!(MaxUnavailable::default().of(3), 1);
        assert_eq!(MaxUnavailable::Percent(100.0).of(20), 20);
        assert_eq!(MaxUnavailable::Count(0).of(20), 1);
        assert_eq!(MaxUnavailable::Count(5).of(20), 5);
    }
}
