//! `vpcsim check`: one file validated as `run` or `sweep` would validate it, without simulating anything. A
//! scenario is read, sized against the budget and built; a sweep is sized from its axes, then every point is
//! built and sized (see [`crate::sweep::check`]).

use std::path::Path;

use crate::scenarios::{self, Budget, ScenarioError};
use crate::sim::world::World;
use crate::sweep::{self, SweepError};

/// Why a file failed its check.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The file (or a trace file it reads) is invalid, or its run would not fit the budget.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The sweep's grid is too large, or one of its points is invalid or would not fit.
    #[error(transparent)]
    Sweep(#[from] SweepError),
    /// The scenario passed the schema but its world cannot be built (e.g. a node group's subnet too small
    /// for what it must hold at start).
    #[error("{file}: {message}")]
    Build { file: String, message: String },
}

impl CheckError {
    /// Whether the file is at fault rather than the machine (a trace file that cannot be read, say).
    pub fn is_usage(&self) -> bool {
        match self {
            CheckError::Sweep(e) => e.is_usage(),
            CheckError::Scenario(_) | CheckError::Build { .. } => true,
        }
    }
}

/// Checks the scenario or sweep file at `path`: a sweep's grid over its `max_runs` is refused unless `force`,
/// and every run must fit `budget`.
pub fn check_file(path: &Path, force: bool, budget: &Budget) -> Result<(), CheckError> {
    match scenarios::sweep::load_if_sweep(path)? {
        Some((sweep, text)) => Ok(sweep::check(&sweep, &text, force, budget)?),
        None => {
            let scenario = scenarios::load_within(path, budget)?;
            World::build(&scenario, None, false).map_err(|e| CheckError::Build {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            Ok(())
        }
    }
}
