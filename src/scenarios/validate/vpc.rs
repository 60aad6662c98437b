//! `[vpc]`: the primary IPv4 CIDR block and the secondary blocks associated with it, held to EC2's rules for
//! association (docs/reference/ec2.md §3.6): each block /16 to /28, none overlapping another, at most the
//! account's quota of blocks, and only the ranges the primary block's range permits.

use super::*;

/// AWS's default quota of IPv4 CIDR blocks per VPC, and the most it raises it to (docs/reference/ec2.md §3.6).
const DEFAULT_CIDR_QUOTA: u32 = 5;
const MAX_CIDR_QUOTA: u32 = 50;
/// An Amazon-provided IPv6 block is always a /56 (docs/reference/ec2.md §6).
const VPC_IPV6_PREFIX_LEN: u8 = 56;

pub(super) fn resolve_vpc(cx: &Ctx<'_>, raw: &RawVpc) -> R<VpcSpec> {
    let cidr = canonical_cidr(cx, &raw.cidr, "vpc.cidr", "VPC")?;
    check_prefix_len(cx, &raw.cidr, "vpc.cidr", cidr, "VPC")?;
    let quota = match &raw.cidr_quota {
        Some(q) => {
            let n = *q.get_ref();
            if !(1..=MAX_CIDR_QUOTA).contains(&n) {
                return Err(cx.error(
                    q.span(),
                    "vpc.cidr_quota",
                    format!("must be from 1 to {MAX_CIDR_QUOTA} (AWS's most), got {n}"),
                ));
            }
            n
        }
        None => DEFAULT_CIDR_QUOTA,
    };
    let mut secondary: Vec<Ipv4Net> = Vec::new();
    for (i, s) in raw.secondary_cidrs.iter().flatten().enumerate() {
        let key = format!("vpc.secondary_cidrs[{i}]");
        let net = canonical_cidr(cx, s, &key, "VPC")?;
        check_prefix_len(cx, s, &key, net, "VPC")?;
        if secondary.len() + 2 > quota as usize {
            return Err(cx.error(
                s.span(),
                key,
                format!(
                    "a VPC may have {quota} IPv4 CIDR blocks (cidr_quota; AWS's default is \
                     {DEFAULT_CIDR_QUOTA}, raised on request up to {MAX_CIDR_QUOTA}); this is block {}",
                    secondary.len() + 2
                ),
            ));
        }
        if let Some(o) = std::iter::once(cidr)
            .chain(secondary.iter().copied())
            .find(|&o| overlaps(interval(o), interval(net)))
        {
            return Err(cx.error(s.span(), key, format!("{net} overlaps the VPC's block {o}")));
        }
        if let Some(why) = association_refused(cidr, net) {
            return Err(cx.error(
                s.span(),
                key,
                format!(
                    "EC2 refuses to associate {net} with a VPC whose primary block is {cidr}: {why}"
                ),
            ));
        }
        secondary.push(net);
    }
    let ipv6_cidr = raw
        .ipv6_cidr
        .as_ref()
        .map(|s| ipv6_cidr(cx, s, "vpc.ipv6_cidr", "VPC", VPC_IPV6_PREFIX_LEN))
        .transpose()?;
    Ok(VpcSpec {
        cidr,
        secondary_cidrs: secondary,
        ipv6_cidr,
    })
}

/// The ranges the association rules name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Range {
    Ten,
    OneSevenTwo,
    OneNineTwo,
    /// 198.19.0.0/16.
    Benchmark,
    /// Publicly routable (not RFC 1918) or 100.64.0.0/10.
    Public,
}

fn net(s: &str) -> Ipv4Net {
    s.parse().expect("a valid CIDR")
}

fn range_of(block: Ipv4Net) -> Range {
    let within = |s: &str| net(s).contains(&block);
    if within("10.0.0.0/8") {
        Range::Ten
    } else if within("172.16.0.0/12") {
        Range::OneSevenTwo
    } else if within("192.168.0.0/16") {
        Range::OneNineTwo
    } else if within("198.19.0.0/16") {
        Range::Benchmark
    } else {
        Range::Public
    }
}

/// Why EC2 refuses to associate `secondary` with a VPC whose primary block is `primary`, if it does: the
/// table of IPv4 CIDR block association restrictions (docs/reference/ec2.md §3.6).
fn association_refused(primary: Ipv4Net, secondary: Ipv4Net) -> Option<&'static str> {
    let (p, s) = (range_of(primary), range_of(secondary));
    let rfc1918 = matches!(s, Range::Ten | Range::OneSevenTwo | Range::OneNineTwo);
    match p {
        Range::Ten | Range::OneSevenTwo | Range::OneNineTwo if rfc1918 && s != p => {
            Some("RFC 1918 ranges other than the primary block's cannot be added")
        }
        Range::Ten
            if net("10.0.0.0/15").contains(&primary) && net("10.0.0.0/16").contains(&secondary) =>
        {
            Some("a primary block in 10.0.0.0/15 rules out blocks from 10.0.0.0/16")
        }
        Range::OneSevenTwo if net("172.31.0.0/16").contains(&secondary) => {
            Some("a primary block in 172.16.0.0/12 rules out blocks from 172.31.0.0/16")
        }
        Range::Benchmark if rfc1918 => {
            Some("a primary block in 198.19.0.0/16 rules out RFC 1918 ranges")
        }
        Range::Benchmark if s == Range::Benchmark => {
            Some("a primary block in 198.19.0.0/16 permits only public ranges and 100.64.0.0/10")
        }
        Range::Public if rfc1918 => {
            Some("a public or 100.64.0.0/10 primary block rules out RFC 1918 ranges")
        }
        _ if s == Range::Benchmark && p != Range::Benchmark => {
            Some("blocks from 198.19.0.0/16 cannot be added to it")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &str, s: &str) -> bool {
        association_refused(net(p), net(s)).is_some()
    }

    /// docs/reference/ec2.md §3.6, the association restrictions table, row by row.
    #[test]
    fn ec2_3_6_the_association_table() {
        // Primary in 10.0.0.0/8.
        assert!(!refused("10.2.0.0/16", "10.3.0.0/16"));
        assert!(!refused("10.2.0.0/16", "100.64.0.0/16"));
        assert!(!refused("10.2.0.0/16", "52.0.0.0/16"));
        assert!(refused("10.2.0.0/16", "172.20.0.0/16"));
        assert!(refused("10.2.0.0/16", "192.168.0.0/16"));
        assert!(refused("10.2.0.0/16", "198.19.0.0/16"));
        assert!(refused("10.1.0.0/16", "10.0.0.0/16"));
        assert!(!refused("10.2.0.0/16", "10.0.0.0/16"));
        // Primary in 172.16.0.0/12.
        assert!(!refused("172.20.0.0/16", "172.21.0.0/16"));
        assert!(refused("172.20.0.0/16", "172.31.0.0/16"));
        assert!(refused("172.20.0.0/16", "10.0.0.0/16"));
        assert!(refused("172.20.0.0/16", "198.19.0.0/16"));
        assert!(!refused("172.20.0.0/16", "100.64.0.0/16"));
        // Primary in 192.168.0.0/16.
        assert!(!refused("192.168.0.0/20", "192.168.16.0/20"));
        assert!(refused("192.168.0.0/20", "10.0.0.0/16"));
        assert!(refused("192.168.0.0/20", "198.19.0.0/16"));
        // Primary in 198.19.0.0/16.
        assert!(refused("198.19.0.0/20", "10.0.0.0/16"));
        assert!(!refused("198.19.0.0/20", "100.64.0.0/16"));
        assert!(!refused("198.19.0.0/20", "52.0.0.0/16"));
        // Primary public or in 100.64.0.0/10.
        assert!(refused("100.64.0.0/16", "10.0.0.0/16"));
        assert!(refused("52.0.0.0/16", "198.19.0.0/16"));
        assert!(!refused("100.64.0.0/16", "100.65.0.0/16"));
        assert!(!refused("52.0.0.0/16", "100.64.0.0/16"));
    }
}
