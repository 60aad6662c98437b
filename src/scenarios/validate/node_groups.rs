//! `[[node_groups]]`: instance types, counts, scale steps, rollouts, allocatable resources, provisioners, max
//! pods, node start-up.

use super::*;

/// The cluster-wide tables a node group's own settings are laid over.
pub(super) struct ClusterDefaults<'a> {
    /// `[ipamd]`: the aws-node DaemonSet's environment.
    pub ipamd: Option<&'a RawIpamd>,
    /// Each group's own `ipamd` table, by group index: kept apart from the group's other keys so that the
    /// events that change aws-node's environment can go over it.
    pub group_ipamd: &'a [Option<RawIpamd>],
    /// `[node_lifecycle]` over the defaults.
    pub lifecycle: NodeLifecycleSpec,
}

pub(super) fn resolve_node_group(
    cx: &Ctx<'_>,
    i: usize,
    g: Spanned<RawNodeGroup>,
    earlier: &[NodeGroupSpec],
    subnets: &[SubnetSpec],
    ec2: &Ec2Config,
    cluster: &ClusterDefaults<'_>,
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
    let capacity_distribution = match (&g.capacity_distribution, provisioner) {
        (None, _) => CapacityDistribution::default(),
        (Some(c), None) => (*c.get_ref()).into(),
        (Some(c), Some(_)) => {
            return Err(cx.error(
                c.span(),
                join(&base, "capacity_distribution"),
                "capacity_distribution is an Auto Scaling group's setting; a provisioned group's zone is \
                 chosen by EC2 Fleet (remove it or the provisioner)",
            ));
        }
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

    let env = Layers::new(&base, cluster.group_ipamd[i].as_ref(), cluster.ipamd);
    let custom_network = resolve_custom_network(cx, &base, &env, g.eni_config, subnets, &idx)?;
    let ipamd = resolve_ipamd(cx, &name, &env, custom_network)?;
    let group_subnets: Vec<&SubnetSpec> = idx.iter().map(|&j| &subnets[j]).collect();
    check_ipv6_group(cx, &name, &env, &ipamd, instance_type, &group_subnets)?;
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
        capacity_distribution,
        lifecycle: resolve_node_lifecycle(&cluster.lifecycle, g.lifecycle.as_ref()),
        leaks: LeakSettings {
            delete_on_termination: g.delete_on_termination.unwrap_or(true),
            eni_leak_probability: match &g.eni_leak_probability {
                Some(p) => unit_interval(cx, p, &join(&base, "eni_leak_probability"))?,
                None => 0.0,
            },
        },
    })
}

/// A node count (`count`, a scale step's `count`) is at most `MAX_NODES_PER_GROUP`, and at most the
/// provisioner's `max_nodes` when the group has one.
pub(super) fn check_node_count(
    cx: &Ctx<'_>,
    v: &Spanned<u32>,
    key: &str,
    max_nodes: Option<u32>,
) -> R<u32> {
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
pub(super) fn resolve_scale_steps(
    cx: &Ctx<'_>,
    base: &str,
    raw: Vec<Spanned<crate::scenarios::raw::RawScaleStep>>,
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

pub(super) fn resolve_rollouts(
    cx: &Ctx<'_>,
    base: &str,
    raw: Vec<Spanned<crate::scenarios::raw::RawRollout>>,
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
pub(super) fn resolve_allocatable(
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

pub(super) fn resolve_provisioner(
    cx: &Ctx<'_>,
    key: &str,
    p: &RawProvisioner,
) -> R<ProvisionerSpec> {
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
    let subnet_refresh = match &p.subnet_refresh {
        Some(r) if *r.get_ref() < SUBNET_REFRESH_INTERVAL => {
            return Err(cx.error(
                r.span(),
                join(key, "subnet_refresh"),
                format!(
                    "subnet_refresh {} is shorter than {SUBNET_REFRESH_INTERVAL}, the least Karpenter's \
                     SUBNET_REFRESH_INTERVAL allows",
                    r.get_ref()
                ),
            ));
        }
        Some(r) => *r.get_ref(),
        None => d.subnet_refresh,
    };
    Ok(ProvisionerSpec {
        batch_idle,
        batch_max,
        max_nodes,
        subnet_policy: p.subnet_policy.map_or(d.subnet_policy, Into::into),
        subnet_refresh,
        consolidate_after: p
            .consolidate_after
            .as_ref()
            .map_or(d.consolidate_after, |c| c.0),
    })
}

/// The index in `subnets` of the subnet named by `s`.
pub(super) fn subnet_index(
    cx: &Ctx<'_>,
    subnets: &[SubnetSpec],
    s: &Spanned<String>,
    key: &str,
) -> R<usize> {
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
pub(super) fn computed_max_pods(
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
