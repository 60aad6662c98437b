//! Loop-level conformance of ipamd against spec/ipamd.md: the increase, decrease and ENI-free steps of §2.6–§2.9
//! and the EC2 helper behaviour of §4 as the Go unit tests state them (§6.3 case 25, §6.5, §6.6), each run as one
//! step of the daemon on one node of the rig, with the EC2 calls it makes asserted by action, argument and count.
//!
//! The Go tests start from a mocked datastore. Here the same state is built in EC2 (so that EC2 accepts or
//! refuses the calls the way the mocks do) and mirrored into the datastore with `state_ds_from_ec2`. Every test
//! uses `Choice::Ordered` (lowest device, then lowest address) wherever the real code walks a Go map.

mod ipamd_rig;

use ipamd_rig::{Rig, subnet};
use vpcsim::sim::ec2::{AddressCount, Request};
use vpcsim::sim::ipamd::Task;
use vpcsim::sim::ipamd::config::{Choice, EniConfig, IpamdConfig};
use vpcsim::sim::time::SimDuration;
use vpcsim::sim::vpc::SubnetId;

const CNI_TAG: (&str, &str) = ("kubernetes.io/role/cni", "1");
/// `maxPods = 500 unless the row says otherwise` (§6).
const MAX_PODS: u32 = 500;

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

fn ordered() -> IpamdConfig {
    IpamdConfig {
        choice: Choice::Ordered,
        ..IpamdConfig::default()
    }
}

/// The calls a new ENI takes with subnet discovery on (§4.1): the subnet look-up, the create with `count`,
/// the device look-up, attach at `device`, DeleteOnTermination, then (after the IMDS wait) setupENI's check of
/// the ENI's subnet.
fn new_eni_calls(count: &str, device: u32) -> Vec<String> {
    vec![
        "DescribeSubnets()".to_string(),
        format!("CreateNetworkInterface({count})"),
        "DescribeInstances()".to_string(),
        format!("AttachNetworkInterface(device={device})"),
        "ModifyNetworkInterfaceAttribute()".to_string(),
        "DescribeSubnets()".to_string(),
    ]
}

/// An m5.xlarge (IPv4Limit 15, so M = maxIPsPerENI = 14, and 4 ENIs as the Go tests' maxENI) whose primary ENI already holds
/// its 14 secondary IPs, each used by a pod, mirrored into the datastore: the Go tests' "empty DS", where no ENI
/// has room and every address is taken.
fn m5_xlarge_with_full_primary(cfg: IpamdConfig, task: Task) -> Rig {
    let mut rig = Rig::new("m5.xlarge", vec![]);
    let primary = rig.primary_eni();
    rig.assign(primary, AddressCount::SecondaryIps(14));
    rig.ipamd(cfg, MAX_PODS, task);
    rig.state_ds_from_ec2(rig.now());
    for pod in 0..14 {
        assert!(rig.add_pod(pod));
    }
    rig
}

// §6.5 Increase actions.

#[test]
fn case_33_increase_ip_pool_default() {
    let mut rig = m5_xlarge_with_full_primary(ordered(), Task::Increase);
    rig.run_task(secs(60));
    assert_eq!(rig.call_summary(), new_eni_calls("ips=14", 1));
    assert_eq!(rig.layout(), vec![(14, 0), (14, 0)]);
}

/// Case 34's ENIConfig "az1": SGs sg1-id and sg2-id, subnet "subnet1" (here subnet 1, in the node's AZ). The
/// simulated CreateNetworkInterface carries no security groups, so only the subnet can be checked.
fn custom_networking() -> IpamdConfig {
    IpamdConfig {
        custom_network: Some(EniConfig {
            subnet: SubnetId(1),
            security_groups: vec!["sg1-id".to_string(), "sg2-id".to_string()],
        }),
        ..ordered()
    }
}

/// An m5.xlarge under custom networking, whose primary ENI (no secondary IPs) is in the datastore: custom
/// networking skips the primary, so no ENI has room.
fn custom_networking_node(cfg: IpamdConfig) -> Rig {
    let subnets = vec![
        subnet("10.0.0.0/24", "az-a", &[CNI_TAG]),
        subnet("10.0.1.0/24", "az-a", &[]),
    ];
    let mut rig = Rig::new("m5.xlarge", subnets);
    rig.ipamd(cfg, MAX_PODS, Task::Increase);
    rig.state_ds_from_ec2(rig.now());
    rig
}

/// The subnet each CreateNetworkInterface asked for.
fn create_subnets(rig: &Rig) -> Vec<SubnetId> {
    rig.calls()
        .iter()
        .filter_map(|c| match c.request {
            Request::CreateNetworkInterface { subnet, .. } => Some(subnet),
            _ => None,
        })
        .collect()
}

/// The calls a new ENI takes under custom networking (§4.1): no subnet loop before the create.
fn custom_eni_calls() -> Vec<String> {
    new_eni_calls("ips=14", 1)[1..].to_vec()
}

#[test]
fn case_34_increase_ip_pool_custom_eni() {
    let mut rig = custom_networking_node(custom_networking());
    rig.run_task(secs(60));
    assert_eq!(rig.call_summary(), custom_eni_calls());
    assert_eq!(create_subnets(&rig), vec![SubnetId(1)]);
    assert_eq!(rig.layout(), vec![(0, 0), (14, 0)]);
}

#[test]
fn case_35_increase_ip_pool_custom_eni_on_non_schedulable_node_default() {
    let mut rig = custom_networking_node(custom_networking());
    rig.d().state_mut().cordoned = true;
    rig.run_task(secs(60));
    assert!(rig.calls().is_empty());
    assert_eq!(rig.layout(), vec![(0, 0)]);
}

#[test]
fn case_36_increase_ip_pool_custom_eni_on_non_schedulable_node() {
    let cfg = IpamdConfig {
        manage_enis_non_schedulable: true,
        ..custom_networking()
    };
    let mut rig = custom_networking_node(cfg);
    rig.d().state_mut().cordoned = true;
    rig.run_task(secs(60));
    assert_eq!(rig.call_summary(), custom_eni_calls());
    assert_eq!(create_subnets(&rig), vec![SubnetId(1)]);
}

/// A node whose primary subnet (subnet 0) has no address left for it, next to a tagged subnet 1 with room;
/// the primary ENI is in the datastore with nothing on it (an m5.xlarge, P = M = 14).
fn primary_subnet_full(cfg: IpamdConfig, task: Task) -> Rig {
    let subnets = vec![
        subnet("10.0.0.0/24", "az-a", &[CNI_TAG]),
        subnet("10.0.1.0/24", "az-a", &[CNI_TAG]),
    ];
    let mut rig = Rig::new("m5.xlarge", subnets);
    rig.fill_subnet(SubnetId(0), 0);
    rig.ipamd(cfg, MAX_PODS, task);
    rig.state_ds_from_ec2(rig.now());
    rig
}

fn with_new_eni(mut first: Vec<String>, count: &str) -> Vec<String> {
    first.extend(new_eni_calls(count, 1));
    first
}

#[test]
fn case_37_increase_ip_pool_subnet_discovery_unfilled_eni() {
    let mut rig = primary_subnet_full(ordered(), Task::Increase);
    rig.run_task(secs(60));
    let refused = "!InsufficientFreeAddressesInSubnet";
    let first = vec![
        format!("AssignPrivateIpAddresses(ips=14){refused}"),
        format!("AssignPrivateIpAddresses(ips=1){refused}"),
    ];
    assert_eq!(rig.call_summary(), with_new_eni(first, "ips=14"));
    assert_eq!(create_subnets(&rig), vec![SubnetId(1)]);
    assert_eq!(rig.d().state().last_insufficient, None, "no 120 s cooldown");
    assert_eq!(rig.layout(), vec![(0, 0), (14, 0)]);
}

#[test]
fn case_38_try_add_ip_to_eni() {
    let cfg = IpamdConfig {
        warm_ip_target: 3,
        ..ordered()
    };
    let mut rig = m5_xlarge_with_full_primary(cfg, Task::Increase);
    rig.run_task(secs(60));
    assert_eq!(rig.call_summary(), new_eni_calls("ips=3", 1));
    assert_eq!(rig.layout(), vec![(14, 0), (3, 0)]);
}

fn prefix_mode(warm_prefix_target: u32) -> IpamdConfig {
    IpamdConfig {
        enable_prefix_delegation: true,
        warm_prefix_target,
        ..ordered()
    }
}

#[test]
fn case_39_increase_prefix_pool_default() {
    // The m5.xlarge's primary holds its 14 prefixes, all 224 addresses used by pods; a /20 leaves room for more.
    let mut rig = Rig::new(
        "m5.xlarge",
        vec![subnet("10.0.0.0/20", "az-a", &[CNI_TAG])],
    );
    let primary = rig.primary_eni();
    rig.assign(primary, AddressCount::Prefixes(14));
    rig.ipamd(prefix_mode(1), MAX_PODS, Task::Increase);
    rig.state_ds_from_ec2(rig.now());
    for pod in 0..14 * 16 {
        assert!(rig.add_pod(pod));
    }
    rig.run_task(secs(60));
    assert_eq!(rig.call_summary(), new_eni_calls("prefixes=1", 1));
    assert_eq!(rig.layout(), vec![(0, 14), (0, 1)]);
}

#[test]
fn case_40_increase_prefix_pool_subnet_discovery_unfilled_eni() {
    let mut rig = primary_subnet_full(prefix_mode(1), Task::Increase);
    rig.run_task(secs(60));
    let refused = "!InsufficientCidrBlocks";
    let first = vec![
        format!("AssignPrivateIpAddresses(prefixes=1){refused}"),
        format!("AssignPrivateIpAddresses(prefixes=1){refused}"),
    ];
    assert_eq!(rig.call_summary(), with_new_eni(first, "prefixes=1"));
    assert_eq!(create_subnets(&rig), vec![SubnetId(1)]);
    assert_eq!(rig.d().state().last_insufficient, None, "no 120 s cooldown");
}

/// A restarting ipamd's checkpoint: EC2 holds `primary` addresses on the primary ENI and `second` on an ENI at
/// device 1; the datastore before start-up holds the same, with one pod on the primary, which start-up must
/// restore from its checkpoint (§2.1).
fn restarting_node(cfg: IpamdConfig, primary: AddressCount, second: AddressCount) -> Rig {
    let mut rig = Rig::new("m5.xlarge", vec![]);
    let eni = rig.primary_eni();
    rig.assign(eni, primary);
    rig.attach_eni(second, 1);
    rig.ipamd(cfg, MAX_PODS, Task::Init);
    rig.state_ds_from_ec2(rig.now());
    assert!(rig.add_pod(0));
    rig
}

#[test]
fn case_41_node_init() {
    let cfg = IpamdConfig {
        warm_ip_target: 3,
        ..ordered()
    };
    let ips = AddressCount::SecondaryIps;
    let mut rig = restarting_node(cfg, ips(1), ips(2));
    rig.run_task(secs(60));
    // Total 3, 1 assigned, 2 available: short = 1, so pre-scaling makes one call for 1 address, on the primary
    // (the first ENI with room).
    assert_eq!(
        rig.call_summary(),
        vec![
            "DescribeNetworkInterfaces()",
            "AssignPrivateIpAddresses(ips=1)"
        ]
    );
    assert_eq!(rig.d().metrics(rig.now()).assigned_ip_addresses, 1);
    assert_eq!(rig.layout(), vec![(2, 0), (2, 0)]);
}
