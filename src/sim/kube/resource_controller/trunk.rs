//! The trunk job (docs/reference/ec2.md §11.3): `LoadDetails`, the node's interfaces, then create, permission,
//! attach at the highest free device index, DeleteOnTermination and polls until attached; a failure rolls the
//! new ENI back and is retried later.

use super::*;

impl ResourceController {
    pub(super) fn trunk_step<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        answer: Option<&ApiResult>,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let (n, step) = {
            let job = self.job_mut(j);
            (job.node, job.step)
        };
        let node = &self.nodes[&n];
        let req = node.req;
        if node.gone && step != Step::Rollback {
            return self.finish(ctx, ec2, j);
        }
        let ok = answer.is_none_or(|a| a.is_ok());
        if !ok && !matches!(step, Step::Rollback | Step::Poll { .. }) {
            return self.trunk_failed(ctx, ec2, j, step);
        }
        match step {
            Step::DescribeInstance => {
                let r = Request::DescribeInstances {
                    instance: req.instance,
                };
                self.call(ctx, ec2, j, Step::DescribeSubnet, r);
            }
            Step::DescribeSubnet => {
                let r = Request::DescribeSubnets {
                    query: SubnetQuery::Ids(vec![req.subnet]),
                };
                self.call(ctx, ec2, j, Step::DescribeInterfaces, r);
            }
            Step::DescribeInterfaces => {
                let r = Request::DescribeInstances {
                    instance: req.instance,
                };
                self.call(ctx, ec2, j, Step::CreateTrunk, r);
            }
            Step::CreateTrunk => {
                // The second DescribeInstances' answer: the trunk takes the highest free device index.
                let used: Vec<u32> = match answer {
                    Some(Ok(Response::Instance(d))) => d.enis.iter().map(|&(i, _)| i).collect(),
                    _ => Vec::new(),
                };
                let Some(device) = (0..req.max_enis).rev().find(|i| !used.contains(i)) else {
                    return self.trunk_failed(ctx, ec2, j, step);
                };
                self.job_mut(j).device = device;
                let r = Request::CreateNetworkInterface {
                    subnet: req.subnet,
                    addresses: AddressCount::SecondaryIps(0),
                    description: TRUNK_ENI_DESCRIPTION.to_string(),
                    tags: Vec::new(),
                };
                self.call(ctx, ec2, j, Step::TrunkPermission, r);
            }
            Step::TrunkPermission => {
                let Some(Ok(Response::NetworkInterface(d))) = answer else {
                    unreachable!("CreateNetworkInterface answers with the ENI")
                };
                let trunk = d.id;
                let r = Request::CreateNetworkInterfacePermission { eni: trunk };
                self.call(ctx, ec2, j, Step::Attach { trunk }, r);
            }
            Step::Attach { trunk } => {
                let r = Request::AttachNetworkInterface {
                    eni: trunk,
                    instance: req.instance,
                    device_index: self.job_mut(j).device,
                };
                self.call(ctx, ec2, j, Step::Modify { trunk }, r);
            }
            Step::Modify { trunk } => {
                let r = Request::ModifyNetworkInterfaceAttribute {
                    eni: trunk,
                    attribute: EniAttribute::DeleteOnTermination(true),
                };
                self.call(ctx, ec2, j, Step::Poll { trunk, polls: 0 }, r);
            }
            Step::Poll { trunk, polls } => {
                let attached = matches!(
                    answer,
                    Some(Ok(Response::NetworkInterfaces(list)))
                        if list.first().is_some_and(|d| d.status == EniStatus::InUse)
                );
                if attached {
                    return self.trunk_attached(ctx, ec2, j, trunk);
                }
                if polls >= TRUNK_POLLS {
                    return self.trunk_failed(ctx, ec2, j, step);
                }
                let r = Request::DescribeNetworkInterfaces {
                    query: EniQuery::Ids(vec![trunk]),
                };
                if polls == 0 {
                    // The Modify answer: the first poll goes at once.
                    self.call(ctx, ec2, j, Step::Poll { trunk, polls: 1 }, r);
                } else {
                    // Back-off 1 s doubling between polls; the worker is held meanwhile.
                    let wait = SimDuration::from_secs(1u64 << (polls - 1));
                    let job = self.job_mut(j);
                    job.step = Step::Poll {
                        trunk,
                        polls: polls + 1,
                    };
                    job.waiting = Some(r);
                    ctx.schedule_in(wait, KubeEvent::ResourceController(RcEvent::Resume(j)));
                }
            }
            Step::Rollback => {
                // Tried again later, as on the node's next event, unless the node went.
                self.counters.trunk_jobs_failed += 1;
                if self.nodes[&n].gone {
                    return self.finish(ctx, ec2, j);
                }
                self.requeue(ctx, ec2, j, TRUNK_RETRY, Step::DescribeInstance);
            }
            _ => unreachable!("a trunk job's step"),
        }
    }

    /// The trunk job failed at `step`: a created trunk is deleted first (the rollback), then the node is asked
    /// about again later.
    pub(super) fn trunk_failed<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        step: Step,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let trunk = match step {
            Step::Attach { trunk } | Step::Modify { trunk } | Step::Poll { trunk, .. } => {
                Some(trunk)
            }
            _ => None,
        };
        match trunk {
            Some(eni) => self.call(
                ctx,
                ec2,
                j,
                Step::Rollback,
                Request::DeleteNetworkInterface { eni },
            ),
            None => {
                self.job_mut(j).step = Step::Rollback;
                self.trunk_step(ctx, ec2, j, None);
            }
        }
    }

    /// The trunk is attached: the node's delete-queue job starts and its capacity is advertised.
    pub(super) fn trunk_attached<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        trunk: EniId,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let n = self.job_mut(j).node;
        let node = self.nodes.get_mut(&n).expect("a managed node");
        node.trunk = Some(trunk);
        node.anchor = ctx.now();
        self.counters.trunks_attached += 1;
        self.outcomes.push(RcOutcome::Capacity {
            node: n,
            branches: node.req.branches,
        });
        self.finish(ctx, ec2, j);
    }
}
