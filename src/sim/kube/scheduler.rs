//! The scheduler: binds pending pods, oldest first, to Ready nodes with a free pod slot and room for their CPU
//! and memory requests, scoring feasible nodes like kube-scheduler's `LeastAllocated` (spread, the default) or
//! `MostAllocated` (pack). Ties go to the lowest node index, so placement is deterministic.

use std::collections::VecDeque;

use crate::scenarios::{PodShape, SchedulingPolicy};
use crate::sim::kube::nodes::{Node, NodePhase};
use crate::sim::kube::pods::{PodId, PodState, Pods, WaitReason};
use crate::sim::time::SimTime;

pub struct Scheduler {
    policy: SchedulingPolicy,
    /// Pods waiting for a node, oldest first; pods deleted while pending are skipped when met.
    pending: VecDeque<PodId>,
    /// A cycle is scheduled and has not run yet.
    pub cycle_queued: bool,
}

/// Why no node took a pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocked {
    /// Some Ready node would take it but for its max-pods.
    MaxPods,
    /// No Ready node it may run on has room.
    NoRoom,
}

impl Scheduler {
    pub fn new(policy: SchedulingPolicy) -> Self {
        Scheduler {
            policy,
            pending: VecDeque::new(),
            cycle_queued: false,
        }
    }

    pub fn enqueue(&mut self, pod: PodId) {
        self.pending.push_back(pod);
    }

    /// Pending pods, oldest first (deleted ones may still be listed; check their state).
    pub fn pending(&self) -> impl Iterator<Item = PodId> + '_ {
        self.pending.iter().copied()
    }

    /// Binds every pending pod that fits somewhere; pushes the bound pods onto `bound`. `ready[g]` lists the
    /// Ready nodes of group `g`.
    pub fn cycle(
        &mut self,
        pods: &mut Pods,
        nodes: &mut [Node],
        ready: &[Vec<u32>],
        now: SimTime,
        bound: &mut Vec<PodId>,
    ) {
        self.cycle_queued = false;
        // Classes (selector, shape) that found no node in this cycle, and why: later pods of a class are not
        // tried again.
        let mut blocked: Vec<((Option<usize>, PodShape), WaitReason)> = Vec::new();
        for _ in 0..self.pending.len() {
            let id = self.pending.pop_front().expect("counted");
            let pod = pods.get_mut(id);
            if pod.state != PodState::Pending {
                continue;
            }
            let class = (pod.node_group, pod.shape);
            if let Some(&(_, why)) = blocked.iter().find(|(c, _)| *c == class) {
                pod.wait_reason = Some(why);
                self.pending.push_back(id);
                continue;
            }
            match self.pick(nodes, ready, pod.node_group, pod.shape) {
                Ok(n) => {
                    nodes[n as usize].bind(pod.shape);
                    pod.node = Some(n);
                    pod.scheduled = Some(now);
                    pod.state = PodState::Starting;
                    bound.push(id);
                }
                Err(why) => {
                    let why = match why {
                        Blocked::MaxPods => WaitReason::MaxPods,
                        Blocked::NoRoom => WaitReason::Unschedulable,
                    };
                    pod.wait_reason = Some(why);
                    blocked.push((class, why));
                    self.pending.push_back(id);
                }
            }
        }
    }

    /// The best feasible node for a pod, or why there is none.
    fn pick(
        &self,
        nodes: &[Node],
        ready: &[Vec<u32>],
        group: Option<usize>,
        shape: PodShape,
    ) -> Result<u32, Blocked> {
        let lists: &[Vec<u32>] = match group {
            Some(g) => std::slice::from_ref(&ready[g]),
            None => ready,
        };
        let mut best: Option<(u64, u32)> = None;
        let mut slot_bound = false;
        for &n in lists.iter().flatten() {
            let node = &nodes[n as usize];
            debug_assert_eq!(node.phase, NodePhase::Ready);
            if !node.fits(shape) {
                slot_bound |= node.pods + node.host_network_pods >= node.max_pods;
                continue;
            }
            let score = node.allocation();
            let better = match (best, self.policy) {
                (None, _) => true,
                (Some((b, bn)), SchedulingPolicy::Spread) => (score, n) < (b, bn),
                (Some((b, bn)), SchedulingPolicy::Pack) => score > b || (score == b && n < bn),
            };
            if better {
                best = Some((score, n));
            }
        }
        match best {
            Some((_, n)) => Ok(n),
            None if slot_bound => Err(Blocked::MaxPods),
            None => Err(Blocked::NoRoom),
        }
    }
}
