//! OpenSearch index templates compiled from the OCSF schema.
//!
//! `schema/` holds one compact file per OCSF version ([`SchemaSource`], made
//! from the OCSF source trees by `lakeship templates import-schema`) and the
//! bridge aliases (`schema/aliases.json`). [`generate`] resolves each version
//! (`extends`, `$include`, profiles, the dictionary; see [`resolve`]), maps
//! attributes to OpenSearch fields up to a depth (see [`mapping`]) and builds
//! component templates, one index template per event class and an ISM policy
//! (see [`build`]). [`write_generated`] writes them to `templates/`, and
//! [`install_plan`] turns that folder into the `PUT` requests that install it.
//!
//! Layout of the output folder:
//!
//! ```text
//! templates/ocsf-<version>/component_templates/<name>.json   PUT _component_template/<name>
//! templates/ocsf-<version>/index_templates/<name>.json       PUT _index_template/<name>
//! templates/lakeship-*.json                                  PUT _index_template/<name> (not generated here)
//! templates/ism/lakeship-ocsf.json                           PUT _plugins/_ism/policies/<name> (if the plugin is present)
//! templates/REPORT.md                                        field counts and depth cuts
//! ```

pub mod aliases;
pub mod embedded;
pub mod generate;
pub mod install;
pub mod layout;
pub mod mapping;
pub mod output;
pub mod resolve;
pub mod source;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use aliases::{AliasFile, AliasSpec};
pub use generate::{ClassReport, ComponentReport, DEFAULT_DEPTH, GenerateOptions, Generated};
pub use install::{
    InstallCondition, InstallKind, InstallReport, InstallRequest, apply_plan, embedded_install_plan, install_plan, install_plan_from,
    set_refresh_interval,
};
pub use layout::apply_layout;
pub use output::{GeneratedFile, WriteSummary};
pub use source::{SchemaSource, load_schemas};

/// The file of bridge aliases inside the schema folder.
pub const ALIASES_FILE: &str = "aliases.json";

/// Errors of template generation and installation planning.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A file or folder could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Schema data that is not what the generator expects.
    #[error("invalid OCSF schema data in {path}: {message}")]
    InvalidSchema {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The schema does not resolve (unknown unit, type or include, cycle …).
    #[error("OCSF {version} does not resolve: {message}")]
    Resolve {
        /// OCSF version.
        version: String,
        /// What is wrong.
        message: String,
    },
    /// A bridge alias that cannot be added.
    #[error("bridge alias {path} (OCSF {version}): {message}")]
    Alias {
        /// OCSF version.
        version: String,
        /// The alias path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Generation options that cannot work.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// A file of a templates folder that cannot be installed.
    #[error("invalid template {path}: {message}")]
    InvalidTemplate {
        /// The file (or request path).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl TemplateError {
    fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TemplateError::Io { path: path.into(), source }
    }

    fn invalid_schema(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        TemplateError::InvalidSchema { path: path.into(), message: message.into() }
    }
}

/// Result alias of this module.
pub type Result<T, E = TemplateError> = std::result::Result<T, E>;

/// Generates the templates of every version in `schemas`, the ISM policy and
/// the report. Deterministic: the same input gives the same bytes.
pub fn generate(schemas: &[SchemaSource], aliases: &[AliasSpec], options: &GenerateOptions) -> Result<Generated> {
    let mut generated = Generated::default();
    for source in schemas {
        let schema = resolve::resolve(source)?;
        generate::generate_version(&schema, aliases, options, &mut generated)?;
    }
    generated.files.push(generate::ism_policy(options));
    generated.files.push(generate::report_markdown(&generated, options));
    generated.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(generated)
}

/// Loads the schemas in `schema_dir` and the aliases (from `aliases`, or
/// `schema_dir/aliases.json` when present), then [`generate`]s.
pub fn generate_from_dir(schema_dir: &Path, aliases: Option<&Path>, options: &GenerateOptions) -> Result<Generated> {
    let schemas = load_schemas(schema_dir)?;
    let default_aliases = schema_dir.join(ALIASES_FILE);
    let aliases = match aliases {
        Some(path) => AliasFile::read(path)?.aliases,
        None if default_aliases.is_file() => AliasFile::read(&default_aliases)?.aliases,
        None => Vec::new(),
    };
    generate(&schemas, &aliases, options)
}

/// [`generate`]s from the schema files and aliases built into this binary.
pub fn generate_embedded(options: &GenerateOptions) -> Result<Generated> {
    let schemas = embedded::schemas()?;
    if schemas.is_empty() {
        return Err(TemplateError::invalid_schema("schema", "this build has no OCSF schema built in: pass --schema"));
    }
    generate(&schemas, &embedded::aliases()?, options)
}

/// The paths of `out_dir` (relative) that the generator owns: every
/// `ocsf-*` folder, the ISM folder and the report.
pub fn owned_paths(out_dir: &Path) -> Result<Vec<String>> {
    let mut owned = vec![generate::ISM_DIR.to_string(), generate::REPORT_FILE.to_string()];
    if out_dir.is_dir() {
        for path in source::sorted_entries(out_dir)? {
            let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_dir() && name.starts_with("ocsf-") {
                owned.push(name);
            }
        }
    }
    owned.sort();
    Ok(owned)
}

/// Writes `generated` into `out_dir`, removing stale generated files.
pub fn write_generated(out_dir: &Path, generated: &Generated) -> Result<WriteSummary> {
    output::write_generated(out_dir, &generated.files, &owned_paths(out_dir)?)
}

/// The generated files currently in `out_dir` (for comparing with a fresh
/// generation).
pub fn read_generated(out_dir: &Path) -> Result<Vec<GeneratedFile>> {
    output::read_owned_files(out_dir, &owned_paths(out_dir)?)
}
