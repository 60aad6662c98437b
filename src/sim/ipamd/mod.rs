//! The VPC CNI's IP address management daemon, one per node (docs/reference/ipamd.md, v1.23.1).
//!
//! [`Ipamd`] is what the world holds for a node: it drives the daemon's process (the pool manager's loop in
//! [`daemon`]) through the simulated EC2 control plane and the node's instance-metadata view, and it answers
//! the CNI's ADD and DEL from the datastore without any EC2 work (§0, §3.2, §3.3).

pub mod config;
pub mod daemon;
pub mod datastore;
pub mod fresh_pool;
mod ipv6_init;
pub mod ipv6_pool;
pub mod limits;
pub mod policy;
pub mod process;

use std::cell::{Ref, RefCell, RefMut};
use std::net::IpAddr;
use std::rc::Rc;

use config::IpamdConfig;
use daemon::{Counters, Daemon, NodeState, Step};
use datastore::{NoAvailableAddress, PodAddress, PodKey, Released};
use limits::NodeLimits;
use process::{Port, Process, Reply, Want};

use crate::sim::ec2::instance_types::InstanceType;
use crate::sim::ec2::{CallId, ClientId, Completion, ControlPlane, Ec2Event, InstanceId, Request};
use crate::sim::engine::{Context, TimerId};
use crate::sim::rng::stream;
use crate::sim::time::{SimDuration, SimTime};

/// Wakes process `process` of node `node`'s daemon from a sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpamdEvent {
    pub node: u32,
    pub process: u8,
}

/// What the daemon's main process runs: its whole life, or (for tests and benches) one step of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Start-up, then the loop forever; plus the leaked-ENI sweep unless it is disabled.
    Run,
    Init,
    UpdatePool,
    Increase,
    Decrease,
    TryFreeEni,
    Reconcile,
    LeakedEniSweep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    Nothing,
    Call(CallId),
    Sleep(TimerId),
    /// The pool manager sleeps between steps: its next step, `step`, was due at `first`, steps come every
    /// `every` (the two kinds in turn), and `timer` wakes it at `at` (`first` itself, or later when the
    /// steps in between do nothing).
    Tick {
        first: SimTime,
        step: Step,
        every: SimDuration,
        at: SimTime,
        timer: TimerId,
    },
}

/// Whether the pool manager's idle steps are simulated one by one or passed over.
///
/// Most of a quiet node's steps do nothing: nothing is in flight (the loop is sequential), nothing is short or
/// over, no ENI can be freed, reconcile is not due. [`IdleTicks::Skip`] sleeps through them to the first step
/// that could act, given [`NodeState::next_possible_action`], or to the first step after something outside
/// the loop changed the node (a CNI ADD or DEL, a cordon). Every step, idle or not, is a ranked event
/// (`Scheduler::schedule_ranked`, rank = node): its place among its instant's events does not depend on
/// when it was scheduled, so passing over the idle ones changes nothing else, and results are identical to
/// [`IdleTicks::Simulate`]'s (tests/idle_ticks.rs compares every bundled scenario both ways).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdleTicks {
    #[default]
    Skip,
    /// Every half-tick is an event, as in the real loop.
    Simulate,
}

/// One of the daemon's goroutines and what it waits for.
struct Routine {
    process: Process,
    waiting: Waiting,
}

/// One node's ipamd.
pub struct Ipamd {
    node: u32,
    client: ClientId,
    st: Rc<RefCell<NodeState>>,
    /// The pool manager (index 0) and, when enabled, the leaked-ENI sweep (index 1).
    routines: Vec<Routine>,
    idle_ticks: IdleTicks,
}

/// A node's gauges and counters at one moment, named after the CNI's Prometheus metrics where one exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metrics {
    /// `awscni_total_ip_addresses`.
    pub total_ip_addresses: u32,
    /// `awscni_assigned_ip_addresses`.
    pub assigned_ip_addresses: u32,
    /// Released addresses still in their cooldown (no CNI metric).
    pub cooling_ip_addresses: u32,
    /// `awscni_eni_allocated`.
    pub eni_allocated: u32,
    /// `awscni_total_ipv4_prefixes`.
    pub total_ipv4_prefixes: u32,
    /// Prefixes with no assigned address (no CNI metric).
    pub free_ipv4_prefixes: u32,
    pub counters: Counters,
}

impl Routine {
    /// A routine of `daemon` running `task`, with its own mailbox.
    fn of(st: &Rc<RefCell<NodeState>>, task: Task) -> Routine {
        let d = Daemon {
            port: Port::default(),
            st: st.clone(),
        };
        let port = d.port.clone();
        let process = match task {
            Task::Run => Process::new(port, d.run()),
            Task::Init => Process::new(port, async move {
                let _ = d.init().await;
            }),
            Task::UpdatePool => Process::new(port, async move { d.update_pool().await }),
            Task::Increase => Process::new(port, async move {
                let _ = d.increase().await;
            }),
            Task::Decrease => Process::new(port, async move { d.decrease().await }),
            Task::TryFreeEni => Process::new(port, async move { d.try_free_eni().await }),
            Task::Reconcile => Process::new(port, async move { d.reconcile().await }),
            Task::LeakedEniSweep => Process::new(port, d.leaked_eni_sweep()),
        };
        Routine {
            process,
            waiting: Waiting::Nothing,
        }
    }
}

impl Ipamd {
    /// A node's daemon, not started. `node` numbers the daemon's wake-ups and its random stream
    /// (`ipamd.choice`, index `node`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: u32,
        client: ClientId,
        instance: InstanceId,
        instance_type: &InstanceType,
        az: &str,
        cfg: IpamdConfig,
        max_pods: u32,
        seed: u64,
        task: Task,
    ) -> Self {
        let sweep = task == Task::Run && cfg.leaked_eni_sweep();
        let limits = NodeLimits::new(instance_type, &cfg, max_pods);
        let rng = stream(seed, "ipamd.choice", u64::from(node));
        let state = NodeState::new(cfg, limits, rng, instance, az.to_string());
        let st = Rc::new(RefCell::new(state));
        let mut routines = vec![Routine::of(&st, task)];
        if sweep {
            routines.push(Routine::of(&st, Task::LeakedEniSweep));
        }
        Ipamd {
            node,
            client,
            st,
            routines,
            idle_ticks: IdleTicks::default(),
        }
    }

    /// Sets how idle pool-manager steps are run (before the daemon starts).
    pub fn set_idle_ticks(&mut self, idle_ticks: IdleTicks) {
        self.idle_ticks = idle_ticks;
    }

    pub fn client(&self) -> ClientId {
        self.client
    }

    /// Starts the daemon's routines (call once).
    pub fn start<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
    ) {
        for r in 0..self.routines.len() {
            self.drive(ctx, ec2, r, None);
        }
    }

    /// A sleep has ended.
    pub fn on_wake<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        event: IpamdEvent,
    ) {
        let r = usize::from(event.process);
        match self.routines[r].waiting {
            Waiting::Sleep(_) => self.drive(ctx, ec2, r, Some(Reply::Woke)),
            Waiting::Tick { first, every, .. } => {
                let passed_over = (ctx.now() - first).0 / every.0;
                self.drive(ctx, ec2, r, Some(Reply::Ticked(passed_over)));
            }
            _ => {}
        }
    }

    /// Something outside the pool manager changed the node: the sleeping loop's wake-up is worked out again
    /// from the new state, from its next step on. Steps at or before now have run (a step's event pops before
    /// every other event of its instant) and, as nothing had changed, did nothing.
    fn wake<E: From<IpamdEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        let Some(Waiting::Tick {
            first,
            step,
            every,
            at,
            timer,
        }) = self.routines.first().map(|r| r.waiting)
        else {
            return;
        };
        let now = ctx.now();
        let k = if now < first {
            0
        } else {
            (now - first).0 / every.0 + 1
        };
        let next = first + SimDuration(k * every.0);
        let due = self.first_step_that_may_act(next, step.after(k), every);
        if due != at {
            ctx.cancel(timer);
            self.routines[0].waiting = Waiting::Tick {
                first,
                step,
                every,
                at: due,
                timer: ctx.schedule_ranked(due, self.node, self.wake_event(0)),
            };
        }
    }

    /// The loop's first step at or after `from`, where a `step` is due (the two kinds alternating every
    /// `every`), that could act; `from` itself when idle steps are simulated.
    fn first_step_that_may_act(&self, from: SimTime, step: Step, every: SimDuration) -> SimTime {
        if self.idle_ticks == IdleTicks::Simulate {
            return from;
        }
        let st = self.st.borrow();
        // Each kind's steps come every two intervals, the other kind's first one interval after `from`.
        let period = 2 * every.0;
        let first_of = |kind: Step, start: SimTime| {
            st.next_possible_action(start, kind)
                .map(|x| start + SimDuration((x - start).0.div_ceil(period) * period))
        };
        first_of(step, from)
            .into_iter()
            .chain(first_of(step.other(), from + every))
            .min()
            .expect("a pool manager that has reconciled is due again a minute later")
    }

    fn wake_event(&self, r: usize) -> IpamdEvent {
        IpamdEvent {
            node: self.node,
            process: r as u8,
        }
    }

    /// One of this node's EC2 calls has finished; it goes to the routine that made it.
    pub fn on_completion<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        done: Completion,
    ) {
        let call = Waiting::Call(done.call);
        if let Some(r) = self.routines.iter().position(|r| r.waiting == call) {
            self.drive(ctx, ec2, r, Some(Reply::Api(done.result)));
        }
    }

    /// Resumes routine `r` with `reply` and serves its requests until it waits for the world.
    fn drive<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        r: usize,
        mut reply: Option<Reply>,
    ) {
        let wake = self.wake_event(r);
        let routine = &mut self.routines[r];
        routine.waiting = Waiting::Nothing;
        loop {
            match routine.process.resume(ctx.now(), reply.take()) {
                None => {
                    // A failed start-up ends ipamd's process, and its other goroutines (the leaked-ENI
                    // sweep) with it; the next container starts them again (docs/reference/ipamd.md §9).
                    if r == 0 && self.st.borrow().init_error.is_some() {
                        self.halt(ctx);
                    }
                    return;
                }
                Some(Want::Call(request)) => {
                    routine.waiting = Waiting::Call(ec2.submit(ctx, self.client, request));
                    return;
                }
                Some(Want::Sleep(d)) => {
                    routine.waiting = Waiting::Sleep(ctx.schedule_in(d, wake));
                    return;
                }
                Some(Want::Tick(every, step)) => {
                    let first = ctx.now() + every;
                    let at = self.first_step_that_may_act(first, step, every);
                    let routine = &mut self.routines[r];
                    routine.waiting = Waiting::Tick {
                        first,
                        step,
                        every,
                        at,
                        timer: ctx.schedule_ranked(at, self.node, wake),
                    };
                    return;
                }
                Some(Want::Peek(request)) => {
                    reply = Some(Reply::Api(ec2.inventory().peek(&request)));
                }
                Some(Want::Metadata) => {
                    let instance = self.st.borrow().instance;
                    reply = Some(Reply::Metadata(
                        ec2.inventory().metadata(instance, ctx.now()),
                    ));
                }
                Some(Want::MetadataSince(seen)) => {
                    let imds = ec2.inventory();
                    reply = Some(match seen {
                        Some(stamp) if imds.metadata_unchanged(stamp) => Reply::MetadataUnchanged,
                        _ => {
                            let (instance, now) = (self.st.borrow().instance, ctx.now());
                            Reply::StampedMetadata(
                                imds.metadata(instance, now),
                                imds.metadata_stamp(instance, now),
                            )
                        }
                    });
                }
            }
        }
    }

    /// The instance is going away (SIGTERM, then the container stops): every routine stops where it is.
    pub fn stop<E>(&mut self, ctx: &mut Context<'_, E>) {
        self.st.borrow_mut().terminating = true;
        self.halt(ctx);
    }

    /// Every routine stops where it is: its sleep is cancelled, the answer to its call ignored.
    fn halt<E>(&mut self, ctx: &mut Context<'_, E>) {
        for r in &mut self.routines {
            if let Waiting::Sleep(timer) | Waiting::Tick { timer, .. } = r.waiting {
                ctx.cancel(timer);
            }
            r.waiting = Waiting::Nothing;
        }
    }

    /// A new ipamd process on this node, after the old one was stopped or exited (aws-node's container
    /// restarted, docs/reference/ipamd.md §9): the in-process state is lost, ENIs, their addresses and the
    /// checkpointed pods are kept, and start-up runs again. `cfg` replaces the configuration (a DaemonSet
    /// update); the node's max-pods is kept (§9.4). The leaked-ENI sweep restarts with a new random delay.
    pub fn restart<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        cfg: Option<IpamdConfig>,
    ) {
        self.stop(ctx);
        {
            let mut st = self.st.borrow_mut();
            let cfg = cfg.unwrap_or_else(|| st.cfg.clone());
            let instance = ec2
                .inventory()
                .instance(st.instance)
                .expect("a node's instance is in the inventory");
            let limits = NodeLimits::new(instance.instance_type, &cfg, st.limits.max_pods);
            st.restart(cfg, limits);
        }
        let sweep = self.st.borrow().cfg.leaked_eni_sweep();
        self.routines = vec![Routine::of(&self.st, Task::Run)];
        if sweep {
            self.routines
                .push(Routine::of(&self.st, Task::LeakedEniSweep));
        }
        self.start(ctx, ec2);
    }

    /// Whether ipamd's gRPC listener answers: start-up has finished and no SIGTERM came. The CNI plugin's
    /// ADD and DEL, and aws-node's probes, reach it only then.
    pub fn serving(&self) -> bool {
        let st = self.st.borrow();
        st.ready && !st.terminating
    }

    /// The EC2 call the pool manager's routine is waiting for, if any.
    pub fn pending_call(&self) -> Option<CallId> {
        match self.routines[0].waiting {
            Waiting::Call(c) => Some(c),
            _ => None,
        }
    }

    /// Whether the main routine has finished (a one-step task) or was stopped.
    pub fn is_idle(&self) -> bool {
        let main = &self.routines[0];
        main.process.is_finished() || main.waiting == Waiting::Nothing
    }

    /// CNI ADD (`rpc_handler.go:AddNetwork`, §3.2): an address from the pool (an IPv6 node's from its /80,
    /// §11.3), or "no available IP/Prefix addresses". Never any EC2 work.
    pub fn add<E: From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        pod: PodKey,
    ) -> Result<PodAddress<IpAddr>, NoAvailableAddress> {
        let r = {
            let mut st = self.st.borrow_mut();
            st.counters.add_ip_requests += 1;
            let ipv6 = st.cfg.enable_ipv6;
            let (ds, mut chooser) = st.ds_and_chooser();
            let r = if ipv6 {
                ds.ipv6_mut()
                    .assign(pod, ctx.now(), &mut chooser)
                    .map(PodAddress::into_ip)
            } else {
                ds.assign(pod, ctx.now(), &mut chooser)
                    .map(PodAddress::into_ip)
            };
            if r.is_err() {
                st.counters.add_failures += 1;
            }
            r
        };
        self.wake(ctx);
        r
    }

    /// CNI DEL (§3.3): the pod's address goes into cooldown. If it was a leftover of the other mode, the
    /// ENI's unused CIDRs of that kind are unassigned in EC2 at once (§3.4); that call's answer is not waited
    /// for.
    pub fn del<E: From<Ec2Event> + From<IpamdEvent>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        ec2: &mut ControlPlane,
        pod: PodKey,
    ) -> Option<Released<IpAddr>> {
        let released = {
            let mut st = self.st.borrow_mut();
            st.counters.del_ip_requests += 1;
            if st.cfg.enable_ipv6 {
                st.ds
                    .ipv6_mut()
                    .unassign(pod, ctx.now())
                    .map(Released::into_ip)
            } else {
                st.ds.unassign(pod, ctx.now()).map(Released::into_ip)
            }
        }?;
        self.wake(ctx);
        if !released.other_mode_leftovers.is_empty() {
            let (prefixes, ips) = released
                .other_mode_leftovers
                .iter()
                .partition::<Vec<ipnet::Ipv4Net>, _>(|n| n.prefix_len() < 32);
            ec2.submit(
                ctx,
                self.client,
                Request::UnassignPrivateIpAddresses {
                    eni: released.eni,
                    ips: ips.iter().map(|n| n.addr()).collect(),
                    prefixes,
                },
            );
        }
        Some(released)
    }

    /// The daemon's state (datastore, configuration, limits, counters).
    pub fn state(&self) -> Ref<'_, NodeState> {
        self.st.borrow()
    }

    /// Mutable state, for setting up the daemon before it starts (tests, tracing). A change made through it
    /// does not wake a sleeping pool manager: a running daemon's node changes through the methods that do.
    pub fn state_mut(&self) -> RefMut<'_, NodeState> {
        self.st.borrow_mut()
    }

    /// The node is cordoned (`node.kubernetes.io/unschedulable`): ipamd stops managing ENIs unless configured
    /// to go on (§2.6).
    pub fn cordon<E: From<IpamdEvent>>(&mut self, ctx: &mut Context<'_, E>) {
        self.st.borrow_mut().cordoned = true;
        self.wake(ctx);
    }

    pub fn metrics(&self, now: SimTime) -> Metrics {
        let st = self.st.borrow();
        let s = st.ds.stats(now);
        Metrics {
            total_ip_addresses: s.total,
            assigned_ip_addresses: s.assigned,
            cooling_ip_addresses: s.cooling,
            eni_allocated: st.ds.eni_count(),
            total_ipv4_prefixes: s.total_prefixes,
            free_ipv4_prefixes: s.free_prefixes,
            counters: st.counters.clone(),
        }
    }
}
