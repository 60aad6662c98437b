//! When kubelet sees and acts on a container's changes, in closed form (docs/reference/kube.md §4.2, §4.5,
//! §4.6): PLEG's relist, the readiness probe's first success, and graceful termination's exit.

use crate::scenarios::{ReadinessSpec, TerminationSpec};
use crate::sim::time::{SimDuration, SimTime};

/// kubelet never gives a container less than this between SIGTERM and SIGKILL
/// (`minimumGracePeriodInSeconds`, `kuberuntime_container.go`; §4.6).
pub const MINIMUM_GRACE: SimDuration = SimDuration::from_secs(2);

/// The first relist at or after `t` of a PLEG that relists every `period` from `from` (kubelet's start): when
/// kubelet sees a container that started or exited at `t`. Relists are taken at a fixed phase (§4.2).
pub fn relist_after(from: SimTime, period: SimDuration, t: SimTime) -> SimTime {
    let since = t.since(from).0;
    from + SimDuration(since.div_ceil(period.0) * period.0)
}

/// When a pod's readiness probe makes it Ready (§4.5): kubelet probes as soon as it sees the container
/// running (`seen`, at a relist) and then every `period`; probes before `initial_delay` after the container's
/// start (`started`) are skipped, and a probe succeeds once the application has warmed up (`warmup` after its
/// start). Ready at the `success_threshold`-th success in a row.
pub fn ready_at(
    spec: &ReadinessSpec,
    started: SimTime,
    seen: SimTime,
    warmup: SimDuration,
) -> SimTime {
    let answers = started + warmup.max(spec.initial_delay);
    let probes = answers.since(seen).0.div_ceil(spec.period.0);
    let successes = u64::from(spec.success_threshold - 1);
    seen + SimDuration((probes + successes) * spec.period.0)
}

/// When a deleted pod's containers have exited (§4.6), kubelet having seen the deletion at `seen`: its
/// preStop hook runs (cut off at the grace period), then SIGTERM with what is left of the grace period but at
/// least [`MINIMUM_GRACE`]; the application exits `shutdown` after SIGTERM, or is killed when that runs out.
pub fn exited_at(
    spec: &TerminationSpec,
    seen: SimTime,
    pre_stop: Option<SimDuration>,
    shutdown: SimDuration,
) -> SimTime {
    let grace = spec.grace_period;
    let hook = pre_stop.map_or(SimDuration::ZERO, |h| h.min(grace));
    let window = SimDuration(grace.0 - hook.0).max(MINIMUM_GRACE);
    seen + hook + shutdown.min(window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    fn ms(ms: u64) -> SimDuration {
        SimDuration::from_millis(ms)
    }

    fn secs(t: SimTime) -> f64 {
        t.as_secs_f64()
    }

    #[test]
    fn kube_4_2_pleg_sees_a_change_at_the_next_relist_of_its_phase() {
        let from = at(300);
        let p = ms(1000);
        assert_eq!(secs(relist_after(from, p, at(300))), 0.3);
        assert_eq!(secs(relist_after(from, p, at(301))), 1.3);
        assert_eq!(secs(relist_after(from, p, at(5_250))), 5.3);
        assert_eq!(secs(relist_after(from, p, at(5_300))), 5.3);
    }

    /// kube.md §4.5: the first probe is immediate; an application that needs T is Ready at the first probe
    /// at or after T, later ones coming every period.
    #[test]
    fn kube_4_5_ready_at_the_first_probe_at_or_after_warm_up() {
        let spec = ReadinessSpec::default();
        let started = at(1_000);
        let seen = at(1_400);
        assert_eq!(secs(ready_at(&spec, started, seen, ms(0))), 1.4);
        assert_eq!(secs(ready_at(&spec, started, seen, ms(400))), 1.4);
        assert_eq!(secs(ready_at(&spec, started, seen, ms(401))), 11.4);
        assert_eq!(secs(ready_at(&spec, started, seen, ms(25_000))), 31.4);
        let delayed = ReadinessSpec {
            initial_delay: SimDuration::from_secs(15),
            success_threshold: 3,
            ..ReadinessSpec::default()
        };
        // Probes at 1.4 and 11.4 s are inside the delay; 21.4 s succeeds, then 31.4 and 41.4 s.
        assert_eq!(secs(ready_at(&delayed, started, seen, ms(0))), 41.4);
    }

    /// kube.md §4.6: an early exit ends the wait; a slow one is killed at the grace's end; a preStop that
    /// outlasts the grace still leaves SIGTERM its 2 s.
    #[test]
    fn kube_4_6_exit_after_prestop_and_sigterm_within_the_grace_period() {
        let spec = TerminationSpec::default();
        let seen = at(0);
        assert_eq!(secs(exited_at(&spec, seen, None, ms(800))), 0.8);
        assert_eq!(secs(exited_at(&spec, seen, None, ms(45_000))), 30.0);
        assert_eq!(secs(exited_at(&spec, seen, Some(ms(5_000)), ms(800))), 5.8);
        assert_eq!(
            secs(exited_at(&spec, seen, Some(ms(28_000)), ms(9_000))),
            30.0
        );
        assert_eq!(
            secs(exited_at(&spec, seen, Some(ms(60_000)), ms(9_000))),
            32.0
        );
        assert_eq!(
            secs(exited_at(&spec, seen, Some(ms(60_000)), ms(500))),
            30.5
        );
    }
}
