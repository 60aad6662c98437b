//! The decision space: for each node group an address mode, a warm setting and a choice of subnets, and for
//! each subnet a prefix-mode group uses a prefix reservation (a size, at the top or the bottom of the subnet);
//! how the search moves through it ([`Space::coarse`], [`Space::neighbours`]); and how a decision becomes a
//! scenario (by writing its keys into the parsed base file and validating it, as sweep points are made).

use toml::{Table, Value};

use super::base::{Base, Written};
use crate::scenarios::Scenario;
use crate::scenarios::ScenarioError;
use crate::scenarios::sweep::{assign, reparse};

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

    pub fn warm_settings(self) -> &'static [Warm] {
        match self {
            Mode::SecondaryIp => SECONDARY_IP_WARM,
            Mode::Prefix => PREFIX_WARM,
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

/// Prefix-reservation sizes tried, in % of a subnet (`top_percent` or `bottom_percent`). Only subnets that a
/// prefix-mode group uses get one: a prefix reservation's addresses are never given out as secondary IPs
/// (docs/reference/ec2.md §3.5), so it could only make secondary-IP mode worse.
pub const RESERVATIONS: &[u32] = &[25, 50];

/// Other subnets tried per node group, beside the ones it lists: bounds the search.
pub const MAX_SUBNET_ALTERNATIVES: usize = 4;

/// The end of its subnet a prefix reservation covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Top,
    Bottom,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Top => "top",
            Side::Bottom => "bottom",
        }
    }

    /// The reservation key that places it (docs/scenarios.md, `[[subnets.reservations]]`).
    pub fn key(self) -> &'static str {
        match self {
            Side::Top => "top_percent",
            Side::Bottom => "bottom_percent",
        }
    }
}

/// A prefix reservation a decision adds to one subnet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub subnet: String,
    pub percent: u32,
    pub side: Side,
}

impl Reservation {
    /// `25% at the bottom of eks-pods-a`.
    pub fn label(&self) -> String {
        format!(
            "{}% at the {} of {}",
            self.percent,
            self.side.name(),
            self.subnet
        )
    }
}

/// One node group's choice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupChoice {
    pub name: String,
    pub mode: Mode,
    /// Index into [`Mode::warm_settings`].
    pub warm: usize,
    /// Its `subnets`: the ones the file lists, or those with one swapped for another of its zone.
    pub subnets: Vec<String>,
}

impl GroupChoice {
    pub fn warm(&self) -> &'static Warm {
        &self.mode.warm_settings()[self.warm]
    }

    /// `web: prefix · WARM_PREFIX_TARGET=1 · in eks-pods-a`.
    pub fn label(&self) -> String {
        format!(
            "{}: {} · {} · in {}",
            self.name,
            self.mode.name(),
            self.warm().label,
            self.subnets.join(",")
        )
    }
}

/// One point of the decision space: a choice per node group (in file order) and the prefix reservations
/// added, at most one per subnet, in file order of the subnets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub groups: Vec<GroupChoice>,
    pub reservations: Vec<Reservation>,
}

impl Decision {
    /// `web: prefix · WARM_PREFIX_TARGET=1 · in eks-pods-a | reserve 25% at the bottom of eks-pods-a`, the
    /// groups separated by `; `.
    pub fn label(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(GroupChoice::label).collect();
        let reserve = if self.reservations.is_empty() {
            "no reservation".to_string()
        } else {
            let each: Vec<String> = self.reservations.iter().map(Reservation::label).collect();
            format!("reserve {}", each.join(", "))
        };
        format!("{} | {reserve}", groups.join("; "))
    }

    /// The reservation this decision adds to `subnet`, if any.
    pub fn reservation(&self, subnet: &str) -> Option<&Reservation> {
        self.reservations.iter().find(|r| r.subnet == subnet)
    }

    /// The base file with this decision written in: every node group's `ipamd` table gets the mode and the
    /// four warm variables (over `[ipamd]`, key by key) and its `subnets` the chosen list; each reservation is
    /// appended to its subnet's `reservations`. An error names the key written.
    pub fn apply(&self, base: &Value) -> Result<Value, (Written, String)> {
        let mut table = base.clone();
        for (g, choice) in self.groups.iter().enumerate() {
            let w = choice.warm();
            let ipamd = Written::group(g, "ipamd");
            let vars = [
                (
                    "ENABLE_PREFIX_DELEGATION",
                    Value::Boolean(choice.mode == Mode::Prefix),
                ),
                ("WARM_ENI_TARGET", Value::Integer(w.warm_eni)),
                ("WARM_IP_TARGET", Value::Integer(w.warm_ip)),
                ("MINIMUM_IP_TARGET", Value::Integer(w.minimum_ip)),
                ("WARM_PREFIX_TARGET", Value::Integer(w.warm_prefix)),
            ];
            for (key, v) in vars {
                assign(&mut table, &format!("{}.{key}", ipamd.dotted), v)
                    .map_err(|e| (ipamd.clone(), e))?;
            }
            let subnets = Written::group(g, "subnets");
            let list = choice.subnets.iter().cloned().map(Value::String).collect();
            assign(&mut table, &subnets.dotted, Value::Array(list)).map_err(|e| (subnets, e))?;
        }
        for r in &self.reservations {
            reserve(&mut table, r).map_err(|e| (Written::reservations(base, &r.subnet), e))?;
        }
        Ok(table)
    }

    /// The keys [`Decision::apply`] writes, for placing a validation error of its scenario.
    pub fn written(&self, base: &Value) -> Vec<Written> {
        let groups = (0..self.groups.len())
            .flat_map(|g| [Written::group(g, "ipamd"), Written::group(g, "subnets")]);
        let reservations = self
            .reservations
            .iter()
            .map(|r| Written::reservations(base, &r.subnet));
        groups.chain(reservations).collect()
    }

    /// This decision's scenario, validated, with `seed`; an error is placed at the key the decision wrote and
    /// where the base file has it.
    pub fn scenario(&self, base: &Base, seed: u64) -> Result<Scenario, ScenarioError> {
        let table = self
            .apply(&base.table)
            .map_err(|(w, message)| base.error_at(&w, message))?;
        let mut scenario = reparse(&table, &base.file)
            .map_err(|e| base.candidate_error(&self.written(&base.table), e))?;
        scenario.seed = seed;
        Ok(scenario)
    }
}

/// Appends `r` as a `prefix` reservation to its subnet's reservations.
pub(super) fn reserve(table: &mut Value, r: &Reservation) -> Result<(), String> {
    let subnet = table
        .get_mut("subnets")
        .and_then(Value::as_array_mut)
        .and_then(|a| {
            a.iter_mut()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(&r.subnet))
        })
        .and_then(Value::as_table_mut)
        .ok_or(format!("no subnet `{}`", r.subnet))?;
    let reservations = subnet
        .entry("reservations")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or("not an array of tables".to_string())?;
    let mut t = Table::new();
    t.insert("type".into(), Value::String("prefix".into()));
    t.insert(r.side.key().into(), Value::Integer(i64::from(r.percent)));
    reservations.push(Value::Table(t));
    Ok(())
}

/// What the file offers the search: its node groups with the subnet lists each may use, and its subnets.
#[derive(Clone, Debug)]
pub struct Space {
    groups: Vec<GroupOptions>,
    subnets: Vec<SubnetFacts>,
}

#[derive(Clone, Debug)]
struct GroupOptions {
    name: String,
    /// The subnet lists tried, the file's own first.
    choices: Vec<Vec<String>>,
}

#[derive(Clone, Debug)]
struct SubnetFacts {
    name: String,
    az: String,
    /// Whether a reservation at its bottom is the mirror image of one at its top, so only the top is tried.
    mirrored: bool,
}

/// A string field of a table.
fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

impl Space {
    /// The space of a validated base file.
    ///
    /// A group may use its listed subnets, or the list with one of them swapped for another subnet of the file
    /// in the same zone (so the group keeps its zones, and an ENIConfig, which is per zone, still fits),
    /// leaving out subnets some group's ENIConfig names (custom networking's pod subnets, which are for pods'
    /// ENIs, not nodes), at most [`MAX_SUBNET_ALTERNATIVES`] of them, in file order.
    ///
    /// A subnet is mirrored when the file puts nothing in it at t = 0 (no `in_use`, `tenants` or
    /// `reservations`) and EC2 places its addresses at random (the default `secondary_ip_placement`): then
    /// placement is uniformly random among free addresses and blocks (docs/reference/ec2.md §8.4), so the
    /// bottom and the top of the subnet are alike and a bottom reservation would only repeat a top one.
    pub fn new(base: &Value) -> Space {
        let subnets: Vec<SubnetFacts> = array(base, "subnets")
            .iter()
            .map(|s| SubnetFacts {
                name: text(s, "name").to_string(),
                az: text(s, "az").to_string(),
                mirrored: ["in_use", "tenants", "reservations"]
                    .iter()
                    .all(|k| s.get(k).is_none())
                    && matches!(text(s, "secondary_ip_placement"), "" | "random"),
            })
            .collect();
        let groups = array(base, "node_groups");
        let pod_subnets: Vec<&str> = groups
            .iter()
            .filter_map(|g| g.get("eni_config").map(|e| text(e, "subnet")))
            .collect();
        let az = |name: &str| subnets.iter().find(|s| s.name == name).map(|s| &s.az);
        let groups = groups
            .iter()
            .map(|g| {
                let listed: Vec<String> = array(g, "subnets")
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                let mut choices = vec![listed.clone()];
                for other in &subnets {
                    if listed.contains(&other.name) || pod_subnets.contains(&other.name.as_str()) {
                        continue;
                    }
                    for (i, s) in listed.iter().enumerate() {
                        if choices.len() <= MAX_SUBNET_ALTERNATIVES && az(s) == Some(&other.az) {
                            let mut swapped = listed.clone();
                            swapped[i] = other.name.clone();
                            choices.push(swapped);
                        }
                    }
                }
                GroupOptions {
                    name: text(g, "name").to_string(),
                    choices,
                }
            })
            .collect();
        Space { groups, subnets }
    }

    /// The prefix reservations tried in `subnet`: each size at the top, and at the bottom unless mirrored.
    fn reservations(&self, subnet: &SubnetFacts) -> Vec<Reservation> {
        let sides: &[Side] = if subnet.mirrored {
            &[Side::Top]
        } else {
            &[Side::Top, Side::Bottom]
        };
        RESERVATIONS
            .iter()
            .flat_map(|&percent| {
                sides.iter().map(move |&side| Reservation {
                    subnet: subnet.name.clone(),
                    percent,
                    side,
                })
            })
            .collect()
    }

    /// Every reservation the search may add, subnet by subnet (for [`super::crowded`]).
    pub fn all_reservations(&self) -> Vec<Reservation> {
        let mut out = Vec::new();
        for s in &self.subnets {
            let used = self
                .groups
                .iter()
                .any(|g| g.choices.iter().flatten().any(|n| n == &s.name));
            if used {
                out.extend(self.reservations(s));
            }
        }
        out
    }

    /// Every group on its listed subnets with `mode` and its default warm setting, and no reservation.
    fn alike(&self, mode: Mode) -> Decision {
        Decision {
            groups: self
                .groups
                .iter()
                .map(|g| GroupChoice {
                    name: g.name.clone(),
                    mode,
                    warm: 0,
                    subnets: g.choices[0].clone(),
                })
                .collect(),
            reservations: Vec::new(),
        }
    }

    /// The coarse grid, every group alike on its listed subnets: secondary-IP mode, and prefix mode without a
    /// reservation and with each size at the top and at the bottom of every subnet the groups use (at the top
    /// of a mirrored one), each with the mode's default warm setting.
    pub fn coarse(&self) -> Vec<Decision> {
        let prefix = self.alike(Mode::Prefix);
        let mut out = vec![self.alike(Mode::SecondaryIp), prefix.clone()];
        for &percent in RESERVATIONS {
            for side in [Side::Top, Side::Bottom] {
                let mut d = prefix.clone();
                d.reservations = self
                    .used(&d)
                    .into_iter()
                    .map(|s| Reservation {
                        subnet: s.name.clone(),
                        percent,
                        side: if s.mirrored { Side::Top } else { side },
                    })
                    .collect();
                if !out.contains(&d) {
                    out.push(d);
                }
            }
        }
        out
    }

    /// The subnets `d`'s prefix-mode groups use, in file order.
    fn used(&self, d: &Decision) -> Vec<&SubnetFacts> {
        self.subnets
            .iter()
            .filter(|s| {
                d.groups
                    .iter()
                    .any(|g| g.mode == Mode::Prefix && g.subnets.contains(&s.name))
            })
            .collect()
    }

    /// `d` with reservations only in subnets its prefix-mode groups use, in file order: two decisions that
    /// write the same file are equal.
    fn normalised(&self, mut d: Decision) -> Decision {
        let used = self.used(&d);
        d.reservations = used
            .iter()
            .filter_map(|s| d.reservation(&s.name).cloned())
            .collect();
        d
    }

    /// The points one coordinate away from `d`, in a fixed order: for each group, each other mode and warm
    /// setting, then each other subnet list (a reservation of a subnet swapped out moves to the one swapped
    /// in, unless that has its own); then, for each subnet a prefix-mode group uses, no reservation and each
    /// other reservation. Coordinates are per group and per subnet, so the neighbourhood grows with the
    /// file linearly, not as a product.
    pub fn neighbours(&self, d: &Decision) -> Vec<Decision> {
        let mut out: Vec<Decision> = Vec::new();
        let mut push = |n: Decision| {
            let n = self.normalised(n);
            if &n != d && !out.contains(&n) {
                out.push(n);
            }
        };
        for (g, options) in self.groups.iter().enumerate() {
            for mode in [Mode::SecondaryIp, Mode::Prefix] {
                for warm in 0..mode.warm_settings().len() {
                    let mut n = d.clone();
                    n.groups[g].mode = mode;
                    n.groups[g].warm = warm;
                    push(n);
                }
            }
            for choice in &options.choices {
                let mut n = d.clone();
                let old = std::mem::replace(&mut n.groups[g].subnets, choice.clone());
                for (from, to) in old.iter().zip(choice).filter(|(a, b)| a != b) {
                    if let Some(r) = d.reservation(from)
                        && n.reservation(to).is_none()
                    {
                        n.reservations.push(Reservation {
                            subnet: to.clone(),
                            ..r.clone()
                        });
                    }
                }
                push(n);
            }
        }
        for s in self.used(d) {
            let mut none = d.clone();
            none.reservations.retain(|r| r.subnet != s.name);
            for r in self.reservations(s) {
                let mut n = none.clone();
                n.reservations.push(r);
                push(n);
            }
            push(none);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(text: &str) -> (Value, Space) {
        let base: Value = toml::from_str(text).unwrap();
        let space = Space::new(&base);
        (base, space)
    }

    const TWO_GROUPS: &str = r#"
[[subnets]]
name = "a1"
az = "a"
[subnets.in_use]
count = 3
[[subnets]]
name = "b1"
az = "b"
[[subnets]]
name = "a2"
az = "a"
[[subnets]]
name = "pods-a"
az = "a"
[[node_groups]]
name = "web"
subnets = ["a1", "b1"]
[[node_groups]]
name = "batch"
subnets = ["b1"]
eni_config = { subnet = "pods-a" }
"#;

    #[test]
    fn subnet_choices_swap_within_a_zone_and_skip_pod_subnets() {
        let (_, s) = space(TWO_GROUPS);
        assert_eq!(
            s.groups[0].choices,
            vec![
                vec!["a1".to_string(), "b1".into()],
                vec!["a2".into(), "b1".into()]
            ]
        );
        // b1 has no other subnet in zone b.
        assert_eq!(s.groups[1].choices, vec![vec!["b1".to_string()]]);
    }

    #[test]
    fn the_coarse_grid_tries_the_bottom_only_where_it_differs() {
        let (_, s) = space(TWO_GROUPS);
        let coarse = s.coarse();
        // Secondary IP, prefix without a reservation, then 25 % and 50 % at the top and at the bottom of a1
        // (b1 is mirrored: always its top).
        assert_eq!(coarse.len(), 6);
        let bottom = &coarse[3];
        assert_eq!(bottom.reservations.len(), 2);
        assert_eq!(
            (bottom.reservations[0].side, bottom.reservations[1].side),
            (Side::Bottom, Side::Top)
        );
        let (_, empty) = space(
            "[[subnets]]\nname = \"p\"\naz = \"a\"\n[[node_groups]]\nname = \"w\"\nsubnets = [\"p\"]\n",
        );
        assert_eq!(empty.coarse().len(), 4, "no bottom duplicates");
    }

    #[test]
    fn neighbours_change_one_group_or_one_subnet() {
        let (_, s) = space(TWO_GROUPS);
        let start = s.coarse()[2].clone();
        let next = s.neighbours(&start);
        for n in &next {
            let groups = (0..2).filter(|&g| n.groups[g] != start.groups[g]).count();
            let reserved = n.reservations != start.reservations;
            // One coordinate; a mode change or a swap may drop or move a reservation with it.
            assert!(groups == 1 || (groups == 0 && reserved), "{}", n.label());
        }
        // Each group's five other settings, web's one other subnet list, a1's and b1's other reservations
        // (a1: none, 25 % bottom, 50 % top and bottom; b1: none, 50 % top).
        assert_eq!(next.len(), 5 + 5 + 1 + 4 + 2);
        // Moving web to a2 carries a1's reservation along.
        let moved = next
            .iter()
            .find(|n| n.groups[0].subnets[0] == "a2")
            .unwrap();
        assert_eq!(
            moved.reservation("a2").map(|r| r.percent),
            Some(RESERVATIONS[0])
        );
        assert!(moved.reservation("a1").is_none());
        // A group switched to secondary-IP mode drops the reservations only it used.
        let secondary = next
            .iter()
            .find(|n| n.groups[0].mode == Mode::SecondaryIp)
            .unwrap();
        assert!(secondary.reservation("a1").is_none() && secondary.reservation("b1").is_some());
    }

    #[test]
    fn apply_writes_each_groups_choice_and_the_reservations() {
        let (base, s) = space(TWO_GROUPS);
        let mut d = s.coarse()[3].clone();
        d.groups[1].mode = Mode::SecondaryIp;
        d.groups[1].warm = 1;
        d.groups[0].subnets = vec!["a2".into(), "b1".into()];
        let t = d.apply(&base).unwrap();
        let g = |i: usize, k: &str| t["node_groups"][i]["ipamd"][k].clone();
        assert_eq!(g(0, "ENABLE_PREFIX_DELEGATION"), Value::Boolean(true));
        assert_eq!(g(1, "ENABLE_PREFIX_DELEGATION"), Value::Boolean(false));
        assert_eq!(g(1, "WARM_IP_TARGET"), Value::Integer(2));
        assert_eq!(
            t["node_groups"][0]["subnets"],
            Value::Array(vec!["a2".into(), "b1".into()])
        );
        let r = &t["subnets"][0]["reservations"][0];
        assert_eq!(r["bottom_percent"], Value::Integer(25));
        assert_eq!(r["type"], Value::String("prefix".into()));
        assert!(d.label().contains(
            "web: prefix · WARM_PREFIX_TARGET=1 · in a2,b1; batch: secondary-ip · WARM_IP_TARGET=2"
        ));
        assert!(
            d.label()
                .ends_with("| reserve 25% at the bottom of a1, 25% at the top of b1")
        );
    }
}
