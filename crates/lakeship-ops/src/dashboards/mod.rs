//! OpenSearch Dashboards saved objects for the data Lakeship writes: index
//! patterns, visualizations and dashboards for Security Hub findings, VPC
//! flow logs, Route 53 resolver queries, CloudTrail API activity and the
//! pipeline's own ledger.
//!
//! The dashboards are defined in Rust ([`catalog`], built with the
//! helpers of [`objects`]) and written as `dashboards/<name>.ndjson`, one
//! self-contained export per dashboard that OpenSearch Dashboards 2.x
//! imports as it is. [`read_dir`] loads such files back and [`validate`]
//! checks them (every reference resolves inside its own file, every JSON
//! string attribute parses). [`query`] turns a saved visualization into the
//! `_search` request Dashboards would send, [`verify`] runs those requests
//! on a cluster, and [`import`] builds and sends the multipart request of
//! the saved-objects import API.

pub mod catalog;
pub mod import;
pub mod objects;
pub mod query;
pub mod render;
pub mod tenant;
pub mod verify;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The folder of the repository that holds the saved objects.
pub const DASHBOARDS_DIR: &str = "dashboards";

/// Errors of the saved objects.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// A file or folder could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A saved-objects file that is not what Dashboards imports.
    #[error("invalid saved objects in {file}: {message}")]
    Invalid {
        /// The file (or object) concerned.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A visualization whose query cannot be derived.
    #[error("visualization {id}: {message}")]
    Query {
        /// Id of the visualization.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// OpenSearch Dashboards could not be reached or its answer not read.
    #[error("cannot reach OpenSearch Dashboards at {url}: {message}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Why.
        message: String,
    },
    /// OpenSearch Dashboards refused an import.
    #[error("OpenSearch Dashboards answered {status} to the import{hint}: {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What to check.
        hint: &'static str,
        /// An excerpt of the answer.
        body: String,
    },
    /// The import would not land in the tenant asked for.
    #[error("not importing into tenant {requested:?}: {message}")]
    Tenant {
        /// The tenant asked for.
        requested: String,
        /// What the security plugin said.
        message: String,
    },
    /// A request to OpenSearch failed, or the configuration is not usable.
    #[error(transparent)]
    Delivery(#[from] lakeship::delivery::DeliveryError),
}

impl DashboardError {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DashboardError::Io { path: path.into(), source }
    }

    fn invalid(file: impl Into<String>, message: impl Into<String>) -> Self {
        DashboardError::Invalid { file: file.into(), message: message.into() }
    }
}

/// Result alias of this module.
pub type Result<T, E = DashboardError> = std::result::Result<T, E>;

/// A reference from one saved object to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// The name the referring attribute uses (`panel_0`,
    /// `kibanaSavedObjectMeta.searchSourceJSON.index`).
    pub name: String,
    /// Type of the referenced object.
    #[serde(rename = "type")]
    pub kind: String,
    /// Id of the referenced object.
    pub id: String,
}

/// One saved object as the export format holds it (one NDJSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedObject {
    /// Type: `index-pattern`, `visualization`, `dashboard`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Id, stable across imports (import with overwrite replaces it).
    pub id: String,
    /// The type's attributes; several are JSON documents held as strings
    /// (`visState`, `panelsJSON`, `searchSourceJSON`, `fieldFormatMap`).
    pub attributes: Value,
    /// Objects this one refers to.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// The attribute schema version per type; Dashboards migrates older
    /// objects on import and leaves these as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_version: Option<Value>,
}

impl SavedObject {
    /// The `title` attribute.
    pub fn title(&self) -> &str {
        self.attributes["title"].as_str().unwrap_or_default()
    }

    /// A string attribute (`a.b` for nested ones) parsed as JSON, or
    /// `None` when the object has no such attribute.
    pub fn json_attribute(&self, path: &str) -> Result<Option<Value>> {
        let mut value = &self.attributes;
        for part in path.split('.') {
            value = &value[part];
        }
        let Some(text) = value.as_str() else { return Ok(None) };
        serde_json::from_str(text)
            .map(Some)
            .map_err(|error| DashboardError::invalid(self.describe(), format!("{path} is not JSON: {error}")))
    }

    /// The object referenced under `name`.
    pub fn reference(&self, name: &str) -> Option<&Reference> {
        self.references.iter().find(|reference| reference.name == name)
    }

    /// `type id` for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind, self.id)
    }
}

/// A saved-objects file: one dashboard with everything it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedObjectFile {
    /// File name, e.g. `network-activity.ndjson`.
    pub name: String,
    /// Its objects, in file order (index patterns, visualizations, the
    /// dashboard).
    pub objects: Vec<SavedObject>,
}

impl SavedObjectFile {
    /// The file's NDJSON text: one object per line.
    pub fn to_ndjson(&self) -> String {
        let mut text = String::new();
        for object in &self.objects {
            text.push_str(&serde_json::to_string(object).unwrap_or_default());
            text.push('\n');
        }
        text
    }

    /// Parses NDJSON text (blank lines are skipped).
    pub fn parse(name: &str, text: &str) -> Result<SavedObjectFile> {
        let mut objects = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let object: SavedObject =
                serde_json::from_str(line).map_err(|error| DashboardError::invalid(name, format!("line {}: {error}", number + 1)))?;
            objects.push(object);
        }
        Ok(SavedObjectFile { name: name.to_string(), objects })
    }

    /// The object of this file with `kind` and `id`.
    pub fn find(&self, kind: &str, id: &str) -> Option<&SavedObject> {
        self.objects.iter().find(|object| object.kind == kind && object.id == id)
    }

    /// The visualizations of the file.
    pub fn visualizations(&self) -> impl Iterator<Item = &SavedObject> {
        self.objects.iter().filter(|object| object.kind == "visualization")
    }
}

/// Reads every `*.ndjson` file of `dir`, in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<SavedObjectFile>> {
    let entries = std::fs::read_dir(dir).map_err(|error| DashboardError::io(dir, error))?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| DashboardError::io(dir, error))?.path();
        if path.is_file() && path.extension().is_some_and(|extension| extension == "ndjson") {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(|path| read_file(path)).collect()
}

/// Reads one `*.ndjson` file.
pub fn read_file(path: &Path) -> Result<SavedObjectFile> {
    let text = std::fs::read_to_string(path).map_err(|error| DashboardError::io(path, error))?;
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    SavedObjectFile::parse(&name, &text)
}

/// What [`write_dir`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSummary {
    /// Files written (new or changed).
    pub num_written: usize,
    /// Files that already had these bytes.
    pub num_unchanged: usize,
}

/// Writes each file into `dir` (created if missing); unchanged files are
/// left alone.
pub fn write_dir(dir: &Path, files: &[SavedObjectFile]) -> Result<WriteSummary> {
    std::fs::create_dir_all(dir).map_err(|error| DashboardError::io(dir, error))?;
    let mut summary = WriteSummary::default();
    for file in files {
        let path = dir.join(&file.name);
        let text = file.to_ndjson();
        if std::fs::read_to_string(&path).is_ok_and(|existing| existing == text) {
            summary.num_unchanged += 1;
            continue;
        }
        std::fs::write(&path, text).map_err(|error| DashboardError::io(&path, error))?;
        summary.num_written += 1;
    }
    Ok(summary)
}

/// `files` with their index patterns pointed at the configured index names:
/// `ocsf-…` patterns at `index_prefix-…`, and the ledger's at `ledger_index`.
pub fn for_index_names(files: &[SavedObjectFile], index_prefix: &str, ledger_index: &str) -> Vec<SavedObjectFile> {
    let rename = |title: &str| -> String {
        title
            .split(',')
            .map(|pattern| match pattern.trim() {
                lakeship::ledger::LEDGER_INDEX => ledger_index.to_string(),
                pattern => match pattern.strip_prefix("ocsf-") {
                    Some(rest) => format!("{index_prefix}-{rest}"),
                    None => pattern.to_string(),
                },
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut files = files.to_vec();
    for object in files.iter_mut().flat_map(|file| file.objects.iter_mut()).filter(|object| object.kind == "index-pattern") {
        let title = rename(object.title());
        object.attributes["title"] = Value::String(title);
    }
    files
}

/// The types a Lakeship export may hold, with the attributes each needs.
const REQUIRED_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("index-pattern", &["title"]),
    ("visualization", &["title", "visState", "uiStateJSON", "kibanaSavedObjectMeta"]),
    ("dashboard", &["title", "panelsJSON", "optionsJSON", "kibanaSavedObjectMeta"]),
    ("search", &["title", "columns", "kibanaSavedObjectMeta"]),
];

/// Attributes that hold JSON documents as strings.
const JSON_ATTRIBUTES: &[&str] =
    &["visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fieldFormatMap", "fields", "kibanaSavedObjectMeta.searchSourceJSON"];

/// Checks that every file imports on its own: ids and titles (per type)
/// are unique across the files, every object has an importable type and its attributes, every
/// JSON string attribute parses, every reference points to an object of the
/// same file with the referenced type, and every `panelRefName` and
/// `indexRefName` names a reference of its object.
pub fn validate(files: &[SavedObjectFile]) -> Result<()> {
    let mut seen: HashMap<(String, String), String> = HashMap::new();
    let mut titles: HashMap<(String, String), String> = HashMap::new();
    for file in files {
        for object in &file.objects {
            let key = (object.kind.clone(), object.id.clone());
            if let Some(other) = seen.insert(key, file.name.clone()) {
                return Err(DashboardError::invalid(&file.name, format!("{} is also in {other}", object.describe())));
            }
            let title = (object.kind.clone(), object.title().to_string());
            if let Some(other) = titles.insert(title, object.id.clone()) {
                return Err(DashboardError::invalid(
                    &file.name,
                    format!("{} has the title of {other}: {:?}", object.describe(), object.title()),
                ));
            }
            validate_object(file, object)?;
        }
    }
    Ok(())
}

fn validate_object(file: &SavedObjectFile, object: &SavedObject) -> Result<()> {
    let fail = |message: String| Err(DashboardError::invalid(&file.name, format!("{}: {message}", object.describe())));
    let Some((_, required)) = REQUIRED_ATTRIBUTES.iter().find(|(kind, _)| *kind == object.kind) else {
        return fail("not a type Lakeship exports".to_string());
    };
    if object.id.is_empty() || object.title().is_empty() {
        return fail("an id and a title are needed".to_string());
    }
    for attribute in *required {
        if object.attributes[*attribute].is_null() {
            return fail(format!("attribute {attribute} is missing"));
        }
    }
    for attribute in JSON_ATTRIBUTES {
        object.json_attribute(attribute)?;
    }
    for reference in &object.references {
        if file.find(&reference.kind, &reference.id).is_none() {
            return fail(format!(
                "reference {} points to {} {}, which the file does not hold",
                reference.name, reference.kind, reference.id
            ));
        }
    }
    let names: HashSet<&str> = object.references.iter().map(|reference| reference.name.as_str()).collect();
    for name in ref_names(object)? {
        if !names.contains(name.as_str()) {
            return fail(format!("uses reference {name}, which it does not declare"));
        }
    }
    Ok(())
}

/// The reference names an object's attributes use.
fn ref_names(object: &SavedObject) -> Result<Vec<String>> {
    let mut names = Vec::new();
    if let Some(source) = object.json_attribute("kibanaSavedObjectMeta.searchSourceJSON")? {
        names.extend(source["indexRefName"].as_str().map(str::to_string));
        for filter in source["filter"].as_array().into_iter().flatten() {
            names.extend(filter["meta"]["indexRefName"].as_str().map(str::to_string));
        }
    }
    if let Some(panels) = object.json_attribute("panelsJSON")? {
        for panel in panels.as_array().into_iter().flatten() {
            names.extend(panel["panelRefName"].as_str().map(str::to_string));
        }
    }
    Ok(names)
}
