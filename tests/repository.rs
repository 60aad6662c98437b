//! The repository stands on its own: every section, conformance case and surprise that code, tests and docs
//! cite exists in `docs/reference/`, nothing points outside the repository, and the build helpers (the
//! README's minimum Rust version, `docs/images/regenerate.sh`, the Docker build context) hold up.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const REFERENCE_DOCS: [&str; 3] = ["ec2", "ipamd", "kube"];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Text files of the repository that may cite the reference docs, with their paths from the root (this file,
/// which only names the patterns, left out).
fn cited_in() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .extension()
                .is_some_and(|x| ["rs", "md", "toml", "sh", "yaml"].contains(&x.to_str().unwrap()))
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "scenarios",
        "docs",
        "deploy",
        ".ci",
    ] {
        walk(&root().join(dir), &mut files);
    }
    for f in ["README.md", "ARCHITECTURE.md", "Cargo.toml"] {
        files.push(root().join(f));
    }
    files.sort();
    files
        .into_iter()
        .filter(|p| !p.ends_with("tests/repository.rs"))
        .map(|p| {
            let name = p.strip_prefix(root()).unwrap().display().to_string();
            // Lossily: a fixture may be invalid UTF-8 on purpose (tests/fixtures/bad/not-utf8.toml).
            (
                name,
                String::from_utf8_lossy(&fs::read(&p).unwrap()).into_owned(),
            )
        })
        .collect()
}

/// Section numbers of a reference doc: "2.4" for "### 2.4 …", "8" for "## 8. …", and "8.3" for item "3. …"
/// of a numbered list in a section without subsections (ec2.md §8's modelling choices, ipamd.md §8's surprises).
fn sections(doc: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(root().join(format!("docs/reference/{doc}.md"))).unwrap();
    let number = |l: &str| {
        let n = l.split_whitespace().next()?.trim_end_matches('.');
        n.starts_with(|c: char| c.is_ascii_digit())
            .then(|| n.to_string())
    };
    let mut found = BTreeSet::new();
    let mut items = Vec::new();
    let mut top: Option<String> = None;
    for l in text.lines() {
        if let Some(h) = l.strip_prefix("## ") {
            top = number(h);
            found.extend(top.clone());
        } else if let Some(h) = l.strip_prefix("### ") {
            found.extend(number(h));
        } else if let Some(k) = &top {
            let item = l.split_once(". ").and_then(|(n, _)| n.parse::<u32>().ok());
            items.extend(item.map(|n| (k.clone(), n)));
        }
    }
    // Items count only in sections that turned out to have no subsections.
    found.extend(
        items
            .into_iter()
            .filter(|(k, _)| !found.iter().any(|s| s.starts_with(&format!("{k}."))))
            .map(|(k, n)| format!("{k}.{n}"))
            .collect::<Vec<_>>(),
    );
    found
}

/// The numbers that follow each occurrence of `marker` in `text` ("§2.4" after "ipamd.md " gives "2.4").
fn numbers_after<'a>(text: &'a str, marker: &'a str) -> impl Iterator<Item = String> + 'a {
    text.match_indices(marker).map(move |(i, _)| {
        text[i + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '_')
            .collect::<String>()
            .replace('_', ".")
            .trim_end_matches('.')
            .to_string()
    })
}

#[test]
fn every_cited_section_exists_in_its_reference_doc() {
    let files = cited_in();
    let mut checked = 0;
    for doc in REFERENCE_DOCS {
        let known = sections(doc);
        for (name, text) in &files {
            for n in numbers_after(text, &format!("{doc}.md §")) {
                assert!(
                    known.contains(&n),
                    "{name} cites {doc}.md §{n}, which docs/reference/{doc}.md lacks"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} citations found");
    // Test names `spec_X_Y_…` cite ipamd.md §X.Y, `kube_X_Y_…` kube.md and `ec2_X_Y_…` ec2.md.
    for (prefix, doc) in [("spec", "ipamd"), ("kube", "kube"), ("ec2", "ec2")] {
        let known = sections(doc);
        for (name, text) in &files {
            for n in numbers_after(text, &format!("fn {prefix}_")).filter(|n| !n.is_empty()) {
                assert!(
                    known.contains(&n),
                    "{name}: {prefix}_{n}… has no {doc}.md §{n}"
                );
            }
        }
    }
}

/// Rows "| N |" of ipamd.md's conformance tables, and the items of its list of surprises.
fn cases_and_surprises() -> (BTreeSet<u32>, BTreeSet<u32>) {
    let text = fs::read_to_string(root().join("docs/reference/ipamd.md")).unwrap();
    let (before, surprises) = text.split_once("## 8. ").unwrap();
    let surprises = surprises.split_once("\n## ").map_or(surprises, |(s, _)| s);
    let conformance = before.split_once("## 6. ").unwrap().1;
    let leading_number = |l: &str, prefix: &str, end: &str| {
        l.strip_prefix(prefix)?
            .split_once(end)?
            .0
            .trim()
            .parse::<u32>()
            .ok()
    };
    (
        conformance
            .lines()
            .filter_map(|l| leading_number(l, "| ", " |"))
            .collect(),
        surprises
            .lines()
            .filter_map(|l| leading_number(l, "", ". "))
            .collect(),
    )
}

#[test]
fn every_cited_case_and_surprise_exists() {
    let (cases, surprises) = cases_and_surprises();
    assert_eq!(
        cases,
        (1..=65).collect(),
        "the 65 conformance cases, once each"
    );
    assert_eq!(surprises, (1..=12).collect());
    for (name, text) in cited_in() {
        let cited_cases = ["case ", "case_", "cases "]
            .iter()
            .flat_map(|m| numbers_after(&text, m).collect::<Vec<_>>());
        for n in cited_cases.filter(|n| !n.is_empty()) {
            let n: u32 = n.split('.').next().unwrap().parse().unwrap();
            assert!(cases.contains(&n), "{name} cites case {n}");
        }
        let cited_surprises = ["surprise_8_", "surprise 8."]
            .iter()
            .flat_map(|m| numbers_after(&text, m).collect::<Vec<_>>());
        for n in cited_surprises.filter(|n| !n.is_empty()) {
            let n: u32 = n.split('.').next().unwrap().parse().unwrap();
            assert!(surprises.contains(&n), "{name} cites surprise 8.{n}");
        }
    }
}

#[test]
fn nothing_cites_files_outside_the_repository() {
    for (name, text) in cited_in() {
        for outside in [
            "../shared",
            "shared/spec",
            "spec/ec2.md",
            "spec/ipamd.md",
            "spec/kube.md",
            "spec/events.md",
        ] {
            assert!(!text.contains(outside), "{name} mentions {outside}");
        }
    }
}

#[test]
fn the_manifest_declares_the_oldest_toolchain_that_builds_it() {
    let manifest = fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.lines().any(|l| l == "rust-version = \"1.89\""),
        "Cargo.toml lacks rust-version"
    );
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    assert!(readme.contains("1.89 or newer"));
}

#[test]
fn regenerate_script_finds_the_binary_wherever_the_target_dir_is() {
    let script = fs::read_to_string(root().join("docs/images/regenerate.sh")).unwrap();
    assert!(
        !script.contains("target/"),
        "a fixed target/ path breaks under CARGO_TARGET_DIR"
    );
    assert!(script.contains("cargo run --release"));
}

#[test]
fn docker_context_leaves_out_builds_results_and_history() {
    let ignore = fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let entries: BTreeSet<&str> = ignore.lines().filter(|l| !l.starts_with('#')).collect();
    for dir in ["target/", "output/", ".git/"] {
        assert!(entries.contains(dir), ".dockerignore lacks {dir}");
    }
    // The Dockerfile needs the sources, the lock file and the scenarios it copies.
    let dockerfile = fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    assert!(dockerfile.contains("--locked") && dockerfile.contains("/src/scenarios"));
    for needed in ["src", "Cargo.lock", "Cargo.toml", "scenarios", "data"] {
        assert!(
            !entries.iter().any(|e| e.trim_end_matches('/') == needed),
            "{needed} is ignored"
        );
    }
}
