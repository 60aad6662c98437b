//! A branch ENI per pod (docs/reference/ec2.md §11.4): `canCreateMore` with cooling branches counted, create,
//! permission, associate, the annotation; failed jobs retried with the work queue's back-off.

use super::*;

impl ResourceController {
    pub(super) fn branch_step<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        pod: PodId,
        answer: Option<&ApiResult>,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let (n, step) = {
            let job = self.job_mut(j);
            (job.node, job.step)
        };
        if let Some(Err(_)) = answer {
            return self.branch_failed(ctx, ec2, j, step);
        }
        match step {
            Step::Start => {
                // The job reads the pod again: one deleted meanwhile needs nothing.
                if self.pods.get(&pod).is_none_or(|p| p.gone) {
                    self.pods.remove(&pod);
                    return self.finish(ctx, ec2, j);
                }
                let node = self
                    .nodes
                    .get_mut(&n)
                    .expect("branch pods run on managed nodes");
                // `canCreateMore`: in use plus cooling must stay below the limit; otherwise back after the
                // cooldown (not a failure).
                if node.held >= node.req.branches {
                    self.counters.creates_requeued_full += 1;
                    let after = self.spec.branch_eni_cooldown;
                    return self.requeue(ctx, ec2, j, after, Step::Start);
                }
                node.held += 1;
                let vlan = node.take_vlan();
                let r = Request::CreateNetworkInterface {
                    subnet: node.req.subnet,
                    addresses: AddressCount::SecondaryIps(0),
                    description: BRANCH_ENI_DESCRIPTION.to_string(),
                    tags: Vec::new(),
                };
                self.call(ctx, ec2, j, Step::CreateBranch { vlan }, r);
            }
            Step::CreateBranch { vlan } => {
                let Some(Ok(Response::NetworkInterface(d))) = answer else {
                    unreachable!("CreateNetworkInterface answers with the ENI")
                };
                self.counters.branches_created += 1;
                let branch = Branch { eni: d.id, vlan };
                let address = d.primary_ip;
                let r = Request::CreateNetworkInterfacePermission { eni: branch.eni };
                self.call(ctx, ec2, j, Step::BranchPermission { branch, address }, r);
            }
            Step::BranchPermission { branch, address } => {
                let trunk = self.nodes[&n]
                    .trunk
                    .expect("branch pods run on nodes with a trunk");
                let r = Request::AssociateTrunkInterface {
                    branch: branch.eni,
                    trunk,
                    vlan: branch.vlan,
                };
                self.call(ctx, ec2, j, Step::Associate { branch, address }, r);
            }
            Step::Associate { branch, address } => {
                // Associated: the annotation is patched through the API server.
                self.job_mut(j).step = Step::Annotate { branch, address };
                let d = self.api_latency.sample(ctx.rng(STREAM));
                ctx.schedule_in(d, KubeEvent::ResourceController(RcEvent::Annotated(j)));
            }
            _ => unreachable!("a branch job's step"),
        }
    }

    /// The pod's annotation is written: the pod has its branch, unless it went meanwhile.
    pub(super) fn annotated<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, j: u32)
    where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let job = self.job_mut(j);
        let (Kind::Branch(pod), Step::Annotate { branch, address }) = (job.kind, job.step) else {
            unreachable!("an annotation ends a branch job")
        };
        let n = job.node;
        match self.pods.get_mut(&pod) {
            Some(p) if !p.gone => {
                p.branch = Some((branch, address));
                self.outcomes.push(RcOutcome::Annotated {
                    pod,
                    eni: branch.eni,
                    address,
                });
            }
            _ => {
                self.pods.remove(&pod);
                self.cool(ctx, n, branch, false);
            }
        }
        self.finish(ctx, ec2, j);
    }

    /// A create job's call failed at `step`: an ENI it made goes to the front of the delete queue, and the
    /// job is retried after the work queue's back-off, or at the resync after its fifth failure (§11.4).
    pub(super) fn branch_failed<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        step: Step,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        self.counters.create_jobs_failed += 1;
        let n = self.job_mut(j).node;
        match step {
            Step::CreateBranch { vlan } => {
                let node = self.nodes.get_mut(&n).expect("a managed node");
                node.held -= 1;
                node.free_vlan(vlan);
            }
            Step::BranchPermission { branch, .. } | Step::Associate { branch, .. } => {
                self.cool(ctx, n, branch, true)
            }
            _ => unreachable!("a branch job fails on a call"),
        }
        let job = self.job_mut(j);
        job.failures += 1;
        let after = if job.failures < MAX_CREATE_TRIES {
            SimDuration(FIRST_RETRY.0 << (job.failures - 1))
        } else {
            job.failures = 0;
            RESYNC
        };
        self.requeue(ctx, ec2, j, after, Step::Start);
    }
}
