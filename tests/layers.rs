//! The structure docs/ARCHITECTURE.md describes, checked on the source.
//!
//! Cargo already refuses an import from a core crate (`crates/*`) back into
//! the gateway. Inside one crate it refuses nothing, so this test reads every
//! crate's sources and fails when its top-level modules import each other in
//! a circle, naming the files that close it. It also keeps Pingora out of the
//! cores. Test code (`tests.rs`, `tests/`, everything after `#[cfg(test)]`)
//! is not read: a test may reach across layers. Comments are: a doc link to
//! a higher layer is a tie like an import.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every crate of the workspace: its name and its `src/`.
fn crates() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = vec![("nexora-gate".to_owned(), root.join("src"))];
    let mut cores: Vec<_> = fs::read_dir(root.join("crates"))
        .expect("crates/ is readable")
        .map(|e| e.expect("crates/ entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    cores.sort();
    for core in cores {
        let name = core.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        all.push((format!("nexora-{name}"), core.join("src")));
    }
    all
}

/// The `.rs` files below `dir`, test files left out.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir).expect("readable source dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if name != "tests" && name != "testdata" {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// The module path of a file relative to `src/` (`auth/login.rs` → `[auth, login]`;
/// `mod.rs` and `lib.rs` name their directory).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("file below src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") {
        parts.push(stem.to_owned());
    }
    parts
}

/// A file without its unit tests. Comments stay: a doc link to a higher
/// layer (`[crate::auth::…]`) ties the docs to it as an import would.
fn code_of(text: &str) -> String {
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text.to_owned(),
    }
}

/// `text` without `//` comments, for reading `super::` paths: a module's
/// docs name its siblings relatively without depending on them.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segments of every path that starts at `prefix` (`crate::`, or
/// `super::` once per level) in `code`, braces expanded one level:
/// `super::{a::X, b}` gives `a` and `b`.
fn heads_after(code: &str, prefix: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before_ok = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':');
        rest = &rest[at + prefix.len()..];
        if !before_ok {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    heads.push(name);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                heads.push(name);
            }
        }
    }
    heads
}

/// Top-level module → the top-level modules it imports, with one file that does.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

fn graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    sources(src, &mut files);
    let top: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(src, f).first().cloned())
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let path = module_path(src, file);
        let Some(own) = path.first().cloned() else { continue };
        let code = code_of(&fs::read_to_string(file).expect("readable source"));
        let mut targets = heads_after(&code, "crate::");
        // In a top-level module's own file (src/a.rs or src/a/mod.rs),
        // `super::X` names the top-level module X.
        if path.len() == 1 {
            targets.extend(heads_after(&without_comments(&code), "super::"));
        }
        for target in targets {
            if target != own && top.contains(&target) {
                graph.entry(own.clone()).or_default().entry(target).or_insert_with(|| file.clone());
            }
        }
    }
    graph
}

/// A circle of modules, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(node: &str, graph: &Graph, stack: &mut Vec<String>, done: &mut BTreeSet<String>) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_crate_has_a_cycle_between_its_top_level_modules() {
    let mut found = Vec::new();
    for (name, src) in crates() {
        let graph = graph(&src);
        if name == "nexora-gate" {
            // The reader sees imports at all: the proxy is built on admission.
            assert!(graph.get("proxy").is_some_and(|m| m.contains_key("admission")), "{graph:?}");
        }
        if let Some(cycle) = find_cycle(&graph) {
            let links: Vec<String> = cycle
                .windows(2)
                .map(|w| format!("  {} -> {} (in {})", w[0], w[1], graph[&w[0]][&w[1]].display()))
                .collect();
            found.push(format!("{name}: {}\n{}", cycle.join(" -> "), links.join("\n")));
        }
    }
    assert!(found.is_empty(), "module cycles (docs/ARCHITECTURE.md says which way each layer may import):\n{}", found.join("\n"));
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into(), PathBuf::from("a.rs"));
    graph.entry("b".into()).or_default().insert("c".into(), PathBuf::from("b.rs"));
    assert_eq!(find_cycle(&graph), None);
    graph.entry("c".into()).or_default().insert("a".into(), PathBuf::from("c.rs"));
    assert_eq!(find_cycle(&graph), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
    assert_eq!(heads_after("use super::{x::Y, z};", "super::"), vec!["x", "z"]);
    assert_eq!(heads_after("let a = crate::p::q(); // crate::r", "crate::"), vec!["p", "r"]);
    assert_eq!(heads_after(&code_of("crate::p::q();\n#[cfg(test)]\nmod tests { crate::r }"), "crate::"), vec!["p"]);
}

#[test]
fn the_cores_link_no_pingora_and_nothing_of_the_gateway() {
    for (name, src) in crates().into_iter().skip(1) {
        let manifest = fs::read_to_string(src.parent().expect("crate dir").join("Cargo.toml")).expect("manifest");
        for forbidden in ["pingora", "nexora-gate", "sqlx", "tokio"] {
            assert!(
                !manifest.lines().any(|l| l.trim_start().starts_with(forbidden)),
                "{name} depends on {forbidden}: the cores stay free of the gateway's runtime"
            );
        }
        let mut files = Vec::new();
        sources(&src, &mut files);
        for file in files {
            let code = code_of(&fs::read_to_string(&file).expect("source"));
            assert!(!code.contains("pingora::") && !code.contains("nexora_gate::"), "{} names the gateway or Pingora", file.display());
        }
    }
}
