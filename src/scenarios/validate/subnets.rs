//! `[[subnets]]`: CIDRs, CIDR reservations, addresses already in use, and other tenants.

use super::*;
use crate::sim::vpc::ipv6::SUBNET_PREFIX_LEN;

pub(super) fn resolve_subnet(
    cx: &Ctx<'_>,
    i: usize,
    s: Spanned<RawSubnet>,
    vpc: &VpcSpec,
    earlier: &[SubnetSpec],
) -> R<SubnetSpec> {
    let base = format!("subnets[{i}]");
    let s = s.into_inner();
    let names = earlier.iter().map(|o| o.name.as_str());
    let name = unique_name(cx, &s.name, &join(&base, "name"), "subnet", names, |j| {
        format!("(also subnets[{j}])")
    })?;

    let cidr_key = join(&base, "cidr");
    let cidr = canonical_cidr(cx, &s.cidr, &cidr_key, "subnet")?;
    check_prefix_len(cx, &s.cidr, &cidr_key, cidr, "subnet")?;
    if !vpc.blocks().any(|b| b.contains(&cidr)) {
        let blocks: Vec<String> = vpc.blocks().map(|b| b.to_string()).collect();
        return Err(cx.error(
            s.cidr.span(),
            cidr_key,
            format!(
                "subnet {cidr} lies outside the VPC's CIDR blocks ({})",
                blocks.join(", ")
            ),
        ));
    }
    if let Some((j, o)) = earlier
        .iter()
        .enumerate()
        .find(|(_, o)| overlaps(interval(o.cidr), interval(cidr)))
    {
        return Err(cx.error(
            s.cidr.span(),
            cidr_key,
            format!(
                "subnet {cidr} overlaps subnets[{j}] \"{}\" ({})",
                o.name, o.cidr
            ),
        ));
    }

    let ipv6_cidr = match &s.ipv6_cidr {
        Some(v6) => Some(resolve_subnet_ipv6(cx, &base, v6, vpc, earlier)?),
        None => None,
    };

    let mut reservations = Vec::new();
    let mut reserved: Vec<Interval> = Vec::new();
    for (r, raw) in s.reservations.unwrap_or_default().into_iter().enumerate() {
        let key = format!("{base}.reservations[{r}]");
        if let Some((spec, iv)) = resolve_reservation(cx, &key, raw, cidr, &reserved)? {
            reservations.push(spec);
            reserved.push(iv);
        }
    }

    let in_use = match s.in_use {
        Some(u) => resolve_in_use(cx, &join(&base, "in_use"), u, cidr, &reserved)?,
        None => InUseSpec::default(),
    };

    let mut tenants: Vec<TenantSpec> = Vec::new();
    for (t, raw) in s.tenants.unwrap_or_default().into_iter().enumerate() {
        let key = format!("{base}.tenants[{t}]");
        tenants.push(resolve_tenant(cx, &key, raw, &tenants)?);
    }

    Ok(SubnetSpec {
        name,
        cidr,
        ipv6_cidr,
        az: s.az,
        tags: s.tags.unwrap_or_default().into_iter().collect(),
        placement: s.secondary_ip_placement.unwrap_or_default(),
        reservations,
        in_use,
        tenants,
    })
}

/// A dual-stack subnet's /64: inside the VPC's /56, overlapping no earlier subnet's (docs/reference/ec2.md §6).
fn resolve_subnet_ipv6(
    cx: &Ctx<'_>,
    base: &str,
    raw: &Spanned<String>,
    vpc: &VpcSpec,
    earlier: &[SubnetSpec],
) -> R<Ipv6Net> {
    let key = join(base, "ipv6_cidr");
    let net = ipv6_cidr(cx, raw, &key, "subnet", SUBNET_PREFIX_LEN)?;
    let Some(block) = vpc.ipv6_cidr else {
        return Err(cx.error(
            raw.span(),
            key,
            "a dual-stack subnet needs the VPC's IPv6 block: give [vpc] an ipv6_cidr = \"…/56\"",
        ));
    };
    if !block.contains(&net) {
        return Err(cx.error(
            raw.span(),
            key,
            format!("subnet IPv6 block {net} lies outside the VPC's IPv6 block {block}"),
        ));
    }
    if let Some((j, o)) = earlier
        .iter()
        .enumerate()
        .find(|(_, o)| o.ipv6_cidr == Some(net))
    {
        return Err(cx.error(
            raw.span(),
            key,
            format!(
                "subnet IPv6 block {net} is also subnets[{j}] \"{}\"'s",
                o.name
            ),
        ));
    }
    Ok(net)
}

/// The address interval a percentage reservation resolves to: round(p/100 × blocks) whole /28 blocks, at least
/// one, at the top or bottom of the subnet.
pub(crate) fn percent_interval(subnet: Ipv4Net, percent: f64, top: bool) -> Interval {
    let (start, end) = interval(subnet);
    let blocks = (end - start).div_ceil(BLOCK);
    let n = ((percent / 100.0 * blocks as f64).round() as u64).clamp(1, blocks);
    let len = (n * BLOCK).min(end - start);
    if top {
        (end - len, end)
    } else {
        (start, start + len)
    }
}

pub(super) fn resolve_reservation(
    cx: &Ctx<'_>,
    key: &str,
    raw: Spanned<RawReservation>,
    subnet: Ipv4Net,
    earlier: &[Interval],
) -> R<Option<(ReservationSpec, Interval)>> {
    let table_span = raw.span();
    let r = raw.into_inner();
    let given: Vec<(&str, Range<usize>)> = [
        ("cidr", r.cidr.as_ref().map(|v| v.span())),
        ("top_percent", r.top_percent.as_ref().map(|v| v.span())),
        (
            "bottom_percent",
            r.bottom_percent.as_ref().map(|v| v.span()),
        ),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    match given.as_slice() {
        [] => {
            return Err(cx.error(
                table_span,
                key,
                "a reservation needs exactly one of `cidr`, `top_percent` or `bottom_percent`",
            ));
        }
        [_] => {}
        [(first, _), (second, span), ..] => {
            return Err(cx.error(
                span.clone(),
                join(key, second),
                format!("give only one of `cidr`, `top_percent` or `bottom_percent` (`{first}` is also set)"),
            ));
        }
    }

    let (range, iv, value_key, value_span, what) = if let Some(c) = &r.cidr {
        let ck = join(key, "cidr");
        let net = parse_cidr(cx, c, &ck)?;
        if net != net.trunc() {
            let msg = if r.kind == ReservationKind::Prefix {
                format!(
                    "prefix reservation {net} is not aligned to its size (host bits are set); write {}",
                    net.trunc()
                )
            } else {
                format!(
                    "reservation CIDR {net} is not canonical (host bits are set); write {}",
                    net.trunc()
                )
            };
            return Err(cx.error(c.span(), ck, msg));
        }
        if !subnet.contains(&net) {
            return Err(cx.error(
                c.span(),
                ck,
                format!("reservation {net} lies outside subnet {subnet}"),
            ));
        }
        if r.kind == ReservationKind::Prefix && net.prefix_len() > MAX_PREFIX {
            return Err(cx.error(
                c.span(),
                ck,
                format!(
                    "prefix reservation {net} is smaller than a /28 block; a prefix reservation must cover whole aligned /28 blocks"
                ),
            ));
        }
        (
            ReservationRange::Cidr(net),
            interval(net),
            ck,
            c.span(),
            net.to_string(),
        )
    } else {
        let (p, top, k) = match (&r.top_percent, &r.bottom_percent) {
            (Some(p), _) => (p, true, "top_percent"),
            (None, Some(p)) => (p, false, "bottom_percent"),
            (None, None) => unreachable!("checked above"),
        };
        let pk = join(key, k);
        let v = *p.get_ref();
        if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
            return Err(cx.error(
                p.span(),
                pk,
                format!("must be a percentage from 0 to 100, got {v}"),
            ));
        }
        // 0 % reserves nothing: the baseline of a sweep over reservation sizes.
        if v == 0.0 {
            return Ok(None);
        }
        let iv = percent_interval(subnet, v, top);
        let range = if top {
            ReservationRange::TopPercent(v)
        } else {
            ReservationRange::BottomPercent(v)
        };
        let what = format!(
            "{} {v} % ({})",
            if top { "top" } else { "bottom" },
            describe_interval(iv)
        );
        (range, iv, pk, p.span(), what)
    };

    if let Some(j) = earlier.iter().position(|o| overlaps(*o, iv)) {
        let base = key.rsplit_once('[').map_or(key, |(b, _)| b);
        return Err(cx.error(
            value_span,
            value_key,
            format!(
                "reservation {what} overlaps {base}[{j}] ({})",
                describe_interval(earlier[j])
            ),
        ));
    }
    Ok(Some((
        ReservationSpec {
            kind: r.kind,
            range,
        },
        iv,
    )))
}

pub(super) fn resolve_in_use(
    cx: &Ctx<'_>,
    key: &str,
    u: RawInUse,
    subnet: Ipv4Net,
    reserved: &[Interval],
) -> R<InUseSpec> {
    let (start, end) = interval(subnet);
    let size = end - start;
    let aws_reserved = |a: u64| a < start + 4 || a == end - 1;
    let mut addresses: Vec<Ipv4Addr> = Vec::new();
    for (i, a) in u.addresses.unwrap_or_default().iter().enumerate() {
        let k = format!("{key}.addresses[{i}]");
        let addr: Ipv4Addr = a.get_ref().trim().parse().map_err(|_| {
            cx.error(
                a.span(),
                &k,
                format!(
                    "\"{}\" is not an IPv4 address (expected e.g. \"10.0.0.9\")",
                    a.get_ref()
                ),
            )
        })?;
        let n = u64::from(u32::from(addr));
        if !subnet.contains(&addr) {
            return Err(cx.error(
                a.span(),
                k,
                format!("address {addr} lies outside subnet {subnet}"),
            ));
        }
        if aws_reserved(n) {
            return Err(cx.error(
                a.span(),
                k,
                format!(
                    "address {addr} is one of the 5 addresses AWS reserves in subnet {subnet} (the first four and the last)"
                ),
            ));
        }
        if let Some(j) = addresses.iter().position(|o| *o == addr) {
            return Err(cx.error(
                a.span(),
                k,
                format!("address {addr} is listed twice (also {key}.addresses[{j}])"),
            ));
        }
        addresses.push(addr);
    }
    let prefixes = resolve_held_prefixes(cx, key, u.prefixes, subnet, &addresses)?;
    let count = u.count.as_ref().map_or(0, |c| *c.get_ref());
    if let Some(c) = &u.count {
        // Placed addresses go to free, unreserved addresses (crate::sim::vpc::InitialPlacement).
        let in_reservation = |a: u64| reserved.iter().any(|&(s, e)| s <= a && a < e);
        let reserved_usable: u64 = reserved
            .iter()
            .map(|&(s, e)| (s..e).filter(|&a| !aws_reserved(a)).count() as u64)
            .sum();
        let listed_outside = addresses
            .iter()
            .filter(|a| !in_reservation(u64::from(u32::from(**a))))
            .count() as u64
            + BLOCK
                * prefixes
                    .iter()
                    .filter(|p| !in_reservation(u64::from(u32::from(p.network()))))
                    .count() as u64;
        let room = size - 5 - reserved_usable - listed_outside;
        if u64::from(count) > room {
            return Err(cx.error(
                c.span(),
                join(key, "count"),
                format!(
                    "{count} addresses do not fit: subnet {subnet} has {room} free addresses outside its reservations and the listed `addresses` and `prefixes`"
                ),
            ));
        }
    }
    let total = count + addresses.len() as u32;
    let drain = resolve_drain(cx, key, u.release, u.hold, total)?;
    Ok(InUseSpec {
        count,
        placement: u.placement.unwrap_or_default(),
        addresses,
        prefixes,
        drain,
    })
}

/// `prefixes`: /28 blocks held as delegated prefixes. Each canonical and aligned, inside the subnet, holding
/// none of the five AWS-reserved addresses (EC2 never delegates such a block, docs/reference/ec2.md §3.2), and
/// overlapping neither another listed prefix nor a listed address.
fn resolve_held_prefixes(
    cx: &Ctx<'_>,
    key: &str,
    raw: Option<Vec<Spanned<String>>>,
    subnet: Ipv4Net,
    addresses: &[Ipv4Addr],
) -> R<Vec<Ipv4Net>> {
    let (start, end) = interval(subnet);
    let mut prefixes: Vec<Ipv4Net> = Vec::new();
    for (i, p) in raw.unwrap_or_default().iter().enumerate() {
        let k = format!("{key}.prefixes[{i}]");
        let net = parse_cidr(cx, p, &k)?;
        let fail = |msg: String| Err(cx.error(p.span(), &k, msg));
        if net.prefix_len() != MAX_PREFIX {
            return fail(format!(
                "{net} is not a /28: a delegated IPv4 prefix is always one /28 block"
            ));
        }
        if net != net.trunc() {
            return fail(format!(
                "prefix {net} is not aligned to its size (host bits are set); write {}",
                net.trunc()
            ));
        }
        if !subnet.contains(&net) {
            return fail(format!("prefix {net} lies outside subnet {subnet}"));
        }
        let (s, e) = interval(net);
        if s < start + 4 || e == end {
            return fail(format!(
                "prefix {net} holds one of the 5 addresses AWS reserves in subnet {subnet}, so EC2 never delegates it"
            ));
        }
        if let Some(j) = prefixes.iter().position(|o| *o == net) {
            return fail(format!(
                "prefix {net} is listed twice (also {key}.prefixes[{j}])"
            ));
        }
        if let Some(j) = addresses.iter().position(|a| net.contains(a)) {
            return fail(format!(
                "prefix {net} overlaps address {} ({key}.addresses[{j}]): an address is held singly or in a prefix, not both",
                addresses[j]
            ));
        }
        prefixes.push(net);
    }
    Ok(prefixes)
}

/// `release` (a schedule sorted by time whose counts add up to at most the `total` addresses in use) or
/// `hold` (a distribution), not both.
fn resolve_drain(
    cx: &Ctx<'_>,
    key: &str,
    release: Option<Vec<Spanned<RawRelease>>>,
    hold: Option<Spanned<DurationDist>>,
    total: u32,
) -> R<InUseDrain> {
    match (release, hold) {
        (Some(_), Some(h)) => Err(cx.error(
            h.span(),
            join(key, "hold"),
            "give `release` or `hold`, not both",
        )),
        (None, Some(h)) => Ok(InUseDrain::Hold(h.into_inner())),
        (None, None) => Ok(InUseDrain::Never),
        (Some(steps), None) => {
            let mut out: Vec<Release> = Vec::with_capacity(steps.len());
            let mut released = 0u64;
            for (k, step) in steps.iter().enumerate() {
                let s = step.get_ref();
                let at = *s.at.get_ref();
                if let Some(prev) = out.last().filter(|p| p.at > at) {
                    return Err(cx.error(
                        s.at.span(),
                        format!("{key}.release[{k}].at"),
                        format!(
                            "releases must be sorted by time: {at} comes after {} of release[{}]",
                            prev.at,
                            k - 1
                        ),
                    ));
                }
                let ck = format!("{key}.release[{k}].count");
                let count = positive_u32(cx, &s.count, &ck)?;
                released += u64::from(count);
                if released > u64::from(total) {
                    return Err(cx.error(
                        s.count.span(),
                        ck,
                        format!(
                            "the releases up to here add up to {released} addresses, more than the {total} in use (`count` plus `addresses`)"
                        ),
                    ));
                }
                out.push(Release { at, count });
            }
            Ok(InUseDrain::Schedule(out))
        }
    }
}

pub(super) fn resolve_tenant(
    cx: &Ctx<'_>,
    key: &str,
    raw: Spanned<RawTenant>,
    earlier: &[TenantSpec],
) -> R<TenantSpec> {
    let t = raw.into_inner();
    let names = earlier.iter().map(|o| o.name.as_str());
    let name = unique_name(cx, &t.name, &join(key, "name"), "tenant", names, |_| {
        "in this subnet".to_string()
    })?;
    if !dist_is_positive(t.interarrival.get_ref()) {
        return Err(cx.error(
            t.interarrival.span(),
            join(key, "interarrival"),
            "interarrival time must be positive (a zero interarrival never lets time advance)",
        ));
    }
    // As for pods: gaps shorter than simulated time's microsecond on average mostly round to zero.
    let mean = t.interarrival.get_ref().mean_secs();
    if mean < 1e-6 {
        return Err(cx.error(
            t.interarrival.span(),
            join(key, "interarrival"),
            format!(
                "interarrival time averages {:.2}us, less than 1us, simulated time's tick: the gaps would \
                 round to zero",
                mean * 1e6
            ),
        ));
    }
    let max_in_use = match &t.max_in_use {
        Some(m) => Some(positive_u32(cx, m, &join(key, "max_in_use"))?),
        None => None,
    };
    Ok(TenantSpec {
        name,
        interarrival: *t.interarrival.get_ref(),
        hold: t.hold,
        max_in_use,
    })
}
