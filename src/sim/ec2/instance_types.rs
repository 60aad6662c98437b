//! The instance-type table: all 1,391 rows of the VPC CNI's limits table (docs/reference/ipamd.md §5.4, §7), embedded
//! in the binary from `data/instance-types.csv` and parsed once.

use std::fmt;
use std::sync::OnceLock;

use super::embedded_table;

const CSV: &str = include_str!("../../../data/instance-types.csv");

/// How the instance is virtualised; decides prefix-delegation support (docs/reference/ipamd.md §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypervisor {
    Nitro,
    Xen,
    /// Bare-metal types report no hypervisor; so do two old non-metal types.
    Unknown,
}

impl fmt::Display for Hypervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hypervisor::Nitro => "nitro",
            Hypervisor::Xen => "xen",
            Hypervisor::Unknown => "unknown",
        })
    }
}

/// One instance type's network limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceType {
    pub name: String,
    /// Maximum ENIs on the default network card (`ENILimit`).
    pub eni_limit: u32,
    /// IPv4 addresses per ENI, including the ENI's primary address (`IPv4Limit`). A prefix takes one slot.
    pub ipv4_per_eni: u32,
    pub default_network_card: u32,
    pub hypervisor: Hypervisor,
    pub bare_metal: bool,
    /// Maximum ENIs per network card, by card index.
    pub card_max_enis: Vec<(u32, u32)>,
    /// The type's line in the CNI's `misc/eni-max-pods.txt`.
    pub eni_max_pods_txt: u32,
    /// Default vCPU count, for the max-pods cap; `None` where no public source gives it.
    pub vcpus: Option<u32>,
}

impl InstanceType {
    /// Whether EC2 accepts prefixes on this type's ENIs: Nitro, or bare metal (docs/reference/ec2.md §4,
    /// `awsutils.go:IsPrefixDelegationSupported`).
    pub fn supports_prefixes(&self) -> bool {
        self.hypervisor == Hypervisor::Nitro || self.bare_metal
    }
}

/// The whole table, sorted by name.
pub fn all() -> &'static [InstanceType] {
    static TABLE: OnceLock<Vec<InstanceType>> = OnceLock::new();
    TABLE.get_or_init(|| embedded_table::parse_sorted(CSV, "instance", parse_row))
}

impl embedded_table::Named for InstanceType {
    fn name(&self) -> &str {
        &self.name
    }
}

/// Looks a type up by its exact name, e.g. `m5.large`.
pub fn lookup(name: &str) -> Option<&'static InstanceType> {
    embedded_table::find(all(), name)
}

/// "Did you mean" hints for an unknown name: the up to five closest names by edit distance (ties by name),
/// among those close enough to be plausible typos.
pub fn suggest(name: &str) -> Vec<&'static str> {
    let limit = (name.len() / 3).max(2);
    let mut close: Vec<(usize, &'static str)> = all()
        .iter()
        // The distance is at least the difference in length: names that differ more in length need no
        // distance, which keeps a name of any length (a megabyte of text in a scenario file) quick to refuse.
        .filter(|t| t.name.len().abs_diff(name.len()) <= limit)
        .map(|t| (edit_distance(name, &t.name), t.name.as_str()))
        .filter(|&(d, _)| d <= limit)
        .collect();
    close.sort_unstable();
    close.into_iter().take(5).map(|(_, n)| n).collect()
}

/// Levenshtein distance over bytes (type names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

fn parse_row(line: &str) -> Result<InstanceType, String> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 10 {
        return Err(format!("expected 10 columns, found {}", f.len()));
    }
    let num = |i: usize| {
        f[i].parse::<u32>()
            .map_err(|_| format!("column {} is not a number: {:?}", i + 1, f[i]))
    };
    let hypervisor = match f[4] {
        "nitro" => Hypervisor::Nitro,
        "xen" => Hypervisor::Xen,
        "unknown" => Hypervisor::Unknown,
        h => return Err(format!("unknown hypervisor {h:?}")),
    };
    let card_max_enis = f[7]
        .split(';')
        .map(|p| {
            let (i, m) = p
                .split_once(':')
                .ok_or_else(|| format!("bad card entry {p:?}"))?;
            Ok((
                i.parse().map_err(|_| format!("bad card {p:?}"))?,
                m.parse().map_err(|_| format!("bad card {p:?}"))?,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(InstanceType {
        name: f[0].to_string(),
        eni_limit: num(1)?,
        ipv4_per_eni: num(2)?,
        default_network_card: num(3)?,
        hypervisor,
        bare_metal: f[5] == "true",
        card_max_enis,
        eni_max_pods_txt: num(8)?,
        vcpus: if f[9].is_empty() { None } else { Some(num(9)?) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/reference/ipamd.md §7.2: the table's size and make-up.
    #[test]
    fn whole_table_statistics() {
        let t = all();
        assert_eq!(t.len(), 1391);
        let count = |h: Hypervisor, metal: bool| {
            t.iter()
                .filter(|r| r.hypervisor == h && r.bare_metal == metal)
                .count()
        };
        assert_eq!(count(Hypervisor::Nitro, false), 1149);
        assert_eq!(count(Hypervisor::Nitro, true), 1);
        assert_eq!(count(Hypervisor::Unknown, true), 159);
        assert_eq!(count(Hypervisor::Xen, false), 80);
        assert_eq!(count(Hypervisor::Unknown, false), 2);
        assert_eq!(
            t.iter()
                .filter(|r| r.vcpus.is_none())
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["bmn-sf1.metal"]
        );
    }

    /// docs/reference/ipamd.md §5.1: every `eni-max-pods.txt` value is ENIs × (IPv4 − 1) + 2.
    #[test]
    fn eni_max_pods_formula_holds_for_every_row() {
        for r in all() {
            assert_eq!(
                r.eni_max_pods_txt,
                r.eni_limit * (r.ipv4_per_eni - 1) + 2,
                "{}",
                r.name
            );
        }
    }

    /// docs/reference/ec2.md §4 examples.
    #[test]
    fn selected_types() {
        let m5 = lookup("m5.large").unwrap();
        assert_eq!(
            (m5.eni_limit, m5.ipv4_per_eni, m5.hypervisor),
            (3, 10, Hypervisor::Nitro)
        );
        assert!(m5.supports_prefixes());
        let t2 = lookup("t2.medium").unwrap();
        assert_eq!((t2.eni_limit, t2.ipv4_per_eni), (3, 6));
        assert!(!t2.supports_prefixes());
        assert!(lookup("m5.metal").unwrap().supports_prefixes());
        assert_eq!(lookup("hpc7a.12xlarge").unwrap().vcpus, Some(24));
        assert_eq!(lookup("p5.48xlarge").unwrap().card_max_enis.len(), 32);
        assert!(lookup("m5.huge").is_none());
        assert_eq!(suggest("m5.lrge")[0], "m5.large");
        assert_eq!(suggest("m5x.large")[0], "m5.large");
        assert!(suggest("c7gn.16xlarg").contains(&"c7gn.16xlarge"));
        assert!(suggest("completely-wrong").is_empty());
    }

    /// A scenario may name a type with a megabyte of text: compared with every type by edit distance, it
    /// took minutes to refuse.
    #[test]
    fn suggests_nothing_for_a_name_far_longer_than_any_type() {
        assert!(suggest(&"m5.large".repeat(100_000)).is_empty());
    }
}
