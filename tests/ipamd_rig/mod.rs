//! One node and its ipamd against the simulated EC2 control plane, with fixed, round latencies so that tests
//! can name exact times and counts. Shared by the ipamd conformance tests and the ipamd bench.
#![allow(dead_code)]

use vpcsim::sim::dist::DurationDist;
use vpcsim::sim::ec2::config::Ec2Config;
use vpcsim::sim::ec2::instance_types::lookup;
use vpcsim::sim::ec2::*;
use vpcsim::sim::engine::{Context, Engine, Model};
use vpcsim::sim::ipamd::config::{Choice, IpamdConfig};
use vpcsim::sim::ipamd::daemon::CallTrace;
use vpcsim::sim::ipamd::datastore::PodKey;
use vpcsim::sim::ipamd::{Ipamd, IpamdEvent, Task};
use vpcsim::sim::rng::stream;
use vpcsim::sim::time::{SimDuration, SimTime};
use vpcsim::sim::vpc::{Placement, Subnet, SubnetId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Ec2(Ec2Event),
    Ipamd(IpamdEvent),
}

impl From<Ec2Event> for Ev {
    fn from(e: Ec2Event) -> Self {
        Ev::Ec2(e)
    }
}

impl From<IpamdEvent> for Ev {
    fn from(e: IpamdEvent) -> Self {
        Ev::Ipamd(e)
    }
}

/// The control plane, the rig's own client (for setting up ENIs) and the node's ipamd.
pub struct Node {
    pub ec2: ControlPlane,
    pub ipamd: Option<Ipamd>,
    pub done: Vec<Completion>,
}

impl Model for Node {
    type Event = Ev;
    fn handle(&mut self, ctx: &mut Context<'_, Ev>, e: Ev) {
        match e {
            Ev::Ec2(e) => {
                if let Some(c) = self.ec2.handle(ctx, e) {
                    match self.ipamd.as_mut() {
                        Some(d) if d.client() == c.client => d.on_completion(ctx, &mut self.ec2, c),
                        _ => self.done.push(c),
                    }
                }
            }
            Ev::Ipamd(e) => {
                if let Some(d) = self.ipamd.as_mut() {
                    d.on_wake(ctx, &mut self.ec2, e)
                }
            }
        }
    }
}

pub fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// The code's defaults with every Go-map-order choice made deterministic: lowest device, then lowest address.
pub fn ordered() -> IpamdConfig {
    IpamdConfig {
        choice: Choice::Ordered,
        ..IpamdConfig::default()
    }
}

/// A refused AssignPrivateIpAddresses as `call_summary` shows it (§2.6): the request for `n`, then the retry
/// with 1, both failing with `code`.
pub fn refused_assign(n: AddressCount, code: ErrorCode) -> [String; 2] {
    let one = match n {
        AddressCount::SecondaryIps(_) => AddressCount::SecondaryIps(1),
        AddressCount::Prefixes(_) => AddressCount::Prefixes(1),
    };
    [n, one].map(|a| format!("AssignPrivateIpAddresses({})!{}", count_arg(a), code.code()))
}

/// Latencies of 100 ms per call, 2 s to attach, 1 s until IMDS shows an attachment or new addresses.
pub fn fixed_ec2() -> Ec2Config {
    let ms = |n| DurationDist::Fixed(SimDuration::from_millis(n));
    let mut cfg = Ec2Config {
        latency: std::array::from_fn(|_| ms(100)),
        throttle_latency: ms(10),
        ..Ec2Config::default()
    };
    let l = &mut cfg.lifecycle;
    l.attach_time = ms(2_000);
    l.imds_propagation = ms(1_000);
    l.imds_ip_propagation = ms(1_000);
    l.detach_time = ms(2_000);
    l.instance_start = ms(10_000);
    l.instance_stop = ms(30_000);
    cfg
}

/// A subnet with `Lowest` placement, so addresses are predictable.
pub fn subnet(cidr: &str, az: &str, tags: &[(&str, &str)]) -> Subnet {
    Subnet::new(
        cidr,
        cidr.parse().unwrap(),
        az,
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Placement::Lowest,
        &[],
    )
    .unwrap()
}

pub struct Rig {
    pub node: Node,
    pub engine: Engine<Ev>,
    pub setup: ClientId,
    pub instance: InstanceId,
    pub instance_type: &'static str,
}

impl Rig {
    /// One running instance of `instance_type` in `subnets[0]` (a /24 in "az-a" tagged for the CNI when
    /// `subnets` is empty).
    pub fn new(instance_type: &'static str, subnets: Vec<Subnet>) -> Rig {
        Rig::with_ec2(instance_type, subnets, fixed_ec2())
    }

    pub fn with_ec2(instance_type: &'static str, subnets: Vec<Subnet>, ec2: Ec2Config) -> Rig {
        let subnets = if subnets.is_empty() {
            vec![subnet(
                "10.0.0.0/24",
                "az-a",
                &[("kubernetes.io/role/cni", "1")],
            )]
        } else {
            subnets
        };
        let mut node = Node {
            ec2: ControlPlane::new(ec2, subnets, true),
            ipamd: None,
            done: Vec::new(),
        };
        let setup = node.ec2.register_client(0);
        let mut rig = Rig {
            node,
            engine: Engine::new(7),
            setup,
            instance: InstanceId(0),
            instance_type,
        };
        let r = rig.call(Request::RunInstances {
            instance_type: lookup(instance_type).unwrap(),
            subnet: SubnetId(0),
            count: 1,
            leaks: LeakSettings::default(),
        });
        let Ok(Response::Instances(list)) = r else {
            panic!("{r:?}")
        };
        rig.instance = list[0].id;
        rig.run_for(SimDuration::from_secs(12));
        rig
    }

    pub fn now(&self) -> SimTime {
        self.engine.now()
    }

    pub fn run_for(&mut self, d: SimDuration) {
        let t = self.now() + d;
        self.engine.run_until(&mut self.node, t);
    }

    pub fn run_until(&mut self, t: SimTime) {
        self.engine.run_until(&mut self.node, t);
    }

    /// A call by the rig's own client, run to its end.
    pub fn call(&mut self, req: Request) -> ApiResult {
        self.node
            .ec2
            .submit(&mut self.engine.context(), self.setup, req);
        while self.node.done.is_empty() {
            self.run_for(SimDuration::from_millis(10));
        }
        self.node.done.pop().unwrap().result
    }

    /// Creates an ENI in subnet 0 with `addresses`, attaches it at `device` and waits until IMDS shows it.
    pub fn attach_eni(&mut self, addresses: AddressCount, device: u32) -> EniDescription {
        let r = self.call(Request::CreateNetworkInterface {
            subnet: SubnetId(0),
            addresses,
            description: String::new(),
            tags: vec![],
        });
        let Ok(Response::NetworkInterface(d)) = r else {
            panic!("{r:?}")
        };
        let r = self.call(Request::AttachNetworkInterface {
            eni: d.id,
            instance: self.instance,
            device_index: device,
        });
        assert!(r.is_ok(), "{r:?}");
        self.run_for(SimDuration::from_secs(4));
        d
    }

    /// Adds addresses to an ENI (e.g. the primary) from the rig's client; returns what EC2 assigned.
    pub fn assign(&mut self, eni: EniId, addresses: AddressCount) -> Response {
        let r = self.call(Request::AssignPrivateIpAddresses { eni, addresses });
        self.run_for(SimDuration::from_secs(2));
        r.unwrap()
    }

    pub fn primary_eni(&self) -> EniId {
        self.node
            .ec2
            .inventory()
            .instance(self.instance)
            .unwrap()
            .primary_eni
    }

    /// Creates the node's ipamd running `task`, with call tracing on, without starting it.
    pub fn ipamd(&mut self, cfg: IpamdConfig, max_pods: u32, task: Task) -> &mut Ipamd {
        let client = self.node.ec2.register_client(0);
        let inst = self.node.ec2.inventory().instance(self.instance).unwrap();
        let az = self
            .node
            .ec2
            .inventory()
            .subnet(inst.subnet)
            .az()
            .to_string();
        let d = Ipamd::new(
            0,
            client,
            self.instance,
            lookup(self.instance_type).unwrap(),
            &az,
            cfg,
            max_pods,
            7,
            task,
        );
        d.state_mut().call_trace = Some(Vec::new());
        d.state_mut().primary_subnet = Some(inst.subnet);
        self.node.ipamd = Some(d);
        self.node.ipamd.as_mut().unwrap()
    }

    /// Replaces the ipamd with a fresh one running `task` on the same configuration, datastore, timestamps and
    /// call trace: the next step of a stated sequence of one-step tasks.
    pub fn next_task(&mut self, task: Task) {
        let old = self.node.ipamd.take().expect("ipamd created");
        let mut old = old.state_mut();
        let (cfg, max_pods) = (old.cfg.clone(), old.limits.max_pods);
        let d = self.ipamd(cfg, max_pods, task);
        let mut st = d.state_mut();
        st.ds = old.ds.clone();
        st.last_decrease = old.last_decrease;
        st.last_pool_action = old.last_pool_action;
        st.last_insufficient = old.last_insufficient;
        st.cordoned = old.cordoned;
        st.call_trace = old.call_trace.take();
    }

    /// Starts the ipamd's task.
    pub fn start(&mut self) {
        let mut ctx = self.engine.context();
        self.node
            .ipamd
            .as_mut()
            .expect("ipamd created")
            .start(&mut ctx, &mut self.node.ec2);
    }

    /// Starts the ipamd's task and runs until it has finished (a one-step task) or `limit` has passed.
    pub fn run_task(&mut self, limit: SimDuration) {
        self.start();
        let end = self.now() + limit;
        while self.now() < end && !self.d().is_idle() {
            self.run_for(SimDuration::from_millis(100));
        }
    }

    pub fn d(&self) -> &Ipamd {
        self.node.ipamd.as_ref().expect("ipamd created")
    }

    pub fn d_mut(&mut self) -> &mut Ipamd {
        self.node.ipamd.as_mut().expect("ipamd created")
    }

    /// Takes all but `leave` of a subnet's free addresses for another tenant, so that EC2 refuses bigger
    /// requests with InsufficientFreeAddressesInSubnet, and prefixes with InsufficientCidrBlocks once no /28 is
    /// wholly free.
    pub fn fill_subnet(&mut self, subnet: SubnetId, leave: u32) {
        let s = &mut self.node.ec2.inventory_mut().subnets_mut()[subnet.0 as usize];
        let n = s.free_unreserved_addresses() - leave;
        s.assign_ips(n, &mut stream(7, "rig.tenant", 0), &mut Vec::new())
            .unwrap();
    }

    /// The ENIs attached to the instance, by device index, as EC2 holds them.
    pub fn attached_enis(&self) -> Vec<EniDescription> {
        let inv = self.node.ec2.inventory();
        inv.instance(self.instance)
            .unwrap()
            .devices
            .iter()
            .map(|&(_, e)| inv.eni(e).unwrap().describe())
            .collect()
    }

    /// Puts every ENI attached in EC2, with its addresses, into the ipamd's datastore as having entered it at
    /// `created`: a "stated" datastore for one-step tasks, which do not run start-up.
    pub fn state_ds_from_ec2(&mut self, created: SimTime) {
        let enis = self.attached_enis();
        let mut st = self.d().state_mut();
        for e in enis {
            let device = e.attachment.unwrap().device_index;
            st.ds
                .add_eni(e.id, device, device == 0, e.subnet, false, created);
            let ips = e.secondary_ips.iter().map(|&ip| ipnet::Ipv4Net::from(ip));
            for net in ips.chain(e.prefixes.iter().copied()) {
                st.ds.add_cidr(e.id, net);
            }
        }
    }

    /// Per ENI, by device index: (secondary IPs, prefixes). Asserts that the datastore holds exactly what EC2
    /// has attached, so a test of one view is a test of both.
    pub fn layout(&self) -> Vec<(usize, usize)> {
        let ec2: Vec<(usize, usize)> = self
            .attached_enis()
            .iter()
            .map(|e| (e.secondary_ips.len(), e.prefixes.len()))
            .collect();
        let st = self.d().state();
        let ds: Vec<(usize, usize)> = st
            .ds
            .enis()
            .iter()
            .map(|e| {
                let prefixes = e.cidrs.iter().filter(|c| c.is_prefix()).count();
                (e.cidrs.len() - prefixes, prefixes)
            })
            .collect();
        assert_eq!(ds, ec2, "datastore and EC2 disagree");
        ec2
    }

    /// CNI ADD for `pod` now.
    pub fn add_pod(&mut self, pod: PodKey) -> bool {
        let d = self.node.ipamd.as_mut().expect("ipamd created");
        d.add(&mut self.engine.context(), pod).is_ok()
    }

    /// CNI DEL for `pod` now.
    pub fn del_pod(&mut self, pod: PodKey) {
        let node = &mut self.node;
        let d = node.ipamd.as_mut().expect("ipamd created");
        d.del(&mut self.engine.context(), &mut node.ec2, pod)
            .expect("the pod holds an address");
    }

    /// Adds pods `pods` one at a time, as a kubelet would start them: a failed ADD is retried every second,
    /// and `gap` passes after each success so that the loop sees every step.
    pub fn add_pods(&mut self, pods: std::ops::Range<PodKey>, gap: SimDuration) {
        for pod in pods {
            let deadline = self.now() + SimDuration::from_secs(600);
            while !self.add_pod(pod) {
                assert!(
                    self.now() < deadline,
                    "pod {pod} found no address in 10 min"
                );
                self.run_for(SimDuration::from_secs(1));
            }
            self.run_for(gap);
        }
    }

    /// The ipamd's calls so far, without start-up's per-ENI set-up calls (`setup_calls`).
    pub fn calls(&self) -> Vec<CallTrace> {
        let all = self.d().state().call_trace.clone().unwrap_or_default();
        all.into_iter().filter(|c| !c.setup).collect()
    }

    /// Start-up's per-ENI set-up calls so far (ipamd.md §9.1: CreateTags for an untagged ENI, DescribeSubnets
    /// with subnet discovery, ModifyNetworkInterfaceAttribute for the security groups).
    pub fn setup_calls(&self) -> Vec<String> {
        let all = self.d().state().call_trace.clone().unwrap_or_default();
        all.iter().filter(|c| c.setup).map(summarize).collect()
    }

    /// The ipamd's calls as short strings: `Action(args)`, with `!Code` for a failure.
    pub fn call_summary(&self) -> Vec<String> {
        self.calls().iter().map(summarize).collect()
    }
}

/// `AssignPrivateIpAddresses(eni-…, ips=14)`-style one-liners for assertions.
pub fn summarize(c: &CallTrace) -> String {
    let args = match &c.request {
        Request::AssignPrivateIpAddresses { addresses, .. }
        | Request::CreateNetworkInterface { addresses, .. } => count_arg(*addresses),
        Request::UnassignPrivateIpAddresses { ips, prefixes, .. } => {
            format!("ips={},prefixes={}", ips.len(), prefixes.len())
        }
        Request::AttachNetworkInterface { device_index, .. } => format!("device={device_index}"),
        _ => String::new(),
    };
    let err = c
        .error
        .map(|e| format!("!{}", e.code()))
        .unwrap_or_default();
    format!("{:?}({args}){err}", c.request.action())
}

fn count_arg(a: AddressCount) -> String {
    match a {
        AddressCount::SecondaryIps(n) => format!("ips={n}"),
        AddressCount::Prefixes(n) => format!("prefixes={n}"),
    }
}
