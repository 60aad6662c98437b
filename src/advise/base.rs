//! The scenario file advice starts from, and how a candidate whose settings do not fit it is reported: at the
//! key the candidate wrote (`node_groups.1.subnets`, `subnets.eks-pods-a.reservations`) and where the file
//! has that key (or the nearest table holding it), so the user sees what in their file the setting conflicts
//! with.

use std::path::Path;

use toml::Value;

use crate::scenarios::{self, Scenario, ScenarioError};

/// The base file: its table (without `[sweep]`), its name and text.
#[derive(Clone, Debug)]
pub struct Base {
    pub table: Value,
    pub file: String,
    text: String,
}

/// A key a candidate writes: as the user would write it (`node_groups.1.subnets`) and in validation errors'
/// form (`node_groups[1].subnets`), to tell which written key an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub dotted: String,
    canonical: String,
}

impl Written {
    /// A key of node group `g`'s table.
    pub fn group(g: usize, key: &str) -> Written {
        Written {
            dotted: format!("node_groups.{g}.{key}"),
            canonical: format!("node_groups[{g}].{key}"),
        }
    }

    /// The reservations of subnet `name` in `base`.
    pub fn reservations(base: &Value, name: &str) -> Written {
        let i = base
            .get("subnets")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .position(|s| s.get("name").and_then(Value::as_str) == Some(name))
            })
            .unwrap_or_default();
        let mut dotted = "subnets".to_string();
        scenarios::push_key(&mut dotted, name);
        dotted.push_str(".reservations");
        Written {
            dotted,
            canonical: format!("subnets[{i}].reservations"),
        }
    }

    /// Whether validation's key `key` lies under this one.
    fn holds(&self, key: &str) -> bool {
        key.strip_prefix(&self.canonical)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }
}

impl Base {
    /// Reads and validates the scenario at `path`.
    pub fn read(path: &Path) -> Result<(Scenario, Base), ScenarioError> {
        let (scenario, text) = scenarios::read(path)?;
        let mut table: toml::Table = toml::from_str(&text).expect("a scenario that parsed is TOML");
        table.remove("sweep");
        let base = Base {
            table: Value::Table(table),
            file: path.display().to_string(),
            text,
        };
        Ok((scenario, base))
    }

    /// An error about written key `w`, at the place in the file nearest to it.
    pub fn error_at(&self, w: &Written, message: String) -> ScenarioError {
        self.located(&w.canonical, w.dotted.clone(), message)
    }

    /// A candidate's validation error `e` (of the file with its keys `written` written in) placed at the
    /// written key it is about and where the base file has it; an error under no written key keeps its own
    /// key, placed in the base file too.
    pub fn candidate_error(&self, written: &[Written], e: ScenarioError) -> ScenarioError {
        let ScenarioError::Invalid { key, message, .. } = e else {
            return e;
        };
        match written.iter().find(|w| w.holds(&key)) {
            Some(w) => self.error_at(w, message),
            None => self.located(&key.clone(), key, message),
        }
    }

    /// An error at `canonical` in the file, or at its nearest enclosing key that the file writes.
    fn located(&self, canonical: &str, key: String, message: String) -> ScenarioError {
        let mut at = Some(canonical);
        let (line, col) = loop {
            match at {
                Some(k) => match scenarios::locate(&self.text, k) {
                    Some(found) => break found,
                    None => at = parent(k),
                },
                None => break (1, 1),
            }
        };
        ScenarioError::Invalid {
            file: self.file.clone(),
            line,
            col,
            key,
            message,
        }
    }
}

/// `subnets[0]` for `subnets[0].reservations`, `subnets` for `subnets[0]`; none for a top-level key.
fn parent(key: &str) -> Option<&str> {
    let cut = if key.ends_with(']') {
        key.rfind('[')
    } else {
        key.rfind('.')
    };
    cut.map(|i| &key[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_hold_the_errors_under_them() {
        let w = Written::group(1, "subnets");
        assert!(w.holds("node_groups[1].subnets"));
        assert!(w.holds("node_groups[1].subnets[0]"));
        assert!(!w.holds("node_groups[1].subnets_extra"));
        assert!(!w.holds("node_groups[11].subnets"));
    }

    /// An error under a key the candidate wrote is placed at that key's line in the file, named as the
    /// candidate wrote it; a key the file lacks falls back to the nearest table holding it.
    #[test]
    fn a_candidates_error_is_placed_at_the_key_it_wrote() {
        let text = "[[node_groups]]\nname = \"a\"\nsubnets = [\"x\"]\n\n[[node_groups]]\nname = \"b\"\nsubnets = [\"y\"]\n";
        let base = Base {
            table: toml::from_str(text).unwrap(),
            file: "f.toml".into(),
            text: text.into(),
        };
        let invalid = |key: &str| ScenarioError::Invalid {
            file: "f.toml".into(),
            line: 0,
            col: 0,
            key: key.into(),
            message: "wrong".into(),
        };
        let written = [Written::group(1, "ipamd"), Written::group(1, "subnets")];
        let e = base.candidate_error(&written, invalid("node_groups[1].subnets[0]"));
        assert_eq!(e.to_string(), "f.toml:7:1: node_groups.1.subnets: wrong");
        // The file has no `ipamd` table in group 1: the group's own table.
        let e = base.candidate_error(&written, invalid("node_groups[1].ipamd.WARM_IP_TARGET"));
        assert_eq!(e.to_string(), "f.toml:5:1: node_groups.1.ipamd: wrong");
    }

    #[test]
    fn parents_walk_up_to_the_top() {
        assert_eq!(parent("subnets[0].reservations"), Some("subnets[0]"));
        assert_eq!(parent("subnets[0]"), Some("subnets"));
        assert_eq!(parent("subnets"), None);
    }
}
