//! The repository's `templates/` and `schema/` as they were when this crate
//! was built (see `build.rs`), so the binary needs neither folder at run
//! time.

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

use super::{ALIASES_FILE, AliasFile, AliasSpec, Result, SchemaSource, TemplateError};

/// The compact schema files built in, parsed (in version order).
pub fn schemas() -> Result<Vec<SchemaSource>> {
    SCHEMA_FILES
        .iter()
        .filter(|(path, _)| path.starts_with("ocsf-") && !path.contains('/'))
        .map(|(path, text)| serde_json::from_str(text).map_err(|error| TemplateError::invalid_schema(*path, error.to_string())))
        .collect()
}

/// The bridge aliases built in (none when the schema folder had none).
pub fn aliases() -> Result<Vec<AliasSpec>> {
    match SCHEMA_FILES.iter().find(|(path, _)| *path == ALIASES_FILE) {
        Some((path, text)) => serde_json::from_str::<AliasFile>(text)
            .map(|file| file.aliases)
            .map_err(|error| TemplateError::invalid_schema(*path, error.to_string())),
        None => Ok(Vec::new()),
    }
}
