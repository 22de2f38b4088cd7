//! The compact OCSF schema the generator reads.
//!
//! An OCSF schema release is a source tree of JSON files (`dictionary.json`,
//! `categories.json`, `objects/`, `events/`, `includes/`, `profiles/`) full of
//! captions, descriptions and enumerations. The generator needs only the
//! structure: which attributes a unit (event class, object, include file or
//! profile) defines, what it `extends`, which files it `$include`s, which
//! `profiles` it applies, and the dictionary's types. [`SchemaSource`] holds
//! exactly that, unresolved, so `extends`, `$include` and profiles are still
//! resolved by the generator (see `resolve`).
//!
//! The repository keeps one `schema/ocsf-<version>.json` per version, made by
//! `lakeship templates import-schema` from the OCSF source trees; builds and
//! tests read only those files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::output::write_json_file;
// Read as `source::sorted_entries` by `install` and `templates::mod`.
pub(crate) use super::output::sorted_entries;
use super::{Result, TemplateError};

/// Attribution written into every compact schema file.
pub const OCSF_NOTICE: &str = "Derived from the Open Cybersecurity Schema Framework (OCSF) schema, \
     https://github.com/ocsf/ocsf-schema, Copyright OCSF a Series of LF Projects, LLC, which includes the ICD \
     Schema developed by Symantec, a division of Broadcom; licensed under the Apache License, Version 2.0 (see \
     schema/LICENSE and schema/NOTICE). Changed by Lakeship: reduced to the structure its template generator \
     reads; descriptions, enumerations, most captions and the extensions removed.";

/// One OCSF schema version in compact, unresolved form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSource {
    /// The OCSF version, e.g. `1.1.0`.
    pub version: String,
    /// Origin and license of the data.
    pub notice: String,
    /// Category name → category uid.
    pub categories: BTreeMap<String, i64>,
    /// Data type name (`port_t`) → the type it refines (`integer_t`), if any.
    pub types: BTreeMap<String, Option<String>>,
    /// The dictionary: attribute name → its type and whether it is a list.
    pub dictionary: BTreeMap<String, AttributeSource>,
    /// Objects by name (`_entity`-style names are abstract bases).
    pub objects: BTreeMap<String, UnitSource>,
    /// Event classes by name (classes without `uid` are abstract bases).
    pub events: BTreeMap<String, UnitSource>,
    /// Attribute sets that units `$include`, by path relative to the schema
    /// root: `includes/…` and `profiles/<name>.json`.
    pub includes: BTreeMap<String, UnitSource>,
}

/// An attribute as a unit or the dictionary states it; unset parts come from
/// the dictionary (or stay as inherited).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeSource {
    /// A data type (`string_t`, …), an object name, or `object` (untyped).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    /// Whether the attribute holds a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_array: Option<bool>,
}

/// An event class, object, include file or profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSource {
    /// Caption (kept for event classes only: it names indices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// The unit this one extends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Category name (event classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Class id within the category (concrete event classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<i64>,
    /// Profiles the unit applies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// Files whose attributes are included, in order.
    #[serde(rename = "$include", default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// The unit's own attributes.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeSource>,
}

impl SchemaSource {
    /// Reads a compact schema file.
    pub fn read_file(path: &Path) -> Result<SchemaSource> {
        let text = std::fs::read_to_string(path).map_err(|error| TemplateError::io(path, error))?;
        serde_json::from_str(&text).map_err(|error| TemplateError::invalid_schema(path, error.to_string()))
    }

    /// The file name of this version's compact form: `ocsf-<version>.json`.
    pub fn file_name(&self) -> String {
        format!("ocsf-{}.json", self.version)
    }

    /// Reads an OCSF schema source tree (the layout of the ocsf-schema
    /// repository). Extensions (`extensions/`) are not read.
    pub fn from_source_tree(root: &Path) -> Result<SchemaSource> {
        let version = read_json(&root.join("version.json"))?;
        let version = version["version"]
            .as_str()
            .ok_or_else(|| TemplateError::invalid_schema(root.join("version.json"), "no \"version\" string"))?
            .to_string();
        let categories_path = root.join("categories.json");
        let categories = attributes_of(&read_json(&categories_path)?, &categories_path)?
            .iter()
            .map(|(name, category)| match category["uid"].as_i64() {
                Some(uid) => Ok((name.clone(), uid)),
                None => Err(TemplateError::invalid_schema(&categories_path, format!("category {name} has no uid"))),
            })
            .collect::<Result<_>>()?;
        let dictionary_path = root.join("dictionary.json");
        let dictionary_json = read_json(&dictionary_path)?;
        let types = attributes_of(&dictionary_json["types"], &dictionary_path)?
            .iter()
            .map(|(name, data_type)| (name.clone(), data_type["type"].as_str().map(str::to_string)))
            .collect();
        let dictionary = attributes_of(&dictionary_json, &dictionary_path)?
            .iter()
            .map(|(name, attribute)| (name.clone(), attribute_source(attribute)))
            .collect();
        Ok(SchemaSource {
            version,
            notice: OCSF_NOTICE.to_string(),
            categories,
            types,
            dictionary,
            objects: read_units(root, "objects", false)?,
            events: read_units(root, "events", true)?,
            includes: read_include_files(root)?,
        })
    }

    /// Writes the compact form into `dir` as `ocsf-<version>.json`.
    pub fn write_into(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join(self.file_name());
        let value = serde_json::to_value(self).map_err(|error| TemplateError::invalid_schema(&path, error.to_string()))?;
        write_json_file(&path, &value)?;
        Ok(path)
    }
}

/// Loads every schema version found in `dir`: compact `ocsf-*.json` files, or
/// OCSF source trees (`dir` itself, or its subdirectories, holding a
/// `version.json`). Sorted by version string.
pub fn load_schemas(dir: &Path) -> Result<Vec<SchemaSource>> {
    if dir.join("version.json").is_file() {
        return Ok(vec![SchemaSource::from_source_tree(dir)?]);
    }
    let mut schemas = Vec::new();
    for path in sorted_entries(dir)? {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        if path.is_dir() && path.join("version.json").is_file() {
            schemas.push(SchemaSource::from_source_tree(&path)?);
        } else if path.is_file() && name.starts_with("ocsf-") && name.ends_with(".json") {
            schemas.push(SchemaSource::read_file(&path)?);
        }
    }
    if schemas.is_empty() {
        return Err(TemplateError::invalid_schema(dir, "no ocsf-*.json schema file or OCSF source tree found"));
    }
    schemas.sort_by(|a, b| a.version.cmp(&b.version));
    for pair in schemas.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(TemplateError::invalid_schema(dir, format!("version {} found twice", pair[0].version)));
        }
    }
    Ok(schemas)
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|error| TemplateError::io(path, error))?;
    serde_json::from_str(&text).map_err(|error| TemplateError::invalid_schema(path, error.to_string()))
}

fn attributes_of<'v>(value: &'v Value, path: &Path) -> Result<&'v serde_json::Map<String, Value>> {
    value["attributes"].as_object().ok_or_else(|| TemplateError::invalid_schema(path, "no \"attributes\" object"))
}

fn attribute_source(attribute: &Value) -> AttributeSource {
    AttributeSource { type_name: attribute["type"].as_str().map(str::to_string), is_array: attribute["is_array"].as_bool() }
}

/// A string or a list of strings (the two forms of `$include`).
fn string_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

/// The structural part of one unit file. Attribute-level `$include`s (OCSF
/// uses them for enumerations only) are dropped with the enumerations.
fn unit_source(value: &Value, path: &Path, keep_caption: bool) -> Result<UnitSource> {
    let attributes = match value.get("attributes") {
        None => serde_json::Map::new(),
        Some(_) => attributes_of(value, path)?.clone(),
    };
    Ok(UnitSource {
        caption: if keep_caption { value["caption"].as_str().map(str::to_string) } else { None },
        extends: value["extends"].as_str().map(str::to_string),
        category: value["category"].as_str().map(str::to_string),
        uid: value["uid"].as_i64(),
        profiles: string_list(&value["profiles"]),
        include: attributes.get("$include").map(string_list).unwrap_or_default(),
        attributes: attributes
            .iter()
            .filter(|(name, _)| name.as_str() != "$include")
            .map(|(name, attribute)| (name.clone(), attribute_source(attribute)))
            .collect(),
    })
}

/// All units under `root/folder` (recursively), keyed by their `name`.
fn read_units(root: &Path, folder: &str, keep_caption: bool) -> Result<BTreeMap<String, UnitSource>> {
    let mut units = BTreeMap::new();
    for path in json_files(&root.join(folder))? {
        let value = read_json(&path)?;
        let name = value["name"].as_str().ok_or_else(|| TemplateError::invalid_schema(&path, "no \"name\""))?.to_string();
        if units.insert(name.clone(), unit_source(&value, &path, keep_caption)?).is_some() {
            return Err(TemplateError::invalid_schema(&path, format!("{folder} unit {name} defined twice")));
        }
    }
    Ok(units)
}

/// `includes/**` and `profiles/**`, keyed by their path relative to `root`.
fn read_include_files(root: &Path) -> Result<BTreeMap<String, UnitSource>> {
    let mut includes = BTreeMap::new();
    for folder in ["includes", "profiles"] {
        let dir = root.join(folder);
        if !dir.is_dir() {
            continue;
        }
        for path in json_files(&dir)? {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let key = relative.components().map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            includes.insert(key, unit_source(&read_json(&path)?, &path, false)?);
        }
    }
    Ok(includes)
}

/// The `.json` files under `dir`, recursively, sorted.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            files.extend(json_files(&path)?);
        } else if path.extension().is_some_and(|extension| extension == "json") {
            files.push(path);
        }
    }
    Ok(files)
}
