//! What an import failure says: the file, where in it (a line and column for text that is not JSON, a JSON
//! path such as `NetworkInterfaces[3].SubnetId` otherwise) and what is wrong.

use std::fmt;

/// Where in an input file a failure lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (unreadable, empty, another command's output).
    File,
    /// A line and column (1-based) of text that does not parse as JSON.
    Text { line: usize, column: usize },
    /// A JSON path: `Subnets[2].CidrBlock`, `[1].Subnets[0]` (the second page of an array of pages).
    Path(String),
}

/// One failed import; nothing is written when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub location: Location,
    pub message: String,
}

impl ImportError {
    pub(super) fn file(file: &str, message: impl Into<String>) -> Self {
        ImportError {
            file: file.to_string(),
            location: Location::File,
            message: message.into(),
        }
    }

    pub(super) fn at(file: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        ImportError {
            file: file.to_string(),
            location: Location::Path(path.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File => write!(f, "{}: {}", self.file, self.message),
            Location::Text { line, column } => {
                write!(f, "{}:{line}:{column}: {}", self.file, self.message)
            }
            Location::Path(p) => write!(f, "{}: {p}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ImportError {}
