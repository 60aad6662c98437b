//! `[kubelet]`, `[node_lifecycle]` (and a node group's `lifecycle` over it), `[scheduler]` and `[api_server]`.

use super::*;

pub(super) fn resolve_kube(
    cx: &Ctx<'_>,
    kubelet: Option<RawKubelet>,
    scheduler: Option<RawScheduler>,
    api_server: Option<RawApiServer>,
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
    if let Some(p) = scheduler.and_then(|s| s.policy) {
        k.scheduler.policy = p.into();
    }
    Ok(k)
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
