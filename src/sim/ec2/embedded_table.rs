//! The tables vpcsim carries in its binary as CSV (the instance types, the resource controller's branch
//! limits): parsed once, kept sorted by type name, looked up by binary search. A row that does not parse is a
//! build defect, not bad input, so it panics naming the table and the row.

/// A row of an embedded table, found by its instance type's name.
pub trait Named {
    fn name(&self) -> &str;
}

/// The rows of `csv` after its header line, parsed by `parse_row` and sorted by name.
pub fn parse_sorted<T: Named>(
    csv: &str,
    what: &str,
    parse_row: fn(&str) -> Result<T, String>,
) -> Vec<T> {
    let mut rows: Vec<T> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            parse_row(line).unwrap_or_else(|e| panic!("embedded {what} table, row {}: {e}", i + 2))
        })
        .collect();
    rows.sort_by(|a, b| a.name().cmp(b.name()));
    rows
}

/// The row for the type called exactly `name`.
pub fn find<'a, T: Named>(table: &'a [T], name: &str) -> Option<&'a T> {
    table
        .binary_search_by(|r| r.name().cmp(name))
        .ok()
        .map(|i| &table[i])
}
