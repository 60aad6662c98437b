//! The `vpcsim instance-types` listing: the instance-type table's rows whose names match a pattern, with the
//! CNI's `eni-max-pods.txt` value and the EKS calculator's recommendations side by side, as aligned text.

use std::fmt::Write as _;

use glob::Pattern;

use crate::sim::ec2::instance_types::{self, InstanceType};
use crate::sim::ec2::max_pods::{self, MaxPodsOptions};

const HEADER: [&str; 10] = [
    "TYPE",
    "VCPUS",
    "ENIS",
    "IPV4/ENI",
    "HYPERVISOR",
    "METAL",
    "NETWORK-CARDS",
    "ENI-MAX-PODS",
    "MAX-PODS-SIP",
    "MAX-PODS-PD",
];

/// Columns of words, left-aligned; the others hold numbers and are right-aligned.
const WORD_COLUMNS: [usize; 4] = [0, 4, 5, 6];

/// The listing's text, and whether some row lacks the vCPU count the calculator's 110/250 cap needs (its
/// MAX-PODS cells then read "-", which deserves a note).
#[derive(Debug)]
pub struct Listing {
    pub text: String,
    pub vcpus_missing: bool,
}

/// The table's rows, in name order, that `pattern` selects: without `*`, the names containing it; with `*`,
/// the whole names it matches, each `*` standing for any run of characters (possibly none). Case is ignored.
pub fn matching(pattern: &str) -> Vec<&'static InstanceType> {
    let pattern = pattern.to_ascii_lowercase();
    let glob = pattern.contains('*').then(|| star_glob(&pattern));
    instance_types::all()
        .iter()
        .filter(|t| match &glob {
            Some(g) => g.matches(&t.name),
            None => t.name.contains(&pattern),
        })
        .collect()
}

/// `pattern` as a glob in which only `*` is special: every other character, `?` and `[` included, is itself.
/// Runs of `*` become one (`glob` reserves `**` for whole path components; a run means the same as one).
fn star_glob(pattern: &str) -> Pattern {
    let literal_parts: Vec<String> = pattern.split('*').map(Pattern::escape).collect();
    let mut text = literal_parts.join("*");
    while text.contains("**") {
        text = text.replace("**", "*");
    }
    Pattern::new(&text).expect("escaped parts joined by single stars form a valid glob")
}

/// The rows as an aligned table under a header line.
pub fn listing(rows: &[&InstanceType]) -> Listing {
    let mut vcpus_missing = false;
    let mut cells = vec![HEADER.map(String::from)];
    for t in rows {
        let mut calc = |prefix_delegation| {
            let o = MaxPodsOptions {
                prefix_delegation,
                ..MaxPodsOptions::default()
            };
            max_pods::max_pods(t, &o).map_or_else(
                |_| {
                    vcpus_missing = true;
                    "-".to_string()
                },
                |n| n.to_string(),
            )
        };
        let (sip, pd) = (calc(false), calc(true));
        cells.push([
            t.name.clone(),
            t.vcpus.map_or("-".into(), |v| v.to_string()),
            t.eni_limit.to_string(),
            t.ipv4_per_eni.to_string(),
            t.hypervisor.to_string(),
            if t.bare_metal { "yes" } else { "no" }.into(),
            cards(t),
            t.eni_max_pods_txt.to_string(),
            sip,
            pd,
        ]);
    }
    Listing {
        text: aligned(&cells),
        vcpus_missing,
    }
}

/// Rows of cells as lines, each column as wide as its widest cell, two spaces apart.
fn aligned(cells: &[[String; 10]]) -> String {
    let mut widths = [0; 10];
    for row in cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for row in cells {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(widths).enumerate() {
            if WORD_COLUMNS.contains(&i) {
                let _ = write!(line, "{c:<w$}  ");
            } else {
                let _ = write!(line, "{c:>w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Network cards as "count (max ENIs each)", or "count (max,max,...)" when the cards differ.
fn cards(t: &InstanceType) -> String {
    let maxes: Vec<u32> = t.card_max_enis.iter().map(|&(_, m)| m).collect();
    match maxes.as_slice() {
        [one] => format!("1 ({one})"),
        [first, rest @ ..] if rest.iter().all(|m| m == first) => {
            format!("{} ({first} each)", maxes.len())
        }
        _ => format!(
            "{} ({})",
            maxes.len(),
            maxes
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn star(p: &str, s: &str) -> bool {
        star_glob(p).matches(s)
    }

    #[test]
    fn a_star_pattern_matches_whole_names() {
        assert!(star("m5.*", "m5.large"));
        assert!(!star("m5.*", "m5n.large"));
        assert!(star("m5*.large", "m5n.large"));
        assert!(star("*.metal", "m5.metal"));
        assert!(!star("*.metal", "m5.metal2"));
        assert!(star("*", ""));
        assert!(star("a*b*c", "axxbyybc"));
        assert!(!star("a*b*c", "axxbyyb"));
        assert!(star("**x", "x"));
    }

    #[test]
    fn only_the_star_is_special() {
        assert!(!star("m5?large*", "m5.large"));
        assert!(star("m5?large*", "m5?large"));
        assert!(star("[m]5*", "[m]5.large"));
        assert!(!star("[m]5*", "m5.large"));
    }

    fn names(pattern: &str) -> Vec<&'static str> {
        matching(pattern).iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_plain_pattern_is_a_substring_and_case_is_ignored() {
        assert!(names("5.lar").contains(&"m5.large"));
        assert_eq!(names("").len(), instance_types::all().len());
        assert!(!names("m5.large").contains(&"m5.xlarge"));
        assert_eq!(names("M5.LARGE"), ["m5.large"]);
        assert!(names("m5.*").iter().all(|n| n.starts_with("m5.")));
    }

    #[test]
    fn the_listing_aligns_its_columns_and_shows_network_cards() {
        let l = listing(&matching("p4d.24xlarge"));
        let lines: Vec<&str> = l.text.lines().collect();
        assert_eq!(lines.len(), 2, "{}", l.text);
        assert!(lines[0].starts_with("TYPE "), "{}", l.text);
        assert!(lines[1].starts_with("p4d.24xlarge "), "{}", l.text);
        assert!(lines[1].contains("4 (15 each)"), "{}", l.text);
        assert!(!l.vcpus_missing);
    }
}
