//! Trunk and branch-ENI limits per instance type as the VPC resource controller knows them
//! (docs/reference/ec2.md §11.2): `IsTrunkingCompatible` and `BranchInterface` of the controller's
//! `pkg/aws/vpc/limits.go`, embedded from `data/branch-limits.csv` and parsed once. A type absent from the table
//! gets no trunk from the controller, whatever ipamd thinks of it ([`ipamd_sees_trunking`]).

use std::sync::OnceLock;

use super::embedded_table;

const CSV: &str = include_str!("../../../data/branch-limits.csv");

/// One row of the controller's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BranchLimits {
    pub name: String,
    /// `IsTrunkingCompatible`: the controller attaches a trunk ENI to such a node.
    pub trunking: bool,
    /// `BranchInterface`: branch ENIs (pods with security groups) a trunk carries; the node's advertised
    /// `vpc.amazonaws.com/pod-eni` capacity.
    pub branches: u32,
}

/// The whole table, sorted by name.
pub fn all() -> &'static [BranchLimits] {
    static TABLE: OnceLock<Vec<BranchLimits>> = OnceLock::new();
    TABLE.get_or_init(|| embedded_table::parse_sorted(CSV, "branch-limit", parse_row))
}

impl embedded_table::Named for BranchLimits {
    fn name(&self) -> &str {
        &self.name
    }
}

/// The controller's row for a type, `None` when its table lacks the type.
pub fn lookup(name: &str) -> Option<&'static BranchLimits> {
    embedded_table::find(all(), name)
}

/// Branch ENIs the controller gives a node of this type: its `BranchInterface` when it is trunk-compatible,
/// else none (no trunk, no capacity).
pub fn controller_branches(name: &str) -> Option<u32> {
    lookup(name).filter(|r| r.trunking).map(|r| r.branches)
}

/// ipamd's `IsTrunkingCompatible`, which reads the same table but answers **true** for a type the table lacks
/// (docs/reference/ec2.md §11.2): whether ipamd keeps an ENI slot for a trunk while none is attached.
pub fn ipamd_sees_trunking(name: &str) -> bool {
    lookup(name).is_none_or(|r| r.trunking)
}

fn parse_row(line: &str) -> Result<BranchLimits, String> {
    let f: Vec<&str> = line.split(',').collect();
    let [name, trunking, branches] = f[..] else {
        return Err(format!("expected 3 columns, found {}", f.len()));
    };
    let trunking = match trunking {
        "true" => true,
        "false" => false,
        t => {
            return Err(format!(
                "is_trunking_compatible is not true or false: {t:?}"
            ));
        }
    };
    let branches = branches
        .parse()
        .map_err(|_| format!("branch_interface is not a number: {branches:?}"))?;
    Ok(BranchLimits {
        name: name.to_string(),
        trunking,
        branches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/reference/ec2.md §11.2: the table's size and make-up at the controller's commit.
    #[test]
    fn ec2_11_2_whole_table_statistics() {
        let t = all();
        assert_eq!(t.len(), 1164);
        assert_eq!(t.iter().filter(|r| r.trunking).count(), 1060);
        assert!(t.iter().all(|r| r.trunking == (r.branches > 0)));
        assert_eq!(t.iter().map(|r| r.branches).max(), Some(120));
    }

    /// docs/reference/ec2.md §11.2's sample rows.
    #[test]
    fn ec2_11_2_selected_types() {
        let b = |n| controller_branches(n);
        assert_eq!(b("m5.large"), Some(9));
        assert_eq!(b("m5.xlarge"), Some(18));
        assert_eq!(b("c5.4xlarge"), Some(54));
        assert_eq!(b("m5.metal"), Some(120));
        assert_eq!(b("t3.medium"), None);
        assert_eq!(b("m4.large"), None);
        assert!(!ipamd_sees_trunking("t3.medium"));
        assert!(ipamd_sees_trunking("m5.large"));
    }

    /// A type the controller's table lacks: the controller attaches no trunk, while ipamd's copy answers true
    /// and keeps a slot free for it (docs/reference/ec2.md §11.2).
    #[test]
    fn ec2_11_2_a_type_missing_from_the_table_gets_no_trunk_but_ipamd_keeps_a_slot() {
        let missing = crate::sim::ec2::instance_types::all()
            .iter()
            .find(|t| lookup(&t.name).is_none())
            .expect("some CNI types are absent from the controller's table");
        assert_eq!(controller_branches(&missing.name), None);
        assert!(ipamd_sees_trunking(&missing.name));
    }
}
