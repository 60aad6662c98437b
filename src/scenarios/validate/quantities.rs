//! Kubernetes resource quantities (CPU and memory) as the API server spells them.

use super::*;

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
