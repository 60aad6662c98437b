//! Fuzzes the loaders behind `vpcsim check`: the bundled scenario and sweep files, mutated at random (values
//! of the wrong type, extreme and non-finite numbers, huge strings, unicode, truncation, flipped bytes,
//! duplicated keys and tables, deep nesting, deleted and swapped keys, new sweep axes), must each be accepted
//! or rejected with a message of the documented form `FILE:LINE:COL: key: message`, without a panic, an
//! abort or a hang.
//!
//! Every case runs in-process on a thread of its own (a watchdog turns a hang into a failure); one case in
//! [`BINARY_EVERY`] also runs through the `vpcsim` binary under a memory limit, so that an abort (stack
//! overflow, out of memory) is caught and reported with its input too. (An abort in-process ends the test
//! binary; the message names the thread, `fuzz case N`.)
//!
//! The budget is fixed for CI ([`CI_CASES`] cases from [`CI_SEED`]); `VPCSIM_FUZZ_CASES` and
//! `VPCSIM_FUZZ_SEED` run more, or others. A failure names its case and saves its input under
//! `target/tmp/fuzz-loaders/SEED/pid-PID/` (with the trace CSV it reads, if any, as `failure-N.trace.csv`);
//! `VPCSIM_FUZZ_CASE=N` (with the same seed) replays case N alone.

use std::fmt::Write as _;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use toml::{Table, Value};

use vpcsim::scenarios;

/// Cases CI runs: about ten seconds of a debug build.
const CI_CASES: u64 = 400;
/// CI's seed: fixed, so that CI is deterministic.
const CI_SEED: u64 = 0x0f22_10ad;
/// One case in this many also runs through the binary.
const BINARY_EVERY: u64 = 10;
/// A case that has not finished by then hangs. A watchdog only: `check` of a bundled file takes milliseconds.
const DEADLINE: Duration = Duration::from_secs(60);
/// Address space the binary may use: enough for any valid file, not for a runaway allocation.
const BINARY_MEMORY_KB: u64 = 4 << 20;
/// Failures listed before the fuzz gives up.
const MAX_FAILURES: usize = 20;
/// `check` builds every point of a sweep: grids larger than this are not checked, to keep cases quick.
const MAX_POINTS: u64 = 24;

/// Messages without a key: errors about the file as a whole (docs: "without `KEY: ` for errors in the
/// top-level table as a whole").
const KEYLESS: &[&str] = &[
    "invalid TOML: ",
    "invalid UTF-8",
    "missing required key ",
    "no [sweep] table",
];

/// Rust type names and debug output that a message must never show (outside the quoted input it echoes).
const INTERNALS: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "String", "Vec", "Option", "Some(", "None", "Ok(", "Err(", "Error {", "kind:",
];

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// A bundled file the mutations start from.
struct SeedFile {
    name: String,
    text: String,
}

fn seed_files() -> Vec<SeedFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "scenarios",
        "tests/fixtures/sweeps",
        "tests/fixtures/traces",
    ] {
        let mut paths: Vec<PathBuf> = fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            files.push(SeedFile {
                name: p.strip_prefix(root).unwrap().display().to_string(),
                text: fs::read_to_string(&p).unwrap(),
            });
        }
    }
    // A trace replay of the CSV each case writes (see [`TRACE`]).
    let replay = fs::read_to_string(root.join("tests/fixtures/traces/bad-action.toml")).unwrap();
    assert!(replay.contains("file = \"bad-action.csv\""));
    files.push(SeedFile {
        name: format!("tests/fixtures/traces/bad-action.toml reading {TRACE}"),
        text: replay.replace("bad-action.csv", TRACE),
    });
    assert!(files.len() >= 10, "bundled files missing");
    files
}

/// The trace CSV of each case, beside its scenario: `tests/fixtures/traces/churn.csv`, mutated.
const TRACE: &str = "trace.csv";

/// The folder the cases of `seed` are written to, with the trace CSVs the trace fixtures read beside them:
/// one per seed and test process, so that runs of several seeds, or two test runs of one seed on one target
/// directory, never write over each other's input.
fn work_dir(seed: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("fuzz-loaders")
        .join(format!("{seed:#x}"))
        .join(format!("pid-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces");
    for e in fs::read_dir(traces).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "csv") {
            fs::copy(&p, dir.join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// One change to a file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Replaces a value (scalar, table or array) by an odd one.
    Replace(Index, Value),
    /// Replaces a scalar by an odd one of its own kind (a number by an extreme one, a duration by a huge or
    /// tiny one, a CIDR by another), so that the file gets past the types to the rules.
    Tweak(Index, Tweak),
    Delete(Index),
    Swap(Index, Index),
    /// Repeats an element of an array: a second subnet or node group of the same name, a repeated list item.
    RepeatElement(Index),
    /// Adds a sweep axis over an existing key, with its value tweaked.
    Axis(Index, Vec<Tweak>),
    Truncate(Index),
    SetByte(Index, u8),
    /// Repeats a line: a duplicate key or table header.
    RepeatLine(Index),
    /// Appends a copy of a table (from its header to the next one).
    RepeatTable(Index),
    /// Inserts text at the start of a line.
    Insert(Index, String),
}

fn odd_integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            0,
            -1,
            1,
            2,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            (1 << 31) - 1,
            1 << 31,
            (1 << 32) - 1,
            1 << 32,
            (1 << 53) + 1,
            1 << 62,
        ]),
        any::<i64>(),
        -1000i64..100_000,
    ]
}

fn odd_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::sample::select(vec![
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.0,
            1e300,
            -1e300,
            1e-300,
            5e-324,
            0.5,
            1.5,
            9.223_372_036_854_776e18,
            1.844_674_407_370_955_2e19,
            f64::MAX,
        ]),
        any::<f64>(),
    ]
}

fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            " ",
            "\0",
            "a\0b",
            "e\u{301}\u{301}\u{301}",
            "\u{202e}txet\u{202c}",
            "\u{1f4a5}\u{200d}\u{1f525}",
            "\u{feff}x",
            "\u{fffd}",
            "\r\n",
            "0s",
            "-1s",
            "1us",
            "1e300h",
            "18446744073709551615s",
            "99999999999d",
            "0.000001ms",
            "nan",
            "inf",
            "0.0.0.0/0",
            "10.0.0.0/32",
            "10.0.0.0/16",
            "255.255.255.240/28",
            "::1/128",
            "1e300",
            "-1Gi",
            "99999999999999999999Gi",
            "0m",
            "m5.large",
            "t3.nano",
            "default",
            "pods",
            "true",
        ])
        .prop_map(str::to_string),
        (1usize..200_000).prop_map(|n| "x".repeat(n)),
        "\\PC{0,40}",
    ]
}

/// An odd value of any type, nested at most `depth` deep.
fn odd_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        odd_integer().prop_map(Value::Integer),
        odd_float().prop_map(Value::Float),
        odd_string().prop_map(Value::String),
        any::<bool>().prop_map(Value::Boolean),
        Just(Value::Datetime("1979-05-27T07:32:00Z".parse().unwrap())),
        Just(Value::Array(Vec::new())),
        Just(Value::Table(Table::new())),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ]
    })
}

/// The makings of an odd value of the same kind as the one it replaces (see [`Tweak::apply`]).
#[derive(Clone, Debug)]
struct Tweak {
    integer: i64,
    float: f64,
    /// Picks a unit, for durations and quantities.
    unit: Index,
    octets: [u8; 4],
    prefix: u8,
    /// Used for strings of no known shape.
    string: String,
}

/// Duration and quantity units, right and wrong.
const UNITS: &[&str] = &[
    "us", "ms", "s", "m", "h", "d", "", "ns", "Ki", "Mi", "Gi", "G", "Ti", "m ", "µs",
];

impl Tweak {
    /// A value of `old`'s kind: numbers stay numbers, durations and quantities keep a number and a unit,
    /// CIDRs stay CIDRs, other strings become odd strings.
    fn apply(&self, old: &Value) -> Value {
        let unit = UNITS[self.unit.index(UNITS.len())];
        match old {
            Value::Integer(_) => Value::Integer(self.integer),
            Value::Float(_) => Value::Float(self.float),
            Value::Boolean(b) => Value::Boolean(!b),
            Value::String(s) if s.contains('/') && s.contains('.') => {
                let [a, b, c, d] = self.octets;
                Value::String(format!("{a}.{b}.{c}.{d}/{}", self.prefix))
            }
            Value::String(s) if s.starts_with(|c: char| c.is_ascii_digit()) => {
                let number = if self.integer % 2 == 0 {
                    self.integer.to_string()
                } else {
                    self.float.to_string()
                };
                Value::String(format!("{number}{unit}"))
            }
            Value::String(_) => Value::String(self.string.clone()),
            other => other.clone(),
        }
    }
}

fn tweak() -> impl Strategy<Value = Tweak> {
    (
        odd_integer(),
        odd_float(),
        any::<Index>(),
        prop_oneof![
            Just([10, 0, 0, 0]),
            Just([0, 0, 0, 0]),
            Just([255, 255, 255, 255]),
            any::<[u8; 4]>()
        ],
        prop_oneof![0u8..=40, 14u8..=29],
        odd_string(),
    )
        .prop_map(|(integer, float, unit, octets, prefix, string)| Tweak {
            integer,
            float,
            unit,
            octets,
            prefix,
            string,
        })
}

/// Text inserted at the start of a line: nesting, odd keys, line ends, sweeps.
fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        (1usize..200_000).prop_map(|n| format!("deep = {}{}\n", "[".repeat(n), "]".repeat(n))),
        (1usize..50_000).prop_map(|n| format!("deep = {}1{}\n", "{ a = ".repeat(n), " }".repeat(n))),
        (1usize..2_000).prop_map(|n| format!("{} = 1\n", vec!["a"; n].join("."))),
        (1usize..2_000).prop_map(|n| format!("{}\n", "[x]\n".repeat(n))),
        prop::sample::select(vec![
            "\"\u{202e}evil\" = 1\n",
            "\"a\\u0000b\" = 2\n",
            "\"\" = 3\n",
            "\u{feff}",
            "\r",
            "\r\n",
            "\t",
            "x = \"\\uD800\"\n",
            "x = 1979-05-27T07:32:00Z\n",
            "[sweep]\nreplicates = 4\n",
            "[sweep]\nmax_runs = -1\n",
            "[sweep.axes]\n\"seed\" = [1, 2]\n",
            "[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = -9223372036854775808, to = 9223372036854775807, step = 1 }\n",
            "[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0, to = 9223372036854775807, step = 9223372036854775807 }\n",
            "[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0.0, to = 1e300, step = 1e-300 }\n",
            "[sweep.axes]\n\"ipamd.WARM_IP_TARGET\" = { from = 0.0, to = 1.0, step = nan }\n",
            "[sweep.zip]\nz = [\"a\", \"a\"]\n",
            "[[workloads]]\n",
            "[[node_groups]]\n",
            "[[subnets]]\n",
        ])
        .prop_map(str::to_string),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), odd_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<Index>().prop_map(Mutation::Delete),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => any::<Index>().prop_map(Mutation::RepeatElement),
        8 => (any::<Index>(), tweak()).prop_map(|(i, t)| Mutation::Tweak(i, t)),
        4 => (any::<Index>(), prop::collection::vec(tweak(), 1..4))
            .prop_map(|(i, t)| Mutation::Axis(i, t)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::RepeatLine),
        1 => any::<Index>().prop_map(Mutation::RepeatTable),
        1 => (any::<Index>(), snippet()).prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

/// A row of a trace CSV with odd fields.
fn trace_row() -> impl Strategy<Value = String> {
    let time = prop::sample::select(vec![
        "0",
        "-1",
        "1e300",
        "nan",
        "inf",
        "1e-300",
        "0s",
        "1e300h",
        "99999999999d",
        "",
        "1.5m",
    ]);
    let action = prop::sample::select(vec![
        "create_pod",
        "delete_pod",
        "scale_node_group",
        "rollout_node_group",
        "",
        "x",
    ]);
    let target = prop::sample::select(vec!["web-1", "ng", "", "new", "\"q,\""]);
    let attributes = prop::sample::select(vec![
        "",
        "count=4294967296",
        "count=100000",
        "count=-1",
        "batch=0",
        "batch=18446744073709551616",
        "cpu=1e300;memory=1e300Gi",
        "memory=0Mi",
        "lifetime=0",
        "lifetime=1e300",
        "node_group=ng;node_group=ng",
        "=",
        ";;",
        "a=b=c",
    ]);
    (time, action, target, attributes).prop_map(|(t, a, g, x)| format!("{t},{a},{g},{x}\n"))
}

/// A change to the trace CSV.
fn trace_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::RepeatLine),
        3 => (any::<Index>(), trace_row()).prop_map(|(i, r)| Mutation::Insert(i, r)),
    ]
}

/// A case: a bundled file and the changes made to it, in order, and those made to the trace CSV.
#[derive(Clone, Debug)]
struct Case {
    file: Index,
    mutations: Vec<Mutation>,
    trace: Vec<Mutation>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<Index>(),
        prop::collection::vec(mutation(), 1..3),
        prop::collection::vec(trace_mutation(), 0..3),
    )
        .prop_map(|(file, mutations, trace)| Case {
            file,
            mutations,
            trace,
        })
}

/// One step of a path into a TOML document.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    At(usize),
}

/// Every value's path in `v`, parents before children.
fn paths(v: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    let children: Vec<(Step, &Value)> = match v {
        Value::Table(t) => t.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::At(i), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        prefix.push(step);
        out.push(prefix.clone());
        paths(child, prefix, out);
        prefix.pop();
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, step| match (v, step) {
        (Value::Table(t), Step::Key(k)) => t.get_mut(k),
        (Value::Array(a), Step::At(i)) => a.get_mut(*i),
        _ => None,
    })
}

/// The dotted key a sweep axis would use for `path`: array elements by name where they have one.
fn dotted(root: &Value, path: &[Step]) -> String {
    let mut at = Some(root);
    let mut segments = Vec::new();
    for step in path {
        let seg = match step {
            Step::Key(k) => {
                at = at.and_then(|v| v.get(k.as_str()));
                k.clone()
            }
            Step::At(i) => {
                at = at.and_then(|v| v.get(*i));
                match at.and_then(|v| v.get("name")).and_then(Value::as_str) {
                    Some(name) => name.to_string(),
                    None => i.to_string(),
                }
            }
        };
        let bare = !seg.is_empty() && !seg.contains(['.', '"']);
        segments.push(if bare { seg } else { format!("\"{seg}\"") });
    }
    segments.join(".")
}

/// Applies a change to the parsed document; false if it does not apply (e.g. nothing to delete).
fn mutate_tree(doc: &mut Value, m: &Mutation) -> bool {
    let mut all = Vec::new();
    paths(doc, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return false;
    }
    let pick = |i: &Index| all[i.index(all.len())].clone();
    match m {
        Mutation::Replace(i, v) => at_mut(doc, &pick(i))
            .map(|slot| *slot = v.clone())
            .is_some(),
        Mutation::Tweak(i, t) => at_mut(doc, &pick(i))
            .map(|slot| *slot = t.apply(slot))
            .is_some(),
        Mutation::Delete(i) => {
            let path = pick(i);
            let (last, parent) = path.split_last().unwrap();
            match (at_mut(doc, parent), last) {
                (Some(Value::Table(t)), Step::Key(k)) => t.remove(k).is_some(),
                (Some(Value::Array(a)), Step::At(i)) => {
                    a.remove(*i);
                    true
                }
                _ => false,
            }
        }
        Mutation::Swap(a, b) => {
            let (a, b) = (pick(a), pick(b));
            if a.starts_with(&b) || b.starts_with(&a) {
                return false;
            }
            let va = at_mut(doc, &a).map(|v| v.clone());
            let vb = at_mut(doc, &b).map(|v| v.clone());
            let (Some(va), Some(vb)) = (va, vb) else {
                return false;
            };
            *at_mut(doc, &a).unwrap() = vb;
            *at_mut(doc, &b).unwrap() = va;
            true
        }
        Mutation::RepeatElement(i) => {
            let path = pick(i);
            let (last, parent) = path.split_last().unwrap();
            match (at_mut(doc, parent), last) {
                (Some(Value::Array(a)), Step::At(i)) => {
                    let copy = a[*i].clone();
                    a.insert(*i + 1, copy);
                    true
                }
                _ => false,
            }
        }
        Mutation::Axis(i, tweaks) => {
            let path = pick(i);
            if path.first() == Some(&Step::Key("sweep".into())) {
                return false;
            }
            let key = dotted(doc, &path);
            let old = at_mut(doc, &path).map_or(Value::Integer(0), |v| v.clone());
            let values = tweaks.iter().map(|t| t.apply(&old)).collect();
            let Value::Table(root) = doc else {
                return false;
            };
            let sweep = root
                .entry("sweep")
                .or_insert_with(|| Value::Table(Table::new()));
            let Value::Table(sweep) = sweep else {
                return false;
            };
            let axes = sweep
                .entry("axes")
                .or_insert_with(|| Value::Table(Table::new()));
            let Value::Table(axes) = axes else {
                return false;
            };
            axes.insert(key, Value::Array(values));
            true
        }
        _ => false,
    }
}

/// Applies a change to the file's bytes; false if it does not apply.
fn mutate_bytes(bytes: &mut Vec<u8>, m: &Mutation) -> bool {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .filter(|&i| i < bytes.len())
        .collect();
    let line_end = |start: usize| {
        bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |p| start + p + 1)
    };
    match m {
        Mutation::Truncate(i) if !bytes.is_empty() => bytes.truncate(i.index(bytes.len())),
        Mutation::SetByte(i, b) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        Mutation::RepeatLine(i) if !line_starts.is_empty() => {
            let start = line_starts[i.index(line_starts.len())];
            let line = bytes[start..line_end(start)].to_vec();
            bytes.splice(start..start, line);
        }
        Mutation::RepeatTable(i) => {
            let headers: Vec<usize> = line_starts
                .iter()
                .copied()
                .filter(|&s| bytes[s] == b'[')
                .collect();
            if headers.is_empty() {
                return false;
            }
            let start = headers[i.index(headers.len())];
            let end = headers
                .iter()
                .copied()
                .find(|&h| h > start)
                .unwrap_or(bytes.len());
            let table = bytes[start..end].to_vec();
            if bytes.last() != Some(&b'\n') {
                bytes.push(b'\n');
            }
            bytes.extend(table);
        }
        // A table goes at the end, where it captures no key of the file.
        Mutation::Insert(_, text) if text.starts_with('[') => {
            if bytes.last().is_some_and(|&b| b != b'\n') {
                bytes.push(b'\n');
            }
            bytes.extend(text.bytes());
        }
        Mutation::Insert(i, text) => {
            let at = if line_starts.is_empty() {
                0
            } else {
                line_starts[i.index(line_starts.len())]
            };
            bytes.splice(at..at, text.bytes());
        }
        _ => return false,
    }
    true
}

/// The case's input: the file with every change that applies to it made in order.
fn input(files: &[SeedFile], case: &Case) -> Vec<u8> {
    let mut bytes = files[case.file.index(files.len())]
        .text
        .clone()
        .into_bytes();
    for m in &case.mutations {
        if mutate_bytes(&mut bytes, m) {
            continue;
        }
        let parsed = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| t.parse::<Table>().ok());
        let Some(table) = parsed else { continue };
        let mut doc = Value::Table(table);
        if mutate_tree(&mut doc, m)
            && let Ok(text) = toml::to_string(&doc)
        {
            bytes = text.into_bytes();
        }
    }
    bytes
}

/// What `check` made of a file.
#[derive(Debug)]
enum Outcome {
    Accepted,
    Rejected(String),
    /// A sweep `check` would build more than [`MAX_POINTS`] points of, not checked (see [`too_costly`]).
    Skipped,
}

/// Whether `check` would build more than [`MAX_POINTS`] worlds for this sweep: a grid within its `max_runs`
/// (one over it is refused from the axes' lengths at once, and is fuzzed like any other).
fn too_costly(sweep: &scenarios::sweep::Sweep) -> bool {
    sweep.points() > MAX_POINTS && sweep.runs() <= sweep.max_runs
}

/// What `vpcsim check FILE` does, with its message.
fn check(path: &Path) -> Outcome {
    if let Ok(Some((sw, _))) = scenarios::sweep::load_if_sweep(path)
        && too_costly(&sw)
    {
        return Outcome::Skipped;
    }
    match vpcsim::check::check_file(path, false, &scenarios::Budget::default()) {
        Ok(()) => Outcome::Accepted,
        Err(e) => Outcome::Rejected(e.to_string()),
    }
}

/// Why a case failed in-process.
enum Failed {
    Panicked(String),
    /// Its thread is still running and cannot be stopped: the fuzz ends here.
    Hung,
}

/// Runs `check` on a thread of its own: a panic or a hang past [`DEADLINE`] is an error.
fn check_in_process(path: &Path, case: u64) -> Result<Outcome, Failed> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    thread::Builder::new()
        .name(format!("fuzz case {case}"))
        // As much stack as the binary's main thread.
        .stack_size(8 << 20)
        .spawn(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| check(&path)));
            let _ = tx.send(outcome);
        })
        .unwrap();
    match rx.recv_timeout(DEADLINE) {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(payload)) => {
            let what = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(Failed::Panicked(what))
        }
        Err(_) => Err(Failed::Hung),
    }
}

/// `text` without what is inside quotes or backticks (the input a message echoes).
fn unquoted(text: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '`' => quote = Some(c),
            None => out.push(c),
        }
    }
    out
}

/// Why `message` is not of the form `FILE:LINE:COL: key: message` (or a documented keyless variant). FILE is
/// the scenario, or a trace CSV beside it, whose errors name the column as their key, or none for errors of
/// a whole line (the header, the number of columns).
fn malformed(message: &str, file: &str, lines: usize) -> Option<String> {
    let csv = Path::new(file).with_file_name("");
    let (rest, lines, whole_line) = match message.strip_prefix(&format!("{file}:")) {
        Some(rest) => (rest, lines, false),
        None => match message
            .strip_prefix(&csv.display().to_string())
            .and_then(|r| r.split_once(".csv:"))
        {
            Some((_, rest)) => (rest, usize::MAX - 1, true),
            None => return Some("does not start with the file name and a colon".into()),
        },
    };
    let mut parts = rest.splitn(3, ':');
    let (line, col) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let (Ok(line), Ok(col)) = (line.parse::<usize>(), col.parse::<usize>()) else {
        return Some("has no LINE:COL after the file name".into());
    };
    if line == 0 || line > lines + 1 || col == 0 {
        return Some(format!("points at {line}:{col}, outside the file"));
    }
    let Some(rest) = parts.next().and_then(|r| r.strip_prefix(' ')) else {
        return Some("has no space after LINE:COL:".into());
    };
    if !whole_line && !KEYLESS.iter().any(|k| rest.starts_with(k)) {
        // The key: up to the first `: ` outside quotes, made of key characters.
        let (mut quoted, mut escaped) = (false, false);
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ':' if !quoted && rest[i..].starts_with(": ") => {
                    end = Some(i);
                    break;
                }
                c if !(quoted || c.is_ascii_alphanumeric() || "_-.[]".contains(c)) => {
                    return Some(format!("has no key path before its message (at {c:?})"));
                }
                _ => {}
            }
        }
        if end.is_none_or(|e| e == 0) {
            return Some("has no key path before its message".into());
        }
    }
    let plain = unquoted(rest);
    let words: Vec<&str> = plain
        .split(|c: char| !(c.is_ascii_alphanumeric() || "({:".contains(c)))
        .collect();
    INTERNALS
        .iter()
        .find(|&&t| {
            if t.chars().all(|c| c.is_ascii_alphanumeric()) {
                words.contains(&t)
            } else {
                plain.contains(t)
            }
        })
        .map(|t| format!("shows `{t}`, a name from the code"))
}

/// The outcome of `vpcsim check FILE` run as a process, under a memory limit.
fn check_binary(path: &Path, work: &Path) -> Result<(ExitStatus, String, String), String> {
    let (out, err) = (work.join("check.stdout"), work.join("check.stderr"));
    let mut cmd = if cfg!(unix) {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "ulimit -v {BINARY_MEMORY_KB}; exec \"$0\" check \"$1\""
            ))
            .arg(env!("CARGO_BIN_EXE_vpcsim"))
            .arg(path);
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vpcsim"));
        c.arg("check").arg(path);
        c
    };
    let mut child = cmd
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .spawn()
        .map_err(|e| format!("cannot start vpcsim: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("vpcsim check did not finish within {DEADLINE:?}"));
        }
        thread::sleep(Duration::from_millis(2));
    };
    let read = |p: &Path| String::from_utf8_lossy(&fs::read(p).unwrap_or_default()).into_owned();
    Ok((status, read(&out), read(&err)))
}

/// What is wrong with the binary's answer, if anything: it must exit as the library calls said (0 for an
/// accepted file, 2 for a refused one) with a well-formed message.
fn binary_problem(path: &Path, work: &Path, lines: usize, accepted: bool) -> Option<String> {
    let (status, stdout, stderr) = match check_binary(path, work) {
        Ok(r) => r,
        Err(e) => return Some(e),
    };
    let file = path.display().to_string();
    match status.code() {
        Some(0) if accepted && stdout.trim_end() == format!("ok: {file}") => None,
        Some(2) if !accepted => {
            let first = stdout.lines().next().unwrap_or_default();
            malformed(first, &file, lines)
                .map(|why| format!("vpcsim check: the message {why}: {}", short(first)))
        }
        _ => Some(format!(
            "vpcsim check ended with {status} on a file the library {}\n  stdout: {}\n  stderr: {}",
            if accepted { "accepts" } else { "refuses" },
            short(&stdout),
            short(&stderr)
        )),
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 400;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Tallies of a fuzz run, printed at its end.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    skipped: u64,
    binary: u64,
}

#[test]
fn mutated_bundled_files_are_accepted_or_rejected_with_a_located_message() {
    let cases = env_u64("VPCSIM_FUZZ_CASES").unwrap_or(CI_CASES);
    let seed = env_u64("VPCSIM_FUZZ_SEED").unwrap_or(CI_SEED);
    let only = env_u64("VPCSIM_FUZZ_CASE");
    let files = seed_files();
    let work = work_dir(seed);
    let churn =
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/traces/churn.csv"))
            .unwrap();
    let config = Config {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = case();
    let input_path = work.join("input.toml");
    let file = input_path.display().to_string();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for n in 0..cases {
        let drawn = strategy.new_tree(&mut runner).unwrap().current();
        if only.is_some_and(|o| o != n) {
            continue;
        }
        let bytes = input(&files, &drawn);
        fs::write(&input_path, &bytes).unwrap();
        let mut trace = churn.clone();
        for m in &drawn.trace {
            mutate_bytes(&mut trace, m);
        }
        fs::write(work.join(TRACE), &trace).unwrap();
        let lines = bytes.split(|&b| b == b'\n').count();
        let mut hung = false;
        let outcome = check_in_process(&input_path, n);
        let accepted = matches!(outcome, Ok(Outcome::Accepted));
        let mut problem = match outcome {
            Err(Failed::Panicked(what)) => Some(format!("panicked: {what}")),
            Err(Failed::Hung) => {
                hung = true;
                Some(format!("did not finish within {DEADLINE:?}"))
            }
            Ok(Outcome::Accepted) => {
                tally.accepted += 1;
                None
            }
            Ok(Outcome::Skipped) => {
                tally.skipped += 1;
                continue;
            }
            Ok(Outcome::Rejected(m)) => {
                tally.rejected += 1;
                malformed(&m, &file, lines).map(|why| format!("the message {why}: {}", short(&m)))
            }
        };
        if problem.is_none() && (n % BINARY_EVERY == 0 || only.is_some()) {
            tally.binary += 1;
            problem = binary_problem(&input_path, &work, lines, accepted);
        }
        if let Some(problem) = problem {
            let saved = work.join(format!("failure-{n}.toml"));
            fs::write(&saved, &bytes).unwrap();
            fs::write(work.join(format!("failure-{n}.{TRACE}")), &trace).unwrap();
            let origin = &files[drawn.file.index(files.len())].name;
            failures.push(format!(
                "case {n} ({origin}, saved as {}): {problem}",
                saved.display()
            ));
            if hung || failures.len() >= MAX_FAILURES {
                break;
            }
        }
    }
    let mut report = String::new();
    writeln!(
        report,
        "fuzz seed {seed:#x}: {cases} cases in {:.1} s: {} accepted, {} rejected, {} large sweeps skipped, {} also through the binary",
        started.elapsed().as_secs_f64(),
        tally.accepted,
        tally.rejected,
        tally.skipped,
        tally.binary
    )
    .unwrap();
    eprint!("{report}");
    assert!(
        failures.is_empty(),
        "{report}{} failures (replay one with VPCSIM_FUZZ_SEED={seed:#x} VPCSIM_FUZZ_CASE=N, or run `vpcsim check` on its saved input):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // A fuzz that rejects everything (or accepts everything) tests little.
    if only.is_none() && cases >= 100 {
        assert!(tally.accepted > 0 && tally.rejected > 0, "{report}");
    }
}
