//! `[[events]]`: each event's kind (`do`), the keys that kind takes, what they name (a workload, a node group,
//! an account) and its time inside the run.

use super::*;
use crate::sim::ec2::external::ExternalCallerSpec;
use crate::sim::kube::aws_node::{AwsNodeRollout, MaxUnavailable};
use crate::sim::script::{Change, LaunchTemplateChange, Script, Scripted, WorkloadControl};

pub(super) const EVENT_KINDS: &str = "update-aws-node, restart-aws-node, scale, pause-deletions, \
     resume-deletions, stop-arrivals, start-arrivals, lose-nodes, launch-template, create-reservation, \
     delete-reservation or api-load";

/// The keys each kind takes besides `name`, `at` and `do`, the first ones required.
fn keys_of_kind(kind: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match kind {
        "scale" => (&["workload", "replicas"], &[]),
        "pause-deletions" | "resume-deletions" | "stop-arrivals" | "start-arrivals" => {
            (&["workload"], &[])
        }
        "lose-nodes" => (&["node_group", "count"], &["notice"]),
        "launch-template" => (
            &["node_group"],
            &["max_pods", "delete_on_termination", "eni_leak_probability"],
        ),
        "create-reservation" => (&["subnet", "cidr", "type"], &["account"]),
        "delete-reservation" => (&["subnet", "cidr"], &["account"]),
        "api-load" => (&["caller", "for", "calls_per_second"], &["account"]),
        "update-aws-node" => (&["ipamd"], &["node_group", "max_unavailable"]),
        "restart-aws-node" => (&[], &["node_group", "max_unavailable"]),
        _ => return None,
    })
}

/// The kind-specific keys of an event table that are set, with their spans.
fn given_keys(e: &RawEvent) -> Vec<(&'static str, Range<usize>)> {
    fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
        v.as_ref().map(|v| v.span())
    }
    [
        ("workload", span(&e.workload)),
        ("node_group", span(&e.node_group)),
        ("replicas", span(&e.replicas)),
        ("count", span(&e.count)),
        ("notice", span(&e.notice)),
        ("max_pods", span(&e.max_pods)),
        ("caller", span(&e.caller)),
        ("account", span(&e.account)),
        ("for", span(&e.lasting)),
        ("calls_per_second", span(&e.calls_per_second)),
        ("ipamd", span(&e.ipamd)),
        ("max_unavailable", span(&e.max_unavailable)),
        ("subnet", span(&e.subnet)),
        ("cidr", span(&e.cidr)),
        ("type", span(&e.reservation)),
        ("delete_on_termination", span(&e.delete_on_termination)),
        ("eni_leak_probability", span(&e.eni_leak_probability)),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect()
}

/// What the events may name, resolved before them.
pub(super) struct EventTargets<'a> {
    pub duration: SimDuration,
    pub workloads: &'a [WorkloadSpec],
    pub node_groups: &'a [NodeGroupSpec],
    pub subnets: &'a [SubnetSpec],
    pub ec2: &'a Ec2Config,
    /// `[ipamd]` and each group's `ipamd` table, which an aws-node update's environment goes over.
    pub cluster_ipamd: Option<&'a RawIpamd>,
    pub group_ipamd: &'a [Option<RawIpamd>],
}

/// The file's events, sorted by time (file order at one instant), and the external callers they start.
pub(super) fn resolve_events(
    cx: &Ctx<'_>,
    raw: Vec<Spanned<RawEvent>>,
    t: &EventTargets<'_>,
) -> R<(Script, Vec<ExternalCallerSpec>)> {
    let mut events: Vec<Scripted> = Vec::new();
    let mut callers: Vec<ExternalCallerSpec> = Vec::new();
    // The names given so far, with the index of their event.
    let mut names: Vec<(String, usize)> = Vec::new();
    // Taken in time order (file order at one instant), so that each aws-node update goes over the ones
    // before it in the run.
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by_key(|&i| *raw[i].get_ref().at.get_ref());
    let mut updates: Vec<Vec<(String, &RawIpamd)>> = vec![Vec::new(); t.node_groups.len()];
    // The reservations each subnet has by CIDR so far: the file's, then those events create.
    let mut reserved: Vec<Vec<Ipv4Net>> = t
        .subnets
        .iter()
        .map(|s| {
            s.reservations
                .iter()
                .filter_map(|r| match r.range {
                    ReservationRange::Cidr(net) => Some(net),
                    _ => None,
                })
                .collect()
        })
        .collect();
    for i in order {
        let base = format!("events[{i}]");
        let span = raw[i].span();
        let e = raw[i].get_ref();
        let label = match &e.name {
            Some(n) => {
                let name = unique_name(
                    cx,
                    n,
                    &join(&base, "name"),
                    "event",
                    names.iter().map(|(n, _)| n.as_str()),
                    |j| format!("(also events[{}])", names[j].1),
                )?;
                names.push((name.clone(), i));
                name
            }
            None => format!("{}#{i}", e.kind.get_ref().trim()),
        };
        let at = *e.at.get_ref();
        if at >= t.duration {
            return Err(cx.error(
                e.at.span(),
                join(&base, "at"),
                format!("{at} is not before the end of the run ({})", t.duration),
            ));
        }
        let kind = e.kind.get_ref().trim();
        let Some((required, optional)) = keys_of_kind(kind) else {
            return Err(cx.error(
                e.kind.span(),
                join(&base, "do"),
                format!("unknown event \"{kind}\" (expected {EVENT_KINDS})"),
            ));
        };
        if let Some((k, s)) = given_keys(e)
            .into_iter()
            .find(|(k, _)| !required.contains(k) && !optional.contains(k))
        {
            let all: Vec<&str> = required.iter().chain(optional).copied().collect();
            return Err(cx.error(
                s,
                join(&base, k),
                format!(
                    "key \"{k}\" does not apply to do = \"{kind}\" (its keys: {})",
                    all.join(", ")
                ),
            ));
        }
        let given: Vec<&str> = given_keys(e).into_iter().map(|(k, _)| k).collect();
        if let Some(k) = required.iter().find(|k| !given.contains(k)) {
            return Err(cx.error(
                span,
                base,
                format!("missing required key `{k}` (do = \"{kind}\" needs it)"),
            ));
        }
        let ec = EventCx { cx, base: &base };
        let change = match kind {
            "update-aws-node" | "restart-aws-node" => {
                let groups = match &e.node_group {
                    Some(_) => vec![ec.node_group(e, t)?],
                    None => (0..t.node_groups.len()).collect(),
                };
                let max_unavailable = ec.max_unavailable(e)?;
                let mut rollouts = Vec::new();
                for g in groups {
                    let config = match &e.ipamd {
                        Some(table) => {
                            updates[g].push((join(&base, "ipamd"), table.get_ref()));
                            Some(ec.updated_ipamd(t, g, &updates[g])?)
                        }
                        None => None,
                    };
                    rollouts.push((
                        g,
                        AwsNodeRollout {
                            config,
                            max_unavailable,
                        },
                    ));
                }
                Change::AwsNode { rollouts }
            }
            "scale" => {
                let (w, spec) = ec.workload(e, t)?;
                if !matches!(spec.kind, WorkloadKind::Deployment { .. }) {
                    return Err(ec.at(
                        e.workload.as_ref().expect("required"),
                        "workload",
                        format!(
                            "workload \"{}\" is not a deployment: only a deployment has replicas to scale \
                             (stop-arrivals and start-arrivals steer the others)",
                            spec.name
                        ),
                    ));
                }
                let replicas = e.replicas.as_ref().expect("required");
                if *replicas.get_ref() > workloads::MAX_PODS {
                    return Err(ec.at(
                        replicas,
                        "replicas",
                        format!("must be at most {}", workloads::MAX_PODS),
                    ));
                }
                Change::Workload {
                    workload: w,
                    control: WorkloadControl::Scale(*replicas.get_ref()),
                }
            }
            "pause-deletions" | "resume-deletions" => Change::Workload {
                workload: ec.workload(e, t)?.0,
                control: if kind == "pause-deletions" {
                    WorkloadControl::PauseDeletions
                } else {
                    WorkloadControl::ResumeDeletions
                },
            },
            "stop-arrivals" | "start-arrivals" => {
                let (w, spec) = ec.workload(e, t)?;
                if matches!(spec.kind, WorkloadKind::Deployment { .. }) {
                    return Err(ec.at(
                        e.workload.as_ref().expect("required"),
                        "workload",
                        format!(
                            "workload \"{}\" is a deployment: it has no arrivals (do = \"scale\" changes its \
                             replicas)",
                            spec.name
                        ),
                    ));
                }
                Change::Workload {
                    workload: w,
                    control: if kind == "stop-arrivals" {
                        WorkloadControl::StopArrivals
                    } else {
                        WorkloadControl::StartArrivals
                    },
                }
            }
            "lose-nodes" => Change::LoseNodes {
                group: ec.node_group(e, t)?,
                count: positive_u32(
                    cx,
                    e.count.as_ref().expect("required"),
                    &join(&base, "count"),
                )?,
                notice: e
                    .notice
                    .as_ref()
                    .map_or(SimDuration::ZERO, |n| *n.get_ref()),
            },
            "launch-template" => {
                let group = ec.node_group(e, t)?;
                let max_pods = match &e.max_pods {
                    Some(m) => Some(positive_u32(cx, m, &join(&base, "max_pods"))?),
                    None => None,
                };
                let eni_leak_probability = match &e.eni_leak_probability {
                    Some(p) => Some(unit_interval(cx, p, &join(&base, "eni_leak_probability"))?),
                    None => None,
                };
                let template = LaunchTemplateChange {
                    max_pods,
                    delete_on_termination: e.delete_on_termination.as_ref().map(|d| *d.get_ref()),
                    eni_leak_probability,
                };
                if template == LaunchTemplateChange::default() {
                    return Err(cx.error(
                        span,
                        base,
                        "a launch-template event changes nothing: give max_pods, delete_on_termination or \
                         eni_leak_probability",
                    ));
                }
                Change::LaunchTemplate { group, template }
            }
            "create-reservation" | "delete-reservation" => {
                let (subnet, cidr) = ec.subnet_range(e, t)?;
                let account =
                    account_index(cx, e.account.as_ref(), &join(&base, "account"), t.ec2)?;
                let has = reserved[subnet].iter().position(|&r| r == cidr);
                let at_cidr = e.cidr.as_ref().expect("required");
                let id = SubnetId(subnet as u32);
                if kind == "create-reservation" {
                    let kind = *e.reservation.as_ref().expect("required").get_ref();
                    if kind == ReservationKind::Prefix && cidr.prefix_len() > 28 {
                        return Err(ec.at(
                            at_cidr,
                            "cidr",
                            format!("a prefix reservation holds whole /28 blocks: {cidr} is smaller than a /28"),
                        ));
                    }
                    if has.is_none() {
                        reserved[subnet].push(cidr);
                    }
                    Change::CreateReservation {
                        subnet: id,
                        cidr,
                        kind,
                        account,
                    }
                } else {
                    let Some(k) = has else {
                        return Err(ec.at(
                            at_cidr,
                            "cidr",
                            format!(
                                "subnet \"{}\" has no reservation of {cidr} to delete at this time (neither in \
                                 the file nor created by an earlier event)",
                                t.subnets[subnet].name
                            ),
                        ));
                    };
                    reserved[subnet].remove(k);
                    Change::DeleteReservation {
                        subnet: id,
                        cidr,
                        account,
                    }
                }
            }
            "api-load" => {
                let caller = ec.external_caller(e, t, &callers)?;
                callers.push(caller);
                Change::ExternalLoad {
                    caller: callers.len() - 1,
                }
            }
            _ => unreachable!("every kind of keys_of_kind is handled"),
        };
        events.push(Scripted {
            index: i,
            at,
            label,
            change,
        });
    }
    // Stable: events at one instant keep their file order.
    events.sort_by_key(|e| e.at);
    Ok((Script { events }, callers))
}

/// An event table being resolved: where it is, for messages about its keys.
struct EventCx<'a, 'c> {
    cx: &'a Ctx<'c>,
    base: &'a str,
}

impl EventCx<'_, '_> {
    fn at<T>(&self, v: &Spanned<T>, key: &str, message: impl Into<String>) -> ScenarioError {
        self.cx.error(v.span(), join(self.base, key), message)
    }

    fn workload<'t>(&self, e: &RawEvent, t: &EventTargets<'t>) -> R<(u32, &'t WorkloadSpec)> {
        let name = e.workload.as_ref().expect("required");
        match t.workloads.iter().position(|w| w.name == *name.get_ref()) {
            Some(i) => Ok((i as u32, &t.workloads[i])),
            None => {
                let known: Vec<&str> = t.workloads.iter().map(|w| w.name.as_str()).collect();
                Err(self.at(
                    name,
                    "workload",
                    format!(
                        "unknown workload \"{}\" (defined: {})",
                        name.get_ref(),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ))
            }
        }
    }

    /// The event's subnet and its CIDR: canonical and inside the subnet.
    fn subnet_range(&self, e: &RawEvent, t: &EventTargets<'_>) -> R<(usize, Ipv4Net)> {
        let name = e.subnet.as_ref().expect("required");
        let subnet = subnet_index(self.cx, t.subnets, name, &join(self.base, "subnet"))?;
        let at = e.cidr.as_ref().expect("required");
        let cidr = canonical_cidr(self.cx, at, &join(self.base, "cidr"), "reservation")?;
        let within = t.subnets[subnet].cidr;
        if !within.contains(&cidr) {
            return Err(self.at(
                at,
                "cidr",
                format!(
                    "reservation {cidr} lies outside subnet \"{}\" ({within})",
                    t.subnets[subnet].name
                ),
            ));
        }
        Ok((subnet, cidr))
    }

    fn node_group(&self, e: &RawEvent, t: &EventTargets<'_>) -> R<usize> {
        let name = e.node_group.as_ref().expect("required");
        node_group_index(t.node_groups, name.get_ref()).map_err(|m| self.at(name, "node_group", m))
    }

    /// `max_unavailable`: a count ≥ 1 or a percentage in (0, 100]; the manifest's 10 % when absent.
    fn max_unavailable(&self, e: &RawEvent) -> R<MaxUnavailable> {
        let Some(v) = &e.max_unavailable else {
            return Ok(MaxUnavailable::default());
        };
        let parsed = match v.get_ref() {
            toml::Value::Integer(n) if *n >= 1 && *n <= i64::from(u32::MAX) => {
                Some(MaxUnavailable::Count(*n as u32))
            }
            toml::Value::String(s) => s
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p <= 100.0)
                .map(MaxUnavailable::Percent),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.at(
                v,
                "max_unavailable",
                format!(
                    "expected a number of nodes ≥ 1 (3) or a percentage of them in (0, 100] (\"10%\"), got {}",
                    v.get_ref()
                ),
            )
        })
    }

    /// Group `g`'s aws-node environment after `updates` (in time order, this event's last) over its own.
    fn updated_ipamd(
        &self,
        t: &EventTargets<'_>,
        g: usize,
        updates: &[(String, &RawIpamd)],
    ) -> R<IpamdConfig> {
        let spec = &t.node_groups[g];
        let (key, table) = updates.last().expect("this event's table");
        if let Some(v) = &table.custom_network_cfg {
            return Err(self.cx.error(
                v.span(),
                join(key, "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"),
                "custom networking cannot be switched by an event: a node's ENIConfig is chosen when it \
                 starts; give the group its own eni_config and launch a new group",
            ));
        }
        let mut env = Layers::new(
            &format!("node_groups[{g}]"),
            t.group_ipamd[g].as_ref(),
            t.cluster_ipamd,
        );
        for (key, table) in updates {
            env = env.under(key.clone(), table);
        }
        let cfg = resolve_ipamd(self.cx, &spec.name, &env, spec.ipamd.custom_network.clone())?;
        if cfg.enable_ipv6 != spec.ipamd.enable_ipv6 {
            let (v, key) = [
                env.get("ENABLE_IPv6", |r| &r.enable_ipv6),
                env.get("ENABLE_IPv4", |r| &r.enable_ipv4),
            ]
            .into_iter()
            .flatten()
            .next()
            .expect("the family changed, so this event sets one of its variables");
            return Err(self.cx.error(
                v.span(),
                key,
                "an event cannot switch a node group's address family: a cluster's IP family is fixed \
                 when it is created (docs/reference/ipamd.md §11.1)",
            ));
        }
        Ok(cfg)
    }

    fn external_caller(
        &self,
        e: &RawEvent,
        t: &EventTargets<'_>,
        earlier: &[ExternalCallerSpec],
    ) -> R<ExternalCallerSpec> {
        let cx = self.cx;
        let name = unique_name(
            cx,
            e.caller.as_ref().expect("required"),
            &join(self.base, "caller"),
            "API caller",
            earlier.iter().map(|c| c.name.as_str()),
            |j| format!("(an earlier api-load event, caller {j}; give each window its own name)"),
        )?;
        let account = account_index(cx, e.account.as_ref(), &join(self.base, "account"), t.ec2)?;
        let duration = positive_duration(
            cx,
            e.lasting.as_ref().expect("required"),
            &join(self.base, "for"),
        )?;
        let table = e.calls_per_second.as_ref().expect("required");
        if table.get_ref().is_empty() {
            return Err(self.at(
                table,
                "calls_per_second",
                "must name at least one action, e.g. { DescribeNetworkInterfaces = 5 }",
            ));
        }
        let mut rates = Vec::new();
        for (action, rate) in table.get_ref() {
            let key = join(&join(self.base, "calls_per_second"), action.get_ref());
            let a = parse_action(cx, action, &key)?;
            let r = *rate.get_ref();
            // Faster than one call a microsecond, the gaps would round to zero and time would stand still.
            if !(r.is_finite() && r > 0.0 && r <= 1e6) {
                return Err(cx.error(
                    rate.span(),
                    key,
                    format!(
                        "must be a number of calls per second > 0 and at most 1000000, got {r}"
                    ),
                ));
            }
            rates.push((a, r));
        }
        Ok(ExternalCallerSpec {
            name,
            account,
            duration,
            rates,
        })
    }
}
