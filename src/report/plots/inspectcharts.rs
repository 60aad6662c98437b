//! The picture of each inspected subnet: one cell per aligned /28 block, lowest address first, coloured by
//! the block's state, in rows whose left axis gives the first address of the row.

use std::net::Ipv4Addr;

use plotters::style::RGBColor;

use super::figure::{BlockPanel, Figure, LegendEntry, PALETTE, Panel, Swatch};
use crate::report::inspect::{BlockState, SubnetFigures};

/// Each state's colour: free blocks green, in-use ones orange to brown by how full, prefixes blue,
/// reservations purple (pale when free), AWS's own grey.
fn colour(s: BlockState) -> RGBColor {
    match s {
        BlockState::AwsReserved => RGBColor(0x79, 0x70, 0x6E),
        BlockState::Free => PALETTE[2],
        BlockState::PartlyUsed => PALETTE[1],
        BlockState::Used => RGBColor(0x9C, 0x4A, 0x14),
        BlockState::Prefix => PALETTE[0],
        BlockState::ReservedFree => RGBColor(0xD4, 0xB9, 0xDA),
        BlockState::ReservedUsed => RGBColor(0x76, 0x3F, 0x8C),
    }
}

/// Blocks a row: 16 (256 addresses) for subnets up to a /22, 32 (512 addresses) for larger ones.
fn per_row(blocks: usize) -> usize {
    if blocks <= 64 { 16 } else { 32 }
}

/// A file stem safe on every file system, from a subnet's name.
fn stem(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("subnet-{safe}")
}

/// The picture of `s`.
pub(super) fn figure(s: &SubnetFigures) -> Figure {
    let per_row = per_row(s.blocks.len());
    let base = u32::from(s.cidr.network());
    let rows = s.blocks.len().div_ceil(per_row);
    let row_labels = (0..rows)
        .map(|r| Ipv4Addr::from(base + (r * per_row * 16) as u32).to_string())
        .collect();
    let legend = BlockState::ALL
        .iter()
        .map(|&b| LegendEntry {
            label: format!("{} ({})", b.label(), s.count(b)),
            colour: colour(b),
            swatch: Swatch::Bar,
        })
        .collect();
    Figure {
        stem: stem(&s.name),
        title: format!("Subnet {} ({}, {})", s.name, s.cidr, s.az),
        subtitle: format!(
            "{} free addresses, {} free /28 blocks ({} in prefix reservations), largest free run {}",
            s.free_addresses,
            s.free_prefix_blocks,
            s.free_reserved_prefix_blocks,
            s.largest_free_run
        ),
        panels: vec![Panel::Blocks(BlockPanel {
            caption: format!(
                "one cell per /28 block, {per_row} a row ({} addresses)",
                per_row * 16
            ),
            per_row,
            cells: s.blocks.iter().map(|&b| colour(b)).collect(),
            row_labels,
        })],
        legend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_keep_safe_characters_only() {
        assert_eq!(stem("pods-a.1"), "subnet-pods-a.1");
        assert_eq!(stem("a/b c"), "subnet-a_b_c");
    }

    #[test]
    fn every_state_has_its_own_colour() {
        let mut colours: Vec<(u8, u8, u8)> = BlockState::ALL
            .iter()
            .map(|&b| {
                let c = colour(b);
                (c.0, c.1, c.2)
            })
            .collect();
        colours.sort();
        colours.dedup();
        assert_eq!(colours.len(), BlockState::ALL.len());
    }
}
