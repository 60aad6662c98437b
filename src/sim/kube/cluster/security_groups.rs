//! What security groups for pods do to the Kubernetes side (docs/reference/ec2.md §11): a node's ipamd asks
//! for a trunk, the resource controller (`sim::kube::resource_controller`, built on the first request) attaches
//! it and the node advertises its branch capacity; a pod that requests a branch gets one from the controller
//! once bound, and its CNI ADD fails until the pod carries the branch's annotation and ipamd knows the trunk.

use std::net::IpAddr;

use super::*;
use crate::sim::ec2::branch_limits;
use crate::sim::ipamd::datastore::PodAddress;
use crate::sim::kube::resource_controller::{
    self, RcEvent, RcOutcome, ResourceController, TrunkRequest,
};

/// The CNI ADD retries of pods waiting for their branch: their own stream, so that runs without such pods
/// draw nothing more from kubelet's.
const BRANCH_ADD: Stream = Stream("kube.kubelet.branch");

impl Cluster {
    /// ipamd's `tryEnableSecurityGroupsForPods` (§11.1): once its start-up is done, an IPv4 ipamd with
    /// `ENABLE_POD_ENI` asks for a trunk while an ENI slot is free; the controller sees the CNINode change
    /// after the API server's latency. A type the controller's table does not mark trunk-compatible gets no
    /// trunk, so the request is not modelled there (§11.8).
    pub(super) fn ask_for_trunk<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        let node = &self.nodes[n as usize];
        if node.trunk_asked || node.phase == NodePhase::Terminated {
            return;
        }
        {
            let st = node.ipamd.state();
            let type_name = &self.node_groups.spec(node.group).instance_type.name;
            let asks = st.cfg.enable_pod_eni
                && !st.cfg.enable_ipv6
                && st.ready
                && st.ds.eni_count() < st.limits.max_eni
                && branch_limits::controller_branches(type_name).is_some();
            if !asks {
                return;
            }
        }
        self.nodes[n as usize].trunk_asked = true;
        let d = self
            .spec
            .api_server
            .latency
            .sample(ctx.rng(resource_controller::STREAM));
        ctx.schedule_in(d, KubeEvent::TrunkWanted(n));
        self.log_node(ctx, n, || {
            "ipamd asks for a trunk ENI (CNINode SecurityGroupsForPods)".to_string()
        });
    }

    /// The controller sees node `n`'s request: a node job with what it reads of the node.
    pub(super) fn trunk_wanted<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        n: u32,
    ) where
        E: From<KubeEvent> + From<Ec2Event>,
    {
        let node = &self.nodes[n as usize];
        if node.phase == NodePhase::Terminated {
            return;
        }
        let inst = ec2
            .inventory()
            .instance(node.instance)
            .expect("a node's instance is in the inventory");
        let st = node.ipamd.state();
        let req = TrunkRequest {
            instance: node.instance,
            subnet: st
                .cfg
                .custom_network
                .as_ref()
                .map_or(inst.subnet, |c| c.subnet),
            branches: branch_limits::controller_branches(&inst.instance_type.name)
                .expect("only trunk-compatible nodes ask"),
            max_enis: inst.instance_type.eni_limit,
        };
        drop(st);
        let account = self.node_groups.spec(node.group).account;
        self.resource_controller(ec2, account)
            .manage_node(ctx, ec2, n, req);
        self.apply_rc_outcomes(ctx);
    }

    /// The controller, built with its clients on first use (so that runs without it keep their client
    /// numbering and draw nothing).
    fn resource_controller(
        &mut self,
        ec2: &mut ControlPlane,
        account: usize,
    ) -> &mut ResourceController {
        if self.rc.is_none() {
            let rc = ResourceController::new(
                self.spec.resource_controller,
                self.spec.api_server.latency,
                ec2,
                account,
            );
            for c in rc.clients() {
                debug_assert_eq!(c.0 as usize, self.owners.len());
                self.owners.push(ClientOwner::ResourceController);
            }
            self.rc = Some(Box::new(rc));
        }
        self.rc.as_mut().expect("just built")
    }

    pub(super) fn on_rc_event<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        e: RcEvent,
    ) where
        E: From<KubeEvent> + From<Ec2Event>,
    {
        let rc = self.rc.as_mut().expect("its events come after it is built");
        rc.handle(ctx, ec2, e);
        self.apply_rc_outcomes(ctx);
    }

    pub(super) fn on_rc_completion<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        done: &Completion,
    ) where
        E: From<KubeEvent> + From<Ec2Event>,
    {
        let rc = self.rc.as_mut().expect("its calls come after it is built");
        rc.on_completion(ctx, ec2, done);
        self.apply_rc_outcomes(ctx);
    }

    /// What the controller's work shows in Kubernetes: a node's capacity (the scheduler sees a changed node),
    /// a pod's annotation.
    fn apply_rc_outcomes<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        let Some(rc) = self.rc.as_mut() else {
            return;
        };
        let outcomes: Vec<RcOutcome> = rc.take_outcomes().collect();
        for o in outcomes {
            match o {
                RcOutcome::Capacity { node: n, branches } => {
                    let ready = self.nodes[n as usize].phase == NodePhase::Ready;
                    if ready {
                        self.scheduler.remove_node(&self.nodes, n);
                    }
                    self.nodes[n as usize].pod_eni_capacity = branches;
                    if ready {
                        self.scheduler.add_node(&self.nodes, n);
                        self.request_cycle(ctx);
                    }
                    self.log_node(ctx, n, || {
                        format!("trunk ENI attached: vpc.amazonaws.com/pod-eni capacity {branches}")
                    });
                }
                RcOutcome::Annotated { pod, eni, address } => {
                    self.log_pod(ctx, pod, || {
                        format!("annotated with branch ENI {eni} ({address})")
                    });
                }
            }
        }
    }

    /// A pod that requests a branch is bound: the controller's pod controller submits its create job.
    pub(super) fn branch_pod_bound<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        p: PodId,
    ) where
        E: From<KubeEvent> + From<Ec2Event>,
    {
        let n = self.pods.get(p).node.expect("a bound pod has a node");
        let rc = self
            .rc
            .as_mut()
            .expect("branch pods run on nodes with a trunk");
        rc.pod_bound(ctx, ec2, p, n);
        self.apply_rc_outcomes(ctx);
    }

    /// The CNI ADD of a pod with a branch (§11.4, `rpc_handler.go`): its annotation's address on the trunk's
    /// VLAN, once the controller has annotated it and ipamd has the trunk in its datastore; else "failed to
    /// get Branch ENI resource".
    pub(super) fn branch_add(&self, p: PodId, n: u32) -> Result<PodAddress<IpAddr>, WaitReason> {
        let rc = self
            .rc
            .as_ref()
            .expect("branch pods run on nodes with a trunk");
        match rc.branch_of(p) {
            Some((eni, address)) if self.nodes[n as usize].ipamd.state().ds.has_trunk() => {
                Ok(PodAddress {
                    address: IpAddr::V4(address),
                    eni,
                    device: 0,
                })
            }
            _ => Err(WaitReason::BranchEni),
        }
    }

    /// kubelet's next sandbox attempt after a failed ADD: its usual back-off, drawn from the branch pods' own
    /// stream when the pod waited for its branch.
    pub(super) fn sandbox_retry_after<E>(
        &self,
        ctx: &mut Context<'_, E>,
        reason: WaitReason,
        retry: u32,
    ) -> crate::sim::time::SimDuration {
        let stream = match reason {
            WaitReason::BranchEni => BRANCH_ADD,
            _ => KUBELET,
        };
        backoff(&self.spec.kubelet.sandbox_retry, retry, ctx.rng(stream))
    }

    /// Node `n` is gone: the controller stops its work for it.
    pub(super) fn node_gone_for_rc<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        n: u32,
    ) {
        if let Some(rc) = self.rc.as_mut() {
            rc.node_gone(ctx, n);
        }
    }

    /// A pod with a branch is gone: the controller queues its branch for deletion.
    pub(super) fn branch_pod_gone<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        p: PodId,
    ) {
        if let Some(rc) = self.rc.as_mut() {
            rc.pod_gone(ctx, p);
        }
    }
}
