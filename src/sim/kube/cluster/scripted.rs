//! What scripted events do to the Kubernetes side: workload control (scale, held deletions, stopped
//! arrivals), lost nodes and launch-template changes.
//!
//! A lost node (docs/reference/kube.md §5.6): with a notice (a Spot interruption's two minutes), the node is
//! cordoned and drained at once, as Karpenter's interruption handling and the node termination handler do,
//! and EC2 takes the instance when the notice ends whatever is left on it. Without one (an instance failure)
//! the instance is gone at once; its pods are dead but still bound until Kubernetes notices: the node goes
//! NotReady after `--node-monitor-grace-period`, the cloud node-lifecycle controller deletes a Node whose
//! instance is gone, and the pod garbage collector deletes its pods after its quarantine. Their controllers
//! then replace them. A lost node's pods never get a CNI DEL: their addresses go with the instance's ENIs.

use rand::seq::IteratorRandom;

use super::*;
use crate::sim::rng::Stream;
use crate::sim::script::{LaunchTemplateChange, WorkloadControl};
use crate::sim::time::SimDuration;

/// Nodes chosen for loss (docs/reference/kube.md §5.6).
const NODE_LOSS: Stream = Stream("script.node_loss");

/// `--node-monitor-grace-period` since v1.32 (docs/reference/kube.md §5.1).
pub const NODE_MONITOR_GRACE: SimDuration = SimDuration::from_secs(50);
/// The pod garbage collector's quarantine of pods bound to a deleted Node (docs/reference/kube.md §5.6).
pub const ORPHAN_POD_QUARANTINE: SimDuration = SimDuration::from_secs(40);

/// Per-workload state that scripted events set.
#[derive(Clone, Debug, Default)]
pub struct WorkloadGate {
    /// Deletions are paused: ends are held in `held`.
    pub paused: bool,
    /// Pods whose end came while paused, in the order it came.
    pub held: Vec<PodId>,
    /// Arrivals are dropped.
    pub stopped: bool,
    /// Arrivals dropped while stopped.
    pub dropped: u64,
    /// Ends held by pauses, over the run.
    pub ends_held: u64,
}

impl Cluster {
    /// A scripted change to workload `w`.
    pub fn control_workload<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        w: u32,
        control: WorkloadControl,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        let gate = &mut self.gates[w as usize];
        match control {
            WorkloadControl::Scale(replicas) => {
                self.controllers.replicasets.scale(ctx, w, replicas)
            }
            WorkloadControl::PauseDeletions => gate.paused = true,
            WorkloadControl::ResumeDeletions => {
                gate.paused = false;
                let held = std::mem::take(&mut gate.held);
                for p in held {
                    self.end_held(ctx, ec2, p);
                }
            }
            WorkloadControl::StopArrivals => gate.stopped = true,
            WorkloadControl::StartArrivals => gate.stopped = false,
        }
    }

    /// Whether pod `p`'s end is held by a pause of its workload's deletions; if so it is recorded.
    pub(super) fn hold_end(&mut self, p: PodId, deleted: bool) -> bool {
        let gate = &mut self.gates[self.pods.get(p).workload as usize];
        if !gate.paused {
            return false;
        }
        gate.held.push(p);
        gate.ends_held += 1;
        // A held deletion is replayed as one; a held completion as a completion.
        if deleted {
            self.held_deletions.insert(p);
        }
        true
    }

    /// A held end happens now.
    fn end_held<E>(&mut self, ctx: &mut Context<'_, E>, _ec2: &mut ControlPlane, p: PodId)
    where
        E: From<KubeEvent>,
    {
        if self.held_deletions.remove(&p) {
            self.delete_pod(ctx, p, false);
        } else {
            self.completed(ctx, p);
        }
    }

    /// Whether workload `w`'s arrivals are stopped; a dropped arrival is counted.
    pub(super) fn drop_arrival(&mut self, w: u32) -> bool {
        let gate = &mut self.gates[w as usize];
        if gate.stopped {
            gate.dropped += 1;
        }
        gate.stopped
    }

    /// Each workload's gate, in scenario order.
    pub fn gates(&self) -> &[WorkloadGate] {
        &self.gates
    }

    /// Group `g`'s launch template changes for the nodes it launches from now on.
    pub fn change_launch_template(
        &mut self,
        ec2: &mut ControlPlane,
        g: usize,
        change: LaunchTemplateChange,
    ) {
        if let Some(max_pods) = change.max_pods {
            self.node_groups.set_max_pods(g, max_pods);
        }
        let mut leaks = self.node_groups.spec(g).leaks;
        if let Some(d) = change.delete_on_termination {
            leaks.delete_on_termination = d;
        }
        if let Some(p) = change.eni_leak_probability {
            leaks.eni_leak_probability = p;
        }
        if leaks != self.node_groups.spec(g).leaks {
            self.node_groups.set_leak_settings(g, leaks, ec2);
        }
    }

    /// `count` of group `g`'s live nodes, chosen at random, are lost after `notice`.
    pub fn lose_nodes<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        g: usize,
        count: u32,
        notice: SimDuration,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let candidates = (0..self.nodes.len() as u32).filter(|&n| {
            let node = &self.nodes[n as usize];
            node.group == g && matches!(node.phase, NodePhase::Initializing | NodePhase::Ready)
        });
        let mut chosen = candidates.sample(ctx.rng(NODE_LOSS), count as usize);
        chosen.sort_unstable();
        self.nodes_lost += chosen.len() as u64;
        for n in chosen {
            self.log_node(ctx, n, || {
                format!("interrupted: instance lost in {:.3}s", notice.as_secs_f64())
            });
            if notice > SimDuration::ZERO {
                self.drain(ctx, ec2, n);
            }
            ctx.schedule_in(notice, KubeEvent::InstanceLost(n));
        }
    }

    /// EC2 takes node `n`'s instance: its daemon stops, its DeleteOnTermination ENIs go, and its pods die
    /// where they are; Kubernetes deletes them once it has noticed.
    pub(super) fn instance_lost<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        n: u32,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent> + From<NodeGroupEvent>,
    {
        let node = &mut self.nodes[n as usize];
        if node.phase == NodePhase::Ready {
            self.scheduler.remove_node(&self.nodes, n);
        }
        let node = &mut self.nodes[n as usize];
        let instance = node.instance;
        node.phase = NodePhase::Terminated;
        node.ipamd.stop(ctx);
        self.node_gone_for_rc(ctx, n);
        // A drained node may already be terminating; either way the group replaces it now.
        self.node_groups
            .lost(ctx, instance, ec2, &mut self.group_actions);
        self.apply_group_actions(ctx, ec2);
        self.log_node(ctx, n, || format!("{instance} lost"));
        let now = ctx.now();
        let pods = std::mem::take(&mut self.node_pods[n as usize]);
        let mut dead = Vec::new();
        for &p in &pods {
            if matches!(
                self.pods.get(p).state,
                PodState::Starting | PodState::Running
            ) {
                self.stop_counting(p);
            }
            let pod = self.pods.get_mut(p);
            pod.state = PodState::Gone;
            // The pod's life and its hold on its address end with the instance; the API object lingers until
            // the garbage collector deletes it, and only then does its controller replace it.
            if pod.address.is_some() && pod.ip_released.is_none() {
                pod.ip_released = Some(now);
            }
            if pod.deleted.is_none() {
                pod.deleted = Some(now);
                dead.push(p);
            } else {
                // Already deleted: its controller knows, and its sandbox will not be stopped.
                self.finish_pod(p, now);
            }
        }
        self.nodes[n as usize].pods = 0;
        ctx.schedule_in(
            NODE_MONITOR_GRACE + ORPHAN_POD_QUARANTINE,
            KubeEvent::PodsCollected(n),
        );
        self.lost_pods.insert(n, dead);
    }

    /// The pod garbage collector deletes the pods of lost node `n`; their controllers replace them.
    pub(super) fn pods_collected<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        for p in self.lost_pods.remove(&n).unwrap_or_default() {
            let w = self.pods.get(p).workload as usize;
            self.live[w] -= 1;
            self.log_pod(ctx, p, || {
                "deleted by the pod garbage collector (node lost)".to_string()
            });
            let kind = &self.workload_specs[w].kind;
            self.controllers
                .pod_deleted(ctx, kind, p, self.pods.get(p), true);
            self.finish_pod(p, ctx.now());
        }
    }
}
