//! A workload's container: its `image`, `readiness` probe and `termination` (docs/reference/kube.md §4.4–4.6).

use super::*;

/// The workload's image: its policy (given, or Kubernetes' default for its tag), its pull time (required
/// unless the policy is `Never`, which never pulls) and its id, shared with earlier workloads of that name.
pub(super) fn resolve_image(
    cx: &Ctx<'_>,
    base: &str,
    image: &Spanned<RawImage>,
    earlier: &[WorkloadSpec],
) -> R<ImageSpec> {
    let key = |k: &str| join(&join(base, "image"), k);
    let r = image.get_ref();
    let name = non_empty(cx, &r.name, &key("name"))?;
    if name.trim() != name || name.contains(char::is_whitespace) {
        return Err(cx.error(
            r.name.span(),
            key("name"),
            format!("{name:?} is not an image reference: it may not hold spaces"),
        ));
    }
    let policy = r
        .policy
        .as_ref()
        .map_or_else(|| PullPolicy::default_for(&name), |p| (*p.get_ref()).into());
    let pull = match (&r.pull, policy) {
        (Some(p), PullPolicy::Never) => {
            return Err(cx.error(
                p.span(),
                key("pull"),
                "policy \"Never\" never pulls: remove `pull`",
            ));
        }
        (Some(p), _) => *p.get_ref(),
        (None, PullPolicy::Never) => DurationDist::fixed(SimDuration::ZERO),
        (None, _) => {
            let why = match &r.policy {
                Some(_) => "its policy pulls",
                None if policy == PullPolicy::Always => {
                    "its policy is \"Always\" by default for an image tagged latest or untagged"
                }
                None => "its policy is \"IfNotPresent\" by default",
            };
            return Err(cx.error(
                image.span(),
                join(base, "image"),
                format!("missing required key `pull` (the image's pull time: {why})"),
            ));
        }
    };
    let named = earlier
        .iter()
        .filter_map(|w| w.image.as_ref())
        .find(|i| i.name == name);
    let id = match named {
        Some(i) => i.id,
        None => earlier
            .iter()
            .filter_map(|w| w.image.as_ref().map(|i| i.id + 1))
            .max()
            .unwrap_or(0),
    };
    Ok(ImageSpec {
        id,
        name,
        policy,
        pull,
    })
}

pub(super) fn resolve_readiness(cx: &Ctx<'_>, base: &str, r: &RawReadiness) -> R<ReadinessSpec> {
    let key = |k: &str| join(&join(base, "readiness"), k);
    let mut spec = ReadinessSpec::default();
    if let Some(d) = r.initial_delay {
        spec.initial_delay = d;
    }
    if let Some(p) = &r.period {
        spec.period = positive_duration(cx, p, &key("period"))?;
    }
    if let Some(n) = &r.success_threshold {
        spec.success_threshold = positive_u32(cx, n, &key("success_threshold"))?;
    }
    if let Some(w) = r.warmup {
        spec.warmup = w;
    }
    Ok(spec)
}

pub(super) fn resolve_termination(r: &RawTermination) -> TerminationSpec {
    let mut spec = TerminationSpec::default();
    if let Some(g) = r.grace_period {
        spec.grace_period = g;
    }
    spec.pre_stop = r.pre_stop;
    if let Some(s) = r.shutdown {
        spec.shutdown = s;
    }
    spec
}
