//! Turning byte spans in a scenario file into `line:col` and into the key path that lives there.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// 1-based line and column (in characters) of byte offset `pos` in `text`.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = text[line_start..pos].chars().count() + 1;
    (line, col)
}

/// Writes one key of a path the way TOML would accept it: bare when it can be, quoted otherwise.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        path.push_str(key);
    } else {
        path.push('"');
        for c in key.chars() {
            match c {
                '"' => path.push_str("\\\""),
                '\\' => path.push_str("\\\\"),
                c => path.push(c),
            }
        }
        path.push('"');
    }
}

/// `path.key`, quoting `key` if needed.
pub(crate) fn join(path: &str, key: &str) -> String {
    let mut p = path.to_string();
    push_key(&mut p, key);
    p
}

/// The key path (`subnets[1].reservations[0].cidr`) of the node at `span` in the parsed document: the deepest
/// key or value whose span is exactly `span`, else the deepest one containing its start.
pub(crate) fn path_at(root: &Spanned<DeTable<'_>>, span: &Range<usize>) -> String {
    let mut best = Best::default();
    let root_span = root.span();
    best.consider(&root_span, span, 0, "");
    walk_table(root.get_ref(), "", 0, &mut |node, depth, path| {
        best.consider(node, span, depth, path)
    });
    best.exact
        .or(best.containing)
        .map(|(_, p)| p)
        .unwrap_or_default()
}

/// Where the key `path` (as [`path_at`] writes it) is written in the document, if it is.
pub(crate) fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> Option<Range<usize>> {
    let mut found = None;
    walk_table(root.get_ref(), "", 0, &mut |node, _, p| {
        if found.is_none() && p == path {
            found = Some(node.clone());
        }
    });
    found
}

#[derive(Default)]
struct Best {
    exact: Option<(usize, String)>,
    containing: Option<(usize, String)>,
}

impl Best {
    fn consider(&mut self, node: &Range<usize>, target: &Range<usize>, depth: usize, path: &str) {
        let slot = if node == target {
            &mut self.exact
        } else if node.start <= target.start && target.start < node.end {
            &mut self.containing
        } else {
            return;
        };
        if slot.as_ref().is_none_or(|(d, _)| depth >= *d) {
            *slot = Some((depth, path.to_string()));
        }
    }
}

/// Calls `visit(span, depth, path)` for every key and value under `t`, keys before their values.
type Visit<'v> = dyn FnMut(&Range<usize>, usize, &str) + 'v;

fn walk_table(t: &DeTable<'_>, path: &str, depth: usize, visit: &mut Visit<'_>) {
    for (k, v) in t.iter() {
        let p = join(path, k.get_ref());
        visit(&k.span(), depth + 1, &p);
        walk_value(v, &p, depth + 1, visit);
    }
}

fn walk_value(v: &Spanned<DeValue<'_>>, path: &str, depth: usize, visit: &mut Visit<'_>) {
    visit(&v.span(), depth, path);
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, path, depth, visit),
        DeValue::Array(a) => {
            for (i, e) in a.iter().enumerate() {
                walk_value(e, &format!("{path}[{i}]"), depth + 1, visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based_and_counts_characters() {
        let t = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 4), (1, 5));
        assert_eq!(line_col(t, 6), (2, 1));
        // "bé = " is 6 bytes but 5 characters.
        assert_eq!(line_col(t, 12), (2, 6));
        assert_eq!(line_col(t, 1000), (3, 1));
    }

    #[test]
    fn quotes_keys_that_are_not_bare() {
        assert_eq!(
            join("tags", "kubernetes.io/role"),
            "tags.\"kubernetes.io/role\""
        );
        assert_eq!(join("", "vpc"), "vpc");
    }

    #[test]
    fn finds_paths_through_arrays_of_tables() {
        let src = "name = \"a\"\n[[subnets]]\nname = \"x\"\n[[subnets]]\ncidr = \"y\"\n[[subnets.r]]\nx = 1\n";
        let tree = DeTable::parse(src).unwrap();
        let at = |needle: &str| {
            let start = src.find(needle).unwrap();
            path_at(&tree, &(start..start + needle.len()))
        };
        assert_eq!(at("\"y\""), "subnets[1].cidr");
        assert_eq!(at("[[subnets.r]]"), "subnets[1].r[0]");
        assert_eq!(at("x = 1"), "subnets[1].r[0].x");
        assert_eq!(path_at(&tree, &(0..0)), "");
        let x = src.find("x = 1").unwrap();
        assert_eq!(span_of(&tree, "subnets[1].r[0].x"), Some(x..x + 1));
        assert_eq!(span_of(&tree, "subnets[2]"), None);
    }
}
