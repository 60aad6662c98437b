//! aws-node's DaemonSet pod on each node, as the Kubernetes side runs it (docs/reference/kube.md §4.7, §5.5;
//! ipamd.md §9): the container's liveness kill and CrashLoopBackOff restarts, a pod replaced with or without a
//! new configuration, readiness, and rolling updates over a node group with `maxUnavailable`.

use super::*;

impl Cluster {
    /// ipamd has moved on (a call answered, a sleep over, a start): the node may turn Ready, and a restarted
    /// aws-node pod may pass its readiness probe.
    pub(super) fn ipamd_moved<E: From<KubeEvent>>(&mut self, ctx: &mut Context<'_, E>, n: u32) {
        self.check_ready(ctx, n);
        self.ask_for_trunk(ctx, n);
        let node = &mut self.nodes[n as usize];
        let a = &mut node.aws_node;
        // Only a restarted pod's readiness matters (to a rolling update); a first start's is not modelled, so
        // that runs without restarts draw nothing from the aws-node stream.
        if a.phase != Phase::Running || a.ready_reported || a.restarts == 0 || !node.ipamd.serving()
        {
            return;
        }
        a.ready_reported = true;
        let started = a.started.expect("a running container has started");
        let probe = readiness_at(started, ctx.now());
        let shown = probe + self.spec.api_server.latency.sample(ctx.rng(AWS_NODE));
        ctx.schedule_at(shown, KubeEvent::AwsNodeReady(n, a.epoch));
    }

    /// aws-node's liveness probe has failed three times (60 s, 70 s, 80 s after the container started) unless
    /// ipamd serves: the container is killed and kubelet restarts it after its CrashLoopBackOff, counted from
    /// the exit and no earlier than PLEG sees it (docs/reference/kube.md §4.7, §5.5).
    pub(super) fn aws_node_liveness<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        n: u32,
        epoch: u32,
    ) {
        let now = ctx.now();
        let node = &mut self.nodes[n as usize];
        if node.aws_node.epoch != epoch
            || node.phase == NodePhase::Terminated
            || node.ipamd.serving()
        {
            return;
        }
        node.ipamd.stop(ctx);
        let stopped = node.aws_node.container_stopped();
        let back_off = node.aws_node.killed(now, &self.spec.kubelet.crash_loop);
        let restart = back_off.max(node.kubelet.sees(now));
        let at = restart + self.spec.kubelet.container_start.sample(ctx.rng(AWS_NODE));
        ctx.schedule_at(at, KubeEvent::AwsNodeRestarts(n, stopped));
        self.log_node(ctx, n, || {
            format!(
                "aws-node killed by its liveness probe (ipamd not serving); CrashLoopBackOff until {:.3}s",
                restart.as_secs_f64()
            )
        });
    }

    /// aws-node's container starts again: a new ipamd process, with a new configuration if a DaemonSet update
    /// brought one.
    pub(super) fn aws_node_restarts<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        n: u32,
        epoch: u32,
    ) where
        E: From<KubeEvent> + From<Ec2Event> + From<IpamdEvent>,
    {
        let now = ctx.now();
        let node = &mut self.nodes[n as usize];
        if node.aws_node.epoch != epoch || node.phase == NodePhase::Terminated {
            return;
        }
        let cfg = node.aws_node.next_config.take();
        node.ipamd.restart(ctx, ec2, cfg);
        let epoch = node.aws_node.container_started(now);
        ctx.schedule_in(LIVENESS_KILL_AFTER, KubeEvent::AwsNodeLiveness(n, epoch));
        self.log_node(ctx, n, || "aws-node restarted: ipamd init".to_string());
        self.ipamd_moved(ctx, n);
    }

    /// Restarts node `n`'s aws-node as a DaemonSet update does: its pod is deleted (SIGTERM: ipamd stops
    /// growing and freeing ENIs, and the container, whose entrypoint has no SIGTERM handler, exits at once,
    /// docs/reference/kube.md §5.5) and a new pod starts after the group's `aws_node_start`, running ipamd's
    /// start-up again (docs/reference/ipamd.md §9) with `config` if given. The node keeps its phase (a Ready
    /// node stays Ready; CNI ADDs fail meanwhile) and its max-pods. A node whose aws-node has not started yet
    /// starts with `config`; returns whether a running aws-node was restarted (false for that node and for a
    /// terminated one).
    pub fn restart_aws_node<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        n: u32,
        config: Option<IpamdConfig>,
    ) -> bool
    where
        E: From<KubeEvent>,
    {
        let node = &mut self.nodes[n as usize];
        if node.phase == NodePhase::Terminated {
            return false;
        }
        node.aws_node.replaced(config);
        if node.aws_node.phase == Phase::NotStarted {
            return false;
        }
        node.ipamd.stop(ctx);
        let epoch = node.aws_node.container_stopped();
        let start = &self.node_groups.spec(node.group).lifecycle.aws_node_start;
        let d = start.sample(ctx.rng(AWS_NODE));
        ctx.schedule_in(d, KubeEvent::AwsNodeRestarts(n, epoch));
        self.log_node(ctx, n, || {
            format!(
                "aws-node pod replaced: SIGTERM, new pod in {:.3}s",
                d.as_secs_f64()
            )
        });
        true
    }

    /// Starts a rolling update of aws-node over node group `group` (docs/reference/kube.md §5.5): at most
    /// `max_unavailable` of the group's nodes restarted and not yet Ready again at once, the next node restarted
    /// when a restarted one's pod turns Ready; nodes that leave are skipped. Nodes the group registers from now
    /// on start with the new configuration (their max-pods stays the group's). Returns the rollout's index in
    /// `rollouts`.
    pub fn roll_aws_node<E>(
        &mut self,
        ctx: &mut Context<'_, E>,
        group: usize,
        change: AwsNodeRollout,
    ) -> usize
    where
        E: From<KubeEvent>,
    {
        if let Some(cfg) = &change.config {
            self.node_groups.set_ipamd(group, cfg.clone());
        }
        let waiting = (0..self.nodes.len() as u32)
            .filter(|&n| {
                let node = &self.nodes[n as usize];
                node.group == group && node.phase != NodePhase::Terminated
            })
            .collect();
        let i = self.rollouts.len();
        self.rollouts.push(Rollout {
            group,
            change,
            started: ctx.now(),
            finished: None,
            waiting,
            in_progress: Vec::new(),
            restarted: 0,
            max_down: 0,
        });
        self.log_node_group(ctx, || {
            format!("aws-node rollout {i} of group {group} started")
        });
        self.advance_rollout(ctx, i);
        i
    }

    /// Restarts the rollout's next nodes while fewer than `maxUnavailable` are down; records its end.
    pub(super) fn advance_rollout<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        i: usize,
    ) {
        loop {
            let r = &self.rollouts[i];
            if r.finished.is_some() {
                return;
            }
            let live = self
                .nodes
                .iter()
                .filter(|n| n.group == r.group && n.phase != NodePhase::Terminated)
                .count() as u32;
            let limit = r.change.max_unavailable.of(live);
            if r.in_progress.len() as u32 >= limit {
                return;
            }
            let Some(n) = self.rollouts[i].waiting.pop_front() else {
                if self.rollouts[i].in_progress.is_empty() {
                    self.rollouts[i].finished = Some(ctx.now());
                    self.log_node_group(ctx, || format!("aws-node rollout {i} finished"));
                }
                return;
            };
            let cfg = self.rollouts[i].change.config.clone();
            if self.restart_aws_node(ctx, n, cfg) {
                let r = &mut self.rollouts[i];
                r.in_progress.push(n);
                r.restarted += 1;
                r.max_down = r.max_down.max(r.in_progress.len() as u32);
            }
        }
    }

    /// A restarted aws-node pod is Ready: the rollouts waiting for it move on.
    pub(super) fn aws_node_ready<E>(&mut self, ctx: &mut Context<'_, E>, n: u32, epoch: u32)
    where
        E: From<KubeEvent>,
    {
        if self.nodes[n as usize].aws_node.epoch != epoch {
            return;
        }
        self.log_node(ctx, n, || "aws-node pod Ready".to_string());
        self.rollouts_drop_node(ctx, n);
    }

    /// Node `n` no longer holds up any rollout (its new pod is Ready, or it left).
    pub(super) fn rollouts_drop_node<E: From<KubeEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        n: u32,
    ) {
        for i in 0..self.rollouts.len() {
            let r = &mut self.rollouts[i];
            if let Some(k) = r.in_progress.iter().position(|&m| m == n) {
                r.in_progress.remove(k);
                self.advance_rollout(ctx, i);
            }
        }
    }
}
