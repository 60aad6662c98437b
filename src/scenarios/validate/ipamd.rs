//! `[ipamd]` and each node group's overrides: aws-node's environment variables and custom networking.

use super::*;

/// The aws-node environment one node group sees: its own `ipamd` table over the scenario's `[ipamd]`, each key
/// taken from the first table that sets it.
pub(super) struct Layers<'a> {
    /// Key path and table, the group's first.
    tables: Vec<(String, &'a RawIpamd)>,
}

impl<'a> Layers<'a> {
    pub(super) fn new(
        base: &str,
        group: Option<&'a RawIpamd>,
        cluster: Option<&'a RawIpamd>,
    ) -> Self {
        let tables = [(join(base, "ipamd"), group), ("ipamd".to_string(), cluster)]
            .into_iter()
            .filter_map(|(key, t)| t.map(|t| (key, t)))
            .collect();
        Layers { tables }
    }

    /// These layers under `table` (at key path `key`), which wins over them: a later change of the environment.
    pub(super) fn under(mut self, key: String, table: &'a RawIpamd) -> Self {
        self.tables.insert(0, (key, table));
        self
    }

    /// The value of key `name` (read through `field`) and its key path, if some table sets it.
    pub(super) fn get<T>(
        &self,
        name: &str,
        field: fn(&RawIpamd) -> &Option<T>,
    ) -> Option<(&'a T, String)> {
        self.tables
            .iter()
            .find_map(|(base, t)| field(t).as_ref().map(|v| (v, join(base, name))))
    }
}

pub(super) type EnvField = fn(&RawIpamd) -> &Option<Spanned<EnvValue>>;

/// Applies ipamd's parse rules to the merged environment (docs/reference/ipamd.md §1.1): a value ipamd cannot use gives
/// its default, as in the real daemon. Only what the container entrypoint refuses to start with is an error
/// (§1).
pub(super) fn resolve_ipamd(
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
        enforcing_mode: d.enforcing_mode,
        external_snat: flag(
            "AWS_VPC_K8S_CNI_EXTERNALSNAT",
            |r| &r.external_snat,
            d.external_snat,
        ),
        enable_ipv6: flag("ENABLE_IPv6", |r| &r.enable_ipv6, d.enable_ipv6),
        choice: env
            .get("choice", |r| &r.choice)
            .map_or(d.choice, |(c, _)| *c),
        reconcile_api_calls: env
            .get("reconcile_api_calls", |r| &r.reconcile_api_calls)
            .map_or(d.reconcile_api_calls, |(b, _)| *b),
    };
    let cfg = IpamdConfig {
        enforcing_mode: enforcing_mode(cx, group, env, cfg.enable_pod_eni)?,
        ..cfg
    };
    check_ip_family(cx, group, env, &cfg)?;
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

/// `POD_SECURITY_GROUP_ENFORCING_MODE`: with `ENABLE_POD_ENI` on, the entrypoint refuses to start unless it
/// is `strict` or `standard` (docs/reference/ec2.md §11.7); with it off the value is not read.
fn enforcing_mode(cx: &Ctx<'_>, group: &str, env: &Layers<'_>, pod_eni: bool) -> R<EnforcingMode> {
    let Some((v, key)) = env.get("POD_SECURITY_GROUP_ENFORCING_MODE", |r| {
        &r.pod_security_group_enforcing_mode
    }) else {
        return Ok(EnforcingMode::Strict);
    };
    match EnforcingMode::parse(v.get_ref()) {
        Some(mode) => Ok(mode),
        None if !pod_eni => Ok(EnforcingMode::Strict),
        None => Err(cx.error(
            v.span(),
            key,
            format!(
                "POD_SECURITY_GROUP_ENFORCING_MODE must be \"strict\" or \"standard\" with ENABLE_POD_ENI on \
                 node group \"{group}\": the aws-node entrypoint refuses to start"
            ),
        )),
    }
}

/// `isConfigValid`'s configuration checks (docs/reference/ipamd.md §11.1): exactly one of `ENABLE_IPv4` and
/// `ENABLE_IPv6`, and IPv6 only with prefix delegation and without custom networking. ipamd exits at start on
/// any of them, on every node, so they are load-time errors. An unset `ENABLE_IPv4` is taken as the opposite
/// of `ENABLE_IPv6`, as the shipped manifest and EKS's IPv6 add-on set it (§11.1, a modelling choice).
fn check_ip_family(cx: &Ctx<'_>, group: &str, env: &Layers<'_>, cfg: &IpamdConfig) -> R<()> {
    let v6 = env.get("ENABLE_IPv6", |r| &r.enable_ipv6);
    if let Some((v, key)) = env.get("ENABLE_IPv4", |r| &r.enable_ipv4) {
        let v4 = parse_bool(v.get_ref(), false);
        if v4 == cfg.enable_ipv6 {
            let both = if v4 { "both enabled" } else { "both disabled" };
            return Err(cx.error(
                v.span(),
                key,
                format!(
                    "ENABLE_IPv4 and ENABLE_IPv6 are {both} on node group \"{group}\": ipamd refuses to \
                     start (isConfigValid); exactly one address family must be on"
                ),
            ));
        }
    }
    let Some((v, key)) = v6.filter(|_| cfg.enable_ipv6) else {
        return Ok(());
    };
    let why = if cfg.custom_network.is_some() {
        "custom networking is not supported in IPv6 (turn AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG off)"
    } else if !cfg.enable_prefix_delegation {
        "IPv6 runs only in prefix delegation mode (set ENABLE_PREFIX_DELEGATION = true)"
    } else {
        return Ok(());
    };
    Err(cx.error(
        v.span(),
        key,
        format!("ENABLE_IPv6=true on node group \"{group}\": ipamd refuses to start (isConfigValid): {why}"),
    ))
}

/// IPv6 node groups run only on types with prefix support and only in dual-stack subnets
/// (docs/reference/ipamd.md §11.1, docs/reference/ec2.md §6): ipamd refuses to start on a type without prefix
/// delegation (`isConfigValid`, unlike IPv4's silent fall-back), and EKS cannot deploy IPv6 nodes in a subnet
/// without IPv6.
pub(super) fn check_ipv6_group(
    cx: &Ctx<'_>,
    group: &str,
    env: &Layers<'_>,
    cfg: &IpamdConfig,
    instance_type: &InstanceType,
    subnets: &[&SubnetSpec],
) -> R<()> {
    let Some((v, key)) = env
        .get("ENABLE_IPv6", |r| &r.enable_ipv6)
        .filter(|_| cfg.enable_ipv6)
    else {
        return Ok(());
    };
    if !instance_type.supports_prefixes() {
        return Err(cx.error(
            v.span(),
            key,
            format!(
                "ENABLE_IPv6=true on node group \"{group}\": {} has no prefix delegation (not Nitro, not \
                 bare metal), so ipamd refuses to start (isConfigValid); IPv6 nodes must be Nitro types",
                instance_type.name
            ),
        ));
    }
    if let Some(s) = subnets.iter().find(|s| s.ipv6_cidr.is_none()) {
        return Err(cx.error(
            v.span(),
            key,
            format!(
                "ENABLE_IPv6=true on node group \"{group}\": subnet \"{}\" has no IPv6 block; IPv6 nodes \
                 need dual-stack subnets (give it an ipv6_cidr = \"…/64\")",
                s.name
            ),
        ));
    }
    Ok(())
}

/// `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG` and the group's `eni_config` go together. ENIConfigs are per AZ, so the
/// ENIConfig's subnet must share the AZ of every subnet of the group (docs/reference/ipamd.md §4.3).
pub(super) fn resolve_custom_network(
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
