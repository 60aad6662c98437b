//! `[[workloads]]`: every kind's keys, rates the clock can represent, pod shapes and node-group targets.

use super::*;

/// Replicas of a deployment and pods of one cron run: far beyond any test, and a typo cannot exhaust memory.
pub(super) const MAX_PODS: u32 = 1_000_000;

/// The fastest arrival rate: one pod a microsecond, the tick of simulated time ([`SimDuration`]). Faster,
/// the exponential gaps between arrivals round to 0 µs and simulated time would stop advancing.
pub(super) const MAX_PODS_PER_MINUTE: f64 = 60e6;

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

/// Why pods with security groups could never get a branch ENI on the workload's node group (or, without one,
/// on any group), if so: the group must set `ENABLE_POD_ENI`, run IPv4 (SGP in IPv6 is not modelled) and have
/// a type the resource controller's table marks trunk-compatible (docs/reference/ec2.md §11.2, §11.7). The
/// model has no Windows nodes, the other refusal EKS states.
fn security_groups_fit(node_group: Option<usize>, groups: &[NodeGroupSpec]) -> Result<(), String> {
    let why_not = |g: &NodeGroupSpec| -> Option<String> {
        let name = &g.name;
        if !g.ipamd.enable_pod_eni {
            Some(format!(
                "node group \"{name}\" does not set ENABLE_POD_ENI = true, so its nodes get no trunk ENI"
            ))
        } else if g.ipamd.enable_ipv6 {
            Some(format!(
                "node group \"{name}\" runs IPv6: security groups for pods are only modelled in IPv4"
            ))
        } else if branch_limits::controller_branches(&g.instance_type.name).is_none() {
            Some(format!(
                "instance type {} of node group \"{name}\" is not trunk-compatible in the VPC resource \
                 controller's table (no t-family, Xen or unlisted type is), so its nodes get no trunk ENI",
                g.instance_type.name
            ))
        } else {
            None
        }
    };
    let why = match node_group {
        Some(g) => why_not(&groups[g]),
        None if groups.is_empty() => Some("there are no node groups".to_string()),
        None => groups
            .iter()
            .map(why_not)
            .collect::<Option<Vec<String>>>()
            .map(|all| all.join("; ")),
    };
    match why {
        None => Ok(()),
        Some(why) => Err(format!(
            "pods with security groups need a branch ENI, which no node they may run on can get: {why}"
        )),
    }
}

/// The type-specific keys of a workload table that are set, in the struct's order, with their spans.
pub(super) fn given_keys(w: &RawWorkload) -> Vec<(&'static str, Range<usize>)> {
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

pub(super) const WORKLOAD_TYPES: &str = "steady, deployment, cronjob, diurnal or trace";

/// The keys each workload type takes besides `name`, `type`, `node_group`, `cpu` and `memory`.
pub(super) fn keys_of_type(kind: &str) -> Option<&'static [&'static str]> {
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
pub(super) struct WorkloadCx<'a, 'c> {
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

pub(super) fn resolve_workload(
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
    if let Some(sg) = w.security_groups.as_ref().filter(|s| *s.get_ref()) {
        security_groups_fit(node_group, groups)
            .map_err(|e| cx.error(sg.span(), wc.key("security_groups"), e))?;
        pod.pod_eni = true;
    }

    let image = match &w.image {
        Some(i) => Some(resolve_image(cx, &wc.base, i, earlier)?),
        None => None,
    };
    let readiness = match &w.readiness {
        Some(r) => Some(resolve_readiness(cx, &wc.base, r)?),
        None => None,
    };
    let termination = w
        .termination
        .as_ref()
        .map_or_else(TerminationSpec::default, resolve_termination);

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
        image,
        readiness,
        termination,
        kind,
    })
}
