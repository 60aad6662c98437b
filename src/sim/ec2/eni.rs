//! ENIs and instances as the control plane keeps them, with the ENI lifecycle:
//! available → attaching → in-use (attached) → visible in the instance metadata service after a propagation
//! delay; detaching → available → deleted. Deleting an ENI that is not available fails "in use"
//! (docs/reference/ec2.md §2.2).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

use super::api::{
    AttachmentDescription, AttachmentId, EniDescription, EniId, EniStatus, InstanceDescription,
    InstanceId, InstanceState,
};
use super::instance_types::InstanceType;
use crate::sim::time::SimTime;
use crate::sim::vpc::SubnetId;

/// An ENI's attachment to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub instance: InstanceId,
    pub device_index: u32,
    pub delete_on_termination: bool,
    /// When the instance metadata service starts showing the ENI; `None` until the attachment completes.
    pub imds_visible_at: Option<SimTime>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EniState {
    Available,
    Attaching(Attachment),
    Attached(Attachment),
    Detaching(Attachment),
    Deleted,
}

impl EniState {
    pub fn attachment(&self) -> Option<&Attachment> {
        match self {
            EniState::Attaching(a) | EniState::Attached(a) | EniState::Detaching(a) => Some(a),
            EniState::Available | EniState::Deleted => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Eni {
    pub id: EniId,
    pub subnet: SubnetId,
    pub primary_ip: Ipv4Addr,
    /// Secondary IPs with the time each becomes visible in the instance metadata service.
    pub secondary_ips: Vec<(Ipv4Addr, SimTime)>,
    /// /28 prefixes with the time each becomes visible in the instance metadata service.
    pub prefixes: Vec<(Ipv4Net, SimTime)>,
    /// Its IPv6 address from the subnet's auto-assignment, in a dual-stack subnet (docs/reference/ec2.md §6).
    pub ipv6_address: Option<Ipv6Addr>,
    /// /80 IPv6 prefixes (AssignIpv6Addresses).
    pub ipv6_prefixes: Vec<Ipv6Net>,
    pub state: EniState,
    /// Shared with its descriptions: every node's leaked-ENI sweep describes every available ENI of the VPC,
    /// so a description copies no string. CreateTags replaces the list.
    pub tags: Arc<[(String, String)]>,
    /// Empty for an ENI created with its instance (docs/reference/ipamd.md §4.6).
    pub description: Arc<str>,
    pub created_at: SimTime,
}

impl Eni {
    /// Address slots in use: the primary IP, each secondary IP, each prefix (docs/reference/ec2.md §3.2).
    pub fn slots_used(&self) -> u32 {
        1 + self.secondary_ips.len() as u32 + self.prefixes.len() as u32
    }

    pub fn status(&self) -> EniStatus {
        match self.state {
            EniState::Available | EniState::Deleted => EniStatus::Available,
            EniState::Attaching(_) => EniStatus::Attaching,
            EniState::Attached(_) => EniStatus::InUse,
            EniState::Detaching(_) => EniStatus::Detaching,
        }
    }

    pub fn is_deleted(&self) -> bool {
        self.state == EniState::Deleted
    }

    pub fn describe(&self) -> EniDescription {
        EniDescription {
            id: self.id,
            subnet: self.subnet,
            status: self.status(),
            attachment: self.state.attachment().map(|a| AttachmentDescription {
                id: a.id,
                instance: a.instance,
                device_index: a.device_index,
                delete_on_termination: a.delete_on_termination,
            }),
            primary_ip: self.primary_ip,
            secondary_ips: self.secondary_ips.iter().map(|&(ip, _)| ip).collect(),
            prefixes: self.prefixes.iter().map(|&(p, _)| p).collect(),
            ipv6_address: self.ipv6_address,
            ipv6_prefixes: self.ipv6_prefixes.clone(),
            tags: self.tags.clone(),
            description: self.description.clone(),
        }
    }

    /// What the instance metadata service shows of this ENI at `now`, if anything.
    pub fn metadata(&self, now: SimTime) -> Option<MetadataEni> {
        let EniState::Attached(a) = self.state else {
            return None;
        };
        if a.imds_visible_at? > now {
            return None;
        }
        Some(MetadataEni {
            eni: self.id,
            device_index: a.device_index,
            subnet: self.subnet,
            primary_ip: self.primary_ip,
            secondary_ips: self
                .secondary_ips
                .iter()
                .filter(|&&(_, t)| t <= now)
                .map(|&(ip, _)| ip)
                .collect(),
            prefixes: self
                .prefixes
                .iter()
                .filter(|&&(_, t)| t <= now)
                .map(|&(p, _)| p)
                .collect(),
        })
    }

    /// Nothing of this ENI is still on its way to IMDS at `now` (docs/reference/ec2.md §2.3): its attachment and
    /// every address are visible by then, so what IMDS shows of it changes only when the ENI itself does.
    pub fn settled_in_metadata(&self, now: SimTime) -> bool {
        let attachment = self.state.attachment().and_then(|a| a.imds_visible_at);
        attachment.is_none_or(|t| t <= now)
            && self.secondary_ips.iter().all(|&(_, t)| t <= now)
            && self.prefixes.iter().all(|&(_, t)| t <= now)
    }
}

/// Which of an instance's IMDS views a reader saw: the view stays the same, whatever the time, for as long as
/// [`super::inventory::Inventory::metadata_unchanged`] says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetadataStamp {
    instance: InstanceId,
    epoch: u64,
}

impl MetadataStamp {
    pub(super) fn of(instance: &Instance) -> Self {
        MetadataStamp {
            instance: instance.id,
            epoch: instance.metadata_epoch,
        }
    }

    pub(super) fn instance(self) -> InstanceId {
        self.instance
    }

    pub(super) fn epoch(self) -> u64 {
        self.epoch
    }
}

/// One ENI as the instance metadata service (IMDS) shows it to the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataEni {
    pub eni: EniId,
    pub device_index: u32,
    pub subnet: SubnetId,
    pub primary_ip: Ipv4Addr,
    pub secondary_ips: Vec<Ipv4Addr>,
    pub prefixes: Vec<Ipv4Net>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub id: InstanceId,
    pub instance_type: &'static InstanceType,
    pub subnet: SubnetId,
    pub account: usize,
    pub state: InstanceState,
    pub primary_eni: EniId,
    /// (device index, ENI) of ENIs attaching or attached, sorted by device index.
    pub devices: Vec<(u32, EniId)>,
    pub launched_at: SimTime,
    /// Its launch's [`super::leaks::LeakSettings::eni_leak_probability`].
    pub eni_leak_probability: f64,
    /// Counts the changes to what IMDS shows of the instance (its devices, their attachments and addresses),
    /// for [`MetadataStamp`].
    pub(super) metadata_epoch: u64,
}

impl Instance {
    pub fn describe(&self, primary_ip: Ipv4Addr) -> InstanceDescription {
        InstanceDescription {
            id: self.id,
            instance_type: self.instance_type.name.as_str(),
            state: self.state,
            subnet: self.subnet,
            primary_ip,
            enis: self.devices.clone(),
        }
    }

    pub fn device_in_use(&self, index: u32) -> bool {
        self.devices.iter().any(|&(d, _)| d == index)
    }

    pub fn add_device(&mut self, index: u32, eni: EniId) {
        let at = self.devices.partition_point(|&(d, _)| d < index);
        self.devices.insert(at, (index, eni));
    }

    pub fn remove_device(&mut self, eni: EniId) {
        self.devices.retain(|&(_, e)| e != eni);
    }
}
