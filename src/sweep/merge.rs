//! `vpcsim merge`: the folders of a sweep's shards into one folder whose `results.csv` is the one a single
//! machine would have written. Every shard must come from the same sweep file, and together they must hold
//! every run of the grid exactly once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::manifest::{MANIFEST, Manifest};
use super::results::{self, RESULTS, TIMINGS};
use super::{Shard, SweepError};
use crate::folder::{self, Claim};
use crate::report;

/// Merges the sweep folders `dirs` into `out`; returns the merged manifest and the claim on `out`, which the
/// caller holds while it draws the plots.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<(Manifest, Claim), SweepError> {
    let Some(first) = dirs.first() else {
        return Err(SweepError::Merge("no folders to merge".into()));
    };
    let manifest = Manifest::read(first)?;
    // The missing runs are counted over the grid: one no sweep could have run is refused first.
    if manifest.runs > super::MAX_RUNS {
        return Err(SweepError::Merge(format!(
            "{}: the manifest says {} runs, more than the {} one sweep can hold",
            first.display(),
            manifest.runs,
            super::MAX_RUNS
        )));
    }
    let mut header: Option<Vec<String>> = None;
    let mut rows: BTreeMap<u64, (Vec<String>, &Path)> = BTreeMap::new();
    let mut timing_header: Option<Vec<String>> = None;
    let mut timings: Vec<Vec<String>> = Vec::new();
    for dir in dirs {
        let m = Manifest::read(dir)?;
        let differences = m.differences(
            &format!("in {}", dir.display()),
            &manifest,
            &format!("in {}", first.display()),
        );
        if !differences.is_empty() {
            return Err(SweepError::Merge(format!(
                "{} is of another sweep than {}: {}",
                dir.display(),
                first.display(),
                differences.join("; ")
            )));
        }
        let path = dir.join(RESULTS);
        let (h, shard_rows) = results::read_rows(&path, false)?;
        match &header {
            None => header = Some(h),
            Some(h0) if *h0 != h => {
                return Err(SweepError::Merge(format!(
                    "{} has other columns than {}",
                    path.display(),
                    first.join(RESULTS).display()
                )));
            }
            Some(_) => {}
        }
        for r in shard_rows {
            let run = results::run_of(&path, &r)?;
            if let Some((_, other)) = rows.get(&run) {
                return Err(SweepError::Merge(format!(
                    "run {run} is in both {} and {}",
                    other.display(),
                    dir.display()
                )));
            }
            rows.insert(run, (r, dir));
        }
        let tpath = dir.join(TIMINGS);
        if tpath.exists() {
            let (h, t) = results::read_rows(&tpath, false)?;
            timing_header.get_or_insert(h);
            timings.extend(t);
        }
    }
    let missing: Vec<u64> = (0..manifest.runs)
        .filter(|r| !rows.contains_key(r))
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(u64::to_string).collect();
        return Err(SweepError::Merge(format!(
            "{} of {} runs are missing (runs {}{}): merge every shard, each finished",
            missing.len(),
            manifest.runs,
            shown.join(", "),
            if missing.len() > 10 { ", …" } else { "" }
        )));
    }

    let claim = folder::claim(out)?;
    report::plots::remove(out)?;
    let merged = Manifest {
        shard: Shard::WHOLE,
        ..manifest
    };
    folder::write_atomic(&out.join(MANIFEST), &merged.to_bytes())?;
    let header = header.expect("at least one folder was read");
    let mut rows: Vec<Vec<String>> = rows.into_values().map(|(r, _)| r).collect();
    let timing_header = timing_header.unwrap_or_else(|| super::strings(results::TIMING_COLUMNS));
    super::write_outputs(out, &header, &mut rows, &timing_header, &mut timings)?;
    Ok((merged, claim))
}
