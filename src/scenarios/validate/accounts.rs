//! `[[accounts]]` and `[ec2]`: token buckets, latencies and the accounts node groups and tenants live in.

use super::*;

pub(super) fn bucket(cx: &Ctx<'_>, b: &RawBucket, key: &str) -> R<BucketSpec> {
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

pub(super) fn resolve_accounts(
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

pub(super) fn apply_account(
    cx: &Ctx<'_>,
    name: &str,
    a: RawAccount,
    acc: &mut AccountConfig,
) -> R<()> {
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
pub(super) struct BucketTable {
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

pub(super) fn apply_ec2(cx: &Ctx<'_>, e: RawEc2, ec2: &mut Ec2Config) -> R<()> {
    if let Some(l) = e.api_calls_csv {
        ec2.call_log = l.into();
    }
    if let Some(d) = e.throttle_latency {
        ec2.throttle_latency = d;
    }
    if let Some(b) = e.id_list_is_unfiltered {
        ec2.id_list_is_unfiltered = b;
    }
    if let Some(p) = e.create_eni_prefix_shortfall {
        ec2.create_eni_prefix_shortfall = p.into();
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

pub(super) fn account_index(
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
