//! Required filters: a catalog table may declare `required_filters` (`TableInfo`), a CNF of
//! dotted column paths — an AND of OR-groups — that every scan of it must be filtered on. The
//! check runs after DuckDB's optimizer (`cpp/required_filters.cpp` collects what each scan is
//! filtered by) and refuses the query with a Binder Error naming the table and every missing
//! group, in the worker's vocabulary (`required_filters`, dotted paths, "one of (...)").
//!
//! The rule, per scan of such a table:
//! - what counts is every predicate DuckDB applies to the rows of that scan: the filters it
//!   pushed into the scan and the ones it keeps above it (expressions it cannot push, such as
//!   `a::VARCHAR LIKE '1%'`, `a = b - 9`, `random() < a`, struct comparisons) — "the path
//!   appears in a WHERE expression", as the worker declares it. Join conditions (`JOIN ... ON`,
//!   `a IN (SELECT ...)`) are not filters on the scan: it still reads every row;
//! - a group is met by a conjunct every row must pass in which each disjunct constrains one
//!   of the group's paths: `a = 1 OR a IS NULL` constrains `a`; `a = 1 OR b = 2` constrains
//!   neither `a` nor `b` alone, but does meet the group `(a, b)`. NOT is read through De
//!   Morgan, so `NOT (a = 1 AND b = 2)` constrains neither;
//! - a filter on a path meets every required path it is a prefix of (`bbox = {...}` meets
//!   `bbox.xmin`), not the other way round (the worker's prefix rule);
//! - `rowid` and other virtual columns are never required paths; DuckDB's optional and
//!   dynamic filters (statistics hints, Top-N / join values) do not count: the predicate
//!   they come from is what counts.
use arrow_array::{Array, RecordBatch, StringArray};

use crate::error::{Error, Result};
use crate::pushdown::{Node, TableFilter};

/// A table's required filters: its name (as DuckDB shows it, `schema.table`) and the groups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequiredFilters {
    pub table: String,
    pub groups: Vec<Vec<String>>,
}

impl RequiredFilters {
    pub fn new(table: impl Into<String>, groups: Vec<Vec<String>>) -> Self {
        RequiredFilters { table: table.into(), groups: groups.into_iter().filter(|g| !g.is_empty()).collect() }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Refuses a scan of the table whose `filters` (over `columns`, the scan's column names
    /// by index) leave a group unmet. `unverified`: the optimizer pass did not run, so no
    /// predicate of the query could be seen.
    pub fn check(&self, filters: &[TableFilter], columns: &[String], constants: Option<&RecordBatch>, unverified: bool) -> Result<()> {
        let paths = Paths { columns, constants };
        let missing: Vec<&Vec<String>> = self
            .groups
            .iter()
            .filter(|group| !filters.iter().flat_map(|f| conjuncts(&f.node)).any(|c| paths.constrains(c, true, group)))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut message = format!(
            "Table '{}': required_filters not satisfied, the query has no WHERE filter on {} (required_filters: {})",
            self.table,
            describe(&missing),
            describe(&self.groups.iter().collect::<Vec<_>>())
        );
        if unverified {
            message.push_str("; DuckDB's optimizer did not run, so no filter of the query reached the scan");
        }
        Err(Error::binder(message))
    }

    /// The groups as one string (the view marker's argument): paths separated by `,`, groups
    /// by `;`, with `\` escaping either and itself.
    pub fn encode_groups(&self) -> String {
        let escape = |p: &String| p.replace('\\', "\\\\").replace(',', "\\,").replace(';', "\\;");
        self.groups.iter().map(|g| g.iter().map(escape).collect::<Vec<_>>().join(",")).collect::<Vec<_>>().join(";")
    }

    /// The inverse of [`Self::encode_groups`].
    pub fn decode_groups(text: &str) -> Vec<Vec<String>> {
        let (mut groups, mut group, mut path) = (Vec::new(), Vec::new(), String::new());
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => path.extend(chars.next()),
                ',' => group.push(std::mem::take(&mut path)),
                ';' => {
                    group.push(std::mem::take(&mut path));
                    groups.push(std::mem::take(&mut group));
                }
                c => path.push(c),
            }
        }
        if !text.is_empty() {
            group.push(path);
            groups.push(group);
        }
        groups
    }
}

/// Groups as the worker words them: `a AND one of (b, c)`.
fn describe(groups: &[&Vec<String>]) -> String {
    let group = |g: &&Vec<String>| match g.as_slice() {
        [one] => one.clone(),
        many => format!("one of ({})", many.join(", ")),
    };
    groups.iter().map(group).collect::<Vec<_>>().join(" AND ")
}

/// The conjuncts of a filter: every row of the scan passes each of them.
fn conjuncts(node: &Node) -> Vec<&Node> {
    match node {
        Node::And(children) => children.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// A required path is met by a filtered path that equals it or is a prefix of it.
fn meets(filtered: &str, required: &str) -> bool {
    let (f, r) = (filtered.to_ascii_lowercase(), required.to_ascii_lowercase());
    r == f || r.starts_with(&format!("{f}."))
}

struct Paths<'a> {
    columns: &'a [String],
    constants: Option<&'a RecordBatch>,
}

impl Paths<'_> {
    /// Whether every row passing `node` (negated when `!positive`) met a condition on a path
    /// of `group`.
    fn constrains(&self, node: &Node, positive: bool, group: &[String]) -> bool {
        match node {
            Node::Not(child) => self.constrains(child, !positive, group),
            // A conjunction constrains what any of its parts does; a disjunction only what
            // all of its branches do.
            Node::And(children) if positive => children.iter().any(|c| self.constrains(c, positive, group)),
            Node::Or(children) if !positive => children.iter().any(|c| self.constrains(c, positive, group)),
            Node::And(children) | Node::Or(children) => {
                !children.is_empty() && children.iter().all(|c| self.constrains(c, positive, group))
            }
            Node::Optional(_) | Node::Dynamic { .. } => false,
            leaf => {
                let mut found = Vec::new();
                self.referenced(leaf, &mut found);
                found.iter().any(|p| group.iter().any(|r| meets(p, r)))
            }
        }
    }

    /// The path a column expression reads: `col`, `col.field.sub` (struct_extract chains).
    fn path(&self, node: &Node) -> Option<String> {
        match node {
            Node::Column(i) => self.columns.get(*i).cloned(),
            Node::Function { name, args } if name == "struct_extract" => match args.as_slice() {
                [input, Node::Constant(key)] => {
                    let keys = self.constants?.column(*key).as_any().downcast_ref::<StringArray>()?;
                    if keys.len() != 1 || keys.is_null(0) {
                        return None;
                    }
                    Some(format!("{}.{}", self.path(input)?, keys.value(0)))
                }
                _ => None,
            },
            Node::Cast { expr, .. } => self.path(expr),
            _ => None,
        }
    }

    /// Every path `node` reads (its outermost reads: `s.a` counts as `s.a`, not also `s`).
    fn referenced(&self, node: &Node, out: &mut Vec<String>) {
        if let Some(p) = self.path(node) {
            out.push(p);
            return;
        }
        match node {
            Node::Compare(_, l, r) => {
                self.referenced(l, out);
                self.referenced(r, out);
            }
            Node::And(c) | Node::Or(c) => c.iter().for_each(|n| self.referenced(n, out)),
            Node::Function { args, .. } => args.iter().for_each(|n| self.referenced(n, out)),
            Node::Not(c) | Node::IsNull(c, _) => self.referenced(c, out),
            Node::In { needle, set, .. } => {
                self.referenced(needle, out);
                set.iter().for_each(|n| self.referenced(n, out));
            }
            Node::Between { input, low, high, .. } => {
                for n in [input, low, high] {
                    self.referenced(n, out);
                }
            }
            Node::Cast { expr, .. } => self.referenced(expr, out),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pushdown::parse_filters;
    use std::sync::Arc;

    fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
        g.iter().map(|g| g.iter().map(|p| p.to_string()).collect()).collect()
    }

    fn columns() -> Vec<String> {
        ["a", "b", "s"].iter().map(|c| c.to_string()).collect()
    }

    fn keys(values: &[&str]) -> RecordBatch {
        let columns: Vec<(String, Arc<dyn Array>)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("c{i}"), Arc::new(StringArray::from(vec![*v])) as Arc<dyn Array>))
            .collect();
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn check(required: &[&[&str]], text: &str, constants: Option<&RecordBatch>) -> Result<()> {
        RequiredFilters::new("data.t", groups(required)).check(&parse_filters(text).unwrap(), &columns(), constants, false)
    }

    #[test]
    fn disjunctions_constrain_what_all_branches_do() {
        // a = 1 OR a IS NULL
        let or_null = "filter 0 or 2 cmp eq col 0 const 0 is_null col 0";
        assert!(check(&[&["a"]], or_null, None).is_ok());
        // a = 1 OR b = 2: neither a nor b alone, but the group (a, b).
        let or_two = "filter 0 or 2 cmp eq col 0 const 0 cmp eq col 1 const 0";
        assert!(check(&[&["a"]], or_two, None).is_err());
        assert!(check(&[&["a", "b"]], or_two, None).is_ok());
        // NOT (a = 1 AND b = 2) = a <> 1 OR b <> 2; NOT (a = 1 OR b = 2) constrains both.
        assert!(check(&[&["a"]], "filter 0 not and 2 cmp eq col 0 const 0 cmp eq col 1 const 0", None).is_err());
        assert!(check(&[&["a"]], "filter 0 not or 2 cmp eq col 0 const 0 cmp eq col 1 const 0", None).is_ok());
        // Hints do not count; unknown branches constrain nothing.
        assert!(check(&[&["a"]], "filter 0 optional cmp eq col 0 const 0", None).is_err());
        assert!(check(&[&["a"]], "filter 0 or 2 cmp eq col 0 const 0 unknown", None).is_err());
    }

    #[test]
    fn struct_paths_meet_by_prefix() {
        let k = keys(&["x", "y"]);
        let on_sx = "filter 0 cmp gt fn struct_extract 2 col 2 const 0 const 1";
        assert!(check(&[&["s.x"]], on_sx, Some(&k)).is_ok());
        let missing = check(&[&["s.x"], &["s.y"]], on_sx, Some(&k)).unwrap_err();
        assert_eq!(
            missing.message,
            "Table 'data.t': required_filters not satisfied, the query has no WHERE filter on s.y (required_filters: s.x AND s.y)"
        );
        // A whole-struct filter meets every path below it; a deeper one does not meet `s`.
        assert!(check(&[&["s.x"], &["s.y"]], "filter 0 is_not_null col 2", None).is_ok());
        assert!(check(&[&["s"]], on_sx, Some(&k)).is_err());
    }

    #[test]
    fn refusals_name_every_missing_group() {
        let e = check(&[&["a"], &["b", "s.x"]], "", None).unwrap_err();
        assert_eq!(
            e.message,
            "Table 'data.t': required_filters not satisfied, the query has no WHERE filter on a AND one of (b, s.x) \
             (required_filters: a AND one of (b, s.x))"
        );
    }

    #[test]
    fn groups_round_trip_through_the_marker_encoding() {
        let required = RequiredFilters::new("t", groups(&[&["a"], &["b,c", "d;e\\f"]]));
        assert_eq!(RequiredFilters::decode_groups(&required.encode_groups()), required.groups);
        assert!(RequiredFilters::decode_groups("").is_empty());
    }
}
