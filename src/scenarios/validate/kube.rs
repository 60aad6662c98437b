//! `[kubelet]`, `[node_lifecycle]` (and a node group's `lifecycle` over it), `[scheduler]`, `[api_server]` and
//! `[controllers]`.

use super::*;

pub(super) fn resolve_kube(
    cx: &Ctx<'_>,
    kubelet: Option<RawKubelet>,
    scheduler: Option<RawScheduler>,
    api_server: Option<RawApiServer>,
    controllers: Option<RawControllers>,
    resource_controller: Option<RawResourceController>,
) -> R<KubeSpec> {
    let mut k = KubeSpec::default();
    if let Some(latency) = api_server.and_then(|a| a.latency) {
        k.api_server.latency = latency;
    }
    if let Some(r) = kubelet {
        resolve_kubelet(cx, r, &mut k.kubelet)?;
    }
    if let Some(r) = scheduler {
        let sc = &mut k.scheduler;
        if let Some(p) = r.policy {
            sc.policy = p.into();
        }
        if let Some(c) = &r.cycle {
            sc.cycle = positive_duration(cx, c, "scheduler.cycle")?;
        }
        sc.client = resolve_client(cx, "scheduler", &r.qps, &r.burst, sc.client)?;
    }
    if let Some(r) = controllers {
        let c = &mut k.controllers;
        if let Some(rs) = r.replicaset {
            let counts = (&rs.qps, &rs.burst, &rs.workers, &rs.burst_replicas);
            c.replicaset = resolve_controller(cx, "controllers.replicaset", counts, c.replicaset)?;
        }
        if let Some(job) = r.job {
            let counts = (&job.qps, &job.burst, &job.workers, &job.burst_replicas);
            c.job = ControllerSpec {
                sync_batch: job.sync_batch.unwrap_or(c.job.sync_batch),
                ..resolve_controller(cx, "controllers.job", counts, c.job)?
            };
        }
    }
    if let Some(r) = resource_controller {
        k.resource_controller = resolve_resource_controller(cx, r, k.resource_controller)?;
    }
    Ok(k)
}

/// `[resource_controller]` over its defaults: the cooldown as the controller takes it (raised to 30 s), the
/// worker counts and the two EC2 clients' limiters (docs/reference/ec2.md §11.5, §11.6).
fn resolve_resource_controller(
    cx: &Ctx<'_>,
    r: RawResourceController,
    d: ResourceControllerSpec,
) -> R<ResourceControllerSpec> {
    const KEY: &str = "resource_controller";
    let branch_eni_cooldown = r.branch_eni_cooldown.map_or(d.branch_eni_cooldown, |c| {
        (*c.get_ref()).max(MIN_BRANCH_ENI_COOLDOWN)
    });
    Ok(ResourceControllerSpec {
        branch_eni_cooldown,
        branch_workers: optional_positive(
            cx,
            KEY,
            "branch_workers",
            &r.branch_workers,
            d.branch_workers,
        )?,
        node_workers: optional_positive(cx, KEY, "node_workers", &r.node_workers, d.node_workers)?,
        user_client: rc_client(cx, "user", &r.user_qps, &r.user_burst, d.user_client)?,
        instance_client: rc_client(
            cx,
            "instance",
            &r.instance_qps,
            &r.instance_burst,
            d.instance_client,
        )?,
    })
}

/// One of the resource controller's EC2 client limiters: `<name>_qps` and `<name>_burst`.
fn rc_client(
    cx: &Ctx<'_>,
    name: &str,
    qps: &Option<Spanned<f64>>,
    burst: &Option<Spanned<u32>>,
    default: ClientRate,
) -> R<ClientRate> {
    let table = "resource_controller";
    let qps = match qps {
        Some(v) => self::qps(cx, v, &join(table, &format!("{name}_qps")))?,
        None => default.qps,
    };
    let burst = optional_positive(cx, table, &format!("{name}_burst"), burst, default.burst)?;
    Ok(ClientRate::new(qps, burst))
}

/// The slowest and fastest client rates: client-go's limiter counts thousandths of a token (`sim::kube::api`),
/// and a million calls a second is beyond any API server.
const MIN_QPS: f64 = 0.001;
const MAX_QPS: f64 = 1e6;

fn resolve_kubelet(cx: &Ctx<'_>, r: RawKubelet, kl: &mut KubeletSpec) -> R<()> {
    let pairs = [
        (r.sandbox_setup, &mut kl.sandbox_setup),
        (r.container_start, &mut kl.container_start),
        (r.teardown, &mut kl.teardown),
        (r.manifest_check, &mut kl.manifest_check),
    ];
    for (v, slot) in pairs {
        if let Some(v) = v {
            *slot = v;
        }
    }
    if let Some(q) = &r.api_qps {
        kl.api.qps = qps(cx, q, "kubelet.api_qps")?;
    }
    if let Some(b) = &r.api_burst {
        kl.api.burst = positive_u32(cx, b, "kubelet.api_burst")?;
    }
    if let Some(sr) = &r.sandbox_retry {
        kl.sandbox_retry = resolve_backoff(cx, "kubelet.sandbox_retry", sr, kl.sandbox_retry)?;
    }
    if let Some(b) = &r.image_backoff {
        kl.image_backoff = resolve_backoff(cx, "kubelet.image_backoff", b, kl.image_backoff)?;
    }
    if let Some(s) = r.serialize_image_pulls {
        kl.serialize_image_pulls = s;
    }
    if let Some(m) = &r.max_parallel_image_pulls {
        let n = positive_u32(cx, m, "kubelet.max_parallel_image_pulls")?;
        // kubelet's configuration validation refuses the same combination.
        if kl.serialize_image_pulls && n > 1 {
            return Err(cx.error(
                m.span(),
                "kubelet.max_parallel_image_pulls",
                format!(
                    "{n} parallel pulls need serialize_image_pulls = false (serialised pulls go one at a time; \
                     serialize_image_pulls is true unless set)"
                ),
            ));
        }
        kl.max_parallel_image_pulls = Some(n);
    }
    let registry_qps = match &r.registry_pull_qps {
        Some(q) if *q.get_ref() == 0.0 => None,
        Some(q) => Some(qps(cx, q, "kubelet.registry_pull_qps")?),
        None => kl.registry.map(|c| c.qps),
    };
    let burst = match &r.registry_burst {
        Some(b) => positive_u32(cx, b, "kubelet.registry_burst")?,
        None => kl.registry.map_or(10, |c| c.burst),
    };
    kl.registry = registry_qps.map(|q| ClientRate::new(q, burst));
    if let Some(p) = &r.pleg_period {
        kl.pleg_period = positive_duration(cx, p, "kubelet.pleg_period")?;
    }
    if let Some(n) = r.host_network_pods {
        kl.host_network_pods = n;
    }
    if let Some(d) = &r.crash_loop_backoff_initial {
        kl.crash_loop.initial = positive_duration(cx, d, "kubelet.crash_loop_backoff_initial")?;
    }
    if let Some(d) = &r.crash_loop_backoff_max {
        // `crashLoopBackOff.maxContainerRestartPeriod`'s range (docs/reference/kube.md §4.7).
        let max = *d.get_ref();
        if !(SimDuration::from_secs(1)..=SimDuration::from_secs(300)).contains(&max) {
            return Err(cx.error(
                d.span(),
                "kubelet.crash_loop_backoff_max",
                format!("must be from 1s to 300s (kubelet's maxContainerRestartPeriod), got {max}"),
            ));
        }
        kl.crash_loop.max = max;
    }
    Ok(())
}

/// A client's calls per second, from [`MIN_QPS`] to [`MAX_QPS`].
fn qps(cx: &Ctx<'_>, v: &Spanned<f64>, key: &str) -> R<f64> {
    let x = *v.get_ref();
    if (MIN_QPS..=MAX_QPS).contains(&x) {
        Ok(x)
    } else {
        Err(cx.error(
            v.span(),
            key,
            format!("must be a number of calls per second from {MIN_QPS} to {MAX_QPS}, got {x}"),
        ))
    }
}

/// `under` with the keys `raw` gives laid over it: the defaults under `[node_lifecycle]`, that under a node
/// group's `lifecycle`. The distributions were checked when they were read.
pub(super) fn resolve_node_lifecycle(
    under: &NodeLifecycleSpec,
    raw: Option<&RawNodeLifecycle>,
) -> NodeLifecycleSpec {
    let mut lc = under.clone();
    if let Some(r) = raw {
        let pairs = [
            (&r.boot, &mut lc.boot),
            (&r.aws_node_start, &mut lc.aws_node_start),
            (&r.cni_ready, &mut lc.cni_ready),
        ];
        for (v, slot) in pairs {
            if let Some(v) = v {
                *slot = *v;
            }
        }
    }
    lc
}

/// A Kubernetes client's `qps` and `burst` under the table `key`, each defaulting to `default`'s.
fn resolve_client(
    cx: &Ctx<'_>,
    key: &str,
    qps: &Option<Spanned<f64>>,
    burst: &Option<Spanned<u32>>,
    default: ClientRate,
) -> R<ClientRate> {
    let qps = match qps {
        Some(v) => self::qps(cx, v, &join(key, "qps"))?,
        None => default.qps,
    };
    let burst = optional_positive(cx, key, "burst", burst, default.burst)?;
    Ok(ClientRate::new(qps, burst))
}

/// The keys every controller's table has, as written: `qps`, `burst`, `workers`, `burst_replicas`.
type ControllerKeys<'a> = (
    &'a Option<Spanned<f64>>,
    &'a Option<Spanned<u32>>,
    &'a Option<Spanned<u32>>,
    &'a Option<Spanned<u32>>,
);

/// A controller's client and counts under `key`, each defaulting to `default`'s.
fn resolve_controller(
    cx: &Ctx<'_>,
    key: &str,
    (qps, burst, workers, burst_replicas): ControllerKeys<'_>,
    default: ControllerSpec,
) -> R<ControllerSpec> {
    Ok(ControllerSpec {
        client: resolve_client(cx, key, qps, burst, default.client)?,
        workers: optional_positive(cx, key, "workers", workers, default.workers)?,
        burst_replicas: optional_positive(
            cx,
            key,
            "burst_replicas",
            burst_replicas,
            default.burst_replicas,
        )?,
        sync_batch: default.sync_batch,
    })
}

/// `table.name`, a positive integer, or `default` when absent.
fn optional_positive(
    cx: &Ctx<'_>,
    table: &str,
    name: &str,
    v: &Option<Spanned<u32>>,
    default: u32,
) -> R<u32> {
    match v {
        Some(v) => positive_u32(cx, v, &join(table, name)),
        None => Ok(default),
    }
}

pub(super) fn resolve_backoff(cx: &Ctx<'_>, key: &str, r: &RawBackoff, d: Backoff) -> R<Backoff> {
    let initial = match &r.initial {
        Some(v) => positive_duration(cx, v, &join(key, "initial"))?,
        None => d.initial,
    };
    let factor = match &r.factor {
        Some(v) => {
            let x = *v.get_ref();
            if !(x.is_finite() && x >= 1.0) {
                return Err(cx.error(
                    v.span(),
                    join(key, "factor"),
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
        return Err(cx.error(span, join(key, name), message));
    }
    let jitter = match &r.jitter {
        Some(v) => unit_interval(cx, v, &join(key, "jitter"))?,
        None => d.jitter,
    };
    Ok(Backoff {
        initial,
        factor,
        max,
        jitter,
    })
}

pub(super) fn unit_interval(cx: &Ctx<'_>, v: &Spanned<f64>, key: &str) -> R<f64> {
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
