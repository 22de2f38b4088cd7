//! Deterministic files: sorted keys, two-space indentation, a final newline;
//! and writing a generated set into the output folder without leaving stale
//! files behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Result, TemplateError};

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the output folder, `/`-separated.
    pub path: String,
    /// The exact bytes.
    pub bytes: Vec<u8>,
}

impl GeneratedFile {
    /// A JSON file, rendered deterministically.
    pub fn json(path: impl Into<String>, value: &Value) -> Self {
        GeneratedFile { path: path.into(), bytes: render_json(value) }
    }
}

/// Pretty JSON with keys sorted at every level and a trailing newline.
pub fn render_json(value: &Value) -> Vec<u8> {
    let sorted = sort_keys(value);
    let mut bytes = serde_json::to_vec_pretty(&sorted).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The entries of a directory, sorted by name.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|error| TemplateError::io(dir, error))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(entry.map_err(|error| TemplateError::io(dir, error))?.path());
    }
    paths.sort();
    Ok(paths)
}

/// Writes `value` to `path` as [`render_json`] does.
pub fn write_json_file(path: &Path, value: &Value) -> Result<()> {
    std::fs::write(path, render_json(value)).map_err(|error| TemplateError::io(path, error))
}

/// Rebuilds `value` with object keys inserted in sorted order (so the output
/// is sorted whether or not serde_json preserves insertion order).
fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut sorted = Map::new();
            for key in keys {
                sorted.insert(key.clone(), sort_keys(&map[key]));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

/// What writing a generated set changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files written because they were new or different.
    pub num_written: usize,
    /// Files already identical.
    pub num_unchanged: usize,
    /// Stale files removed from the generator's folders.
    pub num_removed: usize,
}

/// Writes `files` under `out_dir`. Files in the generator's own folders
/// (`owned_dirs`, relative to `out_dir`) that the set does not contain are
/// removed; nothing else in `out_dir` is touched.
pub fn write_generated(out_dir: &Path, files: &[GeneratedFile], owned_dirs: &[String]) -> Result<WriteSummary> {
    let mut summary = WriteSummary::default();
    let wanted: BTreeSet<PathBuf> = files.iter().map(|file| out_dir.join(&file.path)).collect();
    for owned in owned_dirs {
        let dir = out_dir.join(owned);
        if dir.is_dir() {
            summary.num_removed += remove_stale(&dir, &wanted)?;
            if sorted_entries(&dir)?.is_empty() {
                std::fs::remove_dir(&dir).map_err(|error| TemplateError::io(&dir, error))?;
            }
        }
    }
    for file in files {
        let path = out_dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| TemplateError::io(parent, error))?;
        }
        if std::fs::read(&path).is_ok_and(|existing| existing == file.bytes) {
            summary.num_unchanged += 1;
            continue;
        }
        std::fs::write(&path, &file.bytes).map_err(|error| TemplateError::io(&path, error))?;
        summary.num_written += 1;
    }
    Ok(summary)
}

fn remove_stale(dir: &Path, wanted: &BTreeSet<PathBuf>) -> Result<usize> {
    let mut num_removed = 0;
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            num_removed += remove_stale(&path, wanted)?;
            if sorted_entries(&path)?.is_empty() {
                std::fs::remove_dir(&path).map_err(|error| TemplateError::io(&path, error))?;
            }
        } else if !wanted.contains(&path) {
            std::fs::remove_file(&path).map_err(|error| TemplateError::io(&path, error))?;
            num_removed += 1;
        }
    }
    Ok(num_removed)
}

/// The generated files found under `out_dir` in `owned_dirs`, for comparing
/// with a fresh generation.
pub fn read_owned_files(out_dir: &Path, owned_dirs: &[String]) -> Result<Vec<GeneratedFile>> {
    let mut files = Vec::new();
    for owned in owned_dirs {
        let dir = out_dir.join(owned);
        if dir.is_dir() {
            collect_files(out_dir, &dir, &mut files)?;
        } else if dir.is_file() {
            let bytes = std::fs::read(&dir).map_err(|error| TemplateError::io(&dir, error))?;
            files.push(GeneratedFile { path: owned.clone(), bytes });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<GeneratedFile>) -> Result<()> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            collect_files(root, &path, files)?;
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|error| TemplateError::io(&path, error))?;
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let relative = relative.components().map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        files.push(GeneratedFile { path: relative, bytes });
    }
    Ok(())
}
