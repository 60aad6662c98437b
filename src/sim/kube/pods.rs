//! Pods: the records of the pods a run has not finished with, with their timestamps, placement, address and
//! why they waited. A pod's number (its order of creation) is its identity everywhere (the CNI's pod key, event
//! payloads). A pod the cluster has finished with leaves the store ([`Pods::finish`]) for the world's outbox,
//! which passes it on to the run's record sink (`sim::sink`) and keeps nothing of it, so a run's memory holds
//! only the pods still alive.

use std::fmt;
use std::net::IpAddr;

use crate::scenarios::PodShape;
use crate::sim::ec2::EniId;
use crate::sim::kube::workloads::PodRequest;
use crate::sim::time::{SimDuration, SimTime};

/// A pod's index in [`Pods`].
pub type PodId = u32;

/// Where a pod is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Not bound to a node.
    Pending,
    /// Bound; kubelet is starting it: its API calls, its sandbox (CNI ADD, retried until it gets an
    /// address), its images, its containers, until the API shows it Running.
    Starting,
    /// The API shows it Running.
    Running,
    /// Deleted, or its containers completed; kubelet is stopping it (its address is still assigned until the
    /// CNI DEL).
    Terminating,
    /// Gone from the API server.
    Gone,
}

/// Why a pod waited, by its last failure: for an address (what ipamd was doing at its last failed ADD, i.e.
/// what the pod was still waiting for), for its image (a failed or refused pull), or, if neither failed, for a
/// node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitReason {
    /// Its node's pool was empty while ipamd was creating, attaching or waiting for an ENI to show in IMDS.
    EniAttaching,
    /// Its node's pool was empty while ipamd was assigning addresses or prefixes to an ENI.
    Assigning,
    /// Its node's pool was empty while ipamd's call was throttled and waiting for the SDK's retry.
    Throttled(crate::sim::ec2::Action),
    /// Its node's pool was empty and the subnet had no room: ipamd's increases were frozen after an
    /// insufficient-address error, or have failed with one ever since.
    InsufficientCidrFreeze,
    /// Its node's pool was empty and ipamd had not yet acted on it (it acts on its next 5 s tick).
    PoolEmpty,
    /// Its node's pool was empty, yet by its warm targets big enough: ipamd's next tick will not grow it (e.g.
    /// `MINIMUM_IP_TARGET` met with `WARM_IP_TARGET=0`), so the pod waits until another pod frees an address.
    TargetsMet,
    /// Its node had free addresses, but all were in their cooldown.
    CooldownOnly,
    /// Its node had every ENI it may have, all full.
    MaxEnis,
    /// Its node's pool had reached max-pods.
    MaxPods,
    /// Its node runs IPv6 and its start-up got no /80 prefix: every ADD fails until aws-node restarts
    /// (docs/reference/ipamd.md §11.3).
    NoIpv6Prefix,
    /// Its node's ipamd was not serving (aws-node restarting, crash-looping or still starting up): the CNI
    /// plugin's ADD failed with "failed to connect to backend server" (docs/reference/ipamd.md §9.1).
    IpamdUnavailable,
    /// It waited to be scheduled: every node it could run on had max-pods pods.
    Unschedulable,
    /// It requests a branch ENI and waited to be scheduled: no node it could run on had
    /// `vpc.amazonaws.com/pod-eni` capacity left (none before its trunk is attached; docs/reference/ec2.md
    /// §11.1).
    InsufficientPodEni,
    /// Its CNI ADD failed ("failed to get Branch ENI resource") because the resource controller had not yet
    /// annotated it with its branch ENI, or ipamd had no trunk yet (docs/reference/ec2.md §11.4).
    BranchEni,
    /// Its image pull failed (the node's registry limiter had no token: "pull QPS exceeded") and it waited
    /// out the image back-off.
    ImagePullBackOff,
    /// Its image's policy is `Never` and its node does not hold the image: it never starts.
    ImageNeverPull,
}

impl WaitReason {
    /// Every reason, in a fixed order.
    pub fn all() -> impl Iterator<Item = WaitReason> {
        [
            WaitReason::EniAttaching,
            WaitReason::Assigning,
            WaitReason::InsufficientCidrFreeze,
            WaitReason::PoolEmpty,
            WaitReason::TargetsMet,
            WaitReason::CooldownOnly,
            WaitReason::MaxEnis,
            WaitReason::MaxPods,
            WaitReason::NoIpv6Prefix,
            WaitReason::IpamdUnavailable,
            WaitReason::Unschedulable,
            WaitReason::InsufficientPodEni,
            WaitReason::BranchEni,
            WaitReason::ImagePullBackOff,
            WaitReason::ImageNeverPull,
        ]
        .into_iter()
        .chain(
            crate::sim::ec2::Action::ALL
                .iter()
                .map(|&a| WaitReason::Throttled(a)),
        )
    }

    pub fn label(&self) -> String {
        match self {
            WaitReason::EniAttaching => "pool-empty:eni-attaching".into(),
            WaitReason::Assigning => "pool-empty:assigning".into(),
            WaitReason::Throttled(a) => format!("pool-empty:throttled:{}", a.name()),
            WaitReason::InsufficientCidrFreeze => "pool-empty:insufficient-cidr-freeze".into(),
            WaitReason::PoolEmpty => "pool-empty:awaiting-tick".into(),
            WaitReason::TargetsMet => "pool-empty:targets-met".into(),
            WaitReason::CooldownOnly => "cooldown-only".into(),
            WaitReason::MaxEnis => "max-enis".into(),
            WaitReason::MaxPods => "max-pods".into(),
            WaitReason::NoIpv6Prefix => "no-ipv6-prefix".into(),
            WaitReason::IpamdUnavailable => "ipamd-unavailable".into(),
            WaitReason::Unschedulable => "unschedulable".into(),
            WaitReason::InsufficientPodEni => "insufficient-pod-eni".into(),
            WaitReason::BranchEni => "branch-eni".into(),
            WaitReason::ImagePullBackOff => "image-pull-backoff".into(),
            WaitReason::ImageNeverPull => "image-never-pull".into(),
        }
    }

    /// Whether it is an image's reason (the others are a failed CNI ADD's or the scheduler's).
    pub fn is_image(&self) -> bool {
        matches!(
            self,
            WaitReason::ImagePullBackOff | WaitReason::ImageNeverPull
        )
    }
}

/// What a pod is counted as having waited for, by its last wait reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    Address,
    Node,
    Image,
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// One pod.
#[derive(Clone, Debug)]
pub struct Pod {
    pub workload: u32,
    pub node_group: Option<usize>,
    pub shape: PodShape,
    /// Time its containers run before they complete, from their start.
    pub lifetime: Option<SimDuration>,
    pub trace_pod: Option<u32>,
    pub state: PodState,
    /// The phases of its start, in order (README, "Where a pod's launch time goes"): created in the API,
    /// the scheduler's decision, kubelet seeing the binding, kubelet's first CNI ADD, the address, its images
    /// present, Running as the API shows it, Ready.
    pub created: SimTime,
    pub scheduled: Option<SimTime>,
    pub bound: Option<SimTime>,
    pub sandbox: Option<SimTime>,
    pub ip_assigned: Option<SimTime>,
    /// Known when the pull is queued, so it may lie ahead of the clock.
    pub image_pulled: Option<SimTime>,
    pub running: Option<SimTime>,
    pub ready: Option<SimTime>,
    pub deleted: Option<SimTime>,
    /// The CNI DEL returned its address.
    pub ip_released: Option<SimTime>,
    /// Index into the cluster's nodes.
    pub node: Option<u32>,
    pub eni: Option<EniId>,
    pub address: Option<IpAddr>,
    pub failed_adds: u32,
    /// Image pulls that failed (no registry token); the image back-off grows with them.
    pub failed_pulls: u32,
    /// While the pod is pending the scheduler keeps this for its whole class, and writes it here when the pod
    /// is bound or deleted, or when a run stops.
    pub wait_reason: Option<WaitReason>,
    /// Pods evicted and replaced by this one's controller keep their original creation time here.
    pub replaces: Option<PodId>,
}

/// The pods a run has not finished with, by [`PodId`], and those it has finished with since the world last
/// took them ([`Pods::take_finished`]).
///
/// Records live in a slot vector; `slot_of[id]` finds a pod's slot (four bytes per pod ever created, all a
/// finished pod leaves behind), so a lookup is two indexed reads and a finished pod's slot is reused.
pub struct Pods {
    live: Vec<(PodId, Pod)>,
    slot_of: Vec<u32>,
    finished: Vec<(PodId, Pod)>,
    /// What [`Pods::get`] shows of a pod the run has finished with: gone, and nothing else known.
    gone: Pod,
}

/// `slot_of`'s mark for a finished pod.
const FINISHED: u32 = u32::MAX;

impl Default for Pods {
    fn default() -> Self {
        Pods {
            live: Vec::new(),
            slot_of: Vec::new(),
            finished: Vec::new(),
            gone: Pod::new(&PodRequest::default(), SimTime::ZERO, None, PodState::Gone),
        }
    }
}

impl Pods {
    pub fn create(&mut self, req: &PodRequest, now: SimTime, replaces: Option<PodId>) -> PodId {
        let id = self.slot_of.len() as PodId;
        self.slot_of.push(self.live.len() as u32);
        self.live
            .push((id, Pod::new(req, now, replaces, PodState::Pending)));
        id
    }

    /// Pod `id`'s record; a pod the run has finished with shows as [`PodState::Gone`] with nothing else known
    /// (events and controllers' lists may still name it).
    pub fn get(&self, id: PodId) -> &Pod {
        match self.slot_of[id as usize] {
            FINISHED => &self.gone,
            slot => &self.live[slot as usize].1,
        }
    }

    /// Pod `id`'s record, to change it. Panics for a pod the run has finished with: nothing changes it any
    /// more.
    pub fn get_mut(&mut self, id: PodId) -> &mut Pod {
        let slot = self.slot_of[id as usize];
        assert_ne!(slot, FINISHED, "pod {id} was finished with");
        &mut self.live[slot as usize].1
    }

    /// Pods created so far, finished with or not.
    pub fn created(&self) -> usize {
        self.slot_of.len()
    }

    /// The pods not finished with, in creation order.
    pub fn live(&self) -> Vec<(PodId, &Pod)> {
        let mut v: Vec<(PodId, &Pod)> = self.live.iter().map(|(id, p)| (*id, p)).collect();
        v.sort_unstable_by_key(|&(id, _)| id);
        v
    }

    /// Records held: the live pods' and the finished ones not yet taken.
    pub fn records_held(&self) -> usize {
        self.live.len() + self.finished.len()
    }

    /// The run is done with pod `id` (it is gone and nothing will change its record): its record moves to the
    /// outbox, its slot is reused.
    pub fn finish(&mut self, id: PodId) -> &Pod {
        let slot = std::mem::replace(&mut self.slot_of[id as usize], FINISHED);
        assert_ne!(slot, FINISHED, "pod {id} finished twice");
        let record = self.live.swap_remove(slot as usize);
        if let Some((moved, _)) = self.live.get(slot as usize) {
            self.slot_of[*moved as usize] = slot;
        }
        self.finished.push(record);
        &self.finished.last().expect("just pushed").1
    }

    /// The pods finished with since the last call, in the order they were finished with.
    pub fn take_finished(&mut self) -> std::vec::Drain<'_, (PodId, Pod)> {
        self.finished.drain(..)
    }
}

impl Pod {
    fn new(req: &PodRequest, now: SimTime, replaces: Option<PodId>, state: PodState) -> Pod {
        Pod {
            workload: req.workload,
            node_group: req.node_group,
            shape: req.shape,
            lifetime: req.lifetime,
            trace_pod: req.trace_pod,
            state,
            created: now,
            scheduled: None,
            bound: None,
            sandbox: None,
            ip_assigned: None,
            image_pulled: None,
            running: None,
            ready: None,
            deleted: None,
            ip_released: None,
            node: None,
            eni: None,
            address: None,
            failed_adds: 0,
            failed_pulls: 0,
            wait_reason: None,
            replaces,
        }
    }

    /// What it waited for, by its last wait reason: its image, else an address if a CNI ADD failed (max-pods
    /// is then ipamd's reason), else a node (the scheduler's reason). `None`: it did not wait.
    pub fn waited(&self) -> Option<Waited> {
        let reason = self.wait_reason?;
        Some(if reason.is_image() {
            Waited::Image
        } else if self.failed_adds > 0 {
            Waited::Address
        } else {
            Waited::Node
        })
    }

    /// Not yet deleted: it counts towards its workload's replicas.
    pub fn is_live(&self) -> bool {
        matches!(
            self.state,
            PodState::Pending | PodState::Starting | PodState::Running
        )
    }

    /// The request that would recreate this pod (a controller's replacement), with the lifetime it had left.
    pub fn replacement(&self, now: SimTime) -> PodRequest {
        let lifetime = self.lifetime.map(|l| match self.running {
            Some(r) => SimDuration(l.0.saturating_sub(now.since(r).0).max(1)),
            None => l,
        });
        PodRequest {
            workload: self.workload,
            node_group: self.node_group,
            shape: self.shape,
            lifetime,
            trace_pod: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_pod_leaves_the_store_shows_gone_and_its_slot_is_reused() {
        let mut pods = Pods::default();
        let req = PodRequest {
            workload: 1,
            ..PodRequest::default()
        };
        let ids: Vec<PodId> = (0..3)
            .map(|s| pods.create(&req, SimTime(s), None))
            .collect();
        pods.get_mut(0).state = PodState::Gone;
        assert_eq!(pods.finish(0).created, SimTime(0));
        // The last pod moved into the freed slot and is still found by its number.
        assert_eq!(pods.get(2).created, SimTime(2));
        assert_eq!(pods.get(0).state, PodState::Gone);
        assert_eq!(pods.get(0).workload, 0, "nothing else is known of it");
        assert_eq!(pods.records_held(), 3);
        let taken: Vec<PodId> = pods.take_finished().map(|(id, _)| id).collect();
        assert_eq!(taken, [0]);
        assert_eq!(pods.records_held(), 2);
        let live: Vec<PodId> = pods.live().iter().map(|&(id, _)| id).collect();
        assert_eq!(live, ids[1..]);
        assert_eq!(pods.created(), 3);
    }
}
