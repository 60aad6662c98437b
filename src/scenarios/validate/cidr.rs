//! CIDR parsing and the prefix-length and overlap rules of VPCs and subnets (docs/reference/ec2.md §3.1).

use super::*;

pub(super) fn parse_cidr(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<Ipv4Net> {
    s.get_ref().trim().parse::<Ipv4Net>().map_err(|_| {
        cx.error(
            s.span(),
            key,
            format!(
                "\"{}\" is not an IPv4 CIDR (expected e.g. \"10.0.0.0/16\")",
                s.get_ref()
            ),
        )
    })
}

/// Parses a CIDR and insists on its canonical form, as EC2 stores it (docs/reference/ec2.md §3.2).
pub(super) fn canonical_cidr(
    cx: &Ctx<'_>,
    s: &Spanned<String>,
    key: &str,
    what: &str,
) -> R<Ipv4Net> {
    let net = parse_cidr(cx, s, key)?;
    if net != net.trunc() {
        return Err(cx.error(
            s.span(),
            key,
            format!(
                "{what} CIDR {net} is not canonical (host bits are set); write {}",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}

pub(super) fn check_prefix_len(
    cx: &Ctx<'_>,
    s: &Spanned<String>,
    key: &str,
    net: Ipv4Net,
    what: &str,
) -> R<()> {
    if !(MIN_PREFIX..=MAX_PREFIX).contains(&net.prefix_len()) {
        return Err(cx.error(
            s.span(),
            key,
            format!(
                "{what} CIDR {net} has prefix /{}; EC2 allows /{MIN_PREFIX} to /{MAX_PREFIX}",
                net.prefix_len()
            ),
        ));
    }
    Ok(())
}

/// Half-open address interval `[start, end)`.
pub(super) type Interval = (u64, u64);

pub(super) fn interval(net: Ipv4Net) -> Interval {
    let start = u64::from(u32::from(net.network()));
    (start, start + (1u64 << (32 - net.prefix_len())))
}

pub(super) fn overlaps(a: Interval, b: Interval) -> bool {
    a.0 < b.1 && b.0 < a.1
}

pub(super) fn describe_interval(iv: Interval) -> String {
    let first = Ipv4Addr::from(iv.0 as u32);
    let last = Ipv4Addr::from((iv.1 - 1) as u32);
    format!("{first}–{last}")
}

/// An IPv6 CIDR of exactly `/len`, canonical: a VPC's Amazon-provided block is a /56 and a subnet's a /64
/// (docs/reference/ec2.md §6).
pub(super) fn ipv6_cidr(
    cx: &Ctx<'_>,
    s: &Spanned<String>,
    key: &str,
    what: &str,
    len: u8,
) -> R<Ipv6Net> {
    let net = s.get_ref().trim().parse::<Ipv6Net>().map_err(|_| {
        cx.error(
            s.span(),
            key,
            format!(
                "\"{}\" is not an IPv6 CIDR (expected e.g. \"2600:1f14:abc:de00::/56\")",
                s.get_ref()
            ),
        )
    })?;
    if net.prefix_len() != len {
        return Err(cx.error(
            s.span(),
            key,
            format!(
                "{what} IPv6 CIDR {net} is a /{}; EC2 gives {what}s a /{len}",
                net.prefix_len()
            ),
        ));
    }
    if net != net.trunc() {
        return Err(cx.error(
            s.span(),
            key,
            format!(
                "{what} IPv6 CIDR {net} is not canonical (host bits are set); write {}",
                net.trunc()
            ),
        ));
    }
    Ok(net)
}
