//! The one error type of the plotting module. Every variant names the file it is about, and CSV errors the
//! line, so a user can open the file at the right place; none of them is a panic, because a report is often
//! made from a folder that another program wrote (or is still writing).

use std::path::PathBuf;

use crate::folder::FileError;

/// Why a run or sweep folder could not be plotted.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A file could not be read (or a folder listed).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A CSV file is not well-formed (the line is the one the CSV reader stopped at, when it knows it).
    #[error("{}{}: not a valid CSV file: {source}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Csv {
        path: PathBuf,
        line: Option<u64>,
        source: csv::Error,
    },
    /// A CSV file lacks a column the plots need.
    #[error("{}: no column {column:?} in the header (expected a vpcsim {what})", path.display())]
    Column {
        path: PathBuf,
        column: String,
        what: &'static str,
    },
    /// A CSV cell does not hold what its column should.
    #[error("{}:{line}: column {column}: {value:?} is not {expected}", path.display())]
    Value {
        path: PathBuf,
        line: u64,
        column: String,
        value: String,
        expected: &'static str,
    },
    /// A JSON file is not valid JSON.
    #[error("{}: not valid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A JSON file is valid but a field is missing or of the wrong kind.
    #[error("{}: {field}: expected {expected}", path.display())]
    Field {
        path: PathBuf,
        field: String,
        expected: String,
    },
    /// Drawing a chart failed (plotters' own error, as text).
    #[error("{}: drawing the chart failed: {message}", path.display())]
    Draw { path: PathBuf, message: String },
    /// A chart or the report could not be written: the machine's fault, not the folder's.
    #[error("writing {0}")]
    Write(#[from] FileError),
    /// The call itself cannot be served (for example no runs to overlay).
    #[error("{0}")]
    Invalid(String),
}

impl PlotError {
    /// Whether the folders read are at fault (bad input) rather than the machine writing the plots.
    pub fn is_usage(&self) -> bool {
        !matches!(self, PlotError::Write(_) | PlotError::Draw { .. })
    }

    pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PlotError::Io {
            path: path.into(),
            source,
        }
    }
}
