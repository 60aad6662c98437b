//! `sweep.json`: what a sweep folder holds (the file's fingerprint, the grid, the shard) so that `--resume`
//! and `vpcsim merge` refuse results of another sweep, and plots know the axes and metrics.
//!
//! A sweep's identity is everything its results depend on: the file's text, the files it reads (trace CSVs),
//! the seed (the file's or `--seed`) and the program's version. Two manifests are compared part by part, so
//! that a refusal says what differs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Shard, SweepError};
use crate::scenarios::Input;
use crate::scenarios::sweep::Sweep;

pub const MANIFEST: &str = "sweep.json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub scenario: String,
    pub file: String,
    /// FNV-1a of the sweep file's text, in hex.
    pub fingerprint: String,
    /// The files the grid's scenarios read (as they name them), with the FNV-1a of their content in hex.
    /// Absent from manifests of older versions, which the version tells apart.
    #[serde(default)]
    pub inputs: BTreeMap<String, String>,
    /// The vpcsim version that ran the sweep: another version may simulate differently.
    #[serde(default)]
    pub version: String,
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
    /// The manifest of `sweep`'s shard `shard`, whose scenarios read `inputs`.
    pub fn new(sweep: &Sweep, inputs: &[Input], shard: Shard) -> Manifest {
        Manifest {
            scenario: sweep.name.clone(),
            file: sweep.file.clone(),
            fingerprint: hex(sweep.fingerprint),
            inputs: inputs
                .iter()
                .map(|i| (i.file.clone(), hex(i.fingerprint)))
                .collect(),
            version: env!("CARGO_PKG_VERSION").to_string(),
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

    /// How `self` (said to be `here`) and `other` (`there`) differ as sweeps, whatever their shards and the
    /// paths the file was named by: one entry per differing part, e.g. `seed: 7 now, 42 in sweep.json`.
    pub fn differences(&self, here: &str, other: &Manifest, there: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut part = |name: &str, a: &str, b: &str| {
            let shown = |v: &str| {
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.to_string()
                }
            };
            let (a, b) = (shown(a), shown(b));
            if a != b {
                out.push(format!("{name}: {a} {here}, {b} {there}"));
            }
        };
        part("vpcsim version", &self.version, &other.version);
        part(
            "sweep file text (fingerprint)",
            &self.fingerprint,
            &other.fingerprint,
        );
        part("seed", &self.seed.to_string(), &other.seed.to_string());
        let files: std::collections::BTreeSet<&String> =
            self.inputs.keys().chain(other.inputs.keys()).collect();
        for f in files {
            let content = |m: &Manifest| {
                m.inputs
                    .get(f)
                    .cloned()
                    .unwrap_or_else(|| "not read".into())
            };
            part(
                &format!("content of {f} (fingerprint)"),
                &content(self),
                &content(other),
            );
        }
        out
    }
}

fn hex(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            scenario: "s".into(),
            file: "s.toml".into(),
            fingerprint: hex(1),
            inputs: BTreeMap::from([("t.csv".into(), hex(2))]),
            version: "1.0.0".into(),
            seed: 42,
            replicates: 1,
            common_random_numbers: false,
            points: 1,
            runs: 1,
            axes: vec![],
            metrics: vec![],
            shard: Shard::WHOLE,
        }
    }

    #[test]
    fn every_part_of_the_identity_is_compared_and_named() {
        let old = manifest();
        assert!(old.differences("now", &old, "in sweep.json").is_empty());
        let new = Manifest {
            file: "elsewhere/s.toml".into(),
            shard: Shard { index: 1, count: 2 },
            ..manifest()
        };
        assert!(
            new.differences("now", &old, "in sweep.json").is_empty(),
            "the path and the shard are not the sweep's identity"
        );
        let new = Manifest {
            fingerprint: hex(3),
            inputs: BTreeMap::from([("t.csv".into(), hex(4)), ("u.csv".into(), hex(5))]),
            version: "1.1.0".into(),
            seed: 7,
            ..manifest()
        };
        assert_eq!(
            new.differences("now", &old, "in sweep.json"),
            [
                "vpcsim version: 1.1.0 now, 1.0.0 in sweep.json",
                "sweep file text (fingerprint): 0000000000000003 now, 0000000000000001 in sweep.json",
                "seed: 7 now, 42 in sweep.json",
                "content of t.csv (fingerprint): 0000000000000004 now, 0000000000000002 in sweep.json",
                "content of u.csv (fingerprint): 0000000000000005 now, not read in sweep.json",
            ]
        );
    }

    #[test]
    fn a_manifest_of_an_older_version_reads_and_differs_by_version() {
        let mut value = serde_json::to_value(manifest()).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("version");
        object.remove("inputs");
        let old: Manifest = serde_json::from_value(value).unwrap();
        let now = Manifest {
            inputs: BTreeMap::new(),
            ..manifest()
        };
        assert_eq!(
            now.differences("now", &old, "in sweep.json"),
            ["vpcsim version: 1.0.0 now, none in sweep.json"]
        );
    }
}
