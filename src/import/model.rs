//! The imported state, checked: subnets with the addresses and prefixes their ENIs hold and their CIDR
//! reservations, what the ENIs were, and the node groups inferred from the instances. Every entry is checked
//! before anything is written, so that an import is whole or fails.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::error::ImportError;
use super::json::{self, CidrReservation, Instance, NetworkInterface};
use super::merge::Item;

/// Addresses AWS reserves in every subnet: the first four and the last (docs/reference/ec2.md §3.1).
const AWS_RESERVED: u64 = 5;

/// A subnet CIDR reservation as imported.
pub struct Reservation {
    pub id: String,
    /// `prefix` or `explicit`.
    pub kind: String,
    pub cidr: Ipv4Net,
}

/// One subnet and what holds its addresses.
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub cidr: Ipv4Net,
    pub az: String,
    pub tags: Vec<(String, String)>,
    /// DescribeSubnets' `AvailableIpAddressCount`.
    pub aws_available: u64,
    /// Addresses the ENIs hold singly, lowest first.
    pub addresses: Vec<Ipv4Addr>,
    /// /28 prefixes the ENIs hold, lowest first.
    pub prefixes: Vec<Ipv4Net>,
    pub reservations: Vec<Reservation>,
    pub enis: usize,
}

impl Subnet {
    /// Addresses of `net` the ENIs hold, singly or in prefixes.
    fn held_in(&self, net: Ipv4Net) -> u64 {
        self.addresses.iter().filter(|a| net.contains(*a)).count() as u64
            + self.prefixes.iter().map(|p| common(*p, net)).sum::<u64>()
    }

    /// Addresses free by the ENIs' count: size − 5 − held (what the simulator's subnet reports as free).
    pub fn free_by_enis(&self) -> u64 {
        size(self.cidr) - AWS_RESERVED - self.held_in(self.cidr)
    }

    /// Of [`Subnet::free_by_enis`], those inside a reservation.
    pub fn free_in_reservations(&self) -> u64 {
        let first = u32::from(self.cidr.network());
        let last = u32::from(self.cidr.broadcast());
        let aws: Vec<Ipv4Addr> = [first, first + 1, first + 2, first + 3, last]
            .into_iter()
            .map(Ipv4Addr::from)
            .collect();
        self.reservations
            .iter()
            .map(|r| {
                let reserved_by_aws = aws.iter().filter(|a| r.cidr.contains(*a)).count() as u64;
                size(r.cidr) - reserved_by_aws - self.held_in(r.cidr)
            })
            .sum()
    }

    /// How AWS's `AvailableIpAddressCount` compares with the ENIs' count (docs/reference/ec2.md §10.3).
    pub fn availability(&self) -> Availability {
        let all_free = self.free_by_enis();
        let outside = all_free - self.free_in_reservations();
        if self.aws_available == outside || self.aws_available == all_free {
            Availability::Agrees {
                counts_reserved: self.aws_available != outside,
            }
        } else if self.aws_available < outside {
            Availability::Unseen(outside - self.aws_available)
        } else {
            Availability::MoreThanFree(self.aws_available - outside.min(all_free))
        }
    }
}

/// The check of `AvailableIpAddressCount` against the addresses the ENIs hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// AWS's figure is the ENIs' free count, with (`counts_reserved`) or without the reservations' free
    /// addresses.
    Agrees { counts_reserved: bool },
    /// AWS has this many fewer available: addresses held by ENIs the caller could not see.
    Unseen(u64),
    /// AWS has this many more available than the ENIs leave free: the ENI file is not of the same moment or
    /// lists ENIs twice over.
    MoreThanFree(u64),
}

/// ENIs by kind, for the scenario's comments.
#[derive(Default)]
pub struct EniTally {
    pub by_type: BTreeMap<String, usize>,
    pub requester_managed: usize,
    pub unattached: usize,
    /// Attached as an instance's primary ENI (device index 0).
    pub primary: usize,
    /// Attached with DeleteOnTermination false: left behind, addresses and all, when the instance goes.
    pub kept_on_termination: usize,
    /// Instances the attached ENIs belong to.
    pub instances: BTreeSet<String>,
    pub total: usize,
}

/// Nodes of one instance type in one group (by its node-group, node-pool or Auto Scaling group tag).
pub struct NodeGroup {
    pub name: String,
    /// The tag that named it, if any.
    pub source: Option<(&'static str, String)>,
    pub instance_type: String,
    pub subnets: BTreeSet<String>,
    pub count: usize,
}

/// Instances and what the import did with them.
#[derive(Default)]
pub struct Instances {
    pub groups: Vec<NodeGroup>,
    pub running: usize,
    /// Instances not pending or running (stopped, terminated), left out.
    pub not_running: usize,
    /// Running instances in subnets not imported, left out.
    pub elsewhere: usize,
}

pub struct Model {
    pub vpc_id: String,
    pub subnets: Vec<Subnet>,
    pub enis: EniTally,
    pub ipv6_reservations: usize,
    pub instances: Option<Instances>,
}

/// The files' entries, read.
pub struct Entries<'a> {
    pub subnets: (&'a str, Vec<Item>),
    pub enis: (&'a str, Vec<Item>),
    pub reservations: Option<(&'a str, Vec<Item>, usize)>,
    pub instances: Option<(&'a str, Vec<(String, Instance)>)>,
}

pub fn build(e: Entries<'_>) -> Result<Model, ImportError> {
    let (sfile, items) = &e.subnets;
    if items.is_empty() {
        return Err(ImportError::file(sfile, "no subnets: `Subnets` is empty"));
    }
    let mut subnets: Vec<Subnet> = Vec::new();
    let mut paths: Vec<&str> = Vec::new();
    let mut vpc_id: Option<(String, String)> = None;
    for item in items {
        let s: json::Subnet = json::entry(sfile, item)?;
        let at = |k: &str| format!("{}.{k}", item.path);
        let cidr = parse_net(sfile, &at("CidrBlock"), &s.cidr_block)?;
        if let Some(j) = subnets.iter().position(|o| o.id == s.subnet_id) {
            return Err(ImportError::at(
                sfile,
                at("SubnetId"),
                format!("{} is listed twice (also {})", s.subnet_id, paths[j]),
            ));
        }
        if let Some(j) = subnets.iter().position(|o| nets_overlap(o.cidr, cidr)) {
            return Err(ImportError::at(
                sfile,
                at("CidrBlock"),
                format!(
                    "{cidr} of {} overlaps {} of {} ({})",
                    s.subnet_id, subnets[j].cidr, subnets[j].id, paths[j]
                ),
            ));
        }
        match &vpc_id {
            Some((v, p)) if *v != s.vpc_id => {
                return Err(ImportError::at(
                    sfile,
                    at("VpcId"),
                    format!(
                        "{} is in {}, but {p} is in {v}: import one VPC's subnets at a time",
                        s.subnet_id, s.vpc_id
                    ),
                ));
            }
            Some(_) => {}
            None => vpc_id = Some((s.vpc_id.clone(), item.path.clone())),
        }
        if s.available_ip_address_count > size(cidr) - AWS_RESERVED {
            return Err(ImportError::at(
                sfile,
                at("AvailableIpAddressCount"),
                format!(
                    "{} is more than the {} usable addresses of {cidr}",
                    s.available_ip_address_count,
                    size(cidr) - AWS_RESERVED
                ),
            ));
        }
        let name = json::tag(&s.tags, "Name")
            .filter(|n| !n.is_empty() && !subnets.iter().any(|o| o.name == *n))
            .unwrap_or(&s.subnet_id)
            .to_string();
        subnets.push(Subnet {
            id: s.subnet_id,
            name,
            cidr,
            az: s.availability_zone,
            tags: s.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            aws_available: s.available_ip_address_count,
            addresses: Vec::new(),
            prefixes: Vec::new(),
            reservations: Vec::new(),
            enis: 0,
        });
        paths.push(&item.path);
    }
    let index: HashMap<String, usize> = subnets
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();

    let enis = add_enis(&mut subnets, &index, sfile, &e.enis)?;
    let mut ipv6_reservations = 0;
    if let Some((rfile, items, ipv6)) = &e.reservations {
        add_reservations(&mut subnets, &index, sfile, rfile, items)?;
        ipv6_reservations = *ipv6;
    }
    let instances = e
        .instances
        .as_ref()
        .map(|(_, list)| infer_groups(&subnets, &index, list));
    for s in &mut subnets {
        s.addresses.sort();
        s.prefixes.sort();
    }
    Ok(Model {
        vpc_id: vpc_id.map(|(v, _)| v).unwrap_or_default(),
        subnets,
        enis,
        ipv6_reservations,
        instances,
    })
}

fn add_enis(
    subnets: &mut [Subnet],
    index: &HashMap<String, usize>,
    sfile: &str,
    (file, items): &(&str, Vec<Item>),
) -> Result<EniTally, ImportError> {
    let mut tally = EniTally::default();
    let mut ids: HashMap<String, String> = HashMap::new();
    // Who holds each address or prefix: its path, to name both sides of a clash.
    let mut holders: HashMap<Ipv4Addr, String> = HashMap::new();
    let mut prefix_holders: HashMap<Ipv4Net, String> = HashMap::new();
    for item in items {
        let eni: NetworkInterface = json::entry(file, item)?;
        let at = |k: &str| format!("{}.{k}", item.path);
        if let Some(p) = ids.insert(eni.network_interface_id.clone(), item.path.clone()) {
            return Err(ImportError::at(
                file,
                at("NetworkInterfaceId"),
                format!("{} is listed twice (also {p})", eni.network_interface_id),
            ));
        }
        let Some(&i) = index.get(&eni.subnet_id) else {
            return Err(ImportError::at(
                file,
                at("SubnetId"),
                format!(
                    "{} is not in {sfile}: give every subnet the ENIs are in (or only those subnets' ENIs, \
                     e.g. --filters Name=subnet-id,Values=…)",
                    eni.subnet_id
                ),
            ));
        };
        let s = &mut subnets[i];
        let first = u32::from(s.cidr.network());
        let last = u32::from(s.cidr.broadcast());
        for (k, a) in eni.private_ip_addresses.iter().enumerate() {
            let path = at(&format!("PrivateIpAddresses[{k}].PrivateIpAddress"));
            let addr: Ipv4Addr = a.private_ip_address.parse().map_err(|_| {
                ImportError::at(
                    file,
                    &path,
                    format!("{:?} is not an IPv4 address", a.private_ip_address),
                )
            })?;
            if !s.cidr.contains(&addr) {
                return Err(ImportError::at(
                    file,
                    path,
                    format!(
                        "{addr} lies outside {} ({}) of {}",
                        s.cidr, s.id, eni.network_interface_id
                    ),
                ));
            }
            let n = u32::from(addr);
            if n < first + 4 || n == last {
                return Err(ImportError::at(
                    file,
                    path,
                    format!(
                        "{addr} is one of the 5 addresses AWS reserves in {}",
                        s.cidr
                    ),
                ));
            }
            if let Some(p) = holders.insert(addr, path.clone()) {
                return Err(ImportError::at(
                    file,
                    path,
                    format!("{addr} is held twice (also {p})"),
                ));
            }
            s.addresses.push(addr);
        }
        for (k, p) in eni.ipv4_prefixes.iter().enumerate() {
            let path = at(&format!("Ipv4Prefixes[{k}].Ipv4Prefix"));
            let net = parse_net(file, &path, &p.ipv4_prefix)?;
            if net.prefix_len() != 28 {
                return Err(ImportError::at(
                    file,
                    path,
                    format!("{net} is not a /28 (EC2 delegates IPv4 prefixes as /28s)"),
                ));
            }
            if !s.cidr.contains(&net) {
                return Err(ImportError::at(
                    file,
                    path,
                    format!("{net} lies outside {} ({})", s.cidr, s.id),
                ));
            }
            if let Some(o) = prefix_holders.insert(net, path.clone()) {
                return Err(ImportError::at(
                    file,
                    path,
                    format!("{net} is held twice (also {o})"),
                ));
            }
            s.prefixes.push(net);
        }
        s.enis += 1;
        tally.total += 1;
        *tally.by_type.entry(eni.interface_type).or_default() += 1;
        tally.requester_managed += usize::from(eni.requester_managed);
        tally.unattached += usize::from(eni.status == "available");
        if let Some(a) = &eni.attachment {
            tally.primary += usize::from(a.device_index == Some(0));
            tally.kept_on_termination += usize::from(a.delete_on_termination == Some(false));
            tally.instances.extend(a.instance_id.clone());
        }
    }
    // An address inside a delegated prefix is held twice over.
    for (net, ppath) in &prefix_holders {
        if let Some((addr, apath)) = holders.iter().find(|(a, _)| net.contains(*a)) {
            return Err(ImportError::at(
                file,
                apath,
                format!("{addr} lies inside prefix {net} ({ppath})"),
            ));
        }
    }
    Ok(tally)
}

fn add_reservations(
    subnets: &mut [Subnet],
    index: &HashMap<String, usize>,
    sfile: &str,
    file: &str,
    items: &[Item],
) -> Result<(), ImportError> {
    let mut ids: HashMap<String, String> = HashMap::new();
    for item in items {
        let r: CidrReservation = json::entry(file, item)?;
        let at = |k: &str| format!("{}.{k}", item.path);
        if let Some(p) = ids.insert(r.subnet_cidr_reservation_id.clone(), item.path.clone()) {
            return Err(ImportError::at(
                file,
                at("SubnetCidrReservationId"),
                format!(
                    "{} is listed twice (also {p})",
                    r.subnet_cidr_reservation_id
                ),
            ));
        }
        let Some(&i) = index.get(&r.subnet_id) else {
            return Err(ImportError::at(
                file,
                at("SubnetId"),
                format!("{} is not in {sfile}", r.subnet_id),
            ));
        };
        if r.reservation_type != "prefix" && r.reservation_type != "explicit" {
            return Err(ImportError::at(
                file,
                at("ReservationType"),
                format!(
                    "{:?}: expected \"prefix\" or \"explicit\"",
                    r.reservation_type
                ),
            ));
        }
        let cidr = parse_net(file, &at("Cidr"), &r.cidr)?;
        let s = &mut subnets[i];
        if !s.cidr.contains(&cidr) {
            return Err(ImportError::at(
                file,
                at("Cidr"),
                format!("{cidr} lies outside {} ({})", s.cidr, s.id),
            ));
        }
        if r.reservation_type == "prefix" && cidr.prefix_len() > 28 {
            return Err(ImportError::at(
                file,
                at("Cidr"),
                format!("prefix reservation {cidr} is smaller than a /28 block"),
            ));
        }
        if let Some(o) = s.reservations.iter().find(|o| nets_overlap(o.cidr, cidr)) {
            return Err(ImportError::at(
                file,
                at("Cidr"),
                format!("{cidr} overlaps reservation {} ({})", o.cidr, o.id),
            ));
        }
        s.reservations.push(Reservation {
            id: r.subnet_cidr_reservation_id,
            kind: r.reservation_type,
            cidr,
        });
    }
    Ok(())
}

/// The tags that name an instance's group, in order of preference.
const GROUP_TAGS: [&str; 3] = [
    "eks:nodegroup-name",
    "karpenter.sh/nodepool",
    "aws:autoscaling:groupName",
];

/// Node groups from the pending and running instances: one per (group tag, instance type), over the subnets
/// its instances are in.
fn infer_groups(
    subnets: &[Subnet],
    index: &HashMap<String, usize>,
    list: &[(String, Instance)],
) -> Instances {
    let mut out = Instances::default();
    let mut groups: BTreeMap<(String, String), NodeGroup> = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (_, inst) in list {
        // The same instance in two pages is one node.
        if !seen.insert(&inst.instance_id) {
            continue;
        }
        if inst.state.name != "pending" && inst.state.name != "running" {
            out.not_running += 1;
            continue;
        }
        let Some(&i) = inst.subnet_id.as_ref().and_then(|s| index.get(s)) else {
            out.elsewhere += 1;
            continue;
        };
        out.running += 1;
        let source = GROUP_TAGS
            .iter()
            .find_map(|k| json::tag(&inst.tags, k).map(|v| (*k, v.to_string())));
        let label = source.as_ref().map_or(String::new(), |(_, v)| v.clone());
        let g = groups
            .entry((label.clone(), inst.instance_type.clone()))
            .or_insert_with(|| NodeGroup {
                name: String::new(),
                source,
                instance_type: inst.instance_type.clone(),
                subnets: BTreeSet::new(),
                count: 0,
            });
        g.subnets.insert(subnets[i].name.clone());
        g.count += 1;
    }
    let mut names: BTreeSet<String> = BTreeSet::new();
    for ((label, itype), mut g) in groups {
        let base = if label.is_empty() {
            itype.replace('.', "-")
        } else {
            label
        };
        let mut name = base.clone();
        if names.contains(&name) {
            name = format!("{base}-{}", itype.replace('.', "-"));
        }
        names.insert(name.clone());
        g.name = name;
        out.groups.push(g);
    }
    out
}

fn parse_net(file: &str, path: &str, s: &str) -> Result<Ipv4Net, ImportError> {
    let net: Ipv4Net = s
        .parse()
        .map_err(|_| ImportError::at(file, path, format!("{s:?} is not an IPv4 CIDR")))?;
    if net != net.trunc() {
        return Err(ImportError::at(
            file,
            path,
            format!("{net} is not canonical (host bits are set)"),
        ));
    }
    Ok(net)
}

fn size(net: Ipv4Net) -> u64 {
    1u64 << (32 - net.prefix_len())
}

/// Addresses two CIDRs share: aligned blocks are nested or apart.
fn common(a: Ipv4Net, b: Ipv4Net) -> u64 {
    if nets_overlap(a, b) {
        size(a).min(size(b))
    } else {
        0
    }
}

fn nets_overlap(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b) || b.contains(&a)
}
