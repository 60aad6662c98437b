//! The decision space: address mode, warm setting and prefix-reservation size, applied to every node group
//! and every subnet a node group uses, and how a decision becomes a scenario (by writing its keys into the
//! parsed base file and validating it, as sweep points are made).

use toml::{Table, Value};

use crate::scenarios::sweep::{assign, reparse};
use crate::scenarios::{Scenario, ScenarioError};

/// Secondary IPs or /28 prefixes (`ENABLE_PREFIX_DELEGATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    SecondaryIp,
    Prefix,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::SecondaryIp => "secondary-ip",
            Mode::Prefix => "prefix",
        }
    }
}

/// One warm setting: the four warm variables of aws-node, all written so that none of the base file's leaks
/// in (0 is "unset", docs/reference/ipamd.md §1.1). The choices and their sources are in ipamd.md §10.
#[derive(Debug, PartialEq, Eq)]
pub struct Warm {
    pub label: &'static str,
    pub warm_eni: i64,
    pub warm_ip: i64,
    pub minimum_ip: i64,
    pub warm_prefix: i64,
}

const fn warm(
    label: &'static str,
    warm_eni: i64,
    warm_ip: i64,
    minimum_ip: i64,
    warm_prefix: i64,
) -> Warm {
    Warm {
        label,
        warm_eni,
        warm_ip,
        minimum_ip,
        warm_prefix,
    }
}

/// Secondary-IP warm settings, the default (coarse grid) first (ipamd.md §10).
pub const SECONDARY_IP_WARM: &[Warm] = &[
    warm("WARM_ENI_TARGET=1", 1, 0, 0, 0),
    warm("WARM_IP_TARGET=2,MINIMUM_IP_TARGET=5", 0, 2, 5, 0),
    warm("WARM_IP_TARGET=5,MINIMUM_IP_TARGET=10", 0, 5, 10, 0),
];

/// Prefix-mode warm settings, the default (coarse grid) first (ipamd.md §10).
pub const PREFIX_WARM: &[Warm] = &[
    warm("WARM_PREFIX_TARGET=1", 0, 0, 0, 1),
    warm("WARM_IP_TARGET=1,MINIMUM_IP_TARGET=1", 0, 1, 1, 0),
    warm("WARM_IP_TARGET=5,MINIMUM_IP_TARGET=10", 0, 5, 10, 0),
];

/// Prefix-reservation sizes tried in prefix mode, in % of each subnet (0: none). Secondary-IP mode gets no
/// reservation: a prefix reservation's addresses are never given out as secondary IPs (docs/reference/ec2.md
/// §3.5), so it could only make that mode worse.
pub const RESERVATIONS: &[u32] = &[0, 25, 50];

impl Mode {
    pub fn warm_settings(self) -> &'static [Warm] {
        match self {
            Mode::SecondaryIp => SECONDARY_IP_WARM,
            Mode::Prefix => PREFIX_WARM,
        }
    }
}

/// One point of the decision space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub mode: Mode,
    /// Index into [`Mode::warm_settings`].
    pub warm: usize,
    /// % of each node group subnet reserved for prefixes (`top_percent`), 0 for none.
    pub reservation_percent: u32,
}

impl Decision {
    pub fn warm(&self) -> &'static Warm {
        &self.mode.warm_settings()[self.warm]
    }

    /// `prefix · WARM_PREFIX_TARGET=1 · reserve 25%`.
    pub fn label(&self) -> String {
        let reserve = match self.reservation_percent {
            0 => "no reservation".to_string(),
            p => format!("reserve {p}%"),
        };
        format!("{} · {} · {reserve}", self.mode.name(), self.warm().label)
    }

    /// The coarse grid: each mode with its default warm setting, prefix mode at each reservation size.
    pub fn coarse() -> Vec<Decision> {
        let mut out = vec![Decision {
            mode: Mode::SecondaryIp,
            warm: 0,
            reservation_percent: 0,
        }];
        out.extend(RESERVATIONS.iter().map(|&p| Decision {
            mode: Mode::Prefix,
            warm: 0,
            reservation_percent: p,
        }));
        out
    }

    /// The neighbours refined around this point: the same mode and reservation with each other warm setting.
    pub fn neighbours(&self) -> Vec<Decision> {
        (0..self.mode.warm_settings().len())
            .filter(|&w| w != self.warm)
            .map(|warm| Decision { warm, ..*self })
            .collect()
    }

    /// The base file with this decision written in: every node group's `ipamd` table gets the mode and the
    /// four warm variables (over `[ipamd]`, key by key), and every subnet a node group uses gets a prefix
    /// reservation of the chosen size at its top.
    pub fn apply(&self, base: &Value) -> Result<Value, String> {
        let mut table = base.clone();
        let w = self.warm();
        let groups = base
            .get("node_groups")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for g in 0..groups {
            let set = |t: &mut Value, key: &str, v: Value| {
                assign(t, &format!("node_groups.{g}.ipamd.{key}"), v)
            };
            set(
                &mut table,
                "ENABLE_PREFIX_DELEGATION",
                Value::Boolean(self.mode == Mode::Prefix),
            )?;
            set(&mut table, "WARM_ENI_TARGET", Value::Integer(w.warm_eni))?;
            set(&mut table, "WARM_IP_TARGET", Value::Integer(w.warm_ip))?;
            set(
                &mut table,
                "MINIMUM_IP_TARGET",
                Value::Integer(w.minimum_ip),
            )?;
            set(
                &mut table,
                "WARM_PREFIX_TARGET",
                Value::Integer(w.warm_prefix),
            )?;
        }
        if self.reservation_percent > 0 {
            for subnet in group_subnets(base) {
                reserve(&mut table, &subnet, self.reservation_percent)?;
            }
        }
        Ok(table)
    }

    /// This decision's scenario, validated, with `seed`.
    pub fn scenario(&self, base: &Value, file: &str, seed: u64) -> Result<Scenario, ScenarioError> {
        let table = self.apply(base).map_err(|message| ScenarioError::Invalid {
            file: file.to_string(),
            line: 0,
            col: 0,
            key: String::new(),
            message,
        })?;
        let mut scenario = reparse(&table, file)?;
        scenario.seed = seed;
        Ok(scenario)
    }
}

/// The subnets node groups use, each once, in file order of first use.
pub(super) fn group_subnets(base: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let groups = base.get("node_groups").and_then(Value::as_array);
    for g in groups.into_iter().flatten() {
        let subnets = g.get("subnets").and_then(Value::as_array);
        for s in subnets.into_iter().flatten().filter_map(Value::as_str) {
            if !out.iter().any(|o| o == s) {
                out.push(s.to_string());
            }
        }
    }
    out
}

/// Appends a `prefix` reservation of the top `percent` % to subnet `name`'s reservations.
fn reserve(table: &mut Value, name: &str, percent: u32) -> Result<(), String> {
    let subnet = table
        .get_mut("subnets")
        .and_then(Value::as_array_mut)
        .and_then(|a| {
            a.iter_mut()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(Value::as_table_mut)
        .ok_or(format!("no subnet `{name}`"))?;
    let reservations = subnet
        .entry("reservations")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or(format!(
            "subnets.{name}.reservations is not an array of tables"
        ))?;
    let mut r = Table::new();
    r.insert("type".into(), Value::String("prefix".into()));
    r.insert("top_percent".into(), Value::Integer(i64::from(percent)));
    reservations.push(Value::Table(r));
    Ok(())
}
