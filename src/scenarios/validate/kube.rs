//! `[kubelet]`, `[node_lifecycle]`, `[scheduler]`, `[api_server]` and `[controllers]`.

use super::*;

pub(super) fn resolve_kube(
    cx: &Ctx<'_>,
    kubelet: Option<RawKubelet>,
    lifecycle: Option<RawNodeLifecycle>,
    scheduler: Option<RawScheduler>,
    api_server: Option<RawApiServer>,
    controllers: Option<RawControllers>,
) -> R<KubeSpec> {
    let mut k = KubeSpec::default();
    if let Some(latency) = api_server.and_then(|a| a.latency) {
        k.api_server.latency = latency;
    }
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
            let key = "controllers.replicaset";
            c.replicaset = ControllerSpec {
                client: resolve_client(cx, key, &rs.qps, &rs.burst, c.replicaset.client)?,
                workers: optional_positive(cx, key, "workers", &rs.workers, c.replicaset.workers)?,
                burst_replicas: optional_positive(
                    cx,
                    key,
                    "burst_replicas",
                    &rs.burst_replicas,
                    c.replicaset.burst_replicas,
                )?,
                sync_batch: c.replicaset.sync_batch,
            };
        }
        if let Some(job) = r.job {
            let key = "controllers.job";
            c.job = ControllerSpec {
                client: resolve_client(cx, key, &job.qps, &job.burst, c.job.client)?,
                workers: optional_positive(cx, key, "workers", &job.workers, c.job.workers)?,
                burst_replicas: optional_positive(
                    cx,
                    key,
                    "burst_replicas",
                    &job.burst_replicas,
                    c.job.burst_replicas,
                )?,
                sync_batch: job.sync_batch.unwrap_or(c.job.sync_batch),
            };
        }
    }
    Ok(k)
}

/// Highest `qps` a client may have: a token a microsecond, simulated time's tick.
const MAX_QPS: f64 = 1_000_000.0;

/// A Kubernetes client's `qps` and `burst` under the table `key`, each defaulting to `default`'s.
fn resolve_client(
    cx: &Ctx<'_>,
    key: &str,
    qps: &Option<Spanned<f64>>,
    burst: &Option<Spanned<u32>>,
    default: ClientRate,
) -> R<ClientRate> {
    let qps = match qps {
        Some(v) => {
            let x = *v.get_ref();
            if !(x.is_finite() && x > 0.0 && x <= MAX_QPS) {
                return Err(cx.error(
                    v.span(),
                    join(key, "qps"),
                    format!(
                        "must be a number of calls a second above 0 and at most {MAX_QPS}, got {x}"
                    ),
                ));
            }
            x
        }
        None => default.qps,
    };
    let burst = optional_positive(cx, key, "burst", burst, default.burst)?;
    Ok(ClientRate::new(qps, burst))
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

pub(super) fn resolve_sandbox_retry(
    cx: &Ctx<'_>,
    r: &RawSandboxRetry,
    d: SandboxRetry,
) -> R<SandboxRetry> {
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
