//! The install plan: the requests that put a templates folder into an
//! OpenSearch cluster, in dependency order.
//!
//! Every request is an idempotent `PUT` of the whole resource: component
//! templates first (per version), then the OCSF index templates that compose
//! them, then other `lakeship-*.json` index templates found at the top of the
//! folder (the ledger's), then the ISM policies, which apply only where the
//! ISM plugin is installed.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::generate::{COMPONENT_DIR, INDEX_DIR, ISM_DIR, ISM_PLUGIN};
use super::source::sorted_entries;
use super::{Result, TemplateError};

/// What kind of resource a request installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallKind {
    /// `PUT _component_template/<name>`.
    ComponentTemplate,
    /// `PUT _index_template/<name>`.
    IndexTemplate,
    /// `PUT _plugins/_ism/policies/<name>`. OpenSearch answers `409` when the
    /// policy exists (an update needs `if_seq_no`/`if_primary_term`), which
    /// an installer counts as already installed.
    IsmPolicy,
}

/// A condition under which a request applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallCondition {
    /// Only where `GET _cat/plugins` lists this plugin (e.g.
    /// `opensearch-index-management`); skipped elsewhere.
    RequiresPlugin(String),
}

/// One request of the install plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstallRequest {
    /// HTTP method (always `PUT`).
    pub method: &'static str,
    /// Path without leading slash, e.g. `_component_template/ocsf-1.1.0-object-device`.
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// When set, install only where the condition holds.
    pub condition: Option<InstallCondition>,
    /// What the request installs.
    pub kind: InstallKind,
}

/// The requests that install everything in `dir` (a templates folder as
/// `lakeship templates generate` writes it), in dependency order. Fails when
/// a file is not JSON or an index template composes a component template
/// the plan does not install.
pub fn install_plan(dir: &Path) -> Result<Vec<InstallRequest>> {
    let mut files = Vec::new();
    read_json_files(dir, dir, &mut files)?;
    install_plan_from(&files)
}

/// The install plan of the templates built into this binary (the
/// repository's `templates/` when it was compiled).
pub fn embedded_install_plan() -> Result<Vec<InstallRequest>> {
    let files: Vec<(String, String)> =
        super::embedded::TEMPLATE_FILES.iter().map(|(path, text)| (path.to_string(), text.to_string())).collect();
    if files.is_empty() {
        return Err(TemplateError::InvalidTemplate {
            path: "templates".into(),
            message: "this build has no templates built in: pass --dir".to_string(),
        });
    }
    install_plan_from(&files)
}

/// The install plan of a templates folder given as its `.json` files:
/// (path relative to the folder, `/`-separated; text).
pub fn install_plan_from(files: &[(String, String)]) -> Result<Vec<InstallRequest>> {
    let mut sorted: Vec<(Vec<&str>, &str)> = files.iter().map(|(path, text)| (path.split('/').collect(), text.as_str())).collect();
    sorted.sort();
    let mut components = Vec::new();
    let mut index_templates = Vec::new();
    let mut others = Vec::new();
    let mut policies = Vec::new();
    for (parts, text) in sorted {
        let path = parts.join("/");
        match parts.as_slice() {
            [version, folder, name] if version.starts_with("ocsf-") && *folder == COMPONENT_DIR && is_json(name) => {
                components.push(request(&path, text, InstallKind::ComponentTemplate)?)
            }
            [version, folder, name] if version.starts_with("ocsf-") && *folder == INDEX_DIR && is_json(name) => {
                index_templates.push(request(&path, text, InstallKind::IndexTemplate)?)
            }
            [name] if name.starts_with("lakeship-") && is_json(name) => others.push(request(&path, text, InstallKind::IndexTemplate)?),
            [folder, name] if *folder == ISM_DIR && is_json(name) => policies.push(request(&path, text, InstallKind::IsmPolicy)?),
            _ => {}
        }
    }
    index_templates.extend(others);
    check_composition(&components, &index_templates)?;
    let mut plan = components;
    plan.extend(index_templates);
    plan.extend(policies);
    Ok(plan)
}

/// Sets `index.refresh_interval` in every OCSF index template of `plan`
/// (not the ledger's): how soon an indexed row is searchable, traded against
/// indexing cost (BENCHMARKS.md, "Index cost"). `interval` is an OpenSearch
/// time value (`500ms`, `1s`, `30s`, `1m`) or `-1` (never refresh on a
/// timer: rows are searchable only after an explicit refresh).
pub fn set_refresh_interval(plan: &mut [InstallRequest], interval: &str) -> Result<()> {
    if !is_time_value(interval) {
        return Err(TemplateError::InvalidOptions(format!(
            "refresh interval {interval:?}: expected an OpenSearch time value such as 500ms, 1s, 30s or 1m, or -1"
        )));
    }
    for request in plan.iter_mut().filter(|request| request.kind == InstallKind::IndexTemplate && is_ocsf_index_template(request)) {
        if let Some(settings) = request.body.pointer_mut("/template/settings").and_then(Value::as_object_mut) {
            settings.insert("index.refresh_interval".to_string(), Value::String(interval.to_string()));
        }
    }
    Ok(())
}

/// True for the index templates of OCSF classes (those under `INDEX_DIR`).
fn is_ocsf_index_template(request: &InstallRequest) -> bool {
    request.body.pointer("/composed_of").and_then(Value::as_array).is_some_and(|composed| !composed.is_empty())
}

/// `-1` or digits followed by one of OpenSearch's time units.
/// <https://docs.opensearch.org/latest/api-reference/common-parameters/#time-units>
fn is_time_value(text: &str) -> bool {
    if text == "-1" {
        return true;
    }
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && ["d", "h", "m", "s", "ms", "micros", "nanos"].contains(&&text[digits..])
}

fn is_json(name: &str) -> bool {
    name.ends_with(".json")
}

/// Every `.json` file below `dir`: (path relative to `root`, text).
fn read_json_files(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<()> {
    for path in sorted_entries(dir)? {
        if path.is_dir() {
            read_json_files(root, &path, out)?;
        } else if path.extension().is_some_and(|extension| extension == "json") {
            let text = std::fs::read_to_string(&path).map_err(|error| TemplateError::io(&path, error))?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            let relative = relative.components().map(|part| part.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            out.push((relative, text));
        }
    }
    Ok(())
}

fn request(file: &str, text: &str, kind: InstallKind) -> Result<InstallRequest> {
    let body: Value =
        serde_json::from_str(text).map_err(|error| TemplateError::InvalidTemplate { path: file.into(), message: error.to_string() })?;
    if !body.is_object() {
        return Err(TemplateError::InvalidTemplate { path: file.into(), message: "not a JSON object".to_string() });
    }
    let file_name = file.rsplit('/').next().unwrap_or(file);
    let name = file_name.strip_suffix(".json").unwrap_or(file_name);
    let (path, condition) = match kind {
        InstallKind::ComponentTemplate => (format!("_component_template/{name}"), None),
        InstallKind::IndexTemplate => (format!("_index_template/{name}"), None),
        InstallKind::IsmPolicy => {
            (format!("_plugins/_ism/policies/{name}"), Some(InstallCondition::RequiresPlugin(ISM_PLUGIN.to_string())))
        }
    };
    Ok(InstallRequest { method: "PUT", path, body, condition, kind })
}

/// Every `composed_of` entry names a component template of the plan.
fn check_composition(components: &[InstallRequest], index_templates: &[InstallRequest]) -> Result<()> {
    let names: Vec<&str> = components.iter().filter_map(|request| request.path.strip_prefix("_component_template/")).collect();
    for template in index_templates {
        let composed_of = template.body["composed_of"].as_array().map(Vec::as_slice).unwrap_or_default();
        for component in composed_of {
            let component = component.as_str().unwrap_or_default();
            if !names.contains(&component) {
                return Err(TemplateError::InvalidTemplate {
                    path: template.path.clone().into(),
                    message: format!("composes {component:?}, which the folder does not hold"),
                });
            }
        }
    }
    Ok(())
}

/// What installing a plan did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Requests OpenSearch acknowledged.
    pub num_acknowledged: usize,
    /// ISM policies that existed already (409).
    pub num_already_present: usize,
    /// Requests skipped because their condition does not hold.
    pub num_skipped: usize,
}

/// Sends an install plan to OpenSearch: component templates (a few at once),
/// then index templates, then conditional requests where their condition
/// holds. Idempotent: every request replaces the resource (an existing ISM
/// policy counts as already present). Transient answers (429, 502, 503,
/// 504) are tried again with the backoff of delivery.
pub async fn apply_plan(
    client: &lakeship::delivery::OpenSearchClient,
    plan: &[InstallRequest],
) -> std::result::Result<InstallReport, lakeship::delivery::DeliveryError> {
    use futures::stream::{self, StreamExt, TryStreamExt};

    let plugins = installed_plugins(client).await?;
    let mut report = InstallReport::default();
    for kind in [InstallKind::ComponentTemplate, InstallKind::IndexTemplate, InstallKind::IsmPolicy] {
        let phase: Vec<&InstallRequest> = plan.iter().filter(|request| request.kind == kind).collect();
        let (applicable, skipped): (Vec<&InstallRequest>, Vec<&InstallRequest>) =
            phase.into_iter().partition(|request| match &request.condition {
                Some(InstallCondition::RequiresPlugin(plugin)) => plugins.iter().any(|installed| installed == plugin),
                None => true,
            });
        report.num_skipped += skipped.len();
        let outcomes: Vec<bool> = stream::iter(applicable).map(|request| send(client, request)).buffer_unordered(4).try_collect().await?;
        report.num_acknowledged += outcomes.iter().filter(|created| **created).count();
        report.num_already_present += outcomes.iter().filter(|created| !**created).count();
    }
    Ok(report)
}

/// Sends one request: `Ok(true)` if acknowledged, `Ok(false)` if an ISM
/// policy exists already.
async fn send(
    client: &lakeship::delivery::OpenSearchClient,
    request: &InstallRequest,
) -> std::result::Result<bool, lakeship::delivery::DeliveryError> {
    use lakeship::delivery::DeliveryError;
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::PUT);
    // A busy node answers 503 (process_cluster_event_timeout_exception) or
    // 429: tried again with the backoff of delivery.
    let response = client.json_retried(lakeship::delivery::ControlRetry::default(), method, &request.path, Some(&request.body)).await?;
    if response.status == 409 && request.kind == InstallKind::IsmPolicy {
        return Ok(false);
    }
    if !response.is_success() {
        return Err(DeliveryError::Http {
            request: format!("{} /{}", request.method, request.path),
            status: response.status,
            body: response.excerpt(),
        });
    }
    let answer = response.json()?;
    let acknowledged = answer["acknowledged"].as_bool().unwrap_or(true);
    if !acknowledged {
        return Err(DeliveryError::Protocol(format!("{} /{} was not acknowledged: {answer}", request.method, request.path)));
    }
    Ok(true)
}

/// The plugin component names `GET _cat/plugins` lists.
async fn installed_plugins(
    client: &lakeship::delivery::OpenSearchClient,
) -> std::result::Result<Vec<String>, lakeship::delivery::DeliveryError> {
    let answer = client.json_ok(reqwest::Method::GET, "_cat/plugins?format=json", None).await?;
    Ok(answer
        .as_array()
        .map(|rows| rows.iter().filter_map(|row| row["component"].as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}
