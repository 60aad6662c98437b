//! Advice on stdout (a table, or JSON under stable keys) and in its folder: advise.json, candidates.csv and,
//! when a candidate meets every target, recommended.toml (the scenario with its settings written in).

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::{Advice, Candidate, Mode, Reservation, Stage};
use crate::folder::{self, FileError};
use crate::sweep::results::record;

pub const ADVICE_JSON: &str = "advise.json";
pub const CANDIDATES_CSV: &str = "candidates.csv";
pub const RECOMMENDED_TOML: &str = "recommended.toml";

/// Runners-up shown under the recommendation.
const RUNNERS_UP: usize = 3;

fn number(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| {
        format!("{v:.6}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    })
}

fn stage(s: Stage) -> &'static str {
    match s {
        Stage::Coarse => "coarse",
        Stage::Refine => "refine",
    }
}

impl Advice {
    /// The columns of the table and of candidates.csv: the minimised key, then the cost keys not already there.
    fn columns(&self) -> Vec<&str> {
        let mut out = vec![self.request.minimize.as_str()];
        for k in super::COST_KEYS {
            if !out.contains(k) {
                out.push(k);
            }
        }
        out
    }

    fn missed(&self, c: &Candidate) -> String {
        match &c.error {
            Some(e) => e.clone(),
            None => c
                .missed
                .iter()
                .map(|&t| self.request.targets[t].to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The stdout table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let targets: Vec<String> = self.request.targets.iter().map(|t| t.to_string()).collect();
        let defaults = if self.request.default_targets {
            " (the defaults: no --target given)"
        } else {
            ""
        };
        let _ = writeln!(s, "scenario: {}", self.scenario);
        let _ = writeln!(s, "targets: {}{defaults}", targets.join(", "));
        let _ = writeln!(
            s,
            "minimize: {} (means over {} replicate(s); a target is met when every replicate meets it)",
            self.request.minimize, self.request.replicates
        );
        let _ = writeln!(s, "{}", self.verdict());
        for c in &self.crowded {
            let _ = writeln!(s, "{}", c.warning());
        }
        let shown = if self.recommendation().is_some() {
            1 + RUNNERS_UP
        } else {
            self.candidates.len()
        };
        let rows = self.rows(shown);
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for r in rows {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(s, "{}", line.join("  ").trim_end());
        }
        s
    }

    /// `recommendation: …`, or that nothing meets the targets and which one binds.
    pub fn verdict(&self) -> String {
        match (self.recommendation(), &self.binding) {
            (Some(c), _) => format!("recommendation: {}", c.decision.label()),
            (None, Some(b)) => format!(
                "nothing meets the targets: `{}` binds (missed by {} of {} candidates; best mean reached {})",
                self.request.targets[b.target],
                b.missed_by,
                self.candidates.len(),
                number(b.best)
            ),
            (None, None) => "nothing meets the targets".to_string(),
        }
    }

    /// The header and the first `n` ranked candidates as text cells: rank, label, stage, the minimised and
    /// cost keys' means, the targets missed.
    pub fn rows(&self, n: usize) -> Vec<Vec<String>> {
        let cols = self.columns();
        let mut header = vec![
            "#".to_string(),
            "candidate".to_string(),
            "stage".to_string(),
        ];
        header.extend(cols.iter().map(|c| c.to_string()));
        header.push("missed".to_string());
        let mut rows = vec![header];
        for (i, c) in self.candidates.iter().take(n).enumerate() {
            let mut r = vec![
                (i + 1).to_string(),
                c.decision.label(),
                stage(c.stage).to_string(),
            ];
            r.extend(cols.iter().map(|k| number(c.mean(k))));
            r.push(self.missed(c));
            rows.push(r);
        }
        rows
    }

    fn candidate_json(&self, c: &Candidate) -> Value {
        let means: serde_json::Map<String, Value> =
            c.means.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let groups: Vec<Value> = c
            .decision
            .groups
            .iter()
            .map(|g| {
                let w = g.warm();
                json!({
                    "name": g.name,
                    "mode": g.mode.name(),
                    "warm": w.label,
                    "ipamd": {
                        "ENABLE_PREFIX_DELEGATION": g.mode == Mode::Prefix,
                        "WARM_ENI_TARGET": w.warm_eni,
                        "WARM_IP_TARGET": w.warm_ip,
                        "MINIMUM_IP_TARGET": w.minimum_ip,
                        "WARM_PREFIX_TARGET": w.warm_prefix,
                    },
                    "subnets": g.subnets,
                })
            })
            .collect();
        json!({
            "label": c.decision.label(),
            "stage": stage(c.stage),
            "node_groups": groups,
            "reservations": c.decision.reservations.iter().map(reservation_json).collect::<Vec<_>>(),
            "feasible": c.feasible(),
            "means": means,
            "missed": c.missed.iter().map(|&t| self.request.targets[t].to_string()).collect::<Vec<_>>(),
            "error": c.error,
        })
    }

    /// The advice under stable keys: `recommendation` (a candidate or null), `candidates` (ranked),
    /// `binding` (null unless nothing is feasible).
    pub fn json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "targets": self.request.targets.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            "default_targets": self.request.default_targets,
            "minimize": self.request.minimize,
            "replicates": self.request.replicates,
            "aggregate": "mean over replicates; a target is met when every replicate meets it",
            "recommendation": self.recommendation().map(|c| self.candidate_json(c)),
            "binding": self.binding.as_ref().map(|b| json!({
                "target": self.request.targets[b.target].to_string(),
                "missed_by": b.missed_by,
                "best_mean": b.best,
            })),
            "warnings": self.crowded.iter().map(|c| json!({
                "reservation": reservation_json(&c.reservation),
                "range": c.range,
                "in_use_addresses": c.in_use,
                "blocks": c.blocks,
                "free_blocks": c.free_blocks,
                "text": c.warning(),
            })).collect::<Vec<_>>(),
            "candidates": self.candidates.iter().map(|c| self.candidate_json(c)).collect::<Vec<_>>(),
        })
    }

    /// candidates.csv: one row per candidate, ranked: its label, then each group's mode, warm setting and
    /// subnets, and the reservations, then the metrics.
    pub fn csv(&self) -> Vec<u8> {
        let cols = self.columns();
        let groups: Vec<String> = self
            .candidates
            .first()
            .map(|c| c.decision.groups.iter().map(|g| g.name.clone()).collect())
            .unwrap_or_default();
        let mut header: Vec<String> = ["rank", "candidate", "stage", "feasible"]
            .map(String::from)
            .to_vec();
        for g in &groups {
            header.extend(["mode", "warm", "subnets"].map(|k| format!("node_groups.{g}.{k}")));
        }
        header.push("reservations".to_string());
        header.extend(cols.iter().map(|c| c.to_string()));
        header.push("missed".to_string());
        let mut out = record(&header);
        for (i, c) in self.candidates.iter().enumerate() {
            let mut r = vec![
                (i + 1).to_string(),
                c.decision.label(),
                stage(c.stage).to_string(),
                c.feasible().to_string(),
            ];
            for g in &c.decision.groups {
                r.extend([
                    g.mode.name().to_string(),
                    g.warm().label.to_string(),
                    g.subnets.join(" "),
                ]);
            }
            let reservations: Vec<String> =
                c.decision.reservations.iter().map(|r| r.label()).collect();
            r.push(reservations.join(", "));
            r.extend(
                cols.iter()
                    .map(|k| c.mean(k).map_or(String::new(), |v| v.to_string())),
            );
            r.push(self.missed(c));
            out.extend(record(&r));
        }
        out
    }

    /// Writes advise.json, candidates.csv and recommended.toml (removing an old one when nothing is feasible).
    pub fn write(&self, dir: &Path) -> Result<(), FileError> {
        let json = format!("{:#}\n", self.json());
        folder::write_atomic(&dir.join(ADVICE_JSON), json.as_bytes())?;
        folder::write_atomic(&dir.join(CANDIDATES_CSV), &self.csv())?;
        let recommended = dir.join(RECOMMENDED_TOML);
        match &self.recommended_toml {
            Some(text) => folder::write_atomic(&recommended, text.as_bytes()),
            None if recommended.exists() => {
                std::fs::remove_file(&recommended).map_err(FileError::at(&recommended))
            }
            None => Ok(()),
        }
    }
}

/// A reservation under stable keys: the subnet, its size and which end (`top_percent` or `bottom_percent`).
fn reservation_json(r: &Reservation) -> Value {
    json!({
        "subnet": r.subnet,
        "percent": r.percent,
        "side": r.side.name(),
        "key": r.side.key(),
    })
}
