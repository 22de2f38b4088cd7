//! Embeds the repository's `templates/` (the JSON files `lakeship templates
//! install` sends) and `schema/` (the compact OCSF schema files and bridge
//! aliases `lakeship templates generate` reads) into the library, so the
//! `lakeship` binary works from any directory. The generated file lists
//! `(relative path, include_str!(absolute path))` pairs in path order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.join("../..");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut code = String::new();
    for (name, folder) in [("TEMPLATE_FILES", "templates"), ("SCHEMA_FILES", "schema")] {
        let dir = root.join(folder);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files = Vec::new();
        if dir.is_dir() {
            json_files(&dir, &dir, &mut files);
        }
        files.sort();
        writeln!(code, "/// Every `.json` file of `{folder}/` when this crate was built: (path relative to it, text).").expect("write");
        writeln!(code, "pub static {name}: &[(&str, &str)] = &[").expect("write");
        for (relative, absolute) in &files {
            writeln!(code, "    ({relative:?}, include_str!({absolute:?})),").expect("write");
        }
        writeln!(code, "];").expect("write");
    }
    std::fs::write(out.join("embedded.rs"), code).expect("write embedded.rs");
}

/// Every `.json` file below `dir`: (path relative to `root` with `/`, absolute path).
fn json_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            json_files(root, &path, out);
        } else if path.extension().is_some_and(|extension| extension == "json") {
            let relative = path.strip_prefix(root).expect("below root");
            let relative = relative.components().map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            let absolute = path.canonicalize().unwrap_or(path.clone());
            out.push((relative, absolute.to_string_lossy().into_owned()));
        }
    }
}
