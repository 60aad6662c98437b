//! Semantic checks: raw structs in, resolved [`Scenario`] out, or the first error with its location.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::ops::Range;

use ipnet::Ipv4Net;
use toml::Spanned;

use super::location::join;
use super::raw::{
    RawAccount, RawAllocatable, RawBucket, RawCpu, RawEc2, RawEniConfig, RawInUse, RawIpamd,
    RawKubelet, RawNodeGroup, RawNodeLifecycle, RawProvisioner, RawReservation, RawSandboxRetry,
    RawScheduler, RawSubnet, RawTenant, RawWorkload,
};
use super::{
    Allocatable, Ctx, DayCurve, KubeSpec, NodeGroupSpec, PodShape, ProvisionerSpec, RolloutSpec,
    SandboxRetry, ScaleStep, Scenario, ScenarioError, SubnetSpec, VpcSpec, WorkloadKind,
    WorkloadSpec, trace,
};
use crate::sim::dist::DurationDist;
use crate::sim::ec2::action::{Action, ActionLimits, BucketSpec};
use crate::sim::ec2::config::{AccountConfig, Ec2Config};
use crate::sim::ec2::instance_types::{self, InstanceType};
use crate::sim::ec2::max_pods::{self, MaxPodsError, MaxPodsOptions};
use crate::sim::ipamd::config::{
    EniConfig, EnvValue, IpamdConfig, MANIFEST_WARM_PREFIX_TARGET, parse_bool, parse_cooldown,
    parse_ip_target, parse_max_eni, parse_target_or_default,
};
use crate::sim::time::SimDuration;
use crate::sim::vpc::{
    InUseSpec, ReservationKind, ReservationRange, ReservationSpec, SubnetId, TenantSpec,
};

type R<T> = Result<T, ScenarioError>;

/// Smallest and largest subnet (and VPC) prefix lengths EC2 accepts (docs/reference/ec2.md §3.1).
const MIN_PREFIX: u8 = 16;
const MAX_PREFIX: u8 = 28;
/// Addresses in one prefix-delegation block (/28).
const BLOCK: u64 = 16;
const DEFAULT_ACCOUNT: &str = "default";
/// Time-series rows a run may have: a day at 0.1 s, a year at 40 s. Keeps timeseries.csv and memory sane.
pub const MAX_SAMPLES: u64 = 1_000_000;

pub(crate) fn resolve(raw: super::raw::RawScenario, cx: &Ctx<'_>) -> R<Scenario> {
    let name = folder_name(cx, &raw.name, "name")?;
    let duration = positive_duration(cx, &raw.duration, "duration")?;
    let sample_interval = match &raw.sample_interval {
        Some(d) => positive_duration(cx, d, "sample_interval")?,
        None => SimDuration::from_secs(10),
    };
    let samples = duration.0 / sample_interval.0;
    if samples > MAX_SAMPLES {
        let (span, key) = match &raw.sample_interval {
            Some(d) => (d.span(), "sample_interval"),
            None => (raw.duration.span(), "duration"),
        };
        return Err(cx.error(
            span,
            key,
            format!(
                "{duration} sampled every {sample_interval} is {samples} samples, more than {MAX_SAMPLES}; \
                 make sample_interval longer"
            ),
        ));
    }
    let vpc_cidr = canonical_cidr(cx, &raw.vpc.cidr, "vpc.cidr", "VPC")?;
    check_prefix_len(cx, &raw.vpc.cidr, "vpc.cidr", vpc_cidr, "VPC")?;

    let mut ec2 = Ec2Config {
        accounts: resolve_accounts(cx, raw.accounts)?,
        ..Ec2Config::default()
    };
    if let Some(e) = raw.ec2 {
        apply_ec2(cx, e, &mut ec2)?;
    }

    if raw.subnets.get_ref().is_empty() {
        return Err(cx.error(
            raw.subnets.span(),
            "subnets",
            "at least one subnet is required",
        ));
    }
    let mut subnets: Vec<SubnetSpec> = Vec::new();
    for (i, s) in raw.subnets.into_inner().into_iter().enumerate() {
        let spec = resolve_subnet(cx, i, s, vpc_cidr, &subnets)?;
        subnets.push(spec);
    }

    let mut node_groups: Vec<NodeGroupSpec> = Vec::new();
    for (i, g) in raw.node_groups.unwrap_or_default().into_iter().enumerate() {
        let spec = resolve_node_group(cx, i, g, &node_groups, &subnets, &ec2, raw.ipamd.as_ref())?;
        node_groups.push(spec);
    }

    let kube = resolve_kube(cx, raw.kubelet, raw.node_lifecycle, raw.scheduler)?;

    // After the node groups, which workloads refer to.
    let mut workloads: Vec<WorkloadSpec> = Vec::new();
    for (i, w) in raw.workloads.unwrap_or_default().into_iter().enumerate() {
        let spec = resolve_workload(cx, i, w, &workloads, &node_groups)?;
        workloads.push(spec);
    }

    Ok(Scenario {
        name,
        seed: raw.seed.unwrap_or(1),
        duration,
        sample_interval,
        vpc: VpcSpec { cidr: vpc_cidr },
        subnets,
        ec2,
        node_groups,
        kube,
        workloads,
        inputs: cx.inputs(),
    })
}

// ---------------------------------------------------------------------------------------------------------
// Small checks

fn non_empty(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<String> {
    if s.get_ref().trim().is_empty() {
        Err(cx.error(s.span(), key, "must not be empty"))
    } else {
        Ok(s.get_ref().clone())
    }
}

/// A name that can name a folder of its own under `output/`: one plain path component, so that a run never
/// writes outside it (`../x`, `/etc`, `C:x`).
fn folder_name(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<String> {
    let name = non_empty(cx, s, key)?;
    let plain = !name.contains(['/', '\\', ':', '\0'])
        && matches!(
            std::path::Path::new(&name).components().collect::<Vec<_>>().as_slice(),
            [std::path::Component::Normal(c)] if **c == *name
        );
    if plain {
        Ok(name)
    } else {
        Err(cx.error(
            s.span(),
            key,
            format!(
                "{name:?} is not a plain file name: it names the output folder (output/NAME/), so it may not \
                 be `.` or `..` nor hold `/`, `\\`, `:` or NUL"
            ),
        ))
    }
}

/// A non-empty name that none of `earlier` already has; `where_(j)` ends the error message, saying where the
/// first one is.
fn unique_name<'a>(
    cx: &Ctx<'_>,
    s: &Spanned<String>,
    key: &str,
    what: &str,
    earlier: impl IntoIterator<Item = &'a str>,
    where_: impl Fn(usize) -> String,
) -> R<String> {
    let name = non_empty(cx, s, key)?;
    match earlier.into_iter().position(|o| o == name) {
        Some(j) => Err(cx.error(
            s.span(),
            key,
            format!("duplicate {what} name \"{name}\" {}", where_(j)),
        )),
        None => Ok(name),
    }
}

fn positive_duration(cx: &Ctx<'_>, d: &Spanned<SimDuration>, key: &str) -> R<SimDuration> {
    if *d.get_ref() == SimDuration::ZERO {
        Err(cx.error(d.span(), key, "must be a positive duration, got 0s"))
    } else {
        Ok(*d.get_ref())
    }
}

/// Far beyond any EKS cluster, and it keeps every launch event within the engine's pending-event capacity.
pub(crate) const MAX_NODES_PER_GROUP: u32 = 100_000;

fn positive_u32(cx: &Ctx<'_>, v: &Spanned<u32>, key: &str) -> R<u32> {
    if *v.get_ref() == 0 {
        Err(cx.error(v.span(), key, "must be a positive integer, got 0"))
    } else {
        Ok(*v.get_ref())
    }
}

/// Whether a distribution can produce anything but zero: interarrival times must.
fn dist_is_positive(d: &DurationDist) -> bool {
    let zero = SimDuration::ZERO;
    match *d {
        DurationDist::Fixed(v) => v > zero,
        DurationDist::Uniform { max, .. } => max > zero,
        DurationDist::Exponential { mean, max } => mean > zero && max.is_none_or(|m| m > zero),
        DurationDist::LogNormal { median, max, .. } => {
            median > zero && max.is_none_or(|m| m > zero)
        }
    }
}

fn parse_action(cx: &Ctx<'_>, name: &Spanned<String>, key: &str) -> R<Action> {
    name.get_ref()
        .parse::<Action>()
        .map_err(|e| cx.error(name.span(), key, e))
}

// ---------------------------------------------------------------------------------------------------------
// CIDRs

fn parse_cidr(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<Ipv4Net> {
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
fn canonical_cidr(cx: &Ctx<'_>, s: &Spanned<String>, key: &str, what: &str) -> R<Ipv4Net> {
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

fn check_prefix_len(
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
type Interval = (u64, u64);

fn interval(net: Ipv4Net) -> Interval {
    let start = u64::from(u32::from(net.network()));
    (start, start + (1u64 << (32 - net.prefix_len())))
}

fn overlaps(a: Interval, b: Interval) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn describe_interval(iv: Interval) -> String {
    let first = Ipv4Addr::from(iv.0 as u32);
    let last = Ipv4Addr::from((iv.1 - 1) as u32);
    format!("{first}–{last}")
}

// ---------------------------------------------------------------------------------------------------------
// Accounts and EC2 settings

fn bucket(cx: &Ctx<'_>, b: &RawBucket, key: &str) -> R<BucketSpec> {
    for (v, k) in [(&b.burst, "burst"), (&b.refill_per_sec, "refill_per_sec")] {
        let x = *v.get_ref();
        if !(x.is_finite() && x > 0.0) {
            return Err(cx.error(
                v.span(),
                join(key, k),
                format!("must be a finite number > 0, got {x}"),
            ));
        }
    }
    Ok(BucketSpec::new(
        *b.burst.get_ref(),
        *b.refill_per_sec.get_ref(),
    ))
}

fn resolve_accounts(
    cx: &Ctx<'_>,
    raw: Option<BTreeMap<Spanned<String>, RawAccount>>,
) -> R<Vec<AccountConfig>> {
    let mut raw = raw.unwrap_or_default();
    let mut out = vec![AccountConfig::with_default_limits(DEFAULT_ACCOUNT)];
    let default = raw.remove(DEFAULT_ACCOUNT);
    if let Some(a) = default {
        apply_account(cx, DEFAULT_ACCOUNT, a, &mut out[0])?;
    }
    for (name, a) in raw {
        let key = join("accounts", name.get_ref());
        if name.get_ref().trim().is_empty() {
            return Err(cx.error(name.span(), key, "account name must not be empty"));
        }
        let mut acc = AccountConfig::with_default_limits(name.get_ref());
        apply_account(cx, name.get_ref(), a, &mut acc)?;
        out.push(acc);
    }
    Ok(out)
}

fn apply_account(cx: &Ctx<'_>, name: &str, a: RawAccount, acc: &mut AccountConfig) -> R<()> {
    let base = join("accounts", name);
    for (action, b) in a.limits.unwrap_or_default() {
        let key = join(&join(&base, "limits"), action.get_ref());
        let act = parse_action(cx, &action, &key)?;
        acc.limits[act.index()].request = bucket(cx, &b, &key)?;
    }
    let unfiltered = BucketTable {
        table: "limits_unfiltered",
        what: "unfiltered-and-unpaginated",
        slot: |l| &mut l.unfiltered,
        exists: |a| a.has_unfiltered_bucket(),
    };
    unfiltered.apply(cx, &base, a.limits_unfiltered, acc)?;
    let resource = BucketTable {
        table: "resource_limits",
        what: "resource-rate",
        slot: |l| &mut l.resource,
        exists: |a| a.default_limits().resource.is_some(),
    };
    resource.apply(cx, &base, a.resource_limits, acc)?;
    Ok(())
}

/// An account's table of optional per-action buckets (`limits_unfiltered`, `resource_limits`): only the
/// actions that have such a bucket may appear in it.
struct BucketTable {
    table: &'static str,
    what: &'static str,
    slot: fn(&mut ActionLimits) -> &mut Option<BucketSpec>,
    exists: fn(Action) -> bool,
}

impl BucketTable {
    fn apply(
        &self,
        cx: &Ctx<'_>,
        base: &str,
        raw: Option<BTreeMap<Spanned<String>, RawBucket>>,
        acc: &mut AccountConfig,
    ) -> R<()> {
        for (action, b) in raw.unwrap_or_default() {
            let key = join(&join(base, self.table), action.get_ref());
            let act = parse_action(cx, &action, &key)?;
            if !(self.exists)(act) {
                let with: Vec<&str> = Action::ALL
                    .iter()
                    .filter(|&&a| (self.exists)(a))
                    .map(|a| a.name())
                    .collect();
                let message = format!(
                    "{act} has no {} bucket (only {} do)",
                    self.what,
                    with.join(", ")
                );
                return Err(cx.error(action.span(), key, message));
            }
            *(self.slot)(&mut acc.limits[act.index()]) = Some(bucket(cx, &b, &key)?);
        }
        Ok(())
    }
}

fn apply_ec2(cx: &Ctx<'_>, e: RawEc2, ec2: &mut Ec2Config) -> R<()> {
    if let Some(d) = e.throttle_latency {
        ec2.throttle_latency = d;
    }
    if let Some(b) = e.id_list_is_unfiltered {
        ec2.id_list_is_unfiltered = b;
    }
    for (action, d) in e.latency.unwrap_or_default() {
        let key = join("ec2.latency", action.get_ref());
        let act = parse_action(cx, &action, &key)?;
        ec2.latency[act.index()] = d;
    }
    if let Some(l) = e.lifecycle {
        let lc = &mut ec2.lifecycle;
        let pairs = [
            (l.attach_time, &mut lc.attach_time),
            (l.imds_propagation, &mut lc.imds_propagation),
            (l.imds_ip_propagation, &mut lc.imds_ip_propagation),
            (l.detach_time, &mut lc.detach_time),
            (l.instance_start, &mut lc.instance_start),
            (l.instance_stop, &mut lc.instance_stop),
        ];
        for (v, slot) in pairs {
            if let Some(v) = v {
                *slot = v;
            }
        }
    }
    if let Some(r) = e.retry {
        if let Some(m) = &r.max_attempts {
            ec2.retry.max_attempts = positive_u32(cx, m, "ec2.retry.max_attempts")?;
        }
        if let Some(v) = r.max_backoff {
            ec2.retry.max_backoff = v;
        }
        if let Some(v) = r.quota {
            ec2.retry.quota = v;
        }
        if let Some(v) = r.retry_cost {
            ec2.retry.retry_cost = v;
        }
        if let Some(v) = r.no_retry_increment {
            ec2.retry.no_retry_increment = v;
        }
    }
    Ok(())
}

fn account_index(
    cx: &Ctx<'_>,
    name: Option<&Spanned<String>>,
    key: &str,
    ec2: &Ec2Config,
) -> R<usize> {
    let Some(name) = name else { return Ok(0) };
    ec2.accounts
        .iter()
        .position(|a| a.name == *name.get_ref())
        .ok_or_else(|| {
            let known: Vec<&str> = ec2.accounts.iter().map(|a| a.name.as_str()).collect();
            cx.error(
                name.span(),
                key,
                format!(
                    "unknown account \"{}\" (defined: {}; add an [accounts.{}] table to define it)",
                    name.get_ref(),
                    known.join(", "),
                    name.get_ref()
                ),
            )
        })
}

// ---------------------------------------------------------------------------------------------------------
// Subnets

fn resolve_subnet(
    cx: &Ctx<'_>,
    i: usize,
    s: Spanned<RawSubnet>,
    vpc: Ipv4Net,
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
    if !vpc.contains(&cidr) {
        return Err(cx.error(
            s.cidr.span(),
            cidr_key,
            format!("subnet {cidr} lies outside the VPC CIDR {vpc}"),
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
        az: s.az,
        tags: s.tags.unwrap_or_default().into_iter().collect(),
        placement: s.secondary_ip_placement.unwrap_or_default(),
        reservations,
        in_use,
        tenants,
    })
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

fn resolve_reservation(
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

fn resolve_in_use(
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
            .count() as u64;
        let room = size - 5 - reserved_usable - listed_outside;
        if u64::from(count) > room {
            return Err(cx.error(
                c.span(),
                join(key, "count"),
                format!(
                    "{count} addresses do not fit: subnet {subnet} has {room} free addresses outside its reservations and the listed `addresses`"
                ),
            ));
        }
    }
    Ok(InUseSpec {
        count,
        placement: u.placement.unwrap_or_default(),
        addresses,
    })
}

fn resolve_tenant(
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

// ---------------------------------------------------------------------------------------------------------
// Node groups

fn resolve_node_group(
    cx: &Ctx<'_>,
    i: usize,
    g: Spanned<RawNodeGroup>,
    earlier: &[NodeGroupSpec],
    subnets: &[SubnetSpec],
    ec2: &Ec2Config,
    cluster_ipamd: Option<&RawIpamd>,
) -> R<NodeGroupSpec> {
    let base = format!("node_groups[{i}]");
    let group_span = g.span();
    let g = g.into_inner();
    let names = earlier.iter().map(|o| o.name.as_str());
    let name = unique_name(
        cx,
        &g.name,
        &join(&base, "name"),
        "node group",
        names,
        |j| format!("(also node_groups[{j}])"),
    )?;

    let it_name = g.instance_type.get_ref().trim();
    let instance_type = instance_types::lookup(it_name).ok_or_else(|| {
        let hints = instance_types::suggest(it_name);
        let hint = if hints.is_empty() {
            "no known type shares its family".to_string()
        } else {
            format!("did you mean one of: {}", hints.join(", "))
        };
        cx.error(
            g.instance_type.span(),
            join(&base, "instance_type"),
            format!("unknown instance type \"{it_name}\"; {hint}"),
        )
    })?;

    let provisioner = match &g.provisioner {
        Some(p) => Some(resolve_provisioner(cx, &join(&base, "provisioner"), p)?),
        None => None,
    };
    // A provisioned group may start empty: the provisioner launches nodes for pending pods.
    let count_key = join(&base, "count");
    let count = match provisioner {
        Some(_) => *g.count.get_ref(),
        None => positive_u32(cx, &g.count, &count_key)?,
    };
    let max_nodes = provisioner.map(|p| p.max_nodes);
    check_node_count(cx, &g.count, &count_key, max_nodes)?;
    let scale = resolve_scale_steps(cx, &base, g.scale.unwrap_or_default(), max_nodes)?;
    let rollouts = resolve_rollouts(cx, &base, g.rollouts.unwrap_or_default())?;

    let subnets_key = join(&base, "subnets");
    if g.subnets.get_ref().is_empty() {
        return Err(cx.error(
            g.subnets.span(),
            subnets_key,
            "a node group needs at least one subnet",
        ));
    }
    let mut idx: Vec<usize> = Vec::new();
    for (k, s) in g.subnets.get_ref().iter().enumerate() {
        let key = format!("{subnets_key}[{k}]");
        let j = subnet_index(cx, subnets, s, &key)?;
        if idx.contains(&j) {
            return Err(cx.error(
                s.span(),
                key,
                format!("subnet \"{}\" is listed twice", s.get_ref()),
            ));
        }
        idx.push(j);
    }

    let account = account_index(cx, g.account.as_ref(), &join(&base, "account"), ec2)?;

    let env = Layers::new(&base, g.ipamd.as_ref(), cluster_ipamd);
    let custom_network = resolve_custom_network(cx, &base, &env, g.eni_config, subnets, &idx)?;
    let ipamd = resolve_ipamd(cx, &name, &env, custom_network)?;
    let max_pods = match &g.max_pods {
        Some(m) => positive_u32(cx, m, &join(&base, "max_pods"))?,
        None => computed_max_pods(cx, group_span, &base, instance_type, &ipamd)?,
    };

    Ok(NodeGroupSpec {
        name,
        instance_type,
        count,
        subnets: idx,
        account,
        launch_at: g.launch_at.unwrap_or(SimDuration::ZERO),
        ipamd,
        max_pods,
        allocatable: resolve_allocatable(cx, &base, instance_type, g.allocatable.as_ref())?,
        scale,
        rollouts,
        provisioner,
    })
}

/// A node count (`count`, a scale step's `count`) is at most `MAX_NODES_PER_GROUP`, and at most the
/// provisioner's `max_nodes` when the group has one.
fn check_node_count(cx: &Ctx<'_>, v: &Spanned<u32>, key: &str, max_nodes: Option<u32>) -> R<u32> {
    let n = *v.get_ref();
    if n > MAX_NODES_PER_GROUP {
        return Err(cx.error(
            v.span(),
            key,
            format!("{n} nodes is more than the {MAX_NODES_PER_GROUP} a node group may have"),
        ));
    }
    if let Some(max) = max_nodes.filter(|&m| n > m) {
        return Err(cx.error(
            v.span(),
            key,
            format!("{n} nodes is more than the provisioner's max_nodes ({max})"),
        ));
    }
    Ok(n)
}

/// Sorted by time; steps at the same time keep their file order (the last one wins).
fn resolve_scale_steps(
    cx: &Ctx<'_>,
    base: &str,
    raw: Vec<Spanned<super::raw::RawScaleStep>>,
    max_nodes: Option<u32>,
) -> R<Vec<ScaleStep>> {
    let mut steps = Vec::with_capacity(raw.len());
    for (k, s) in raw.into_iter().enumerate() {
        let s = s.into_inner();
        let key = format!("{base}.scale[{k}].count");
        let count = check_node_count(cx, &s.count, &key, max_nodes)?;
        steps.push(ScaleStep { at: s.at, count });
    }
    steps.sort_by_key(|s| s.at);
    Ok(steps)
}

fn resolve_rollouts(
    cx: &Ctx<'_>,
    base: &str,
    raw: Vec<Spanned<super::raw::RawRollout>>,
) -> R<Vec<RolloutSpec>> {
    let mut rollouts = Vec::with_capacity(raw.len());
    for (k, r) in raw.into_iter().enumerate() {
        let r = r.into_inner();
        let batch = positive_u32(cx, &r.batch, &format!("{base}.rollouts[{k}].batch"))?;
        rollouts.push(RolloutSpec { at: r.at, batch });
    }
    rollouts.sort_by_key(|r| r.at);
    Ok(rollouts)
}

/// The EKS default for the instance type, with the given `cpu` and `memory` over it.
fn resolve_allocatable(
    cx: &Ctx<'_>,
    base: &str,
    instance_type: &InstanceType,
    raw: Option<&RawAllocatable>,
) -> R<Allocatable> {
    let mut a = Allocatable::eks_default(instance_type.vcpus);
    let Some(raw) = raw else { return Ok(a) };
    let key = join(base, "allocatable");
    if let Some(c) = &raw.cpu {
        let k = join(&key, "cpu");
        let milli = parse_cpu(c.get_ref()).map_err(|e| cx.error(c.span(), &k, e))?;
        if milli == 0 {
            return Err(cx.error(c.span(), k, "a node's allocatable CPU must be above 0"));
        }
        a.cpu_milli = milli;
    }
    if let Some(m) = &raw.memory {
        let k = join(&key, "memory");
        let mib = parse_memory_mib(m.get_ref())
            .map_err(|e| cx.error(m.span(), &k, e))?
            .floor();
        if mib < 1.0 {
            return Err(cx.error(
                m.span(),
                k,
                "a node's allocatable memory must be at least 1Mi",
            ));
        }
        a.memory_mib = Some(mib.min(f64::from(u32::MAX)) as u32);
    }
    Ok(a)
}

fn resolve_provisioner(cx: &Ctx<'_>, key: &str, p: &RawProvisioner) -> R<ProvisionerSpec> {
    let d = ProvisionerSpec::default();
    let duration = |v: &Option<Spanned<SimDuration>>, name: &str, default: SimDuration| match v {
        Some(v) => positive_duration(cx, v, &join(key, name)),
        None => Ok(default),
    };
    let batch_idle = duration(&p.batch_idle, "batch_idle", d.batch_idle)?;
    let batch_max = duration(&p.batch_max, "batch_max", d.batch_max)?;
    if batch_idle > batch_max {
        let default = |given: bool| if given { "" } else { " (the default)" };
        let (span, name, message) = match (&p.batch_idle, &p.batch_max) {
            (Some(i), m) => (
                i.span(),
                "batch_idle",
                format!(
                    "batch_idle {batch_idle} is longer than batch_max {batch_max}{}",
                    default(m.is_some())
                ),
            ),
            (None, Some(m)) => (
                m.span(),
                "batch_max",
                format!(
                    "batch_max {batch_max} is shorter than batch_idle {batch_idle} (the default)"
                ),
            ),
            (None, None) => unreachable!("the defaults are in order"),
        };
        return Err(cx.error(span, join(key, name), message));
    }
    let max_nodes = match &p.max_nodes {
        Some(m) => {
            let k = join(key, "max_nodes");
            let n = positive_u32(cx, m, &k)?;
            check_node_count(cx, m, &k, None)?;
            n
        }
        None => d.max_nodes,
    };
    Ok(ProvisionerSpec {
        batch_idle,
        batch_max,
        max_nodes,
        subnet_policy: p.subnet_policy.map_or(d.subnet_policy, Into::into),
        consolidate_after: p
            .consolidate_after
            .as_ref()
            .map_or(d.consolidate_after, |c| c.0),
    })
}

/// The index in `subnets` of the subnet named by `s`.
fn subnet_index(cx: &Ctx<'_>, subnets: &[SubnetSpec], s: &Spanned<String>, key: &str) -> R<usize> {
    subnets
        .iter()
        .position(|o| o.name == *s.get_ref())
        .ok_or_else(|| {
            let known: Vec<&str> = subnets.iter().map(|o| o.name.as_str()).collect();
            cx.error(
                s.span(),
                key,
                format!(
                    "unknown subnet \"{}\" (defined: {})",
                    s.get_ref(),
                    known.join(", ")
                ),
            )
        })
}

/// kubelet's `--max-pods` when the group does not give it: the EKS calculator's recommendation for the group's
/// settings (docs/reference/ipamd.md §5.2), which is what EKS-optimised AMIs pass to kubelet.
fn computed_max_pods(
    cx: &Ctx<'_>,
    group_span: Range<usize>,
    base: &str,
    t: &InstanceType,
    cfg: &IpamdConfig,
) -> R<u32> {
    let options = MaxPodsOptions {
        prefix_delegation: cfg.enable_prefix_delegation,
        custom_networking: cfg.custom_network.is_some(),
        max_eni: cfg.max_eni,
        show_max_allowed: false,
    };
    max_pods::max_pods(t, &options).map_err(|e| match e {
        MaxPodsError::UnknownVcpus { uncapped, .. } => cx.error(
            group_span,
            base,
            format!(
                "max_pods cannot be computed: the instance table has no vCPU count for {}, and the vCPUs decide \
                 the calculator's 110/250 cap (uncapped it gives {uncapped}); set max_pods",
                t.name
            ),
        ),
    })
}

// ---------------------------------------------------------------------------------------------------------
// ipamd settings

/// The aws-node environment one node group sees: its own `ipamd` table over the scenario's `[ipamd]`, each key
/// taken from the first table that sets it.
struct Layers<'a> {
    /// Key path and table, the group's first.
    tables: Vec<(String, &'a RawIpamd)>,
}

impl<'a> Layers<'a> {
    fn new(base: &str, group: Option<&'a RawIpamd>, cluster: Option<&'a RawIpamd>) -> Self {
        let tables = [(join(base, "ipamd"), group), ("ipamd".to_string(), cluster)]
            .into_iter()
            .filter_map(|(key, t)| t.map(|t| (key, t)))
            .collect();
        Layers { tables }
    }

    /// The value of key `name` (read through `field`) and its key path, if some table sets it.
    fn get<T>(&self, name: &str, field: fn(&RawIpamd) -> &Option<T>) -> Option<(&'a T, String)> {
        self.tables
            .iter()
            .find_map(|(base, t)| field(t).as_ref().map(|v| (v, join(base, name))))
    }
}

type EnvField = fn(&RawIpamd) -> &Option<Spanned<EnvValue>>;

/// Applies ipamd's parse rules to the merged environment (docs/reference/ipamd.md §1.1): a value ipamd cannot use gives
/// its default, as in the real daemon. Only what the container entrypoint refuses to start with is an error
/// (§1).
fn resolve_ipamd(
    cx: &Ctx<'_>,
    group: &str,
    env: &Layers<'_>,
    custom_network: Option<EniConfig>,
) -> R<IpamdConfig> {
    let d = IpamdConfig::default();
    let var = |name: &str, field: EnvField| env.get(name, field).map(|(v, _)| v.get_ref());
    let target = |name: &str, field: EnvField, default: u32| {
        var(name, field).map_or(default, |v| parse_target_or_default(v, default))
    };
    let flag = |name: &str, field: EnvField, default: bool| {
        var(name, field).map_or(default, |v| parse_bool(v, default))
    };
    // The manifest sets WARM_PREFIX_TARGET; a value that does not parse still falls to the code's default.
    let manifest = env
        .get("manifest_defaults", |r| &r.manifest_defaults)
        .is_some_and(|(m, _)| *m);
    let unset_prefix_target = if manifest {
        MANIFEST_WARM_PREFIX_TARGET
    } else {
        d.warm_prefix_target
    };
    let ip_cooldown_period = match env.get("IP_COOLDOWN_PERIOD", |r| &r.ip_cooldown_period) {
        None => d.ip_cooldown_period,
        Some((v, key)) => parse_cooldown(v.get_ref()).ok_or_else(|| {
            cx.error(
                v.span(),
                key,
                "the aws-node entrypoint refuses a negative IP_COOLDOWN_PERIOD",
            )
        })?,
    };
    let cfg = IpamdConfig {
        warm_eni_target: target("WARM_ENI_TARGET", |r| &r.warm_eni_target, d.warm_eni_target),
        warm_ip_target: var("WARM_IP_TARGET", |r| &r.warm_ip_target)
            .map_or(d.warm_ip_target, parse_ip_target),
        minimum_ip_target: var("MINIMUM_IP_TARGET", |r| &r.minimum_ip_target)
            .map_or(d.minimum_ip_target, parse_ip_target),
        warm_prefix_target: var("WARM_PREFIX_TARGET", |r| &r.warm_prefix_target)
            .map_or(unset_prefix_target, |v| {
                parse_target_or_default(v, d.warm_prefix_target)
            }),
        enable_prefix_delegation: flag(
            "ENABLE_PREFIX_DELEGATION",
            |r| &r.enable_prefix_delegation,
            d.enable_prefix_delegation,
        ),
        max_eni: var("MAX_ENI", |r| &r.max_eni).and_then(parse_max_eni),
        ip_cooldown_period,
        custom_network,
        enable_subnet_discovery: flag(
            "ENABLE_SUBNET_DISCOVERY",
            |r| &r.enable_subnet_discovery,
            d.enable_subnet_discovery,
        ),
        manage_enis_non_schedulable: flag(
            "AWS_MANAGE_ENIS_NON_SCHEDULABLE",
            |r| &r.manage_enis_non_schedulable,
            d.manage_enis_non_schedulable,
        ),
        enable_pod_eni: flag("ENABLE_POD_ENI", |r| &r.enable_pod_eni, d.enable_pod_eni),
        disable_leaked_eni_cleanup: flag(
            "DISABLE_LEAKED_ENI_CLEANUP",
            |r| &r.disable_leaked_eni_cleanup,
            d.disable_leaked_eni_cleanup,
        ),
        choice: env
            .get("choice", |r| &r.choice)
            .map_or(d.choice, |(c, _)| *c),
        reconcile_api_calls: env
            .get("reconcile_api_calls", |r| &r.reconcile_api_calls)
            .map_or(d.reconcile_api_calls, |(b, _)| *b),
    };
    if cfg.entrypoint_refuses() {
        let (v, key) = env
            .get("ENABLE_PREFIX_DELEGATION", |r| &r.enable_prefix_delegation)
            .expect("prefix delegation is off unless set");
        return Err(cx.error(
            v.span(),
            key,
            format!(
                "ENABLE_PREFIX_DELEGATION=true with WARM_IP_TARGET, WARM_PREFIX_TARGET and MINIMUM_IP_TARGET \
                 all 0 on node group \"{group}\": the aws-node entrypoint refuses to start (set \
                 WARM_PREFIX_TARGET = {MANIFEST_WARM_PREFIX_TARGET}, as the shipped manifest does)"
            ),
        ));
    }
    Ok(cfg)
}

/// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG` and the group's `eni_config` go together. ENIConfigs are per AZ, so the
/// ENIConfig's subnet must share the AZ of every subnet of the group (docs/reference/ipamd.md §4.3).
fn resolve_custom_network(
    cx: &Ctx<'_>,
    base: &str,
    env: &Layers<'_>,
    eni_config: Option<Spanned<RawEniConfig>>,
    subnets: &[SubnetSpec],
    group_subnets: &[usize],
) -> R<Option<EniConfig>> {
    let on = env
        .get("AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", |r| {
            &r.custom_network_cfg
        })
        .filter(|(v, _)| parse_bool(v.get_ref(), false));
    let key = join(base, "eni_config");
    let e = match (on, eni_config) {
        (None, None) => return Ok(None),
        (None, Some(e)) => {
            return Err(cx.error(
                e.span(),
                key,
                "eni_config is only used with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG = true",
            ));
        }
        (Some((v, flag_key)), None) => {
            return Err(cx.error(
                v.span(),
                flag_key,
                format!(
                    "custom networking needs the node's ENIConfig: give {base} an \
                     eni_config = {{ subnet = \"NAME\" }}"
                ),
            ));
        }
        (Some(_), Some(e)) => e.into_inner(),
    };
    let subnet_key = join(&key, "subnet");
    let j = subnet_index(cx, subnets, &e.subnet, &subnet_key)?;
    let az = &subnets[j].az;
    if let Some(other) = group_subnets
        .iter()
        .map(|&k| &subnets[k])
        .find(|o| o.az != *az)
    {
        return Err(cx.error(
            e.subnet.span(),
            subnet_key,
            format!(
                "subnet \"{}\" is in {az} but the group's subnet \"{}\" is in {}; an ENIConfig serves one \
                 AZ, so give each AZ its own node group",
                e.subnet.get_ref(),
                other.name,
                other.az
            ),
        ));
    }
    Ok(Some(EniConfig {
        subnet: SubnetId(j as u32),
        security_groups: e.security_groups.unwrap_or_default(),
    }))
}

// ---------------------------------------------------------------------------------------------------------
// Quantities

/// Millicores from a Kubernetes CPU quantity: `"250m"`, or cores as `"2"`, `"0.5"`, `2`, `1.5`. Kubernetes
/// refuses precision finer than 1m, and so does this.
pub(crate) fn parse_cpu(q: &RawCpu) -> Result<u32, String> {
    let expected = "expected millicores like \"250m\", or cores like \"2\" or \"0.5\"";
    let (shown, milli) = match q {
        RawCpu::Number(x) => (x.to_string(), x * 1000.0),
        RawCpu::Text(t) => {
            let t = t.trim();
            let (num, per_unit) = match t.strip_suffix('m') {
                Some(n) => (n, 1.0),
                None => (t, 1000.0),
            };
            let x: f64 = num
                .trim()
                .parse()
                .map_err(|_| format!("CPU quantity \"{t}\" is not understood ({expected})"))?;
            (format!("\"{t}\""), x * per_unit)
        }
    };
    if !milli.is_finite() || milli < 0.0 {
        return Err(format!(
            "CPU quantity {shown} must be a finite amount ≥ 0 ({expected})"
        ));
    }
    let rounded = milli.round();
    if (milli - rounded).abs() > 1e-6 {
        return Err(format!(
            "CPU quantity {shown} is finer than 1m (one millicore), which Kubernetes does not allow"
        ));
    }
    if rounded > f64::from(u32::MAX) {
        return Err(format!("CPU quantity {shown} is too large"));
    }
    Ok(rounded as u32)
}

/// Mebibytes (not rounded) from a Kubernetes memory quantity in binary units: `"512Mi"`, `"7Gi"`,
/// `"7910348Ki"`, `"1.5Gi"`.
pub(crate) fn parse_memory_mib(q: &str) -> Result<f64, String> {
    let t = q.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let x: f64 = num.parse().map_err(|_| {
        format!("memory quantity \"{t}\" does not start with a number (expected e.g. \"512Mi\" or \"7Gi\")")
    })?;
    let per_unit = match unit.trim() {
        "Ki" => 1.0 / 1024.0,
        "Mi" => 1.0,
        "Gi" => 1024.0,
        "" => {
            return Err(format!(
                "memory quantity \"{t}\" has no unit; write it like \"512Mi\" or \"7Gi\""
            ));
        }
        u @ ("k" | "K" | "M" | "G" | "T" | "P" | "E" | "Ti" | "Pi" | "Ei") => {
            return Err(format!(
                "memory quantity \"{t}\" uses unit \"{u}\"; write it in Ki, Mi or Gi (e.g. \"512Mi\", \"7Gi\")"
            ));
        }
        u => {
            return Err(format!(
                "memory quantity \"{t}\" has unknown unit \"{u}\" (expected Ki, Mi or Gi)"
            ));
        }
    };
    let mib = x * per_unit;
    if !mib.is_finite() || mib > f64::from(u32::MAX) {
        return Err(format!("memory quantity \"{t}\" is too large"));
    }
    Ok(mib)
}

/// A pod's memory request in whole MiB, rounded up so that a pod never asks for less than it says.
pub(crate) fn pod_memory_mib(q: &str) -> Result<u32, String> {
    parse_memory_mib(q).map(|m| m.ceil() as u32)
}

// ---------------------------------------------------------------------------------------------------------
// kubelet, node start-up, scheduler

fn resolve_kube(
    cx: &Ctx<'_>,
    kubelet: Option<RawKubelet>,
    lifecycle: Option<RawNodeLifecycle>,
    scheduler: Option<RawScheduler>,
) -> R<KubeSpec> {
    let mut k = KubeSpec::default();
    if let Some(r) = kubelet {
        let kl = &mut k.kubelet;
        let pairs = [
            (r.sandbox_setup, &mut kl.sandbox_setup),
            (r.container_start, &mut kl.container_start),
            (r.teardown, &mut kl.teardown),
        ];
        for (v, slot) in pairs {
            if let Some(v) = v {
                *slot = v;
            }
        }
        if let Some(sr) = &r.sandbox_retry {
            kl.sandbox_retry = resolve_sandbox_retry(cx, sr, kl.sandbox_retry)?;
        }
        if let Some(n) = r.host_network_pods {
            kl.host_network_pods = n;
        }
    }
    if let Some(r) = lifecycle {
        let lc = &mut k.node_lifecycle;
        for (v, slot) in [(r.boot, &mut lc.boot), (r.cni_ready, &mut lc.cni_ready)] {
            if let Some(v) = v {
                *slot = v;
            }
        }
    }
    if let Some(p) = scheduler.and_then(|s| s.policy) {
        k.scheduler.policy = p.into();
    }
    Ok(k)
}

fn resolve_sandbox_retry(cx: &Ctx<'_>, r: &RawSandboxRetry, d: SandboxRetry) -> R<SandboxRetry> {
    const KEY: &str = "kubelet.sandbox_retry";
    let initial = match &r.initial {
        Some(v) => positive_duration(cx, v, &join(KEY, "initial"))?,
        None => d.initial,
    };
    let factor = match &r.factor {
        Some(v) => {
            let x = *v.get_ref();
            if !(x.is_finite() && x >= 1.0) {
                return Err(cx.error(
                    v.span(),
                    join(KEY, "factor"),
                    format!("must be a finite number ≥ 1, got {x}"),
                ));
            }
            x
        }
        None => d.factor,
    };
    let max = r.max.as_ref().map_or(d.max, |v| *v.get_ref());
    if max < initial {
        let (span, name, message) = match (&r.max, &r.initial) {
            (Some(m), _) => (
                m.span(),
                "max",
                format!("max {max} is shorter than initial {initial}"),
            ),
            (None, Some(i)) => (
                i.span(),
                "initial",
                format!("initial {initial} is longer than max {max} (the default); set max too"),
            ),
            (None, None) => unreachable!("the defaults are in order"),
        };
        return Err(cx.error(span, join(KEY, name), message));
    }
    let jitter = match &r.jitter {
        Some(v) => unit_interval(cx, v, &join(KEY, "jitter"))?,
        None => d.jitter,
    };
    Ok(SandboxRetry {
        initial,
        factor,
        max,
        jitter,
    })
}

fn unit_interval(cx: &Ctx<'_>, v: &Spanned<f64>, key: &str) -> R<f64> {
    let x = *v.get_ref();
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(cx.error(
            v.span(),
            key,
            format!("must be a number from 0 to 1, got {x}"),
        ))
    }
}

// ---------------------------------------------------------------------------------------------------------
// Workloads

/// Replicas of a deployment and pods of one cron run: far beyond any test, and a typo cannot exhaust memory.
const MAX_PODS: u32 = 1_000_000;

/// The fastest arrival rate: one pod a microsecond, the tick of simulated time ([`SimDuration`]). Faster,
/// the exponential gaps between arrivals round to 0 µs and simulated time would stop advancing.
const MAX_PODS_PER_MINUTE: f64 = 60e6;

/// The index in `groups` of the node group named by `s`.
pub(crate) fn node_group_index(groups: &[NodeGroupSpec], name: &str) -> Result<usize, String> {
    groups.iter().position(|g| g.name == name).ok_or_else(|| {
        if groups.is_empty() {
            format!("unknown node group \"{name}\" (no node groups are defined)")
        } else {
            let known: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            format!(
                "unknown node group \"{name}\" (defined: {})",
                known.join(", ")
            )
        }
    })
}

/// The type-specific keys of a workload table that are set, in the struct's order, with their spans.
fn given_keys(w: &RawWorkload) -> Vec<(&'static str, Range<usize>)> {
    fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
        v.as_ref().map(|v| v.span())
    }
    [
        ("lifetime", span(&w.lifetime)),
        ("pods_per_minute", span(&w.pods_per_minute)),
        ("start", span(&w.start)),
        ("stop", span(&w.stop)),
        ("replicas", span(&w.replicas)),
        ("scale", span(&w.scale)),
        ("every", span(&w.every)),
        ("pods", span(&w.pods)),
        ("duration", span(&w.duration)),
        ("mean_pods_per_minute", span(&w.mean_pods_per_minute)),
        ("amplitude", span(&w.amplitude)),
        ("period", span(&w.period)),
        ("peak_at", span(&w.peak_at)),
        ("file", span(&w.file)),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect()
}

const WORKLOAD_TYPES: &str = "steady, deployment, cronjob, diurnal or trace";

/// The keys each workload type takes besides `name`, `type`, `node_group`, `cpu` and `memory`.
fn keys_of_type(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "steady" => &["pods_per_minute", "lifetime", "start", "stop"],
        "deployment" => &["replicas", "scale"],
        "cronjob" => &["every", "start", "pods", "duration"],
        "diurnal" => &[
            "mean_pods_per_minute",
            "amplitude",
            "period",
            "peak_at",
            "lifetime",
        ],
        "trace" => &["file"],
        _ => return None,
    })
}

/// A workload table being resolved: where it is, for messages about its keys.
struct WorkloadCx<'a, 'c> {
    cx: &'a Ctx<'c>,
    base: String,
    span: Range<usize>,
    kind: &'a str,
}

impl WorkloadCx<'_, '_> {
    fn key(&self, name: &str) -> String {
        join(&self.base, name)
    }

    fn need<'v, T>(&self, v: &'v Option<Spanned<T>>, name: &str) -> R<&'v Spanned<T>> {
        v.as_ref().ok_or_else(|| {
            self.cx.error(
                self.span.clone(),
                self.base.clone(),
                format!(
                    "missing required key `{name}` (type \"{}\" needs it)",
                    self.kind
                ),
            )
        })
    }

    /// Pods per minute → pods per second; finite, > 0, and at most [`MAX_PODS_PER_MINUTE`] at `peak` times
    /// the rate (the top of a day curve).
    fn rate(&self, v: &Spanned<f64>, name: &str, peak: f64) -> R<f64> {
        let x = *v.get_ref();
        let fail = |message: String| Err(self.cx.error(v.span(), self.key(name), message));
        if !(x.is_finite() && x > 0.0) {
            return fail(format!(
                "must be a finite number of pods per minute > 0, got {x}"
            ));
        }
        if x * peak > MAX_PODS_PER_MINUTE {
            // 1e300 rather than its 301 digits.
            let shown = |r: f64| {
                if r < 1e9 {
                    r.to_string()
                } else {
                    format!("{r:e}")
                }
            };
            let at_peak = if peak > 1.0 {
                format!(" ({} at the peak of the curve)", shown(x * peak))
            } else {
                String::new()
            };
            return fail(format!(
                "{} pods per minute{at_peak} is more than {MAX_PODS_PER_MINUTE}, one a microsecond: the \
                 gaps between arrivals would round to zero in simulated time, which counts whole microseconds",
                shown(x)
            ));
        }
        Ok(x / 60.0)
    }

    fn positive_dist(&self, v: &Spanned<DurationDist>, name: &str) -> R<DurationDist> {
        if dist_is_positive(v.get_ref()) {
            Ok(*v.get_ref())
        } else {
            Err(self.cx.error(
                v.span(),
                self.key(name),
                format!(
                    "{name} must be able to produce a positive duration, got {}",
                    v.get_ref()
                ),
            ))
        }
    }

    fn pods(&self, v: &Spanned<u32>, key: String) -> R<u32> {
        let n = *v.get_ref();
        if n > MAX_PODS {
            Err(self.cx.error(
                v.span(),
                key,
                format!("{n} pods is more than the {MAX_PODS} a workload may ask for at once"),
            ))
        } else {
            Ok(n)
        }
    }

    fn start(&self, v: &Option<Spanned<SimDuration>>) -> SimDuration {
        v.as_ref().map_or(SimDuration::ZERO, |s| *s.get_ref())
    }
}

fn resolve_workload(
    cx: &Ctx<'_>,
    i: usize,
    w: Spanned<RawWorkload>,
    earlier: &[WorkloadSpec],
    groups: &[NodeGroupSpec],
) -> R<WorkloadSpec> {
    let base = format!("workloads[{i}]");
    let span = w.span();
    let w = w.into_inner();
    let names = earlier.iter().map(|o| o.name.as_str());
    let name = unique_name(cx, &w.name, &join(&base, "name"), "workload", names, |j| {
        format!("(also workloads[{j}])")
    })?;

    let kind = w.kind.get_ref().trim();
    let Some(own) = keys_of_type(kind) else {
        return Err(cx.error(
            w.kind.span(),
            join(&base, "type"),
            format!("unknown workload type \"{kind}\" (expected {WORKLOAD_TYPES})"),
        ));
    };
    if let Some((k, s)) = given_keys(&w).into_iter().find(|(k, _)| !own.contains(k)) {
        return Err(cx.error(
            s,
            join(&base, k),
            format!(
                "key \"{k}\" does not apply to type \"{kind}\" (its keys: {})",
                own.join(", ")
            ),
        ));
    }
    let wc = WorkloadCx {
        cx,
        base,
        span,
        kind,
    };

    let node_group = match &w.node_group {
        Some(g) => Some(
            node_group_index(groups, g.get_ref())
                .map_err(|e| cx.error(g.span(), wc.key("node_group"), e))?,
        ),
        None => None,
    };
    let stream = match &w.stream {
        Some(st) => non_empty(cx, st, &wc.key("stream"))?,
        None => name.clone(),
    };
    let mut pod = PodShape::default();
    if let Some(c) = &w.cpu {
        pod.cpu_milli = parse_cpu(c.get_ref()).map_err(|e| cx.error(c.span(), wc.key("cpu"), e))?;
    }
    if let Some(m) = &w.memory {
        pod.memory_mib =
            pod_memory_mib(m.get_ref()).map_err(|e| cx.error(m.span(), wc.key("memory"), e))?;
    }

    let kind = match kind {
        "steady" => {
            let rate_per_s = wc.rate(
                wc.need(&w.pods_per_minute, "pods_per_minute")?,
                "pods_per_minute",
                1.0,
            )?;
            let lifetime = wc.positive_dist(wc.need(&w.lifetime, "lifetime")?, "lifetime")?;
            let start = wc.start(&w.start);
            let stop = match &w.stop {
                Some(s) if *s.get_ref() <= start => {
                    return Err(cx.error(
                        s.span(),
                        wc.key("stop"),
                        format!("stop {} must be after start {start}", s.get_ref()),
                    ));
                }
                Some(s) => Some(*s.get_ref()),
                None => None,
            };
            WorkloadKind::Steady {
                rate_per_s,
                lifetime,
                start,
                stop,
            }
        }
        "deployment" => {
            let replicas = wc.pods(wc.need(&w.replicas, "replicas")?, wc.key("replicas"))?;
            let mut steps = Vec::new();
            if let Some(scale) = &w.scale {
                for (k, s) in scale.get_ref().iter().enumerate() {
                    let s = s.get_ref();
                    let count = wc.pods(&s.replicas, format!("{}.scale[{k}].replicas", wc.base))?;
                    steps.push(ScaleStep { at: s.at, count });
                }
            }
            steps.sort_by_key(|s| s.at);
            WorkloadKind::Deployment { replicas, steps }
        }
        "cronjob" => {
            let period = positive_duration(cx, wc.need(&w.every, "every")?, &wc.key("every"))?;
            let pods = match &w.pods {
                Some(p) => {
                    positive_u32(cx, p, &wc.key("pods"))?;
                    wc.pods(p, wc.key("pods"))?
                }
                None => 1,
            };
            let duration = wc.positive_dist(wc.need(&w.duration, "duration")?, "duration")?;
            WorkloadKind::CronJob {
                period,
                start: wc.start(&w.start),
                pods,
                duration,
            }
        }
        "diurnal" => {
            let amplitude = match &w.amplitude {
                Some(a) => unit_interval(cx, a, &wc.key("amplitude"))?,
                None => 0.5,
            };
            let mean_rate_per_s = wc.rate(
                wc.need(&w.mean_pods_per_minute, "mean_pods_per_minute")?,
                "mean_pods_per_minute",
                1.0 + amplitude,
            )?;
            let period = match &w.period {
                Some(p) => positive_duration(cx, p, &wc.key("period"))?,
                None => SimDuration::from_secs(86_400),
            };
            let peak_at = w
                .peak_at
                .as_ref()
                .map_or(SimDuration::from_secs(14 * 3600), |p| *p.get_ref());
            let lifetime = wc.positive_dist(wc.need(&w.lifetime, "lifetime")?, "lifetime")?;
            WorkloadKind::Diurnal {
                curve: DayCurve {
                    mean_rate_per_s,
                    amplitude,
                    period,
                    peak_at,
                },
                lifetime,
            }
        }
        "trace" => {
            let file = wc.need(&w.file, "file")?;
            let defaults = trace::RowDefaults {
                node_group,
                shape: pod,
            };
            let rows = trace::load(cx, file, &wc.key("file"), groups, defaults)?;
            WorkloadKind::Trace { rows }
        }
        _ => unreachable!("keys_of_type knows every type"),
    };
    Ok(WorkloadSpec {
        name,
        stream,
        node_group,
        pod,
        kind,
    })
}
