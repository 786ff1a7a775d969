//! The rules of the house's structure, read from the source: the modules of `src/` import each
//! other without cycles, the domain never reaches up into the web layer, SQL names no state by a
//! literal (the typed enums do), and no handler checks a role by hand.
//!
//! The import graph is read from text: `use` trees (groups, `self`, `as`) and inline paths that
//! start with `crate::` or `super::`, outside the `#[cfg(test)]` module at the end of a file.
//! Each file is one node; an import names the longest module path it starts with.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

struct Source {
    module: Module,
    path: PathBuf,
    /// The code without comments and without its test module.
    code: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        // The binary is its own crate: it reaches the library by its name, not by `crate::`.
        .filter(|p| p != &root.join("main.rs"))
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut module: Module = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            Source {
                module,
                code: without_comments(without_tests(&text)),
                path,
            }
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i])
}

fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| match line.trim_start().starts_with("//") {
            true => "",
            false => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a `use` tree names, e.g. `a::{b, c::{self, d as e}}` → `a::b`, `a::c`, `a::c::d`.
fn use_paths(prefix: &[String], tree: &str, out: &mut Vec<Module>) {
    let tree = tree.trim();
    let tree = tree.split(" as ").next().unwrap_or(tree).trim();
    if let Some(inner) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        let (mut depth, mut start) = (0, 0);
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    use_paths(prefix, &inner[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        use_paths(prefix, &inner[start..], out);
        return;
    }
    match tree.split_once("::") {
        _ if tree.is_empty() => {}
        Some((head, rest)) => {
            let mut next = prefix.to_vec();
            next.push(head.trim().to_string());
            use_paths(&next, rest, out);
        }
        None if tree == "self" || tree == "*" => out.push(prefix.to_vec()),
        None => {
            let mut next = prefix.to_vec();
            next.push(tree.to_string());
            out.push(next);
        }
    }
}

/// The trees of the file's `use` declarations (`use a::{b, c};` → `a::{b, c}`).
fn use_trees(code: &str) -> Vec<&str> {
    let mut trees = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let line_start = rest[..i].rfind('\n').map_or(0, |n| n + 1);
        let lead = rest[line_start..i].trim();
        let declaration = lead.is_empty() || lead == "pub" || lead.starts_with("pub(");
        let end = rest[i..].find(';').map_or(rest.len(), |n| i + n);
        if declaration {
            trees.push(rest[i + 4..end].trim());
        }
        rest = &rest[(i + 4).min(end)..];
    }
    trees
}

/// Where a path that starts with `crate`, `super` or `self` (or a child module) points.
fn anchored(source: &Source, first: &str, is_mod_file: bool) -> Option<Module> {
    let parent = || source.module[..source.module.len().saturating_sub(1)].to_vec();
    match first {
        "crate" => Some(Vec::new()),
        "super" => Some(parent()),
        "self" => Some(source.module.clone()),
        _ if is_mod_file => Some(source.module.clone()),
        _ => None,
    }
}

/// Module → the modules it imports.
fn import_graph(sources: &[Source]) -> BTreeMap<Module, BTreeSet<Module>> {
    let modules: BTreeSet<Module> = sources.iter().map(|s| s.module.clone()).collect();
    let resolve = |path: &[String]| {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut graph = BTreeMap::new();
    for source in sources {
        let is_mod_file = matches!(
            source.path.file_name().and_then(|n| n.to_str()),
            Some("mod.rs" | "lib.rs")
        );
        let mut paths = Vec::new();
        for tree in use_trees(&source.code) {
            let Some((first, rest)) = tree.split_once("::") else {
                continue;
            };
            let first = first.trim();
            if let Some(mut prefix) = anchored(source, first, is_mod_file) {
                if !matches!(first, "crate" | "super" | "self") {
                    prefix.push(first.to_string());
                }
                use_paths(&prefix, rest, &mut paths);
            }
        }
        for anchor in ["crate::", "super::"] {
            for (i, _) in source.code.match_indices(anchor) {
                let preceded = source.code[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
                if preceded {
                    continue;
                }
                let path: Vec<String> = source.code[i..]
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let mut full = anchored(source, &path[0], false).unwrap_or_default();
                full.extend(path[1..].iter().cloned());
                paths.push(full);
            }
        }
        let targets = paths
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|m| m != &source.module)
            .collect();
        graph.insert(source.module.clone(), targets);
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

fn name(module: &Module) -> String {
    match module.is_empty() {
        true => "crate".into(),
        false => module.join("::"),
    }
}

#[test]
fn the_modules_import_each_other_without_cycles() {
    let graph = import_graph(&sources());
    assert!(graph.len() > 50, "the source tree was found");
    assert!(
        graph[&vec!["review".to_string(), "decisions".to_string()]]
            .contains(&vec!["review".to_string(), "case_page".to_string()]),
        "the parser sees `use super::…` imports"
    );
    let found = cycles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|component| {
            let members: BTreeSet<&Module> = component.iter().collect();
            component
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| members.contains(b))
                        .map(move |b| format!("{} -> {}", name(a), name(b)))
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    assert!(described.is_empty(), "import cycles: {described:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let m = |s: &str| s.split("::").map(str::to_string).collect::<Module>();
    let graph = BTreeMap::from([
        (m("a"), BTreeSet::from([m("b")])),
        (m("b"), BTreeSet::from([m("c")])),
        (m("c"), BTreeSet::from([m("a")])),
        (m("d"), BTreeSet::from([m("a")])),
    ]);
    let found = cycles(&graph);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
}

/// Modules that hold rules, data access or formatting: they must work without HTTP.
fn is_domain(module: &Module) -> bool {
    let top = [
        "audit", "config", "database", "error", "locale", "malware", "money", "secrets",
    ];
    let leaf = ["model", "db", "workflow", "costs", "revisions", "sepa"];
    match module.as_slice() {
        [one] => top.contains(&one.as_str()) || one == "validation",
        [first, ..] if first == "mail" => true,
        [.., last] => leaf.contains(&last.as_str()),
        [] => false,
    }
}

#[test]
fn domain_modules_do_not_import_the_web_layer() {
    let graph = import_graph(&sources());
    let offending: Vec<String> = graph
        .iter()
        .filter(|(from, _)| is_domain(from))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|m| m.first().is_some_and(|t| t == "web" || t == "state"))
                .map(move |m| format!("{} -> {}", name(from), name(m)))
        })
        .collect();
    assert!(
        graph.keys().filter(|m| is_domain(m)).count() > 15,
        "the domain modules were found"
    );
    assert!(offending.is_empty(), "domain imports web: {offending:#?}");
}

/// design.md, "Data flows one way": base features never import the features built on them,
/// and mail imports no feature (features enqueue messages).
#[test]
fn features_import_only_the_features_below_them() {
    let graph = import_graph(&sources());
    let features = [
        "accounts",
        "municipalities",
        "programmes",
        "applications",
        "review",
        "payouts",
    ];
    let forbidden = |from: &str, to: &str| match from {
        "municipalities" | "programmes" => matches!(to, "applications" | "review" | "payouts"),
        "applications" => matches!(to, "review" | "payouts"),
        "mail" => features.contains(&to),
        _ => false,
    };
    let offending: Vec<String> = graph
        .iter()
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|m| match (from.first(), m.first()) {
                    (Some(a), Some(b)) => a != b && forbidden(a, b),
                    _ => false,
                })
                .map(move |m| format!("{} -> {}", name(from), name(m)))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "imports against the layering: {offending:#?}"
    );
}

#[test]
fn no_handler_checks_a_role_by_hand() {
    let offending: Vec<String> = sources()
        .iter()
        .filter(|s| !s.path.ends_with("accounts/session.rs"))
        .filter(|s| s.code.contains(".require(Role::"))
        .map(|s| s.path.display().to_string())
        .collect();
    assert!(
        offending.is_empty(),
        "use the Clerk, Reviewer or Admin extractors (or their `check`): {offending:#?}"
    );
}

/// The string literals of a piece of code ("…" with escapes, and raw r"…" / r#"…"#).
fn string_literals(code: &str) -> Vec<&str> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if bytes.get(i + 2) == Some(&b'\'') || bytes.get(i + 1) == Some(&b'\\') => {
                // A char literal such as '"' or '\"': skip it whole.
                i += if bytes[i + 1] == b'\\' { 4 } else { 3 };
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')) =>
            {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                let start = i + 2 + hashes;
                let end_marker = format!("\"{}", "#".repeat(hashes));
                let end = code[start..]
                    .find(&end_marker)
                    .map_or(code.len(), |n| start + n);
                found.push(&code[start..end]);
                i = end + end_marker.len();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                found.push(&code[start..j.min(code.len())]);
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    found
}

fn is_sql(text: &str) -> bool {
    [
        "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WHERE ", "FILTER (", " AND ",
    ]
    .iter()
    .any(|k| text.contains(k))
}

#[test]
fn sql_names_no_state_or_role_by_a_literal() {
    use foerderportal::accounts::Role;
    use foerderportal::applications::model::{Section, Status};
    use foerderportal::payouts::model::PayoutStatus;
    use foerderportal::programmes::model::RoundState;
    use foerderportal::review::model::{DecisionState, Outcome};
    let mut values: Vec<&str> = Vec::new();
    values.extend(Status::ALL.map(Status::as_str));
    values.extend(Role::ALL.map(Role::as_str));
    values.extend(Section::ALL.map(Section::slug));
    values.extend(Outcome::ALL.map(Outcome::as_str));
    values.extend(DecisionState::ALL.map(DecisionState::as_str));
    values.extend(RoundState::ALL.map(RoundState::as_str));
    values.extend(PayoutStatus::ALL.map(PayoutStatus::as_str));
    let mut offending = Vec::new();
    let mut sql_strings = 0;
    for source in sources() {
        for literal in string_literals(&source.code)
            .into_iter()
            .filter(|l| is_sql(l))
        {
            sql_strings += 1;
            for value in &values {
                if literal.contains(&format!("'{value}'")) {
                    offending.push(format!("{}: '{value}'", source.path.display()));
                }
            }
        }
    }
    assert!(
        sql_strings > 100,
        "the SQL strings were found ({sql_strings})"
    );
    assert!(
        offending.is_empty(),
        "bind the typed enum instead of writing its value into SQL: {offending:#?}"
    );
}

#[test]
fn string_literals_are_found_with_escapes_and_raw_strings() {
    let code = r####"let a = "x \" 'draft'"; let c = '"'; let b = r#"WHERE s = 'y'"#;"####;
    assert_eq!(
        string_literals(code),
        vec![r#"x \" 'draft'"#, "WHERE s = 'y'"]
    );
}

/// The typed states read back what they wrote, and a value they do not know is an error (before
/// they were typed, an unknown status read as a draft).
#[tokio::test]
async fn stored_states_round_trip_and_unknown_values_are_errors() {
    use foerderportal::accounts::Role;
    use foerderportal::applications::model::{Section, Status};
    use sqlx::Connection;
    let server = crate::common::test_postgres().await;
    let mut conn = sqlx::PgConnection::connect_with(&server.options)
        .await
        .unwrap();
    for status in Status::ALL {
        let back: Status = sqlx::query_scalar("SELECT $1::text")
            .bind(status)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(back, status);
    }
    let roles: Vec<Role> = sqlx::query_scalar("SELECT $1::text[]")
        .bind(Role::ALL)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(roles, Role::ALL);
    let section: Section = sqlx::query_scalar("SELECT 'kosten'::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(section, Section::Costs);

    let unknown = sqlx::query_scalar::<_, Status>("SELECT 'archived'::text")
        .fetch_one(&mut conn)
        .await
        .expect_err("an unknown status is an error");
    assert!(
        unknown.to_string().contains("unknown Status \"archived\""),
        "{unknown}"
    );
    let unknown_role = sqlx::query_scalar::<_, Vec<Role>>("SELECT ARRAY['clerk', 'root']")
        .fetch_one(&mut conn)
        .await
        .expect_err("an unknown role is an error");
    assert!(unknown_role.to_string().contains("root"), "{unknown_role}");
}

/// Every variable the configuration reads is documented for operators: in the README's
/// table (as `NAME`) and in `.env.example` (as `NAME=`, commented out or set).
#[test]
fn every_configuration_variable_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = std::fs::read_to_string(root.join("src/config.rs")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let example = std::fs::read_to_string(root.join(".env.example")).unwrap();
    let mut names = BTreeSet::new();
    for opener in ["get(\"", "secret(\"", "(get, \""] {
        for part in config.split(opener).skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if part[name.len()..].starts_with('"') && name.len() > 2 {
                names.insert(name);
            }
        }
    }
    assert!(names.len() > 25, "the variables are found: {names:?}");
    let undocumented: Vec<&String> = names
        .iter()
        .filter(|n| {
            !readme.contains(&format!("`{n}`"))
                || !example
                    .lines()
                    .any(|l| l.trim_start_matches('#').starts_with(&format!("{n}=")))
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in the README's table or .env.example: {undocumented:?}"
    );
}
