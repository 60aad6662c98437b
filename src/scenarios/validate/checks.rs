//! Checks every section uses: names, positive durations and counts, API action names.

use super::*;

pub(super) fn non_empty(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<String> {
    if s.get_ref().trim().is_empty() {
        Err(cx.error(s.span(), key, "must not be empty"))
    } else {
        Ok(s.get_ref().clone())
    }
}

/// A name that can name a folder of its own under `output/`: one plain path component, so that a run never
/// writes outside it (`../x`, `/etc`, `C:x`).
pub(super) fn folder_name(cx: &Ctx<'_>, s: &Spanned<String>, key: &str) -> R<String> {
    let name = non_empty(cx, s, key)?;
    let plain = !name.contains(['/', '\\', ':', '\0'])
        && matches!(
            std::path::Path::new(&name).components().collect::<Vec<_>>().as_slice(),
            [std::path::Component::Normal(c)] if **c == *name
        );
    if plain {
        Ok(name)
    } else {
        Err(cx.error(
            s.span(),
            key,
            format!(
                "{name:?} is not a plain file name: it names the output folder (output/NAME/), so it may not \
                 be `.` or `..` nor hold `/`, `\\`, `:` or NUL"
            ),
        ))
    }
}

/// A non-empty name that none of `earlier` already has; `where_(j)` ends the error message, saying where the
/// first one is.
pub(super) fn unique_name<'a>(
    cx: &Ctx<'_>,
    s: &Spanned<String>,
    key: &str,
    what: &str,
    earlier: impl IntoIterator<Item = &'a str>,
    where_: impl Fn(usize) -> String,
) -> R<String> {
    let name = non_empty(cx, s, key)?;
    match earlier.into_iter().position(|o| o == name) {
        Some(j) => Err(cx.error(
            s.span(),
            key,
            format!("duplicate {what} name \"{name}\" {}", where_(j)),
        )),
        None => Ok(name),
    }
}

pub(super) fn positive_duration(
    cx: &Ctx<'_>,
    d: &Spanned<SimDuration>,
    key: &str,
) -> R<SimDuration> {
    if *d.get_ref() == SimDuration::ZERO {
        Err(cx.error(d.span(), key, "must be a positive duration, got 0s"))
    } else {
        Ok(*d.get_ref())
    }
}

/// Far beyond any EKS cluster, and it keeps every launch event within the engine's pending-event capacity.
pub(crate) const MAX_NODES_PER_GROUP: u32 = 100_000;

pub(super) fn positive_u32(cx: &Ctx<'_>, v: &Spanned<u32>, key: &str) -> R<u32> {
    if *v.get_ref() == 0 {
        Err(cx.error(v.span(), key, "must be a positive integer, got 0"))
    } else {
        Ok(*v.get_ref())
    }
}

/// Whether a distribution can produce anything but zero: interarrival times must.
pub(super) fn dist_is_positive(d: &DurationDist) -> bool {
    let zero = SimDuration::ZERO;
    match *d {
        DurationDist::Fixed(v) => v > zero,
        DurationDist::Uniform { max, .. } => max > zero,
        DurationDist::Exponential { mean, max } => mean > zero && max.is_none_or(|m| m > zero),
        DurationDist::LogNormal { median, max, .. } => {
            median > zero && max.is_none_or(|m| m > zero)
        }
    }
}

pub(super) fn parse_action(cx: &Ctx<'_>, name: &Spanned<String>, key: &str) -> R<Action> {
    name.get_ref()
        .parse::<Action>()
        .map_err(|e| cx.error(name.span(), key, e))
}
