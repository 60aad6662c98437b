//! Every file in `tests/fixtures/bad/` must fail to load with an error that starts with `<path>:<line>:` and
//! contains a message fragment. Both are declared on the fixture's first line:
//!
//! ```toml
//! # expect: 7 reservation 10.1.0.0/24 lies outside subnet
//! ```
//!
//! so adding a case is adding a file. Every file in `scenarios/` must load.
//!
//! A scenario in `tests/fixtures/traces/` replays the trace file of the same name (`x.toml` reads `x.csv`), and
//! its expected line is a line of that CSV: the error must start with `<csv path>:<line>:`.

use std::fs;
use std::path::{Path, PathBuf};

use vpcsim::scenarios;

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// `(line, fragment)` from a first line `# expect: LINE FRAGMENT`.
fn expectation(path: &Path) -> (usize, String) {
    // Lossy: a fixture may hold bytes that are not UTF-8 after its first line.
    let text = String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned();
    let first = text.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| {
            panic!(
                "{}: first line must be `# expect: LINE MESSAGE-FRAGMENT`",
                path.display()
            )
        })
        .trim();
    let (line, fragment) = rest.split_once(' ').unwrap_or((rest, ""));
    let line = line
        .parse()
        .unwrap_or_else(|_| panic!("{}: bad expected line {line:?}", path.display()));
    (line, fragment.trim().to_string())
}

/// Loads every file, expecting each to fail at the line and with the message its first line declares, in the
/// file `error_file` gives for it.
fn check_failures(files: &[PathBuf], error_file: impl Fn(&Path) -> PathBuf) {
    let mut failures = Vec::new();
    for path in files {
        let (line, fragment) = expectation(path);
        let shown = match scenarios::load(path) {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", path.display()));
                continue;
            }
            Err(e) => e.to_string(),
        };
        let prefix = format!("{}:{line}:", error_file(path).display());
        if !shown.starts_with(&prefix) {
            failures.push(format!("expected prefix {prefix}\n  got {shown}"));
        } else if !shown.contains(&fragment) {
            failures.push(format!("expected {fragment:?}\n  in  {shown}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_fails_at_the_expected_line() {
    let files = toml_files("tests/fixtures/bad");
    assert!(files.len() >= 12, "fixtures missing: {files:?}");
    check_failures(&files, Path::to_path_buf);
}

#[test]
fn every_bad_trace_fails_at_the_expected_csv_line() {
    let files = toml_files("tests/fixtures/traces");
    assert!(files.len() >= 3, "trace fixtures missing: {files:?}");
    check_failures(&files, |p| p.with_extension("csv"));
}

#[test]
fn every_example_scenario_loads() {
    let files = toml_files("scenarios");
    assert!(!files.is_empty());
    for path in &files {
        if let Err(e) = scenarios::load(path) {
            panic!("{e}");
        }
    }
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let e = scenarios::load(Path::new("tests/fixtures/does-not-exist.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("tests/fixtures/does-not-exist.toml: "),
        "{e}"
    );
}
