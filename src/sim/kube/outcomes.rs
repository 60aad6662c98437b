//! What the summary needs of the pods a run has finished with, kept once their records are gone: counts, each
//! wait's length (eight bytes per wait, for exact percentiles) and, for deployments, when each pod turned Ready
//! and stopped serving (for the scale-ups' times). A pod is folded in when the run finishes with it; the
//! summary folds the pods still alive at the end into a copy.

use crate::sim::kube::pods::{Pod, WaitReason, Waited};
use crate::sim::time::{SimDuration, SimTime};

/// A wait's length in microseconds, and whether it ended (else it is a lower bound: the thing waiting was
/// deleted, or the run stopped, first), packed in eight bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span(u64);

const OPEN: u64 = 1 << 63;

impl Span {
    /// The wait from `start` to `end` if it ended, else to `last_seen`, the last time it was seen waiting.
    pub fn of(start: SimTime, end: Option<SimTime>, last_seen: SimTime) -> Span {
        let stop = end.unwrap_or(last_seen.max(start));
        let open = if end.is_some() { 0 } else { OPEN };
        Span(stop.since(start).0 | open)
    }

    pub fn length(self) -> SimDuration {
        SimDuration(self.0 & !OPEN)
    }

    pub fn ended(self) -> bool {
        self.0 & OPEN == 0
    }
}

/// Figures over a set of pods (one node group's, or those with none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodTally {
    pub created: u64,
    /// Pods that reached Running.
    pub started: u64,
    pub deleted_before_running: u64,
    pub failed_adds: u64,
    pub failed_pulls: u64,
    /// Pods that were given an IPv6 address.
    pub ipv6_addressed: u64,
    /// Pods with security groups (a `vpc.amazonaws.com/pod-eni` request), and those of them that got their
    /// branch ENI's address.
    pub with_security_groups: u64,
    pub branch_addressed: u64,
    /// Pods by what they waited for ([`Pod::waited`]) and their last wait reason, in first-seen order.
    pub reasons: Vec<(Waited, WaitReason, u64)>,
    /// Sandbox → address, of the pods that had a sandbox.
    pub ip_wait: Vec<Span>,
    /// Created → Running.
    pub launch: Vec<Span>,
    /// Created → Ready.
    pub ready: Vec<Span>,
}

impl PodTally {
    /// Folds in `pod`; a wait not ended is counted until its deletion, or `end` if it is not deleted.
    pub fn add(&mut self, pod: &Pod, end: SimTime) {
        let last_seen = pod.deleted.unwrap_or(end);
        self.created += 1;
        self.started += u64::from(pod.running.is_some());
        self.deleted_before_running += u64::from(pod.running.is_none() && pod.deleted.is_some());
        self.failed_adds += u64::from(pod.failed_adds);
        self.failed_pulls += u64::from(pod.failed_pulls);
        self.ipv6_addressed += u64::from(pod.address.is_some_and(|a| a.is_ipv6()));
        self.with_security_groups += u64::from(pod.shape.pod_eni);
        self.branch_addressed += u64::from(pod.shape.pod_eni && pod.address.is_some());
        if let (Some(what), Some(reason)) = (pod.waited(), pod.wait_reason) {
            match self
                .reasons
                .iter_mut()
                .find(|(w, r, _)| *w == what && *r == reason)
            {
                Some((_, _, n)) => *n += 1,
                None => self.reasons.push((what, reason, 1)),
            }
        }
        if let Some(sandbox) = pod.sandbox {
            self.ip_wait
                .push(Span::of(sandbox, pod.ip_assigned, last_seen));
        }
        self.launch
            .push(Span::of(pod.created, pod.running, last_seen));
        self.ready.push(Span::of(pod.created, pod.ready, last_seen));
    }

    /// Adds `other`'s pods to these.
    pub fn merge(&mut self, other: &PodTally) {
        self.created += other.created;
        self.started += other.started;
        self.deleted_before_running += other.deleted_before_running;
        self.ipv6_addressed += other.ipv6_addressed;
        self.with_security_groups += other.with_security_groups;
        self.branch_addressed += other.branch_addressed;
        self.failed_adds += other.failed_adds;
        self.failed_pulls += other.failed_pulls;
        for &(what, reason, n) in &other.reasons {
            match self
                .reasons
                .iter_mut()
                .find(|(w, r, _)| *w == what && *r == reason)
            {
                Some((_, _, m)) => *m += n,
                None => self.reasons.push((what, reason, n)),
            }
        }
        self.ip_wait.extend_from_slice(&other.ip_wait);
        self.launch.extend_from_slice(&other.launch);
        self.ready.extend_from_slice(&other.ready);
    }

    /// Pods that waited for `what`.
    pub fn waited(&self, what: Waited) -> u64 {
        self.reasons
            .iter()
            .filter(|(w, _, _)| *w == what)
            .map(|(_, _, n)| n)
            .sum()
    }
}

/// The run's pod figures: one tally per node group (a pod counts in its node's group, or, until it has a
/// node, the group its selector names) and one for the pods with neither, and each deployment's changes in
/// Ready pods.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodOutcomes {
    /// By node group; the last entry holds the pods of no group.
    pub by_group: Vec<PodTally>,
    /// By workload: +1 when one of its pods turned Ready, −1 when such a pod was deleted; kept only for
    /// deployments (`scale_ups`), empty for the others.
    pub ready_changes: Vec<Vec<(SimTime, i32)>>,
    deployment: Vec<bool>,
}

impl PodOutcomes {
    /// Tallies for `groups` node groups; `deployment[w]` says whether workload `w` is a deployment.
    pub fn new(groups: usize, deployment: Vec<bool>) -> Self {
        PodOutcomes {
            by_group: vec![PodTally::default(); groups + 1],
            ready_changes: vec![Vec::new(); deployment.len()],
            deployment,
        }
    }

    /// Folds in `pod`, of node group `group`; `end` as in [`PodTally::add`].
    pub fn add(&mut self, pod: &Pod, group: Option<usize>, end: SimTime) {
        let last = self.by_group.len() - 1;
        self.by_group[group.unwrap_or(last)].add(pod, end);
        let w = pod.workload as usize;
        if self.deployment[w]
            && let Some(ready) = pod.ready
        {
            self.ready_changes[w].push((ready, 1));
            if let Some(deleted) = pod.deleted.filter(|&d| d >= ready) {
                self.ready_changes[w].push((deleted, -1));
            }
        }
    }

    /// Every pod's figures together.
    pub fn total(&self) -> PodTally {
        let mut all = PodTally::default();
        for t in &self.by_group {
            all.merge(t);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::kube::pods::Pods;
    use crate::sim::kube::workloads::PodRequest;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn a_span_keeps_its_length_and_whether_it_ended() {
        let ended = Span::of(at(1), Some(at(4)), at(9));
        assert_eq!(
            (ended.length(), ended.ended()),
            (SimDuration::from_secs(3), true)
        );
        let open = Span::of(at(1), None, at(9));
        assert_eq!(
            (open.length(), open.ended()),
            (SimDuration::from_secs(8), false)
        );
    }

    /// Tallies merged in any order count the same pods: a group's and the no-group entry add up to the total.
    #[test]
    fn tallies_by_group_add_up_and_deployments_keep_their_ready_changes() {
        let mut pods = Pods::default();
        let mut outcomes = PodOutcomes::new(1, vec![true, false]);
        for (w, group) in [(0, Some(0)), (1, None), (0, Some(0))] {
            let id = pods.create(
                &PodRequest {
                    workload: w,
                    ..PodRequest::default()
                },
                at(0),
                None,
            );
            let p = pods.get_mut(id);
            (p.sandbox, p.ip_assigned, p.running, p.ready) =
                (Some(at(1)), Some(at(2)), Some(at(3)), Some(at(4)));
            p.deleted = Some(at(10));
            outcomes.add(pods.get(id), group, at(100));
        }
        let total = outcomes.total();
        assert_eq!((total.created, total.started), (3, 3));
        assert_eq!(outcomes.by_group[0].created, 2);
        assert_eq!(outcomes.by_group[1].created, 1);
        assert_eq!(total.ip_wait.len(), 3);
        assert_eq!(
            outcomes.ready_changes[0],
            [(at(4), 1), (at(10), -1), (at(4), 1), (at(10), -1)]
        );
        assert!(outcomes.ready_changes[1].is_empty());
    }
}
