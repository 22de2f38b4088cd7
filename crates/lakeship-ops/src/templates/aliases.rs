//! Bridge aliases: one field path across OCSF versions.
//!
//! The same concept can sit at different paths in different versions (rc.2
//! `cloud.account_uid`, 1.1.0 `cloud.account.uid`). An entry of the list in
//! `schema/aliases.json` adds, to the older version's index templates, a
//! field of type `alias` at the newer path pointing to the older field, so a
//! dashboard can use the newer path over both versions' indices. An alias is
//! added to every class of its version where the target field is mapped; its
//! path must not collide with a real field (OpenSearch refuses documents that
//! write to an alias, so a collision would also reject data).

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Result, TemplateError};

/// The file of bridge aliases, as kept in `schema/aliases.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasFile {
    /// What the file is for (free text).
    #[serde(default)]
    pub description: String,
    /// The aliases.
    pub aliases: Vec<AliasSpec>,
}

/// One bridge alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasSpec {
    /// The OCSF version whose templates get the alias (the older one).
    pub version: String,
    /// The alias field's path (the newer version's path).
    pub path: String,
    /// The field it points to, which must be mapped in that version.
    pub target: String,
    /// Why (free text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl AliasFile {
    /// Reads an alias file.
    pub fn read(path: &Path) -> Result<AliasFile> {
        let text = std::fs::read_to_string(path).map_err(|error| TemplateError::io(path, error))?;
        serde_json::from_str(&text).map_err(|error| TemplateError::invalid_schema(path, error.to_string()))
    }
}

/// What applying an alias to one class did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasOutcome {
    /// The alias was added.
    Added,
    /// The class does not map the target; nothing was added.
    TargetNotMapped,
}

/// Adds `alias` to `own` (the index template's own properties) when the
/// class's composed properties `composed` map its target; `composed` gets it
/// too, so later aliases see it.
pub fn apply_alias(alias: &AliasSpec, composed: &mut Map<String, Value>, own: &mut Map<String, Value>) -> Result<AliasOutcome> {
    let error = |message: String| TemplateError::Alias { version: alias.version.clone(), path: alias.path.clone(), message };
    match lookup(composed, &alias.target) {
        Lookup::Field(mapping) if is_alias_target(mapping) => {}
        Lookup::Field(mapping) => return Err(error(format!("target {} cannot be aliased: {mapping}", alias.target))),
        Lookup::Absent => return Ok(AliasOutcome::TargetNotMapped),
        Lookup::BlockedBy(parent) => {
            return Err(error(format!("target {} is below the non-object field {parent}", alias.target)));
        }
    }
    match lookup(composed, &alias.path) {
        Lookup::Absent => {}
        Lookup::Field(_) => return Err(error("collides with a mapped field".to_string())),
        Lookup::BlockedBy(parent) => return Err(error(format!("collides with the non-object field {parent}"))),
    }
    let mapping = json!({"type": "alias", "path": alias.target});
    insert_at(composed, &alias.path, mapping.clone());
    insert_at(own, &alias.path, mapping);
    Ok(AliasOutcome::Added)
}

enum Lookup<'m> {
    /// The path is mapped.
    Field(&'m Value),
    /// Nothing is mapped at the path (its parents may be objects).
    Absent,
    /// A parent of the path is mapped as a non-object field.
    BlockedBy(String),
}

fn lookup<'m>(properties: &'m Map<String, Value>, path: &str) -> Lookup<'m> {
    let mut current = properties;
    let segments: Vec<&str> = path.split('.').collect();
    for (index, segment) in segments.iter().enumerate() {
        let Some(mapping) = current.get(*segment) else { return Lookup::Absent };
        if index + 1 == segments.len() {
            return Lookup::Field(mapping);
        }
        match mapping.get("properties").and_then(Value::as_object) {
            Some(children) => current = children,
            None if mapping.get("type").is_none_or(|kind| kind == "object") => return Lookup::Absent,
            None => return Lookup::BlockedBy(segments[..=index].join(".")),
        }
    }
    Lookup::Absent
}

/// A concrete leaf field (not an object, alias or flat_object).
fn is_alias_target(mapping: &Value) -> bool {
    let kind = mapping.get("type").and_then(Value::as_str);
    mapping.get("properties").is_none() && !matches!(kind, None | Some("object" | "nested" | "alias" | "flat_object"))
}

fn insert_at(properties: &mut Map<String, Value>, path: &str, mapping: Value) {
    match path.split_once('.') {
        None => {
            properties.insert(path.to_string(), mapping);
        }
        Some((head, rest)) => {
            let object = properties.entry(head.to_string()).or_insert_with(|| json!({"properties": {}}));
            if object.get("properties").is_none() {
                *object = json!({"properties": {}});
            }
            if let Some(children) = object.get_mut("properties").and_then(Value::as_object_mut) {
                insert_at(children, rest, mapping);
            }
        }
    }
}
