//! The requests, responses and errors of the simulated EC2 API.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

use super::action::Action;
use super::instance_types::InstanceType;
use super::leaks::LeakSettings;
use crate::sim::vpc::{ReservationKind, SubnetId};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{:08x}"), self.0)
            }
        }
    )*};
}

ids!(
    /// An EC2 instance.
    InstanceId => "i-",
    /// An elastic network interface.
    EniId => "eni-",
    /// One attachment of an ENI to an instance; a re-attached ENI gets a new one.
    AttachmentId => "eni-attach-",
    /// A caller with its own SDK retry quota, e.g. one node's ipamd.
    ClientId => "client-",
    /// One logical API call (all its attempts).
    CallId => "call-",
    /// A subnet CIDR reservation.
    SubnetCidrReservationId => "scr-",
);

/// How many addresses an AssignPrivateIpAddresses or CreateNetworkInterface call asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressCount {
    /// `SecondaryPrivateIpAddressCount = n`.
    SecondaryIps(u32),
    /// `Ipv4PrefixCount = n` (/28 prefixes).
    Prefixes(u32),
}

/// The description the VPC resource controller gives the trunk ENIs it creates ([RC] `pkg/config/type.go`,
/// docs/reference/ec2.md §11.3); ipamd knows the trunk by it when it adopts the ENI.
pub const TRUNK_ENI_DESCRIPTION: &str = "aws-k8s-trunk-eni";
/// The description of the branch ENIs it creates (docs/reference/ec2.md §11.4).
pub const BRANCH_ENI_DESCRIPTION: &str = "aws-k8s-branch-eni";

/// Which ENIs a DescribeNetworkInterfaces call asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EniQuery {
    /// `NetworkInterfaceIds = [...]`: an ID list, no filter.
    Ids(Vec<EniId>),
    /// Filter `attachment.instance-id`.
    AttachedTo(InstanceId),
    /// Filters status=available and a tag key (the CNI's leaked-ENI scan), paginated.
    AvailableWithTag(String),
}

/// Which subnets a DescribeSubnets call asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubnetQuery {
    Ids(Vec<SubnetId>),
    /// Filter `tag-key = key`.
    TagKey(String),
    /// Filter `availability-zone = az` (the CNI's subnet discovery: its VPC and its AZ).
    AvailabilityZone(String),
}

/// What a ModifyNetworkInterfaceAttribute call changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EniAttribute {
    /// The attachment's `DeleteOnTermination` (ipamd sets it after attaching, docs/reference/ipamd.md §4.1).
    DeleteOnTermination(bool),
    /// The ENI's security groups (ipamd's `RefreshSGIDs`, ipamd.md §4.1, §9.2): vpcsim does not model groups, so
    /// the call only costs its token and latency.
    SecurityGroups,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    RunInstances {
        instance_type: &'static InstanceType,
        subnet: SubnetId,
        count: u32,
        /// The launch template's DeleteOnTermination for the primary ENI, and the modelled leak probability of
        /// the ENIs ipamd adds (not an EC2 parameter, carried with the instance; docs/reference/ec2.md §3.7).
        leaks: LeakSettings,
    },
    TerminateInstances {
        instance: InstanceId,
    },
    CreateNetworkInterface {
        subnet: SubnetId,
        addresses: AddressCount,
        /// ipamd's `aws-K8S-<instance id>`, by which its leaked-ENI sweep knows its own (ipamd.md §4.6).
        description: String,
        tags: Vec<(String, String)>,
    },
    AttachNetworkInterface {
        eni: EniId,
        instance: InstanceId,
        device_index: u32,
    },
    ModifyNetworkInterfaceAttribute {
        eni: EniId,
        attribute: EniAttribute,
    },
    AssignPrivateIpAddresses {
        eni: EniId,
        addresses: AddressCount,
    },
    UnassignPrivateIpAddresses {
        eni: EniId,
        ips: Vec<Ipv4Addr>,
        prefixes: Vec<Ipv4Net>,
    },
    DetachNetworkInterface {
        attachment: AttachmentId,
    },
    DeleteNetworkInterface {
        eni: EniId,
    },
    DescribeNetworkInterfaces {
        query: EniQuery,
    },
    DescribeInstances {
        instance: InstanceId,
    },
    DescribeSubnets {
        query: SubnetQuery,
    },
    CreateTags {
        eni: EniId,
        tags: Vec<(String, String)>,
    },
    /// A call by a caller outside the simulated cluster (another cluster, a controller, tooling) on resources
    /// vpcsim does not model: it takes the action's tokens and latency and changes nothing here
    /// (`sim::ec2::external`). Describe calls are taken as filtered or paginated, in the larger bucket.
    External {
        action: Action,
    },
    /// Sets `cidr` of `subnet` aside for prefixes or for manual assignment (docs/reference/ec2.md §3.5).
    CreateSubnetCidrReservation {
        subnet: SubnetId,
        cidr: Ipv4Net,
        kind: ReservationKind,
    },
    DeleteSubnetCidrReservation {
        reservation: SubnetCidrReservationId,
    },
    /// `Ipv6PrefixCount = prefixes` /80 prefixes from the ENI's subnet's /64 (ipamd's `AllocIPv6Prefixes` asks
    /// for one, docs/reference/ipamd.md §11.2).
    AssignIpv6Addresses {
        eni: EniId,
        prefixes: u32,
    },
    /// `Permission = INSTANCE-ATTACH` on a trunk or branch ENI the resource controller made
    /// (docs/reference/ec2.md §11.3, §11.4).
    CreateNetworkInterfacePermission {
        eni: EniId,
    },
    /// Associates branch ENI `branch` with trunk ENI `trunk` under VLAN `vlan` (docs/reference/ec2.md §11.4).
    AssociateTrunkInterface {
        branch: EniId,
        trunk: EniId,
        vlan: u32,
    },
    /// Ends branch `branch`'s association before its deletion (docs/reference/ec2.md §11.5).
    DisassociateTrunkInterface {
        branch: EniId,
    },
}

impl Request {
    pub fn action(&self) -> Action {
        match self {
            Request::RunInstances { .. } => Action::RunInstances,
            Request::TerminateInstances { .. } => Action::TerminateInstances,
            Request::CreateNetworkInterface { .. } => Action::CreateNetworkInterface,
            Request::AttachNetworkInterface { .. } => Action::AttachNetworkInterface,
            Request::ModifyNetworkInterfaceAttribute { .. } => {
                Action::ModifyNetworkInterfaceAttribute
            }
            Request::AssignPrivateIpAddresses { .. } => Action::AssignPrivateIpAddresses,
            Request::UnassignPrivateIpAddresses { .. } => Action::UnassignPrivateIpAddresses,
            Request::DetachNetworkInterface { .. } => Action::DetachNetworkInterface,
            Request::DeleteNetworkInterface { .. } => Action::DeleteNetworkInterface,
            Request::DescribeNetworkInterfaces { .. } => Action::DescribeNetworkInterfaces,
            Request::DescribeInstances { .. } => Action::DescribeInstances,
            Request::DescribeSubnets { .. } => Action::DescribeSubnets,
            Request::CreateTags { .. } => Action::CreateTags,
            Request::External { action } => *action,
            Request::CreateSubnetCidrReservation { .. } => Action::CreateSubnetCidrReservation,
            Request::DeleteSubnetCidrReservation { .. } => Action::DeleteSubnetCidrReservation,
            Request::AssignIpv6Addresses { .. } => Action::AssignIpv6Addresses,
            Request::CreateNetworkInterfacePermission { .. } => {
                Action::CreateNetworkInterfacePermission
            }
            Request::AssociateTrunkInterface { .. } => Action::AssociateTrunkInterface,
            Request::DisassociateTrunkInterface { .. } => Action::DisassociateTrunkInterface,
        }
    }

    /// Whether the call passes neither a filter nor pagination, which puts DescribeInstances and
    /// DescribeNetworkInterfaces in the smaller bucket (docs/reference/ec2.md §1.2). Whether an ID list counts as a
    /// filter is not documented; `id_list_is_unfiltered` decides (§1.3).
    pub fn is_unfiltered(&self, id_list_is_unfiltered: bool) -> bool {
        match self {
            Request::DescribeNetworkInterfaces {
                query: EniQuery::Ids(_),
            }
            | Request::DescribeInstances { .. } => id_list_is_unfiltered,
            _ => false,
        }
    }

    /// Instances touched, for the resource-rate bucket (docs/reference/ec2.md §1.4).
    pub fn resource_count(&self) -> u32 {
        match self {
            Request::RunInstances { count, .. } => *count,
            Request::TerminateInstances { .. } => 1,
            _ => 0,
        }
    }
}

/// An ENI's status as DescribeNetworkInterfaces reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EniStatus {
    Available,
    Attaching,
    InUse,
    Detaching,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttachmentDescription {
    pub id: AttachmentId,
    pub instance: InstanceId,
    pub device_index: u32,
    pub delete_on_termination: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EniDescription {
    pub id: EniId,
    pub subnet: SubnetId,
    pub status: EniStatus,
    pub attachment: Option<AttachmentDescription>,
    pub primary_ip: Ipv4Addr,
    pub secondary_ips: Vec<Ipv4Addr>,
    pub prefixes: Vec<Ipv4Net>,
    /// The ENI's own IPv6 address, in a dual-stack subnet (docs/reference/ec2.md §6).
    pub ipv6_address: Option<Ipv6Addr>,
    /// Its /80 IPv6 prefixes.
    pub ipv6_prefixes: Vec<Ipv6Net>,
    /// Empty for an ENI created with its instance; what CreateNetworkInterface was given otherwise.
    pub description: Arc<str>,
    pub tags: Arc<[(String, String)]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceDescription {
    pub id: InstanceId,
    pub instance_type: &'static str,
    pub state: InstanceState,
    pub subnet: SubnetId,
    pub primary_ip: Ipv4Addr,
    /// (device index, ENI) of every attached or attaching ENI, by device index.
    pub enis: Vec<(u32, EniId)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SubnetDescription {
    pub id: SubnetId,
    pub name: String,
    pub az: String,
    pub cidr: Ipv4Net,
    pub available_ip_address_count: u32,
    pub tags: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// RunInstances: the new instances, pending.
    Instances(Vec<InstanceDescription>),
    /// CreateNetworkInterface: the new ENI, available.
    NetworkInterface(EniDescription),
    /// AttachNetworkInterface.
    Attachment(AttachmentId),
    /// AssignPrivateIpAddresses: what was assigned (the CNI uses this at once, without waiting for IMDS).
    Assigned {
        ips: Vec<Ipv4Addr>,
        prefixes: Vec<Ipv4Net>,
    },
    NetworkInterfaces(Vec<EniDescription>),
    Instance(InstanceDescription),
    Subnets(Vec<SubnetDescription>),
    /// AssignIpv6Addresses: the /80 prefixes assigned.
    AssignedIpv6(Vec<Ipv6Net>),
    /// CreateSubnetCidrReservation: the new reservation's id.
    SubnetCidrReservation(SubnetCidrReservationId),
    /// Calls that return nothing but success.
    Done,
}

macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident => $code:literal),* $(,)?) => {
        /// EC2 error codes the simulator returns (docs/reference/ec2.md §1.5, §3.4; [ERR]).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode { $($(#[$doc])* $name),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code as EC2 spells it.
            pub fn code(self) -> &'static str {
                match self { $(ErrorCode::$name => $code),* }
            }
        }
    };
}

error_codes!(
    /// Throttled by the account's token bucket.
    RequestLimitExceeded => "RequestLimitExceeded",
    InsufficientFreeAddressesInSubnet => "InsufficientFreeAddressesInSubnet",
    /// No wholly free aligned /28 for a prefix, whatever the free address count.
    InsufficientCidrBlocks => "InsufficientCidrBlocks",
    /// Per-ENI address slots (primary + secondary IPs + prefixes) exceeded.
    PrivateIpAddressLimitExceeded => "PrivateIpAddressLimitExceeded",
    /// ENIs per instance exceeded.
    AttachmentLimitExceeded => "AttachmentLimitExceeded",
    InvalidParameterValue => "InvalidParameterValue",
    InvalidParameterCombination => "InvalidParameterCombination",
    InvalidNetworkInterfaceIdNotFound => "InvalidNetworkInterfaceID.NotFound",
    InvalidInstanceIdNotFound => "InvalidInstanceID.NotFound",
    InvalidAttachmentIdNotFound => "InvalidAttachmentID.NotFound",
    InvalidSubnetIdNotFound => "InvalidSubnetID.NotFound",
    IncorrectInstanceState => "IncorrectInstanceState",
    OperationNotPermitted => "OperationNotPermitted",
    /// DeleteSubnetCidrReservation of an id that does not exist (or no longer does).
    InvalidSubnetCidrReservationIdNotFound => "InvalidSubnetCidrReservationID.NotFound",
);

impl ErrorCode {
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the SDK retries it: throttling and 5xx only (docs/reference/ec2.md §1.6).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorCode::RequestLimitExceeded)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An error response: EC2's code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn throttled() -> Self {
        ApiError::new(ErrorCode::RequestLimitExceeded, "Request limit exceeded.")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult = Result<Response, ApiError>;
