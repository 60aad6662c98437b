//! CSV files read back by column name, with errors that name the file, the line and the column: the run and
//! sweep files are read by position only through this, so a reordered or extended header keeps working.

use std::path::{Path, PathBuf};

use super::error::PlotError;

/// A CSV file as its header and rows.
pub(super) struct Table {
    pub path: PathBuf,
    /// What kind of file this is, for "expected a vpcsim …" in errors.
    pub what: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<csv::StringRecord>,
}

impl Table {
    /// Reads `path` whole; `what` names the kind of file for error messages (e.g. "pods.csv").
    pub fn read(path: &Path, what: &'static str) -> Result<Table, PlotError> {
        let csv_error = |e: csv::Error| {
            if let csv::ErrorKind::Io(_) = e.kind() {
                match e.into_kind() {
                    csv::ErrorKind::Io(source) => PlotError::io(path, source),
                    _ => unreachable!("checked above"),
                }
            } else {
                PlotError::Csv {
                    path: path.to_path_buf(),
                    line: e.position().map(|p| p.line()),
                    source: e,
                }
            }
        };
        let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
        let header = reader
            .headers()
            .map_err(csv_error)?
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(csv_error)?;
        Ok(Table {
            path: path.to_path_buf(),
            what,
            header,
            rows,
        })
    }

    /// Index of a column the caller cannot do without.
    pub fn column(&self, name: &str) -> Result<usize, PlotError> {
        self.find(name).ok_or_else(|| PlotError::Column {
            path: self.path.clone(),
            column: name.to_string(),
            what: self.what,
        })
    }

    /// Index of a column that may be absent.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The text of row `row`'s cell in column `col` ("" when the row is short).
    pub fn text(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).unwrap_or("")
    }

    /// The file line of row `row` (1 is the header).
    pub fn line(&self, row: usize) -> u64 {
        self.rows[row]
            .position()
            .map_or(row as u64 + 2, |p| p.line())
    }

    /// Row `row`'s number in column `col`; `None` for an empty cell, an error naming the line for text that is
    /// not a finite number.
    pub fn number(&self, row: usize, col: usize) -> Result<Option<f64>, PlotError> {
        let text = self.text(row, col).trim();
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(self.bad(row, col, "a number")),
        }
    }

    /// Row `row`'s non-negative integer in column `col`; `None` for an empty cell.
    pub fn integer(&self, row: usize, col: usize) -> Result<Option<u64>, PlotError> {
        let text = self.text(row, col).trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<u64>()
            .map(Some)
            .map_err(|_| self.bad(row, col, "a whole number"))
    }

    /// The error for a cell that does not hold what its column should.
    pub fn bad(&self, row: usize, col: usize, expected: &'static str) -> PlotError {
        PlotError::Value {
            path: self.path.clone(),
            line: self.line(row),
            column: self.header.get(col).cloned().unwrap_or_default(),
            value: self.text(row, col).to_string(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vpcsim-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn bad_number_names_file_line_and_column() {
        let p = write("bad.csv", "a,b\n1,2\n3,x\n");
        let t = Table::read(&p, "test file").unwrap();
        let b = t.column("b").unwrap();
        assert_eq!(t.number(0, b).unwrap(), Some(2.0));
        let e = t.number(1, b).unwrap_err().to_string();
        assert!(e.contains("bad.csv:3: column b"), "{e}");
    }

    #[test]
    fn ragged_row_is_a_csv_error_with_its_line() {
        let p = write("ragged.csv", "a,b\n1,2\n3\n");
        let e = Table::read(&p, "test file").err().unwrap().to_string();
        assert!(e.contains("ragged.csv:3"), "{e}");
    }

    #[test]
    fn missing_column_names_it() {
        let p = write("cols.csv", "a\n1\n");
        let t = Table::read(&p, "test file").unwrap();
        let e = t.column("zz").unwrap_err().to_string();
        assert!(e.contains("cols.csv") && e.contains("\"zz\""), "{e}");
    }
}
