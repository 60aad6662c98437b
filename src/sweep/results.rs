//! `results.csv` and `timings.csv`: one row per run, appended and flushed as runs finish so that an
//! interrupted sweep loses no finished run, then rewritten in run order when the sweep is complete, so that the
//! files do not depend on which worker finished first. `results.json` is made from the sorted rows.
//!
//! Wall-clock times live in `timings.csv` rather than in `results.csv`: results are byte-identical whatever
//! `--jobs` or the machine, timings never are.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde_json::{Map, Value};

use super::SweepError;

pub const RESULTS: &str = "results.csv";
pub const TIMINGS: &str = "timings.csv";
pub const RESULTS_JSON: &str = "results.json";

/// Summary keys that measure the machine, not the simulation: they go to `timings.csv`.
const WALL_CLOCK: &[&str] = &[
    "run.wall_s",
    "run.events_per_sec",
    "run.simulated_s_per_wall_s",
];
/// Summary keys that the leading columns already hold.
const LEADING: &[&str] = &["scenario", "seed"];

pub const TIMING_COLUMNS: &[&str] = &["run", "wall_s", "events", "events_per_sec"];

/// Flattens a summary into `(dotted key, value)` pairs in key order, without the wall-clock figures.
pub fn flatten(summary: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", summary, &mut out);
    out.retain(|(k, _)| !WALL_CLOCK.contains(&k.as_str()) && !LEADING.contains(&k.as_str()));
    out
}

/// A JSON value as a CSV cell: numbers as serde_json writes them (shortest round-trip), null as empty.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A CSV cell back as a JSON value: empty is null, numbers are numbers, the rest strings.
fn typed(cell: &str) -> Value {
    if cell.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = cell.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = cell.parse::<u64>() {
        return Value::from(u);
    }
    match cell.parse::<f64>() {
        Ok(f) if f.is_finite() => Value::from(f),
        _ => Value::String(cell.to_string()),
    }
}

/// One CSV record as bytes, ending in a newline.
pub fn record<I, S>(cells: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells).expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

/// A CSV file that rows are appended to, one flushed write per row.
pub struct Appender {
    file: File,
}

impl Appender {
    /// Starts `path` afresh with `header`.
    pub fn create(path: &Path, header: &[String]) -> io::Result<Appender> {
        let mut file = File::create(path)?;
        file.write_all(&record(header))?;
        file.flush()?;
        Ok(Appender { file })
    }

    /// Appends to an existing file (whose partial last line, if any, [`read_rows`] has cut).
    pub fn append(path: &Path) -> io::Result<Appender> {
        Ok(Appender {
            file: OpenOptions::new().append(true).open(path)?,
        })
    }

    pub fn push(&mut self, row: &[u8]) -> io::Result<()> {
        self.file.write_all(row)?;
        self.file.flush()
    }
}

/// The header and rows of a CSV file written by [`Appender`]. A last line without its newline is what a
/// crash mid-write leaves: it is cut from the file (when `repair`) and not returned.
pub fn read_rows(path: &Path, repair: bool) -> Result<(Vec<String>, Vec<Vec<String>>), SweepError> {
    let bad = |message: String| SweepError::Results {
        file: path.to_path_buf(),
        message,
    };
    let mut bytes = fs::read(path).map_err(|e| bad(e.to_string()))?;
    if !bytes.ends_with(b"\n") {
        let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(keep);
        if repair {
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| bad(e.to_string()))?;
            f.set_len(keep as u64).map_err(|e| bad(e.to_string()))?;
        }
    }
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut records = r.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(str::to_string).collect(),
        Some(Err(e)) => return Err(bad(e.to_string())),
        None => return Err(bad("empty file: no header".into())),
    };
    let mut rows = Vec::new();
    for (i, rec) in records.enumerate() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        if rec.len() != header.len() {
            return Err(bad(format!(
                "line {}: {} fields, the header has {}",
                i + 2,
                rec.len(),
                header.len()
            )));
        }
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

/// The run number of a row (its first cell).
pub fn run_of(path: &Path, row: &[String]) -> Result<u64, SweepError> {
    row[0].parse().map_err(|_| SweepError::Results {
        file: path.to_path_buf(),
        message: format!("`{}` is not a run number", row[0]),
    })
}

/// Writes `header` and `rows` sorted by run to `path`, through a temporary file and a rename.
pub fn write_sorted(
    path: &Path,
    header: &[String],
    rows: &mut [Vec<String>],
) -> Result<(), SweepError> {
    rows.sort_by_key(|r| r[0].parse::<u64>().unwrap_or(u64::MAX));
    let mut bytes = record(header);
    for r in rows.iter() {
        bytes.extend(record(r));
    }
    Ok(crate::folder::write_atomic(path, &bytes)?)
}

/// `results.json`: the column order and one object per run, with numbers as numbers.
pub fn results_json(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let runs: Vec<Value> = rows
        .iter()
        .map(|r| {
            Value::Object(
                header
                    .iter()
                    .zip(r)
                    .map(|(k, c)| (k.clone(), typed(c)))
                    .collect::<Map<String, Value>>(),
            )
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({
        "columns": header,
        "runs": runs,
    }))
    .expect("JSON values serialise");
    text.push('\n');
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_joins_keys_and_drops_wall_clock() {
        let v = serde_json::json!({
            "scenario": "x", "seed": 3,
            "run": { "events": 5, "wall_s": 0.1, "events_per_sec": 50.0, "simulated_s_per_wall_s": 9.0 },
            "pods": { "ip_wait_s": { "p99": 1.5 } },
        });
        let keys: Vec<String> = flatten(&v).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["pods.ip_wait_s.p99", "run.events"]);
    }

    #[test]
    fn cells_round_trip_through_json() {
        for (c, v) in [
            ("", Value::Null),
            ("3", Value::from(3)),
            ("0.5355361196841635", Value::from(0.5355361196841635)),
            ("10.0.0.0/24", Value::from("10.0.0.0/24")),
            ("m5.large", Value::from("m5.large")),
        ] {
            assert_eq!(typed(c), v);
            assert_eq!(cell(&v), c);
        }
    }

    #[test]
    fn a_partial_last_line_is_cut() {
        let dir = std::env::temp_dir().join(format!("vpcsim-results-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.csv");
        fs::write(&path, "run,x\n0,1\n1,2\n2,3").unwrap();
        let (header, rows) = read_rows(&path, true).unwrap();
        assert_eq!(header, ["run", "x"]);
        assert_eq!(rows.len(), 2);
        assert_eq!(fs::read_to_string(&path).unwrap(), "run,x\n0,1\n1,2\n");
        fs::remove_dir_all(&dir).unwrap();
    }
}
