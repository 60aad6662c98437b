//! Each node's delete queue (docs/reference/ec2.md §11.5): gone pods' branches cool down, then a job on the
//! node's 30 s grid disassociates and deletes every branch past its cooldown, in order.

use super::*;

impl ResourceController {
    /// Branch `branch` of node `n` joins its delete queue (at its front after a failed creation), and the
    /// node's delete-queue job is armed for the first run of its 30 s grid that finds it past its cooldown.
    pub(super) fn cool<E>(&mut self, ctx: &mut Context<'_, E>, n: u32, branch: Branch, front: bool)
    where
        E: From<KubeEvent>,
    {
        let node = self.nodes.get_mut(&n).expect("a managed node");
        let entry = Cooling {
            branch,
            since: ctx.now(),
            failures: 0,
        };
        if front {
            node.delete_queue.push_front(entry);
        } else {
            node.delete_queue.push_back(entry);
        }
        self.arm_delete_queue(ctx, n);
    }

    /// Schedules node `n`'s delete-queue job at the first run of its grid at which the queue's head is past
    /// its cooldown; runs before it would find nothing to do and make no call, so they are not simulated.
    pub(super) fn arm_delete_queue<E>(&mut self, ctx: &mut Context<'_, E>, n: u32)
    where
        E: From<KubeEvent>,
    {
        let cooldown = self.spec.branch_eni_cooldown;
        let node = self.nodes.get_mut(&n).expect("a managed node");
        let Some(head) = node.delete_queue.front() else {
            return;
        };
        if node.delete_armed {
            return;
        }
        node.delete_armed = true;
        let due = (head.since + cooldown).max(ctx.now());
        let period = DELETE_QUEUE_PERIOD.0;
        let runs = due.since(node.anchor).0.div_ceil(period).max(1);
        let at = node.anchor + SimDuration(runs * period);
        ctx.schedule_at(at, KubeEvent::ResourceController(RcEvent::DeleteQueue(n)));
    }

    pub(super) fn delete_step<E>(
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
        match step {
            Step::Disassociate { entry } => {
                // Its errors are logged and the deletion goes on (§11.5).
                let r = Request::DeleteNetworkInterface {
                    eni: entry.branch.eni,
                };
                self.call(ctx, ec2, j, Step::Delete { entry }, r);
                return;
            }
            Step::Delete { entry } => {
                let node = self.nodes.get_mut(&n).expect("a managed node");
                match answer {
                    Some(Ok(_)) => gone(node, entry, &mut self.counters.branches_deleted),
                    Some(Err(e)) if e.code == ErrorCode::InvalidNetworkInterfaceIdNotFound => {
                        gone(node, entry, &mut self.counters.branches_deleted)
                    }
                    // Forgotten: it stays in EC2, its address held, and no longer counts.
                    _ if entry.failures + 1 >= MAX_DELETE_FAILURES => {
                        gone(node, entry, &mut self.counters.branches_forgotten)
                    }
                    _ => {
                        let again = Cooling {
                            failures: entry.failures + 1,
                            ..entry
                        };
                        node.delete_queue.push_front(again);
                        return self.end_delete_queue(ctx, ec2, j);
                    }
                }
            }
            _ => {}
        }
        // Next entry past its cooldown, if any.
        let cooldown = self.spec.branch_eni_cooldown;
        let now = ctx.now();
        let node = self.nodes.get_mut(&n).expect("a managed node");
        match node.delete_queue.front() {
            Some(head) if head.since + cooldown <= now => {
                let entry = node.delete_queue.pop_front().expect("a head");
                let r = Request::DisassociateTrunkInterface {
                    branch: entry.branch.eni,
                };
                self.call(ctx, ec2, j, Step::Disassociate { entry }, r);
            }
            _ => self.end_delete_queue(ctx, ec2, j),
        }
    }

    /// The delete-queue job is done: its next run is 30 s after now.
    pub(super) fn end_delete_queue<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let n = self.job_mut(j).node;
        let node = self.nodes.get_mut(&n).expect("a managed node");
        node.anchor = ctx.now();
        node.delete_armed = false;
        self.finish(ctx, ec2, j);
        self.arm_delete_queue(ctx, n);
    }
}

/// A branch leaves its node's count and VLAN IDs (deleted, or forgotten), counted in `tally`.
fn gone(node: &mut RcNode, entry: Cooling, tally: &mut u64) {
    node.held -= 1;
    node.free_vlan(entry.branch.vlan);
    *tally += 1;
}
