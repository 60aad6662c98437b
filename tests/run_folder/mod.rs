//! What tests read back from runs: a run folder's files, and the bundled scenario files.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

/// Every file of a run folder (its `plots/` included, the folder lock left out), by name relative to `dir`,
/// sorted; `summary.json` parsed and passed through `blank` first (to blank what may differ: wall-clock
/// figures, event counts).
pub fn outputs(dir: &Path, blank: impl Fn(&mut serde_json::Value)) -> Vec<(String, Vec<u8>)> {
    let plots = dir.join("plots");
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .chain(fs::read_dir(&plots).into_iter().flatten())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.ends_with(vpcsim::folder::LOCK))
        .map(|p| {
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mut bytes = fs::read(&p).unwrap();
            if name == "summary.json" {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                blank(&mut v);
                bytes = serde_json::to_vec_pretty(&v).unwrap();
            }
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

/// The bundled scenario files (`scenarios/`, `scenarios/calibration/`, `scenarios/incidents/`), sorted.
pub fn bundled_scenarios() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files = Vec::new();
    for dir in [
        root.clone(),
        root.join("calibration"),
        root.join("incidents"),
    ] {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}
