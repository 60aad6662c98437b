//! Trace files: the CSV of timed pod and node-group actions that a `type = "trace"` workload replays.
//!
//! ```text
//! time,action,target,attributes
//! 0s,create_pod,web-1,node_group=workers;cpu=250m;memory=128Mi;lifetime=10m
//! 90,scale_node_group,workers,count=5
//! 1.5m,delete_pod,web-1,
//! ```
//!
//! One row a line; blank lines and lines starting with `#` are skipped; fields may be quoted as in any CSV.
//! Errors name the trace file, the 1-based line and the column, e.g.
//! `traces/x.csv:7:1: action: unknown action "crete_pod" (expected create_pod, …)`.

use std::collections::BTreeMap;
use std::path::Path;

use csv::{ReaderBuilder, StringRecord, Trim};
use toml::Spanned;

use super::raw::RawCpu;
use super::validate::{MAX_NODES_PER_GROUP, node_group_index, parse_cpu, pod_memory_mib};
use super::{Ctx, NodeGroupSpec, PodShape, ScenarioError, TraceAction, TraceRow};
use crate::sim::time::SimDuration;

type R<T> = Result<T, ScenarioError>;

const HEADER: [&str; 4] = ["time", "action", "target", "attributes"];
const ACTIONS: &str = "create_pod, delete_pod, scale_node_group, rollout_node_group";

/// What a `create_pod` row takes from its workload when its attributes do not say.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowDefaults {
    pub node_group: Option<usize>,
    pub shape: PodShape,
}

/// Reads the trace named by the workload's `file` key (at `key`), relative to the scenario file's directory.
pub(crate) fn load(
    cx: &Ctx<'_>,
    file: &Spanned<String>,
    key: &str,
    groups: &[NodeGroupSpec],
    defaults: RowDefaults,
) -> R<Vec<TraceRow>> {
    let rel = file.get_ref().trim();
    if rel.is_empty() {
        return Err(cx.error(file.span(), key, "must not be empty"));
    }
    let dir = Path::new(cx.file).parent().unwrap_or(Path::new(""));
    let path = dir.join(rel);
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| {
        cx.error(
            file.span(),
            key,
            format!("cannot read trace \"{shown}\": {e}"),
        )
    })?;
    cx.read(rel, text.as_bytes());
    parse(&text, &shown, groups, defaults)
}

/// One row before pod names are numbered.
enum Action {
    Create {
        name: String,
        node_group: Option<usize>,
        shape: PodShape,
        lifetime: Option<SimDuration>,
    },
    Delete {
        name: String,
    },
    Scale {
        group: usize,
        count: u32,
    },
    Rollout {
        group: usize,
        batch: u32,
    },
}

struct Row {
    at: SimDuration,
    line: usize,
    action: Action,
}

/// Where errors in the trace go.
struct Trace<'a> {
    file: &'a str,
    groups: &'a [NodeGroupSpec],
}

impl Trace<'_> {
    fn error(&self, line: usize, column: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_string(),
            line,
            col: 1,
            key: column.to_string(),
            message: message.into(),
        }
    }

    fn group(&self, line: usize, column: &str, name: &str) -> R<usize> {
        node_group_index(self.groups, name).map_err(|e| self.error(line, column, e))
    }
}

/// Parses trace `text`; `file` names it in errors. Rows come out sorted by time (stable), pod names numbered
/// 0, 1, 2, … in that order of first appearance.
pub(crate) fn parse(
    text: &str,
    file: &str,
    groups: &[NodeGroupSpec],
    defaults: RowDefaults,
) -> R<Vec<TraceRow>> {
    let t = Trace { file, groups };
    let mut record = StringRecord::new();
    let mut header_seen = false;
    let mut rows: Vec<Row> = Vec::new();
    // Line by line: the csv reader's record positions skip blank and comment lines wrongly, and every error
    // must name its line. A row is one line.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, text_line) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = text_line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(Trim::All)
            .buffer_capacity(text_line.len() + 1)
            .from_reader(text_line.as_bytes());
        if let Err(e) = reader.read_record(&mut record) {
            return Err(t.error(line, "", format!("invalid CSV: {e}")));
        }
        if !header_seen {
            header_seen = true;
            if record.iter().ne(HEADER) {
                let got: Vec<&str> = record.iter().collect();
                return Err(t.error(
                    line,
                    "",
                    format!(
                        "expected the header \"{}\", got \"{}\"",
                        HEADER.join(","),
                        got.join(",")
                    ),
                ));
            }
            continue;
        }
        rows.push(parse_row(&t, line, &record, defaults)?);
    }
    if !header_seen {
        return Err(t.error(
            1,
            "",
            format!("empty trace: expected the header \"{}\"", HEADER.join(",")),
        ));
    }
    rows.sort_by_key(|r| r.at);
    number_pods(&t, rows)
}

fn parse_row(t: &Trace<'_>, line: usize, record: &StringRecord, defaults: RowDefaults) -> R<Row> {
    let n = record.len();
    if !(3..=4).contains(&n) {
        return Err(t.error(
            line,
            "",
            format!("expected 4 columns ({}), got {n}", HEADER.join(",")),
        ));
    }
    let at = parse_time(&record[0]).map_err(|m| t.error(line, "time", m))?;
    let action = &record[1];
    let target = &record[2];
    let attrs = Attributes::parse(t, line, action, record.get(3).unwrap_or(""))?;
    let need_target = |what: &str| {
        if target.is_empty() {
            Err(t.error(line, "target", format!("missing ({action} needs {what})")))
        } else {
            Ok(target)
        }
    };
    let action = match action {
        "create_pod" => {
            let name = need_target("a pod name")?.to_string();
            attrs.allow(&["node_group", "cpu", "memory", "lifetime"])?;
            let node_group = match attrs.get("node_group") {
                Some(g) => Some(t.group(line, "attributes", g)?),
                None => defaults.node_group,
            };
            let mut shape = defaults.shape;
            if let Some(c) = attrs.get("cpu") {
                shape.cpu_milli = parse_cpu(&RawCpu::Text(c.to_string()))
                    .map_err(|e| attrs.error(format!("cpu: {e}")))?;
            }
            if let Some(m) = attrs.get("memory") {
                shape.memory_mib =
                    pod_memory_mib(m).map_err(|e| attrs.error(format!("memory: {e}")))?;
            }
            let lifetime = match attrs.get("lifetime") {
                Some(l) => {
                    let d = parse_time(l).map_err(|e| attrs.error(format!("lifetime: {e}")))?;
                    if d == SimDuration::ZERO {
                        return Err(attrs.error("lifetime: must be positive, got 0s"));
                    }
                    Some(d)
                }
                None => None,
            };
            Action::Create {
                name,
                node_group,
                shape,
                lifetime,
            }
        }
        "delete_pod" => {
            let name = need_target("a pod name")?.to_string();
            attrs.allow(&[])?;
            Action::Delete { name }
        }
        "scale_node_group" => {
            let group = t.group(line, "target", need_target("a node group name")?)?;
            attrs.allow(&["count"])?;
            let count = match attrs.get("count") {
                Some(c) => attrs.integer("count", c)?,
                None => return Err(attrs.error("scale_node_group needs count=N")),
            };
            let max = t.groups[group]
                .provisioner
                .map_or(MAX_NODES_PER_GROUP, |p| {
                    p.max_nodes.min(MAX_NODES_PER_GROUP)
                });
            if count > max {
                return Err(attrs.error(format!(
                    "count: {count} nodes is more than the {max} node group \"{}\" may have",
                    t.groups[group].name
                )));
            }
            Action::Scale { group, count }
        }
        "rollout_node_group" => {
            let group = t.group(line, "target", need_target("a node group name")?)?;
            attrs.allow(&["batch"])?;
            let batch = match attrs.get("batch") {
                Some(b) => attrs.integer("batch", b)?,
                None => 1,
            };
            if batch == 0 {
                return Err(attrs.error("batch: must be a positive integer, got 0"));
            }
            Action::Rollout { group, batch }
        }
        other => {
            return Err(t.error(
                line,
                "action",
                format!("unknown action \"{other}\" (expected {ACTIONS})"),
            ));
        }
    };
    Ok(Row { at, line, action })
}

/// A time or lifetime in a trace: a duration with a unit (`"90s"`, `"1.5m"`) or a plain number of seconds.
fn parse_time(s: &str) -> Result<SimDuration, String> {
    let expected = "expected a duration like \"90s\" or \"1.5m\", or a number of seconds";
    if s.is_empty() {
        return Err(format!("missing ({expected})"));
    }
    if let Ok(x) = s.parse::<f64>() {
        return if x.is_finite() && x >= 0.0 && x <= SimDuration::MAX.as_secs_f64() {
            Ok(SimDuration::from_secs_f64(x))
        } else {
            Err(format!(
                "\"{s}\" is not a time ≥ 0 and within the clock's 292,000 years ({expected})"
            ))
        };
    }
    SimDuration::parse(s).map_err(|_| format!("\"{s}\" is not a time ({expected})"))
}

/// A row's `key=value;key=value` attributes.
struct Attributes<'a, 't> {
    t: &'t Trace<'t>,
    line: usize,
    action: &'a str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a, 't> Attributes<'a, 't> {
    fn parse(t: &'t Trace<'t>, line: usize, action: &'a str, text: &'a str) -> R<Self> {
        let mut a = Attributes {
            t,
            line,
            action,
            pairs: Vec::new(),
        };
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(a.error(format!(
                    "\"{part}\" is not key=value (attributes look like node_group=workers;cpu=250m)"
                )));
            };
            let (k, v) = (k.trim(), v.trim());
            if a.pairs.iter().any(|(o, _)| *o == k) {
                return Err(a.error(format!("attribute \"{k}\" is given twice")));
            }
            a.pairs.push((k, v));
        }
        Ok(a)
    }

    fn error(&self, message: impl Into<String>) -> ScenarioError {
        self.t.error(self.line, "attributes", message)
    }

    /// Every attribute is one of `allowed`.
    fn allow(&self, allowed: &[&str]) -> R<()> {
        match self.pairs.iter().find(|(k, _)| !allowed.contains(k)) {
            None => Ok(()),
            Some((k, _)) if allowed.is_empty() => {
                Err(self.error(format!("{} takes no attributes, got \"{k}\"", self.action)))
            }
            Some((k, _)) => Err(self.error(format!(
                "unknown attribute \"{k}\" for {} (expected {})",
                self.action,
                allowed.join(", ")
            ))),
        }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn integer(&self, key: &str, v: &str) -> R<u32> {
        v.parse()
            .map_err(|_| self.error(format!("{key}: \"{v}\" is not an integer ≥ 0")))
    }
}

/// Numbers pod names in time order of first appearance and checks that every delete follows its create and
/// that a name is created again only after it was deleted.
fn number_pods(t: &Trace<'_>, rows: Vec<Row>) -> R<Vec<TraceRow>> {
    /// Line of the pod's latest create, and of its delete once deleted.
    struct Pod {
        created: usize,
        deleted: Option<usize>,
    }
    let mut numbers: BTreeMap<String, u32> = BTreeMap::new();
    let mut pods: Vec<Pod> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let action = match r.action {
            Action::Create {
                name,
                node_group,
                shape,
                lifetime,
            } => {
                let pod = match numbers.get(&name) {
                    Some(&n) => {
                        let p = &mut pods[n as usize];
                        if p.deleted.is_none() {
                            return Err(t.error(
                                r.line,
                                "target",
                                format!(
                                    "pod \"{name}\" is already created (line {}) and not deleted since",
                                    p.created
                                ),
                            ));
                        }
                        *p = Pod {
                            created: r.line,
                            deleted: None,
                        };
                        n
                    }
                    None => {
                        let n = pods.len() as u32;
                        pods.push(Pod {
                            created: r.line,
                            deleted: None,
                        });
                        numbers.insert(name, n);
                        n
                    }
                };
                TraceAction::CreatePod {
                    pod,
                    node_group,
                    shape,
                    lifetime,
                }
            }
            Action::Delete { name } => {
                let Some(&n) = numbers.get(&name) else {
                    return Err(t.error(
                        r.line,
                        "target",
                        format!("delete_pod of pod \"{name}\", which no earlier row creates"),
                    ));
                };
                let p = &mut pods[n as usize];
                if let Some(d) = p.deleted {
                    return Err(t.error(
                        r.line,
                        "target",
                        format!("pod \"{name}\" is already deleted (line {d})"),
                    ));
                }
                p.deleted = Some(r.line);
                TraceAction::DeletePod { pod: n }
            }
            Action::Scale { group, count } => TraceAction::ScaleNodeGroup { group, count },
            Action::Rollout { group, batch } => TraceAction::RolloutNodeGroup { group, batch },
        };
        out.push(TraceRow {
            at: r.at,
            line: r.line,
            action,
        });
    }
    Ok(out)
}
