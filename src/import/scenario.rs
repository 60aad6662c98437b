//! The scenario file an import writes: the VPC's blocks, each subnet with exactly the addresses and prefixes its
//! ENIs hold and its reservations, and the inferred node groups, with comments saying where each part came from.
//! Pods and workloads are not imported.

use std::fmt::Write;

use ipnet::Ipv4Net;

use super::error::ImportError;
use super::model::{Availability, Model, Subnet};

/// A VPC's IPv4 block quota without a raise, and the most it can be raised to (docs/reference/ec2.md §3.6).
const DEFAULT_BLOCK_QUOTA: usize = 5;
const MAX_BLOCK_QUOTA: usize = 50;

/// The input files' names, for the comments.
pub struct Sources<'a> {
    pub subnets: &'a str,
    pub enis: &'a str,
    pub reservations: Option<&'a str>,
    pub instances: Option<&'a str>,
}

/// What to write besides the imported state.
pub struct Options {
    /// Add each subnet's unseen addresses (AWS's count below the ENIs') as randomly placed `in_use.count`.
    pub fill_unseen: bool,
}

/// The scenario text, and the notes for stderr (one per subnet whose count does not agree).
pub fn write(
    model: &Model,
    sources: &Sources<'_>,
    opts: &Options,
) -> Result<(String, Vec<String>), ImportError> {
    let mut notes = Vec::new();
    let mut t = String::new();
    header(&mut t, model, sources);
    let name = if model.vpc_id.is_empty() {
        "imported"
    } else {
        &model.vpc_id
    };
    let _ = writeln!(t, "name = {}", quote(name));
    let _ = writeln!(
        t,
        "duration = \"1h\"    # a placeholder: set the time to simulate\n"
    );
    vpc(&mut t, model, sources.subnets)?;
    for s in &model.subnets {
        subnet(&mut t, s, opts, &mut notes);
    }
    node_groups(&mut t, model, sources.instances);
    Ok((t, notes))
}

fn header(t: &mut String, m: &Model, src: &Sources<'_>) {
    let _ = writeln!(
        t,
        "# Imported by `vpcsim import` from the AWS CLI's output:"
    );
    let _ = writeln!(
        t,
        "#   {}: {} subnets of {} (aws ec2 describe-subnets)",
        src.subnets,
        m.subnets.len(),
        m.vpc_id
    );
    let types: Vec<String> = m
        .enis
        .by_type
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let _ = writeln!(
        t,
        "#   {}: {} ENIs ({}) (aws ec2 describe-network-interfaces):\n#     {} requester-managed, {} unattached \
         (status available), {} attached to {} instances ({} as the primary ENI, {} with DeleteOnTermination false)",
        src.enis,
        m.enis.total,
        if types.is_empty() {
            "none".to_string()
        } else {
            types.join(", ")
        },
        m.enis.requester_managed,
        m.enis.unattached,
        m.enis.total - m.enis.unattached,
        m.enis.instances.len(),
        m.enis.primary,
        m.enis.kept_on_termination
    );
    if let Some(r) = src.reservations {
        let n: usize = m.subnets.iter().map(|s| s.reservations.len()).sum();
        let _ = writeln!(
            t,
            "#   {r}: {n} IPv4 CIDR reservations{} (aws ec2 get-subnet-cidr-reservations)",
            if m.ipv6_reservations > 0 {
                format!(
                    "; {} IPv6 ones left out (vpcsim simulates IPv4)",
                    m.ipv6_reservations
                )
            } else {
                String::new()
            }
        );
    }
    if let (Some(f), Some(i)) = (src.instances, &m.instances) {
        let _ = writeln!(
            t,
            "#   {f}: {} pending or running instances in these subnets; {} in other subnets and {} stopped or \
             terminated left out (aws ec2 describe-instances)",
            i.running, i.elsewhere, i.not_running
        );
    }
    let _ = writeln!(
        t,
        "# Every address and /28 prefix the ENIs hold is in use from the start and held for the whole run.\n\
         # Pods and workloads are not imported: add [[node_groups]] and [[workloads]] to simulate churn.\n"
    );
}

/// `[vpc]`: the smallest block holding every subnet, or, when that is wider than a /16 (a VPC block's
/// largest size), one block per /16 the subnets lie in: the lowest primary, the rest secondary.
fn vpc(t: &mut String, m: &Model, file: &str) -> Result<(), ImportError> {
    let nets: Vec<Ipv4Net> = m.subnets.iter().map(|s| s.cidr).collect();
    let all = smallest_block(&nets);
    let blocks: Vec<Ipv4Net> = if all.prefix_len() >= 16 {
        vec![all]
    } else {
        let mut by16: Vec<Ipv4Net> = nets
            .iter()
            .map(|n| {
                Ipv4Net::new(n.network(), 16)
                    .expect("16 is a prefix length")
                    .trunc()
            })
            .collect();
        by16.sort();
        by16.dedup();
        by16.into_iter()
            .map(|b| {
                let inside: Vec<Ipv4Net> = nets.iter().copied().filter(|n| b.contains(n)).collect();
                smallest_block(&inside)
            })
            .collect()
    };
    if blocks.len() > MAX_BLOCK_QUOTA {
        return Err(ImportError::file(
            file,
            format!(
                "the subnets lie in {} different /16s; a VPC has at most {MAX_BLOCK_QUOTA} IPv4 blocks",
                blocks.len()
            ),
        ));
    }
    let _ = writeln!(
        t,
        "# The smallest block{} holding the subnets (not the VPC's own blocks, which describe-subnets does not give).",
        if blocks.len() > 1 { "s" } else { "" }
    );
    let _ = writeln!(t, "[vpc]\ncidr = {}", quote(&blocks[0].to_string()));
    if blocks.len() > 1 {
        let rest: Vec<String> = blocks[1..].iter().map(|b| quote(&b.to_string())).collect();
        let _ = writeln!(t, "secondary_cidrs = [{}]", rest.join(", "));
    }
    if blocks.len() > DEFAULT_BLOCK_QUOTA {
        let _ = writeln!(t, "cidr_quota = {}", blocks.len());
    }
    t.push('\n');
    Ok(())
}

/// The smallest aligned block containing every net.
fn smallest_block(nets: &[Ipv4Net]) -> Ipv4Net {
    let mut b = nets[0];
    while !nets.iter().all(|n| b.contains(n)) {
        b = b.supernet().expect("0.0.0.0/0 contains every net");
    }
    b
}

fn subnet(t: &mut String, s: &Subnet, opts: &Options, notes: &mut Vec<String>) {
    let held = s.addresses.len() + 16 * s.prefixes.len();
    let _ = writeln!(
        t,
        "# {}: {} ENIs hold {} addresses singly and {} /28 prefixes ({held} addresses); {} free by their count.",
        s.id,
        s.enis,
        s.addresses.len(),
        s.prefixes.len(),
        s.free_by_enis()
    );
    let free_outside = s.free_by_enis() - s.free_in_reservations();
    let mut unseen = None;
    match s.availability() {
        Availability::Agrees { counts_reserved } => {
            let _ = writeln!(
                t,
                "# AvailableIpAddressCount {} agrees{}.",
                s.aws_available,
                if s.reservations.is_empty() {
                    String::new()
                } else if counts_reserved {
                    " (it counts the reservations' free addresses)".to_string()
                } else {
                    " (it leaves out the reservations' free addresses)".to_string()
                }
            );
        }
        Availability::Unseen(n) => {
            let msg = format!(
                "{} ({}): AvailableIpAddressCount is {} but the ENIs leave {free_outside} free outside reservations: \
                 {n} addresses are in use by ENIs the files do not show (other accounts' or services' ENIs the \
                 caller could not see)",
                s.id, s.name, s.aws_available
            );
            let _ = writeln!(t, "# MISMATCH: {msg}.");
            if opts.fill_unseen {
                let _ = writeln!(
                    t,
                    "# --fill-unseen: they are placed at random below (`count`), outside the reservations."
                );
                unseen = Some(n);
            } else {
                let _ = writeln!(
                    t,
                    "# Not simulated: import with --fill-unseen to place them at random as `in_use.count`."
                );
            }
            notes.push(msg);
        }
        Availability::MoreThanFree(n) => {
            let msg = format!(
                "{} ({}): AvailableIpAddressCount is {} but the ENIs leave only {} free ({free_outside} outside \
                 reservations): {n} more than the ENIs allow; were the files taken at different times?",
                s.id,
                s.name,
                s.aws_available,
                s.free_by_enis()
            );
            let _ = writeln!(t, "# MISMATCH: {msg}");
            notes.push(msg);
        }
    }
    let _ = writeln!(t, "[[subnets]]");
    let _ = writeln!(t, "name = {}", quote(&s.name));
    let _ = writeln!(t, "cidr = {}", quote(&s.cidr.to_string()));
    let _ = writeln!(t, "az = {}", quote(&s.az));
    if !s.tags.is_empty() {
        let tags: Vec<String> = s
            .tags
            .iter()
            .map(|(k, v)| format!("{} = {}", quote(k), quote(v)))
            .collect();
        let _ = writeln!(t, "tags = {{ {} }}", tags.join(", "));
    }
    for r in &s.reservations {
        let _ = writeln!(
            t,
            "\n[[subnets.reservations]]    # {}\ntype = {}\ncidr = {}",
            r.id,
            quote(&r.kind),
            quote(&r.cidr.to_string())
        );
    }
    if held > 0 || unseen.is_some() {
        let _ = writeln!(t, "\n[subnets.in_use]");
        list(t, "addresses", s.addresses.iter().map(|a| a.to_string()));
        list(t, "prefixes", s.prefixes.iter().map(|p| p.to_string()));
        if let Some(n) = unseen {
            let _ = writeln!(t, "count = {n}\nplacement = \"random\"");
        }
    }
    t.push('\n');
}

/// `key = [...]`, eight values a line; nothing when empty.
fn list(t: &mut String, key: &str, values: impl Iterator<Item = String>) {
    let values: Vec<String> = values.map(|v| quote(&v)).collect();
    if values.is_empty() {
        return;
    }
    let _ = writeln!(t, "{key} = [");
    for line in values.chunks(8) {
        let _ = writeln!(t, "    {},", line.join(", "));
    }
    let _ = writeln!(t, "]");
}

fn node_groups(t: &mut String, m: &Model, file: Option<&str>) {
    let (Some(file), Some(inst)) = (file, &m.instances) else {
        return;
    };
    let _ = writeln!(
        t,
        "# Node groups inferred from {file}: the pending and running instances by instance type and group\n\
         # tag (eks:nodegroup-name, karpenter.sh/nodepool or aws:autoscaling:groupName). Commented out: their\n\
         # nodes' addresses are already in use above, and a group here launches new nodes beside them.\n\
         # Uncomment one to simulate replacing or adding such nodes."
    );
    for g in &inst.groups {
        let subnets: Vec<String> = g.subnets.iter().map(|s| quote(s)).collect();
        let from = g
            .source
            .as_ref()
            .map_or("no group tag".to_string(), |(k, v)| {
                format!("tag {k} = {v}")
            });
        let _ = writeln!(
            t,
            "\n# [[node_groups]]    # inferred: {} instances, {from}\n# name = {}\n# instance_type = {}\n\
             # count = {}\n# subnets = [{}]",
            g.count,
            quote(&g.name),
            quote(&g.instance_type),
            g.count,
            subnets.join(", ")
        );
    }
}

/// A TOML basic string: JSON's escapes are TOML's.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}
