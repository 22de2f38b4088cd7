//! No file-level import circles in the workspace's crates: a file of a crate
//! (a module) that names another file's items through `crate::` or `super::`
//! depends on it; no two files may depend on each other, directly or round
//! a longer circle. A parent `mod.rs` and its children are exempt (the
//! parent declares and re-exports them). Test modules (`#[cfg(test)] mod
//! …` to the end of a file) and comments are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.map(|entry| entry.expect("entry").path()) {
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            found.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).expect("under src").with_extension("");
    let mut module: Module = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    if matches!(module.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        module.pop();
    }
    module
}

/// The code of a file without comments and without its test module.
fn code_of(text: &str) -> String {
    let code: String = text.lines().map(|line| line.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    match code.find("#[cfg(test)]\nmod ") {
        Some(at) => code[..at].to_string(),
        None => code,
    }
}

/// The paths named in `code` (`crate::a::b`, `super::c`, and the items of
/// `use crate::a::{b, c::d}` groups), as segments from the crate's root.
fn named_paths(code: &str, module: &Module, is_parent: bool) -> Vec<Module> {
    let own_parent: Module = if is_parent { module.clone() } else { module[..module.len().saturating_sub(1)].to_vec() };
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    for head in ["crate::", "super::"] {
        for (at, _) in code.match_indices(head) {
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let rest = &code[at + head.len()..];
            let mut base: Module = if head == "crate::" { Vec::new() } else { own_parent.clone() };
            let mut segments = rest.split("::");
            let mut path = Vec::new();
            for segment in segments.by_ref() {
                let name: String = segment.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if name == "super" && path.is_empty() {
                    base.pop();
                    continue;
                }
                if name.is_empty() {
                    // A `{…}` group: each item is a path from here.
                    if let Some(group) = segment.strip_prefix('{') {
                        let group = &rest[rest.find(group).unwrap_or(0)..];
                        let group = &group[..group.find('}').unwrap_or(group.len())];
                        for item in group.split(',') {
                            let mut full: Module = base.iter().chain(&path).cloned().collect();
                            full.extend(item.trim().split("::").map(|part| part.split_whitespace().next().unwrap_or_default().to_string()));
                            paths.push(full);
                        }
                    }
                    break;
                }
                path.push(name.clone());
                if segment.len() != name.len() {
                    break;
                }
            }
            paths.push(base.into_iter().chain(path).collect());
        }
    }
    paths
}

/// The longest module of `modules` that `path` starts with.
fn resolve<'m>(path: &Module, modules: &'m BTreeSet<Module>) -> Option<&'m Module> {
    (0..=path.len()).rev().find_map(|len| modules.get(&path[..len].to_vec()))
}

fn is_within(inner: &Module, outer: &Module) -> bool {
    inner.len() > outer.len() && inner[..outer.len()] == outer[..]
}

/// The import circles of the crate whose sources are in `src`, each as its
/// modules `a -> b -> … -> a`.
fn circles_of(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|file| module_of(src, file)).collect();
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        let is_parent = matches!(file.file_stem().and_then(|stem| stem.to_str()), Some("mod" | "lib" | "main"));
        let code = code_of(&std::fs::read_to_string(file).expect("source"));
        let targets = edges.entry(module.clone()).or_default();
        for path in named_paths(&code, &module, is_parent) {
            if let Some(target) = resolve(&path, &modules)
                && *target != module
                && !is_within(target, &module)
                && !is_within(&module, target)
            {
                targets.insert(target.clone());
            }
        }
    }
    let mut circles = Vec::new();
    for start in edges.keys() {
        // Depth-first from `start`, through modules after it only, so each
        // circle is reported once (from its smallest module).
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let names: Vec<String> = trail.iter().chain([start]).map(|module| module.join("/")).collect();
                    circles.push(names.join(" -> "));
                } else if next > start && seen.insert(next.clone()) {
                    stack.push((next.clone(), trail.iter().cloned().chain([next.clone()]).collect()));
                }
            }
        }
    }
    circles
}

#[test]
fn no_crate_has_a_file_level_import_circle() {
    let root = crate::repo_root();
    let mut circles = Vec::new();
    for group in ["crates", "functions"] {
        let Ok(entries) = std::fs::read_dir(root.join(group)) else { continue };
        for crate_dir in entries.map(|entry| entry.expect("entry").path()) {
            let src = crate_dir.join("src");
            if src.is_dir() {
                circles.extend(circles_of(&src).into_iter().map(|circle| format!("{}: {circle}", crate_dir.display())));
            }
        }
    }
    assert!(circles.is_empty(), "import circles (move what both sides use to a module of its own):\n{}", circles.join("\n"));
}
