//! The controller's jobs and worker pools: a job joins its pool's queue, runs on a free worker, makes its calls
//! through its client's limiter, and is requeued or finished (docs/reference/ec2.md §11.4, §11.6).

use super::*;

impl ResourceController {
    pub(super) fn job_mut(&mut self, j: u32) -> &mut Job {
        self.jobs[j as usize].as_mut().expect("a live job")
    }

    pub(super) fn submit<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        kind: Kind,
        node: u32,
        step: Step,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let job = Job {
            kind,
            node,
            step,
            failures: 0,
            waiting: None,
            device: 0,
        };
        let j = match self.free_jobs.pop() {
            Some(j) => {
                self.jobs[j as usize] = Some(job);
                j
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as u32
            }
        };
        self.enqueue(ctx, ec2, j);
    }

    pub(super) fn pool_mut(&mut self, p: PoolId) -> &mut Pool {
        match p {
            PoolId::Nodes => &mut self.node_pool,
            PoolId::Branches => &mut self.branch_pool,
        }
    }

    /// Job `j` joins its pool: it starts at once on a free worker, else waits its turn.
    pub(super) fn enqueue<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, j: u32)
    where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let p = self.job_mut(j).pool();
        let pool = self.pool_mut(p);
        if pool.busy < pool.workers {
            pool.busy += 1;
            self.advance(ctx, ec2, j, None);
        } else {
            pool.queue.push_back(j);
        }
    }

    /// Job `j` lets go of its worker, which takes the next job waiting.
    pub(super) fn release_worker<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        p: PoolId,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let pool = self.pool_mut(p);
        match pool.queue.pop_front() {
            Some(next) => self.advance(ctx, ec2, next, None),
            None => pool.busy -= 1,
        }
    }

    /// Job `j` is done.
    pub(super) fn finish<E>(&mut self, ctx: &mut Context<'_, E>, ec2: &mut ControlPlane, j: u32)
    where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let job = self.jobs[j as usize].take().expect("a live job");
        self.free_jobs.push(j);
        self.release_worker(ctx, ec2, job.pool());
    }

    /// Job `j` stops and comes back `after` from now, its worker freed meanwhile.
    pub(super) fn requeue<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        after: SimDuration,
        step: Step,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let job = self.job_mut(j);
        job.step = step;
        let pool = job.pool();
        ctx.schedule_in(after, KubeEvent::ResourceController(RcEvent::Requeue(j)));
        self.release_worker(ctx, ec2, pool);
    }

    pub(super) fn client_for(&mut self, action: Action) -> &mut Client {
        match action {
            Action::AssociateTrunkInterface | Action::DisassociateTrunkInterface => {
                &mut self.instance
            }
            _ => &mut self.user,
        }
    }

    /// Job `j` makes its next call: at once if its client limiter has a token, else when it has one.
    pub(super) fn call<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        step: Step,
        request: Request,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let now = ctx.now();
        let go = self.client_for(request.action()).limiter.reserve(now, 1);
        let job = self.job_mut(j);
        job.step = step;
        if go > now {
            job.waiting = Some(request);
            ctx.schedule_at(go, KubeEvent::ResourceController(RcEvent::Send(j)));
        } else {
            self.send(ctx, ec2, j, request);
        }
    }

    /// Job `j`'s call goes, its client token in hand; its answer comes back to the job.
    pub(super) fn send<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        request: Request,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let client = self.client_for(request.action()).id;
        let call = ec2.submit(ctx, client, request);
        self.calls.insert(call, j);
    }

    /// Moves job `j` on, after the answer to its last call (`None` when it starts or is requeued).
    pub(super) fn advance<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        j: u32,
        answer: Option<&ApiResult>,
    ) where
        E: From<Ec2Event> + From<KubeEvent>,
    {
        let job = self.job_mut(j);
        match job.kind {
            Kind::Trunk => self.trunk_step(ctx, ec2, j, answer),
            Kind::Branch(pod) => self.branch_step(ctx, ec2, j, pod, answer),
            Kind::DeleteQueue => self.delete_step(ctx, ec2, j, answer),
        }
    }
}
