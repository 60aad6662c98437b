//! What EC2 holds: subnets, instances and ENIs, and the effect of each API action on them, applied at the
//! moment the service answers. Lifecycle changes that complete later (attachments, detachments, instance
//! start and termination) arrive as events. The front door (throttling, latency, retries) is
//! [`super::control_plane`]'s job.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::Ipv4Net;

use super::api::*;
use super::config::{LifecycleConfig, PrefixShortfall};
use super::control_plane::Ec2Event;
use super::eni::{Attachment, Eni, EniState, Instance, MetadataEni, MetadataStamp};
use super::instance_types::InstanceType;
use super::leaks::{LeakSettings, Leaks};
use super::reservations::CidrReservations;
use rand::RngExt;

use crate::sim::engine::Context;
use crate::sim::rng::Stream;
use crate::sim::time::SimTime;
use crate::sim::vpc::{AllocError, Subnet, SubnetId};

const LIFECYCLE: Stream = Stream("ec2.lifecycle");
/// Address placement draws.
const PLACEMENT: Stream = Stream("vpc.placement");
/// Whether an ENI leaks at its instance's termination: one stream per ENI, drawn only when the launch's leak
/// probability is above zero, so that leaks move no other draw.
const ENI_LEAK: &str = "ec2.eni_leak";

pub struct Inventory {
    lifecycle: LifecycleConfig,
    subnets: Vec<Subnet>,
    reservations: CidrReservations,
    leaks: Leaks,
    instances: Vec<Instance>,
    enis: Vec<Eni>,
    /// The ENIs in the available state, for the leaked-ENI sweep's query: a handful among every ENI ever made.
    available: BTreeSet<EniId>,
    /// ENIs not deleted, counted as they come and go (the time series reads it every sample).
    live: usize,
    /// The ENI of each attachment ever made; `AttachmentId(n)` is entry n − 1.
    attachments: Vec<EniId>,
    /// Reused buffers for addresses handed out by the subnets.
    ips: Vec<Ipv4Addr>,
    prefixes: Vec<Ipv4Net>,
    /// CreateNetworkInterface's code when its prefixes find no aligned /28 (docs/reference/ec2.md §3.4).
    prefix_shortfall: PrefixShortfall,
}

impl Inventory {
    pub fn new(lifecycle: LifecycleConfig, subnets: Vec<Subnet>) -> Self {
        Inventory {
            lifecycle,
            reservations: CidrReservations::from_subnets(&subnets),
            leaks: Leaks::default(),
            subnets,
            instances: Vec::new(),
            enis: Vec::new(),
            available: BTreeSet::new(),
            live: 0,
            attachments: Vec::new(),
            ips: Vec::new(),
            prefixes: Vec::new(),
            prefix_shortfall: PrefixShortfall::default(),
        }
    }

    /// The code CreateNetworkInterface answers when its prefixes find no aligned free /28.
    pub fn with_prefix_shortfall(mut self, code: PrefixShortfall) -> Self {
        self.prefix_shortfall = code;
        self
    }

    pub fn subnets(&self) -> &[Subnet] {
        &self.subnets
    }

    pub fn subnet(&self, id: SubnetId) -> &Subnet {
        &self.subnets[id.0 as usize]
    }

    /// Direct access for other tenants of the subnets (they are not EC2 API callers of ours).
    pub fn subnets_mut(&mut self) -> &mut [Subnet] {
        &mut self.subnets
    }

    /// The subnets' CIDR reservations by id: the scenario's, then those created through the API.
    pub fn reservations(&self) -> &CidrReservations {
        &self.reservations
    }

    /// The ENIs instances left behind, and whether the reports show them.
    pub fn leaks(&self) -> &Leaks {
        &self.leaks
    }

    pub fn leaks_mut(&mut self) -> &mut Leaks {
        &mut self.leaks
    }

    pub fn eni(&self, id: EniId) -> Option<&Eni> {
        self.enis.get(id.0 as usize)
    }

    pub fn enis(&self) -> &[Eni] {
        &self.enis
    }

    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.instances.get(id.0 as usize)
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    /// The ENIs in the available state (created and not attached, detached, or left behind by an instance), by
    /// id.
    pub fn available_enis(&self) -> impl Iterator<Item = &Eni> {
        self.available.iter().map(|e| &self.enis[e.0 as usize])
    }

    /// Moves an ENI to `state`, keeping the index of available ENIs and the count of live ones.
    fn set_state(&mut self, eni: EniId, state: EniState) {
        if state == EniState::Available {
            self.available.insert(eni);
        } else {
            self.available.remove(&eni);
        }
        let e = &mut self.enis[eni.0 as usize];
        if state == EniState::Deleted && !e.is_deleted() {
            self.live -= 1;
        }
        e.state = state;
    }

    /// ENIs not deleted.
    pub fn live_enis(&self) -> usize {
        self.live
    }

    /// A new ENI: it is live until deleted.
    fn push_eni(&mut self, eni: Eni) {
        if eni.state == EniState::Available {
            self.available.insert(eni.id);
        }
        self.live += 1;
        self.enis.push(eni);
    }

    /// The instance metadata service's view of an instance's ENIs at `now`, by device index.
    pub fn metadata(&self, instance: InstanceId, now: SimTime) -> Vec<MetadataEni> {
        let Some(inst) = self.instance(instance) else {
            return Vec::new();
        };
        inst.devices
            .iter()
            .filter_map(|&(_, e)| self.enis[e.0 as usize].metadata(now))
            .collect()
    }

    /// The stamp of `instance`'s IMDS view at `now`, when that view holds until something changes the instance's
    /// ENIs or their addresses; `None` while an ENI or an address is still on its way to IMDS
    /// (docs/reference/ec2.md §2.3), as the view then changes with time alone.
    pub fn metadata_stamp(&self, instance: InstanceId, now: SimTime) -> Option<MetadataStamp> {
        let inst = self.instance(instance)?;
        inst.devices
            .iter()
            .all(|&(_, e)| self.enis[e.0 as usize].settled_in_metadata(now))
            .then(|| MetadataStamp::of(inst))
    }

    /// Whether the instance's IMDS view is still the one `stamp` was taken of: nothing it shows has changed
    /// since.
    pub fn metadata_unchanged(&self, stamp: MetadataStamp) -> bool {
        self.instance(stamp.instance())
            .is_some_and(|i| i.metadata_epoch == stamp.epoch())
    }

    /// Something IMDS shows of `instance` has changed: its devices, an ENI's attachment or its addresses.
    fn metadata_changed(&mut self, instance: InstanceId) {
        self.instances[instance.0 as usize].metadata_epoch += 1;
    }

    /// Completes a lifecycle change scheduled by an earlier action. Stale events (the ENI was detached or
    /// re-attached meanwhile) change nothing.
    pub(super) fn on_lifecycle<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: Ec2Event,
    ) {
        match event {
            Ec2Event::AttachDone { eni, attachment } => self.attach_done(ctx, eni, attachment),
            Ec2Event::DetachDone { eni, attachment } => {
                let e = &self.enis[eni.0 as usize];
                if matches!(e.state, EniState::Detaching(a) if a.id == attachment) {
                    self.set_state(eni, EniState::Available);
                }
            }
            Ec2Event::InstanceRunning(id) => {
                let inst = &mut self.instances[id.0 as usize];
                if inst.state == InstanceState::Pending {
                    inst.state = InstanceState::Running;
                    let primary = inst.primary_eni;
                    if let EniState::Attached(a) = &mut self.enis[primary.0 as usize].state {
                        a.imds_visible_at = Some(ctx.now());
                    }
                    self.metadata_changed(id);
                }
            }
            Ec2Event::InstanceTerminated(id) => self.instance_terminated(ctx, id),
            Ec2Event::Answer(_) | Ec2Event::Refused(_) | Ec2Event::Retry(_) => {
                unreachable!("call events are the control plane's")
            }
        }
    }

    /// Applies a request to the state of the world, at the moment the service answers it.
    pub(super) fn execute<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        account: usize,
        req: &Request,
    ) -> ApiResult {
        match req {
            Request::RunInstances {
                instance_type,
                subnet,
                count,
                leaks,
            } => self.run_instances(ctx, account, instance_type, *subnet, *count, *leaks),
            Request::TerminateInstances { instance } => {
                self.live_instance(*instance)?;
                self.shut_down(ctx, *instance);
                Ok(Response::Done)
            }
            Request::CreateNetworkInterface {
                subnet,
                addresses,
                description,
                tags,
            } => self
                .create_eni(ctx, *subnet, *addresses, description.clone(), tags.clone())
                .map(|id| Response::NetworkInterface(self.enis[id.0 as usize].describe())),
            Request::AttachNetworkInterface {
                eni,
                instance,
                device_index,
            } => self.attach(ctx, *eni, *instance, *device_index),
            Request::ModifyNetworkInterfaceAttribute { eni, attribute } => {
                let e = self.live_eni(*eni)?;
                let EniAttribute::DeleteOnTermination(delete_on_termination) = *attribute else {
                    return Ok(Response::Done);
                };
                match &mut e.state {
                    EniState::Attaching(a) | EniState::Attached(a) | EniState::Detaching(a) => {
                        a.delete_on_termination = delete_on_termination;
                        Ok(Response::Done)
                    }
                    _ => Err(ApiError::new(
                        ErrorCode::InvalidParameterValue,
                        format!("Network interface '{eni}' has no attachment to modify."),
                    )),
                }
            }
            Request::AssignPrivateIpAddresses { eni, addresses } => {
                self.assign(ctx, *eni, *addresses)
            }
            Request::UnassignPrivateIpAddresses { eni, ips, prefixes } => {
                self.unassign(*eni, ips, prefixes)
            }
            Request::DetachNetworkInterface { attachment } => self.detach(ctx, *attachment),
            Request::DeleteNetworkInterface { eni } => {
                let e = self.live_eni(*eni)?;
                if e.state != EniState::Available {
                    return Err(ApiError::new(
                        ErrorCode::InvalidParameterValue,
                        format!("Network interface '{eni}' is currently in use."),
                    ));
                }
                self.delete_eni(*eni, ctx.now());
                Ok(Response::Done)
            }
            Request::DescribeNetworkInterfaces { query } => self.describe_enis(query),
            Request::DescribeInstances { instance } => self.describe_instance(*instance),
            Request::DescribeSubnets { query } => self.describe_subnets(query),
            Request::CreateTags { eni, tags } => {
                let e = self.live_eni(*eni)?;
                let mut all = e.tags.to_vec();
                for (k, v) in tags {
                    match all.iter_mut().find(|(ek, _)| ek == k) {
                        Some(t) => t.1 = v.clone(),
                        None => all.push((k.clone(), v.clone())),
                    }
                }
                e.tags = all.into();
                Ok(Response::Done)
            }
            Request::CreateSubnetCidrReservation { subnet, cidr, kind } => {
                self.subnet_checked(*subnet)?;
                let s = &mut self.subnets[subnet.0 as usize];
                self.reservations
                    .create(s, *subnet, *cidr, *kind, ctx.now())
                    .map(Response::SubnetCidrReservation)
            }
            Request::DeleteSubnetCidrReservation { reservation } => self
                .reservations
                .delete(&mut self.subnets, *reservation, ctx.now())
                .map(|()| Response::Done),
            Request::External { .. } => Ok(Response::Done),
            Request::AssignIpv6Addresses { eni, prefixes } => self.assign_ipv6(*eni, *prefixes),
            // Trunking is not state vpcsim keeps: the calls need their ENIs to exist (docs/reference/ec2.md §11).
            Request::CreateNetworkInterfacePermission { eni }
            | Request::DisassociateTrunkInterface { branch: eni } => {
                self.live_eni(*eni)?;
                Ok(Response::Done)
            }
            Request::AssociateTrunkInterface { branch, trunk, .. } => {
                self.live_eni(*trunk)?;
                self.live_eni(*branch)?;
                Ok(Response::Done)
            }
        }
    }

    /// A new ENI's IPv6 address in a dual-stack subnet, whose auto-assignment EKS requires
    /// (docs/reference/ec2.md §6); none in an IPv4-only subnet.
    fn auto_ipv6_address(&mut self, subnet: SubnetId) -> Result<Option<Ipv6Addr>, ApiError> {
        self.subnets[subnet.0 as usize]
            .ipv6_mut()
            .map(|v6| v6.assign_address().map_err(alloc_error))
            .transpose()
    }

    /// AssignIpv6Addresses with `Ipv6PrefixCount`: /80s from the subnet's /64, on Nitro only, as IPv4 prefixes
    /// (docs/reference/ec2.md §4, §6).
    fn assign_ipv6(&mut self, eni: EniId, prefixes: u32) -> ApiResult {
        let e = self.live_eni_ref(eni)?;
        let subnet = e.subnet;
        if let Some(a) = e.state.attachment() {
            let t = self.instances[a.instance.0 as usize].instance_type;
            if !t.supports_prefixes() {
                return Err(no_prefix_support(t));
            }
        }
        if prefixes == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "The IPv6 prefix count must be at least 1.",
            ));
        }
        let Some(v6) = self.subnets[subnet.0 as usize].ipv6_mut() else {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("The subnet of network interface '{eni}' has no IPv6 CIDR block."),
            ));
        };
        let mut assigned = Vec::with_capacity(prefixes as usize);
        for _ in 0..prefixes {
            match v6.assign_prefix() {
                Ok(p) => assigned.push(p),
                Err(e) => {
                    for &p in &assigned {
                        v6.release_prefix(p);
                    }
                    return Err(alloc_error(e));
                }
            }
        }
        self.enis[eni.0 as usize]
            .ipv6_prefixes
            .extend_from_slice(&assigned);
        Ok(Response::AssignedIpv6(assigned))
    }

    /// A pending or running instance shuts down and is terminated after `instance_stop`: on
    /// TerminateInstances, or when EC2 takes it back (a Spot interruption, a failed host).
    pub fn shut_down<E: From<Ec2Event>>(&mut self, ctx: &mut Context<'_, E>, instance: InstanceId) {
        let inst = &mut self.instances[instance.0 as usize];
        if matches!(inst.state, InstanceState::Pending | InstanceState::Running) {
            inst.state = InstanceState::ShuttingDown;
            let d = self.lifecycle.instance_stop.sample(ctx.rng(LIFECYCLE));
            ctx.schedule_in(d, Ec2Event::InstanceTerminated(instance));
        }
    }

    fn live_eni(&mut self, id: EniId) -> Result<&mut Eni, ApiError> {
        match self.enis.get_mut(id.0 as usize) {
            Some(e) if !e.is_deleted() => Ok(e),
            _ => Err(eni_not_found(id)),
        }
    }

    fn live_eni_ref(&self, id: EniId) -> Result<&Eni, ApiError> {
        match self.enis.get(id.0 as usize) {
            Some(e) if !e.is_deleted() => Ok(e),
            _ => Err(eni_not_found(id)),
        }
    }

    fn live_instance(&mut self, id: InstanceId) -> Result<&mut Instance, ApiError> {
        match self.instances.get_mut(id.0 as usize) {
            Some(i) if i.state != InstanceState::Terminated => Ok(i),
            _ => Err(instance_not_found(id)),
        }
    }

    fn subnet_checked(&self, id: SubnetId) -> Result<(), ApiError> {
        if (id.0 as usize) < self.subnets.len() {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::InvalidSubnetIdNotFound,
                format!("The subnet ID 'subnet-{:08x}' does not exist", id.0),
            ))
        }
    }

    fn run_instances<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        account: usize,
        instance_type: &'static InstanceType,
        subnet: SubnetId,
        count: u32,
        leaks: LeakSettings,
    ) -> ApiResult {
        self.subnet_checked(subnet)?;
        if count == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "Value (0) for parameter maxCount is invalid.",
            ));
        }
        self.ips.clear();
        self.subnets[subnet.0 as usize]
            .assign_ips(count, ctx.rng(PLACEMENT), &mut self.ips)
            .map_err(alloc_error)?;
        let now = ctx.now();
        let mut out = Vec::with_capacity(count as usize);
        for k in 0..count as usize {
            let id = InstanceId(self.instances.len() as u32);
            let eni = EniId(self.enis.len() as u32);
            let attachment = self.new_attachment_id(eni);
            let ipv6_address = self.auto_ipv6_address(subnet)?;
            self.push_eni(Eni {
                id: eni,
                subnet,
                primary_ip: self.ips[k],
                secondary_ips: Vec::new(),
                prefixes: Vec::new(),
                ipv6_address,
                ipv6_prefixes: Vec::new(),
                // The primary ENI is attached at launch and shows in IMDS once the instance runs.
                state: EniState::Attached(Attachment {
                    id: attachment,
                    instance: id,
                    device_index: 0,
                    delete_on_termination: leaks.delete_on_termination,
                    imds_visible_at: None,
                }),
                tags: Arc::new([]),
                description: Arc::from(""),
                created_at: now,
            });
            let inst = Instance {
                id,
                instance_type,
                subnet,
                account,
                state: InstanceState::Pending,
                primary_eni: eni,
                devices: vec![(0, eni)],
                launched_at: now,
                eni_leak_probability: leaks.eni_leak_probability,
                metadata_epoch: 0,
            };
            out.push(inst.describe(self.ips[k]));
            self.instances.push(inst);
            let d = self.lifecycle.instance_start.sample(ctx.rng(LIFECYCLE));
            ctx.schedule_in(d, Ec2Event::InstanceRunning(id));
        }
        Ok(Response::Instances(out))
    }

    fn new_attachment_id(&mut self, eni: EniId) -> AttachmentId {
        self.attachments.push(eni);
        AttachmentId(self.attachments.len() as u32)
    }

    /// All-or-nothing: the primary IP and the requested addresses, or nothing and the subnet's error.
    fn create_eni<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        subnet: SubnetId,
        addresses: AddressCount,
        description: String,
        tags: Vec<(String, String)>,
    ) -> Result<EniId, ApiError> {
        self.subnet_checked(subnet)?;
        let now = ctx.now();
        let s = &mut self.subnets[subnet.0 as usize];
        let rng = ctx.rng(PLACEMENT);
        self.ips.clear();
        self.prefixes.clear();
        let extra_ips = match addresses {
            AddressCount::SecondaryIps(n) => n,
            AddressCount::Prefixes(_) => 0,
        };
        s.assign_ips(1 + extra_ips, rng, &mut self.ips)
            .map_err(alloc_error)?;
        if let AddressCount::Prefixes(n) = addresses
            && n > 0
            && let Err(e) = s.assign_prefixes(n, rng, &mut self.prefixes)
        {
            for &ip in &self.ips {
                s.release_address(ip).expect("just assigned");
            }
            return Err(match (e, self.prefix_shortfall) {
                // VPC CNI issue #3105: a subnet with "ample addresses" but no /28 (docs/reference/ec2.md §3.4).
                (
                    AllocError::InsufficientCidrBlocks { .. },
                    PrefixShortfall::InvalidParameterValue,
                ) => ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    "There aren't sufficient free Ipv4 addresses or prefixes",
                ),
                (e, _) => alloc_error(e),
            });
        }
        let id = EniId(self.enis.len() as u32);
        let ipv6_address = self.auto_ipv6_address(subnet)?;
        self.push_eni(Eni {
            id,
            subnet,
            primary_ip: self.ips[0],
            secondary_ips: self.ips[1..].iter().map(|&ip| (ip, now)).collect(),
            prefixes: self.prefixes.iter().map(|&p| (p, now)).collect(),
            ipv6_address,
            ipv6_prefixes: Vec::new(),
            state: EniState::Available,
            tags: tags.into(),
            description: description.into(),
            created_at: now,
        });
        Ok(id)
    }

    fn attach<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        eni: EniId,
        instance: InstanceId,
        device_index: u32,
    ) -> ApiResult {
        let inst = self.live_instance(instance)?;
        if inst.state != InstanceState::Running {
            return Err(ApiError::new(
                ErrorCode::IncorrectInstanceState,
                format!("The instance '{instance}' is not in the 'running' state."),
            ));
        }
        let itype = inst.instance_type;
        let (inst_subnet, devices, in_use) = (
            inst.subnet,
            inst.devices.len() as u32,
            inst.device_in_use(device_index),
        );
        let e = self.live_eni_ref(eni)?;
        if e.state != EniState::Available {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("Network interface '{eni}' is currently in use."),
            ));
        }
        if self.subnets[e.subnet.0 as usize].az() != self.subnets[inst_subnet.0 as usize].az() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Network interface '{eni}' and instance '{instance}' are not in the same availability zone."
                ),
            ));
        }
        if in_use {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "Instance '{instance}' already has an interface attached at device index '{device_index}'."
                ),
            ));
        }
        if devices >= itype.eni_limit {
            return Err(ApiError::new(
                ErrorCode::AttachmentLimitExceeded,
                format!(
                    "Interface count {} exceeds the limit for {}",
                    devices + 1,
                    itype.name
                ),
            ));
        }
        let e = &self.enis[eni.0 as usize];
        if e.slots_used() > itype.ipv4_per_eni {
            return Err(limit_exceeded());
        }
        if !e.prefixes.is_empty() && !itype.supports_prefixes() {
            return Err(no_prefix_support(itype));
        }
        let attachment = self.new_attachment_id(eni);
        let attaching = EniState::Attaching(Attachment {
            id: attachment,
            instance,
            device_index,
            delete_on_termination: false,
            imds_visible_at: None,
        });
        self.set_state(eni, attaching);
        self.instances[instance.0 as usize].add_device(device_index, eni);
        self.metadata_changed(instance);
        let d = self.lifecycle.attach_time.sample(ctx.rng(LIFECYCLE));
        ctx.schedule_in(d, Ec2Event::AttachDone { eni, attachment });
        Ok(Response::Attachment(attachment))
    }

    fn attach_done<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        eni: EniId,
        attachment: AttachmentId,
    ) {
        let e = &mut self.enis[eni.0 as usize];
        if let EniState::Attaching(mut a) = e.state
            && a.id == attachment
        {
            let visible = ctx.now() + self.lifecycle.imds_propagation.sample(ctx.rng(LIFECYCLE));
            a.imds_visible_at = Some(visible);
            // Addresses assigned before the attachment show up with the ENI.
            for (_, t) in e.secondary_ips.iter_mut() {
                *t = (*t).max(visible);
            }
            for (_, t) in e.prefixes.iter_mut() {
                *t = (*t).max(visible);
            }
            self.set_state(eni, EniState::Attached(a));
            self.metadata_changed(a.instance);
        }
    }

    /// AssignPrivateIpAddresses. The per-ENI slot limit and prefix support are checked against the instance the
    /// ENI is attached to; an unattached ENI has no instance type yet, and is checked when it is attached.
    fn assign<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        eni: EniId,
        addresses: AddressCount,
    ) -> ApiResult {
        let e = self.live_eni_ref(eni)?;
        let (subnet, slots) = (e.subnet, e.slots_used());
        let itype = e
            .state
            .attachment()
            .map(|a| self.instances[a.instance.0 as usize].instance_type);
        let n = match addresses {
            AddressCount::SecondaryIps(n) | AddressCount::Prefixes(n) => n,
        };
        if n == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "The address count must be at least 1.",
            ));
        }
        if let Some(t) = itype {
            if slots + n > t.ipv4_per_eni {
                return Err(limit_exceeded());
            }
            if matches!(addresses, AddressCount::Prefixes(_)) && !t.supports_prefixes() {
                return Err(no_prefix_support(t));
            }
        }
        let now = ctx.now();
        let s = &mut self.subnets[subnet.0 as usize];
        self.ips.clear();
        self.prefixes.clear();
        match addresses {
            AddressCount::SecondaryIps(n) => s.assign_ips(n, ctx.rng(PLACEMENT), &mut self.ips),
            AddressCount::Prefixes(n) => {
                s.assign_prefixes(n, ctx.rng(PLACEMENT), &mut self.prefixes)
            }
        }
        .map_err(alloc_error)?;
        // Addresses on an attached ENI reach IMDS after their own delay; on an unattached one, with the ENI.
        let e = &mut self.enis[eni.0 as usize];
        let visible = match e.state {
            EniState::Attached(_) => {
                now + self
                    .lifecycle
                    .imds_ip_propagation
                    .sample(ctx.rng(LIFECYCLE))
            }
            _ => now,
        };
        e.secondary_ips
            .extend(self.ips.iter().map(|&ip| (ip, visible)));
        e.prefixes
            .extend(self.prefixes.iter().map(|&p| (p, visible)));
        if let Some(a) = e.state.attachment() {
            let instance = a.instance;
            self.metadata_changed(instance);
        }
        Ok(Response::Assigned {
            ips: self.ips.clone(),
            prefixes: self.prefixes.clone(),
        })
    }

    fn unassign(&mut self, eni: EniId, ips: &[Ipv4Addr], prefixes: &[Ipv4Net]) -> ApiResult {
        let e = self.live_eni_ref(eni)?;
        let missing_ip = ips
            .iter()
            .find(|ip| !e.secondary_ips.iter().any(|(x, _)| x == *ip));
        let missing_prefix = prefixes
            .iter()
            .find(|p| !e.prefixes.iter().any(|(x, _)| x == *p));
        if missing_ip.is_some() || missing_prefix.is_some() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("Some of the specified addresses are not assigned to interface {eni}"),
            ));
        }
        let e = &mut self.enis[eni.0 as usize];
        e.secondary_ips.retain(|(x, _)| !ips.contains(x));
        e.prefixes.retain(|(x, _)| !prefixes.contains(x));
        let (subnet, attached_to) = (e.subnet, e.state.attachment().map(|a| a.instance));
        if let Some(instance) = attached_to {
            self.metadata_changed(instance);
        }
        let s = &mut self.subnets[subnet.0 as usize];
        for &ip in ips {
            s.release_address(ip)
                .expect("assigned address is in use in its subnet");
        }
        for &p in prefixes {
            s.release_prefix(p)
                .expect("assigned prefix is in use in its subnet");
        }
        Ok(Response::Done)
    }

    fn detach<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        attachment: AttachmentId,
    ) -> ApiResult {
        let found = attachment
            .0
            .checked_sub(1)
            .and_then(|i| self.attachments.get(i as usize))
            .map(|e| e.0 as usize)
            .filter(|&i| {
                self.enis[i]
                    .state
                    .attachment()
                    .is_some_and(|a| a.id == attachment)
            });
        let Some(i) = found else {
            return Err(ApiError::new(
                ErrorCode::InvalidAttachmentIdNotFound,
                format!("The attachment ID '{attachment}' does not exist"),
            ));
        };
        let e = &mut self.enis[i];
        match e.state {
            EniState::Attaching(a) | EniState::Attached(a) => {
                if a.device_index == 0 {
                    return Err(ApiError::new(
                        ErrorCode::OperationNotPermitted,
                        "The network interface at device index 0 cannot be detached.",
                    ));
                }
                let id = e.id;
                self.set_state(id, EniState::Detaching(a));
                self.instances[a.instance.0 as usize].remove_device(id);
                self.metadata_changed(a.instance);
                let d = self.lifecycle.detach_time.sample(ctx.rng(LIFECYCLE));
                ctx.schedule_in(
                    d,
                    Ec2Event::DetachDone {
                        eni: id,
                        attachment,
                    },
                );
                Ok(Response::Done)
            }
            // Detaching already: EC2 accepts the repeat.
            _ => Ok(Response::Done),
        }
    }

    /// Releases an ENI's addresses and marks it deleted.
    fn delete_eni(&mut self, eni: EniId, now: SimTime) {
        let e = &mut self.enis[eni.0 as usize];
        let s = &mut self.subnets[e.subnet.0 as usize];
        s.release_address(e.primary_ip)
            .expect("primary IP is in use in its subnet");
        for &(ip, _) in &e.secondary_ips {
            s.release_address(ip)
                .expect("secondary IP is in use in its subnet");
        }
        for &(p, _) in &e.prefixes {
            s.release_prefix(p).expect("prefix is in use in its subnet");
        }
        if let Some(v6) = s.ipv6_mut() {
            if let Some(a) = e.ipv6_address.take() {
                v6.release_address(a);
            }
            for p in e.ipv6_prefixes.drain(..) {
                v6.release_prefix(p);
            }
        }
        e.secondary_ips.clear();
        e.prefixes.clear();
        self.set_state(eni, EniState::Deleted);
        self.leaks.deleted(eni, now);
    }

    /// DeleteOnTermination ENIs go with the instance; the others are detached and left available, keeping their
    /// addresses (docs/reference/ec2.md §3.7). An ENI other than the primary that is marked DeleteOnTermination
    /// (ipamd's, after its modify) is left available instead with the launch's leak probability, drawn on the
    /// ENI's own stream.
    fn instance_terminated<E>(&mut self, ctx: &mut Context<'_, E>, id: InstanceId) {
        let inst = &mut self.instances[id.0 as usize];
        let devices = std::mem::take(&mut inst.devices);
        inst.state = InstanceState::Terminated;
        let (primary, p) = (inst.primary_eni, inst.eni_leak_probability);
        self.metadata_changed(id);
        for (_, eni) in devices {
            let Some(a) = self.enis[eni.0 as usize].state.attachment() else {
                continue;
            };
            let leaks = eni != primary
                && p > 0.0
                && ctx
                    .indexed_rng(ENI_LEAK, u64::from(eni.0))
                    .random_bool(p.min(1.0));
            if a.delete_on_termination && !leaks {
                self.delete_eni(eni, ctx.now());
            } else {
                self.set_state(eni, EniState::Available);
                let e = &self.enis[eni.0 as usize];
                let addresses = 1 + e.secondary_ips.len() as u32 + 16 * e.prefixes.len() as u32;
                self.leaks.leaked(eni, eni == primary, addresses, ctx.now());
            }
        }
    }

    /// Answers a Describe request from the current state without going through the control plane (no bucket,
    /// no latency); for callers that only want the effect of a call they choose not to account for.
    pub fn peek(&self, request: &Request) -> ApiResult {
        match request {
            Request::DescribeNetworkInterfaces { query } => self.describe_enis(query),
            Request::DescribeSubnets { query } => self.describe_subnets(query),
            Request::DescribeInstances { instance } => self.describe_instance(*instance),
            other => panic!(
                "peek answers Describe requests only, not {:?}",
                other.action()
            ),
        }
    }

    fn describe_instance(&self, instance: InstanceId) -> ApiResult {
        let inst = match self.instances.get(instance.0 as usize) {
            Some(i) if i.state != InstanceState::Terminated => i,
            _ => return Err(instance_not_found(instance)),
        };
        let primary = self.enis[inst.primary_eni.0 as usize].primary_ip;
        Ok(Response::Instance(inst.describe(primary)))
    }

    fn describe_enis(&self, query: &EniQuery) -> ApiResult {
        let out = match query {
            EniQuery::Ids(ids) => {
                let mut out = Vec::with_capacity(ids.len());
                for &id in ids {
                    match self.enis.get(id.0 as usize) {
                        Some(e) if !e.is_deleted() => out.push(e.describe()),
                        _ => return Err(eni_not_found(id)),
                    }
                }
                out
            }
            EniQuery::AttachedTo(instance) => self
                .enis
                .iter()
                .filter(|e| {
                    e.state
                        .attachment()
                        .is_some_and(|a| a.instance == *instance)
                })
                .map(Eni::describe)
                .collect(),
            EniQuery::AvailableWithTag(key) => self
                .available_enis()
                .filter(|e| e.tags.iter().any(|(k, _)| k == key))
                .map(Eni::describe)
                .collect(),
        };
        Ok(Response::NetworkInterfaces(out))
    }

    fn describe_subnets(&self, query: &SubnetQuery) -> ApiResult {
        let describe = |i: usize, s: &Subnet| SubnetDescription {
            id: SubnetId(i as u32),
            name: s.name().to_string(),
            az: s.az().to_string(),
            cidr: s.cidr(),
            available_ip_address_count: s.free_addresses(),
            tags: s.tags().to_vec(),
        };
        let out = match query {
            SubnetQuery::Ids(ids) => {
                let mut out = Vec::with_capacity(ids.len());
                for &id in ids {
                    self.subnet_checked(id)?;
                    out.push(describe(id.0 as usize, &self.subnets[id.0 as usize]));
                }
                out
            }
            SubnetQuery::TagKey(key) => self
                .subnets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.has_tag(key))
                .map(|(i, s)| describe(i, s))
                .collect(),
            SubnetQuery::AvailabilityZone(az) => self
                .subnets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.az() == az)
                .map(|(i, s)| describe(i, s))
                .collect(),
        };
        Ok(Response::Subnets(out))
    }
}

fn alloc_error(e: AllocError) -> ApiError {
    let code = ErrorCode::ALL
        .iter()
        .copied()
        .find(|c| c.code() == e.ec2_code())
        .unwrap_or(ErrorCode::InvalidParameterValue);
    ApiError::new(code, e.to_string())
}

fn instance_not_found(id: InstanceId) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInstanceIdNotFound,
        format!("The instance ID '{id}' does not exist"),
    )
}

fn eni_not_found(id: EniId) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidNetworkInterfaceIdNotFound,
        format!("The networkInterface ID '{id}' does not exist"),
    )
}

fn limit_exceeded() -> ApiError {
    ApiError::new(
        ErrorCode::PrivateIpAddressLimitExceeded,
        "Number of private addresses will exceed limit.",
    )
}

/// EC2 documents that prefixes need Nitro but not the error it returns otherwise; this code is our choice.
fn no_prefix_support(t: &InstanceType) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameterCombination,
        format!(
            "Prefixes are not supported on instance type {} (not built on the Nitro System).",
            t.name
        ),
    )
}
