//! `sweep.json`: what a sweep folder holds (the file's fingerprint, the grid, the shard) so that `--resume`
//! and `vpcsim merge` refuse results of another sweep, and plots know the axes and metrics.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Shard, SweepError};
use crate::scenarios::sweep::Sweep;

pub const MANIFEST: &str = "sweep.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub scenario: String,
    pub file: String,
    /// FNV-1a of the sweep file's text, in hex.
    pub fingerprint: String,
    pub seed: u64,
    pub replicates: u32,
    pub common_random_numbers: bool,
    pub points: u64,
    pub runs: u64,
    pub axes: Vec<ManifestAxis>,
    pub metrics: Vec<String>,
    pub shard: Shard,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManifestAxis {
    pub name: String,
    pub keys: Vec<String>,
    pub labels: Vec<String>,
}

impl Manifest {
    pub fn new(sweep: &Sweep, shard: Shard) -> Manifest {
        Manifest {
            scenario: sweep.name.clone(),
            file: sweep.file.clone(),
            fingerprint: format!("{:016x}", sweep.fingerprint),
            seed: sweep.seed,
            replicates: sweep.replicates,
            common_random_numbers: sweep.common_random_numbers,
            points: sweep.points(),
            runs: sweep.runs(),
            axes: sweep
                .axes
                .iter()
                .map(|a| ManifestAxis {
                    name: a.name.clone(),
                    keys: a.keys.iter().map(|k| k.dotted.clone()).collect(),
                    labels: a.labels.clone(),
                })
                .collect(),
            metrics: sweep.metrics.clone(),
            shard,
        }
    }

    pub fn read(dir: &Path) -> Result<Manifest, SweepError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| SweepError::Results {
            file: path.clone(),
            message: format!("cannot read: {e} (is this a sweep's output folder?)"),
        })?;
        serde_json::from_str(&text).map_err(|e| SweepError::Results {
            file: path,
            message: format!("not a sweep manifest: {e}"),
        })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("JSON values serialise");
        text.push('\n');
        text.into_bytes()
    }

    /// The same sweep (file text and grid), whatever the shard and the path it was named by.
    pub fn same_sweep(&self, other: &Manifest) -> bool {
        self.fingerprint == other.fingerprint && self.runs == other.runs
    }
}
