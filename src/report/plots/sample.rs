//! Fewer points for the same picture: a 100k-pod run would otherwise put 100k vertices in every CDF and make
//! the SVGs (and the HTML page that inlines them) tens of megabytes, with nothing more to see.

/// Most points of a drawn CDF.
pub(super) const CDF_POINTS: usize = 1000;
/// Most points of a drawn time series.
pub(super) const SERIES_POINTS: usize = 2000;

/// The empirical CDF of `values` over `count` items (`count >= values.len()`: items without a value keep the
/// curve below 1), as the corners of its step function, at most [`CDF_POINTS`] of them. A small sample keeps
/// every step; a large one keeps evenly spaced ranks, which is exact to within 1/1000 in y.
pub(super) fn cdf(values: &[f64], count: usize) -> Vec<(f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || count == 0 {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let n = count.max(v.len()) as f64;
    let m = v.len();
    let mut out = Vec::with_capacity(CDF_POINTS.min(2 * m + 1));
    out.push((v[0], 0.0));
    if 2 * m <= CDF_POINTS {
        for (i, &x) in v.iter().enumerate() {
            if i > 0 {
                out.push((x, i as f64 / n));
            }
            out.push((x, (i + 1) as f64 / n));
        }
    } else {
        let k = CDF_POINTS - 1;
        let mut last = usize::MAX;
        for j in 0..k {
            let i = ((j as f64) * ((m - 1) as f64) / ((k - 1) as f64)).round() as usize;
            if i != last {
                out.push((v[i], (i + 1) as f64 / n));
                last = i;
            }
        }
    }
    out
}

/// `(time, value)` pairs of a series, without missing values, at most [`SERIES_POINTS`]: a long series is cut
/// into buckets and each bucket keeps its lowest and highest sample in time order, so a short dip to zero free
/// addresses still shows.
pub(super) fn series(time: &[f64], values: &[f64]) -> Vec<(f64, f64)> {
    let pts: Vec<(f64, f64)> = time
        .iter()
        .zip(values)
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .map(|(&t, &v)| (t, v))
        .collect();
    if pts.len() <= SERIES_POINTS {
        return pts;
    }
    let buckets = SERIES_POINTS / 2;
    let mut out = Vec::with_capacity(SERIES_POINTS);
    for b in 0..buckets {
        let chunk = &pts[b * pts.len() / buckets..(b + 1) * pts.len() / buckets];
        if chunk.is_empty() {
            continue;
        }
        let lo = (0..chunk.len())
            .min_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1))
            .unwrap_or(0);
        let hi = (0..chunk.len())
            .max_by(|&a, &b| chunk[a].1.total_cmp(&chunk[b].1))
            .unwrap_or(0);
        let (first, second) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        out.push(chunk[first]);
        if second != first {
            out.push(chunk[second]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cdf_keeps_every_step_and_stops_below_one_for_missing_items() {
        let c = cdf(&[2.0, 1.0], 4);
        assert_eq!(c, vec![(1.0, 0.0), (1.0, 0.25), (2.0, 0.25), (2.0, 0.5)]);
    }

    #[test]
    fn large_cdf_is_capped_and_ends_at_the_maximum() {
        let v: Vec<f64> = (0..100_000).map(|i| f64::from(i % 977)).collect();
        let c = cdf(&v, v.len());
        assert!(c.len() <= CDF_POINTS);
        assert_eq!(*c.last().unwrap(), (976.0, 1.0));
        assert!(c.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn long_series_keeps_a_short_dip() {
        let t: Vec<f64> = (0..100_000).map(f64::from).collect();
        let mut v = vec![50.0; t.len()];
        v[54_321] = 0.0;
        let s = series(&t, &v);
        assert!(s.len() <= SERIES_POINTS);
        assert!(s.contains(&(54_321.0, 0.0)));
        assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
