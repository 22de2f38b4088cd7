//! Importing saved objects through the OpenSearch Dashboards API, with the
//! `.ndjson` file as a `multipart/form-data` upload and the `osd-xsrf`
//! header Dashboards requires of every API call that changes something.
//!
//! What Dashboards really writes is read from its own import code
//! (opensearch-project/OpenSearch-Dashboards
//! `src/core/server/saved_objects/import/`: `import_saved_objects.ts` at
//! commit 03483e4, `create_saved_objects.ts` at 21e4273, `check_conflicts.ts`
//! at 0d47d87, `resolve_import_errors.ts` at 1eb37e6, `types.ts` at 0db2dd8,
//! and `routes/resolve_import_errors.ts` at 096681b):
//!
//! - `_import` collects every error first (conflicts, missing references,
//!   …); when any of them is `conflict`, `ambiguous_conflict` or
//!   `missing_references`, `createSavedObjects` skips the bulk create
//!   altogether — nothing is written — yet returns every other object as
//!   created, so `successCount` counts objects that were not written. The
//!   answer is read accordingly ([`ImportAnswer::blocked`]).
//! - `_resolve_import_errors` imports only the objects named in `retries`
//!   (a form field of the body, JSON), each with its own `overwrite`.
//!
//! So the requests carry no URL parameters at all: replacing objects is
//! `_resolve_import_errors` with every object retried with `overwrite:
//! true`; keeping existing objects (`--no-overwrite`) is `_import` (which
//! defaults to `overwrite=false` and writes everything when nothing exists
//! yet), then, if only conflicts stopped it, `_resolve_import_errors` with
//! the objects that do not conflict. Amazon OpenSearch Service ignores URL
//! parameters of SigV4-signed POST requests ("Making and signing OpenSearch
//! Service requests",
//! <https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-signing-service-requests.html>),
//! which would silently turn `?overwrite=true` into `false`.
//!
//! [`import_request`] and [`resolve_request`] build the requests (pure,
//! tested byte for byte); [`DashboardsClient`] sends them, authenticated
//! like OpenSearch requests (HTTP basic, or SigV4 with service `es` on
//! Amazon OpenSearch Service, where Dashboards is the domain endpoint plus
//! `/_dashboards`), after checking the tenant (see `tenant`). It has its own
//! small HTTP client because the OpenSearch client sends no custom headers.

use std::collections::HashSet;
use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::tenant::{TenantCheck, authinfo_path, check_tenant};
use super::{DashboardError, Result};
use lakeship::config::Config;
use lakeship::delivery::auth::{Auth, basic_header, load_credentials, sigv4_headers};
use lakeship::delivery::{ClientOptions, DeliveryError};

/// Options of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Replace objects that exist with the same id; without it, existing
    /// objects are kept and the others are written.
    pub overwrite: bool,
    /// Security plugin tenant to import into (`securitytenant` header), e.g.
    /// `global`; the user's default tenant when none. Checked before
    /// anything is written: the security plugin falls back to another
    /// tenant when this one is missing or not permitted.
    pub tenant: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions { overwrite: true, tenant: None }
    }
}

/// An import request, ready to send to a Dashboards base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRequest {
    /// Path below the Dashboards base URL (never with a query).
    pub path: String,
    /// Headers besides authentication (content type, `osd-xsrf`, tenant).
    pub headers: Vec<(String, String)>,
    /// The multipart body.
    pub body: Vec<u8>,
}

/// One object to import again with `_resolve_import_errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Saved object type.
    pub kind: String,
    /// Saved object id.
    pub id: String,
    /// Replace the object if it exists.
    pub overwrite: bool,
}

impl Retry {
    fn to_json(&self) -> Value {
        json!({"type": self.kind, "id": self.id, "overwrite": self.overwrite, "replaceReferences": []})
    }
}

/// `POST api/saved_objects/_import` of `ndjson` as file `file_name`
/// (Dashboards only accepts names ending in `.ndjson`), without URL
/// parameters: existing objects are conflicts. The multipart boundary
/// derives from the content, so the same file gives the same bytes.
pub fn import_request(file_name: &str, ndjson: &[u8], options: &ImportOptions) -> Result<ImportRequest> {
    multipart_request("api/saved_objects/_import", file_name, ndjson, None, options)
}

/// `POST api/saved_objects/_resolve_import_errors` of `ndjson` importing the
/// objects of `retries` only, each replaced or not as its retry says.
pub fn resolve_request(file_name: &str, ndjson: &[u8], retries: &[Retry], options: &ImportOptions) -> Result<ImportRequest> {
    let retries = Value::Array(retries.iter().map(Retry::to_json).collect()).to_string();
    multipart_request("api/saved_objects/_resolve_import_errors", file_name, ndjson, Some(&retries), options)
}

fn multipart_request(path: &str, file_name: &str, ndjson: &[u8], retries: Option<&str>, options: &ImportOptions) -> Result<ImportRequest> {
    if !file_name.ends_with(".ndjson") || file_name.contains(['"', '\r', '\n']) {
        return Err(DashboardError::invalid(file_name, "the file name must end in .ndjson (and hold no quotes or line breaks)"));
    }
    let boundary = boundary_for(&[ndjson, retries.unwrap_or_default().as_bytes()].concat());
    let mut body = Vec::with_capacity(ndjson.len() + 512);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(format!("Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n").as_bytes());
    body.extend_from_slice(b"Content-Type: application/ndjson\r\n\r\n");
    body.extend_from_slice(ndjson);
    if let Some(retries) = retries {
        body.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
        body.extend_from_slice(b"Content-Disposition: form-data; name=\"retries\"\r\n\r\n");
        body.extend_from_slice(retries.as_bytes());
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut headers = vec![
        ("content-type".to_string(), format!("multipart/form-data; boundary={boundary}")),
        ("osd-xsrf".to_string(), "true".to_string()),
    ];
    if let Some(tenant) = &options.tenant {
        headers.push(("securitytenant".to_string(), tenant.clone()));
    }
    Ok(ImportRequest { path: path.to_string(), headers, body })
}

/// A boundary that does not occur in `content`.
fn boundary_for(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let hex: String = digest.iter().take(12).map(|byte| format!("{byte:02x}")).collect();
    let mut boundary = format!("lakeship-{hex}");
    while content.windows(boundary.len()).any(|window| window == boundary.as_bytes()) {
        boundary.push('x');
    }
    boundary
}

/// The `type` and `id` of every object of an `.ndjson` file.
pub fn object_keys(ndjson: &[u8]) -> Result<Vec<(String, String)>> {
    let text = std::str::from_utf8(ndjson).map_err(|error| DashboardError::invalid("ndjson", error.to_string()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let object: Value = serde_json::from_str(line).map_err(|error| DashboardError::invalid("ndjson", error.to_string()))?;
            match (object["type"].as_str(), object["id"].as_str()) {
                (Some(kind), Some(id)) => Ok((kind.to_string(), id.to_string())),
                _ => Err(DashboardError::invalid("ndjson", "an object without type or id")),
            }
        })
        .collect()
}

/// One object Dashboards did not import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// Type and id.
    pub object: String,
    /// Title, when given.
    pub title: String,
    /// `conflict`, `missing_references`, `unsupported_type`, `unknown`, …
    pub error: String,
    /// The error as Dashboards gave it.
    pub detail: String,
}

/// The error types after which Dashboards writes nothing of the request
/// (`resolvableErrors` of `create_saved_objects.ts`).
const BLOCKING_ERRORS: [&str; 3] = ["conflict", "ambiguous_conflict", "missing_references"];

/// An answer of `_import` or `_resolve_import_errors`, as Dashboards gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAnswer {
    /// `success`: no error at all.
    pub success: bool,
    /// `successCount`: objects Dashboards calls imported.
    pub success_count: u64,
    /// `successResults`, as `type id`.
    pub created: Vec<String>,
    /// `errors`.
    pub errors: Vec<ImportFailure>,
}

impl ImportAnswer {
    /// True when an error stopped Dashboards from writing anything of the
    /// request: `created` and `successCount` then name objects that were
    /// not written.
    pub fn blocked(&self) -> bool {
        self.errors.iter().any(|failure| BLOCKING_ERRORS.contains(&failure.error.as_str()))
    }
}

/// Reads the answer to an import request (status and body).
pub fn parse_import_response(status: u16, body: &[u8]) -> Result<ImportAnswer> {
    let excerpt = || String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    if !(200..300).contains(&status) {
        let hint = match status {
            401 | 403 => " (check the credentials and that the user may write saved objects)",
            404 => " (is the URL the Dashboards base URL? On Amazon OpenSearch Service it is https://<domain endpoint>/_dashboards)",
            _ => "",
        };
        return Err(DashboardError::Refused { status, hint, body: excerpt() });
    }
    let answer: Value = serde_json::from_slice(body).map_err(|error| DashboardError::Refused {
        status,
        hint: " (the answer is not JSON)",
        body: format!("{error}: {}", excerpt()),
    })?;
    let key = |item: &Value| format!("{} {}", item["type"].as_str().unwrap_or("?"), item["id"].as_str().unwrap_or("?"));
    let errors = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|error| ImportFailure {
            object: key(error),
            title: error["title"].as_str().or_else(|| error["meta"]["title"].as_str()).unwrap_or_default().to_string(),
            error: error["error"]["type"].as_str().unwrap_or("unknown").to_string(),
            detail: error["error"].to_string(),
        })
        .collect();
    Ok(ImportAnswer {
        success: answer["success"].as_bool().unwrap_or(false),
        success_count: answer["successCount"].as_u64().unwrap_or(0),
        created: answer["successResults"].as_array().into_iter().flatten().map(key).collect(),
        errors,
    })
}

/// What an import really did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Objects written (`type id`).
    pub written: Vec<String>,
    /// Objects that exist and were kept as they are (`--no-overwrite`).
    pub kept: Vec<ImportFailure>,
    /// Objects Dashboards refused.
    pub failures: Vec<ImportFailure>,
    /// Objects Dashboards would have written but did not, because of the
    /// failures (it writes nothing while one object conflicts or misses a
    /// reference).
    pub withheld: Vec<String>,
    /// The tenant the objects went to, as the security plugin resolved it
    /// (`None` without the security plugin's multi-tenancy).
    pub tenant: Option<String>,
}

impl ImportOutcome {
    /// True when every object was written or kept on purpose.
    pub fn success(&self) -> bool {
        self.failures.is_empty() && self.withheld.is_empty()
    }

    /// What `answer` wrote, and what it refused or withheld; the errors of
    /// objects in `kept` are not failures.
    pub fn of_answer(answer: ImportAnswer, kept: Vec<ImportFailure>) -> ImportOutcome {
        let blocked = answer.blocked();
        let (written, withheld) = if blocked { (Vec::new(), answer.created) } else { (answer.created, Vec::new()) };
        ImportOutcome { written, kept, failures: answer.errors, withheld, tenant: None }
    }
}

/// The retries of the objects of a file that `first` (an `_import` without
/// overwrite) did not write only because others conflict: every object but
/// the conflicting ones, not replaced. `None` when there is nothing to
/// retry: `first` wrote everything, or an error other than a conflict
/// stopped it (that error stays).
pub fn retries_after_conflicts(objects: &[(String, String)], first: &ImportAnswer) -> Option<Vec<Retry>> {
    if !first.blocked() || first.errors.iter().any(|failure| failure.error != "conflict") {
        return None;
    }
    let conflicting: HashSet<&str> = first.errors.iter().map(|failure| failure.object.as_str()).collect();
    Some(
        objects
            .iter()
            .filter(|(kind, id)| !conflicting.contains(format!("{kind} {id}").as_str()))
            .map(|(kind, id)| Retry { kind: kind.clone(), id: id.clone(), overwrite: false })
            .collect(),
    )
}

/// A client for one OpenSearch Dashboards base URL.
#[derive(Debug, Clone)]
pub struct DashboardsClient {
    http: reqwest::Client,
    base: reqwest::Url,
    auth: Auth,
}

impl DashboardsClient {
    /// A client for `options.endpoint` (the Dashboards base URL, e.g.
    /// `https://search-x.eu-west-1.es.amazonaws.com/_dashboards`).
    pub fn new(options: &ClientOptions) -> Result<DashboardsClient> {
        let configuration = |message: String| DashboardError::Delivery(DeliveryError::Configuration(message));
        let base = reqwest::Url::parse(options.endpoint.trim_end_matches('/'))
            .map_err(|error| configuration(format!("invalid Dashboards URL {:?}: {error}", options.endpoint)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(configuration(format!("the Dashboards URL {} must be http:// or https://", options.endpoint)));
        }
        let mut builder = reqwest::Client::builder().timeout(options.timeout);
        if let Some(bundle) = &options.ca_bundle {
            for certificate in
                reqwest::Certificate::from_pem_bundle(bundle).map_err(|error| configuration(format!("invalid CA bundle: {error}")))?
            {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if options.insecure {
            tracing::warn!("TLS certificate verification is off");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|error| configuration(format!("HTTP client: {error}")))?;
        Ok(DashboardsClient { http, base, auth: options.auth.clone() })
    }

    /// A client for `url` with the authentication of `config` (basic, or
    /// SigV4 with its region and optional role; service `es`, which is
    /// what Dashboards on a managed domain expects).
    pub async fn from_config(config: &Config, url: &str) -> Result<DashboardsClient> {
        let configuration = |message: &str| DashboardError::Delivery(DeliveryError::Configuration(message.to_string()));
        let mut auth = lakeship::delivery::auth::resolve(&config.auth, config.aws.region.as_deref())
            .await
            .map_err(|error| configuration(&error.to_string()))?;
        if let Auth::SigV4 { service, .. } = &mut auth {
            *service = lakeship::delivery::SigV4Service::Es;
        }
        let mut options = ClientOptions::new(url).with_auth(auth);
        options.insecure = config.insecure;
        if let Some(path) = &config.ca_bundle {
            options.ca_bundle = Some(std::fs::read(path).map_err(|error| DashboardError::io(path, error))?);
        }
        DashboardsClient::new(&options)
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// Imports one file: checks the tenant, then replaces every object
    /// (`options.overwrite`) or writes those that do not exist yet, and
    /// says what was really written.
    pub async fn import_file(&self, file_name: &str, ndjson: &[u8], options: &ImportOptions) -> Result<ImportOutcome> {
        let tenant = self.check_tenant(options.tenant.as_deref()).await?;
        let objects = object_keys(ndjson)?;
        let mut outcome = if options.overwrite {
            let retries: Vec<Retry> =
                objects.iter().map(|(kind, id)| Retry { kind: kind.clone(), id: id.clone(), overwrite: true }).collect();
            ImportOutcome::of_answer(self.send_import(&resolve_request(file_name, ndjson, &retries, options)?).await?, Vec::new())
        } else {
            let first = self.send_import(&import_request(file_name, ndjson, options)?).await?;
            match retries_after_conflicts(&objects, &first) {
                None => ImportOutcome::of_answer(first, Vec::new()),
                Some(retries) if retries.is_empty() => ImportOutcome { kept: first.errors, ..ImportOutcome::default() },
                Some(retries) => {
                    let second = self.send_import(&resolve_request(file_name, ndjson, &retries, options)?).await?;
                    ImportOutcome::of_answer(second, first.errors)
                }
            }
        };
        outcome.tenant = tenant.resolved;
        Ok(outcome)
    }

    /// The tenant the security plugin resolves for `requested`; an error
    /// when it is not that one (the plugin falls back to another tenant
    /// when the requested one is missing or not permitted) or is read-only.
    pub async fn check_tenant(&self, requested: Option<&str>) -> Result<TenantCheck> {
        let mut headers = Vec::new();
        if let Some(tenant) = requested {
            headers.push(("securitytenant".to_string(), tenant.to_string()));
        }
        let (status, body) = self.send_retried(reqwest::Method::GET, authinfo_path(), &headers, &[]).await?;
        check_tenant(requested, status, &body)
    }

    /// Sends an import request and reads the answer; transient answers
    /// (429, 502, 503, 504) are tried again with the backoff of delivery
    /// (imports are idempotent: the same ids, the same objects).
    pub async fn send_import(&self, request: &ImportRequest) -> Result<ImportAnswer> {
        let (status, body) = self.send_retried(reqwest::Method::POST, &request.path, &request.headers, &request.body).await?;
        parse_import_response(status, &body)
    }

    async fn send_retried(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<(u16, bytes::Bytes)> {
        lakeship::delivery::retry::with_retries(
            lakeship::delivery::RetryPolicy::default(),
            "OpenSearch Dashboards API",
            || self.send(method.clone(), path, headers, body),
            |outcome| match outcome {
                Ok((status, _)) if lakeship::delivery::retry::is_transient_status(*status) => Some(None),
                _ => None,
            },
        )
        .await
    }

    async fn send(&self, method: reqwest::Method, path: &str, extra: &[(String, String)], body: &[u8]) -> Result<(u16, bytes::Bytes)> {
        let url = reqwest::Url::parse(&format!("{}/{}", self.base.as_str().trim_end_matches('/'), path))
            .map_err(|error| DeliveryError::Configuration(format!("invalid Dashboards URL: {error}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in extra {
            insert(&mut headers, name, value, false)?;
        }
        self.authenticate(method.as_str(), &url, body, &mut headers).await?;
        let response = self
            .http
            .request(method, url.clone())
            .headers(headers)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| unreachable(&url, &error))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| unreachable(&url, &error))?;
        Ok((status, body))
    }

    async fn authenticate(&self, method: &str, url: &reqwest::Url, body: &[u8], headers: &mut HeaderMap) -> Result<()> {
        match &self.auth {
            Auth::None => {}
            Auth::Basic { username, password } => insert(headers, "authorization", &basic_header(username, password), true)?,
            Auth::SigV4 { service, region, credentials } => {
                let configuration = |message: String| DashboardError::Delivery(DeliveryError::Configuration(message));
                let credentials = load_credentials(credentials).await.map_err(|error| configuration(error.to_string()))?;
                let host = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                };
                let existing: Vec<(String, String)> = headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
                    .collect();
                let mut signed: Vec<(&str, &str)> = vec![("host", host.as_str())];
                signed.extend(existing.iter().map(|(name, value)| (name.as_str(), value.as_str())));
                let added = sigv4_headers(method, url.as_str(), &signed, body, &credentials, region, *service, SystemTime::now())
                    .map_err(|error| configuration(error.to_string()))?;
                for (name, value) in added {
                    insert(headers, &name, &value, true)?;
                }
            }
        }
        Ok(())
    }
}

/// The error of a request that got no (complete) answer, with its causes.
fn unreachable(url: &reqwest::Url, error: &dyn std::error::Error) -> DashboardError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.set_query(None);
    DashboardError::Unreachable { url: shown.to_string(), message }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &str, sensitive: bool) -> Result<()> {
    let invalid = |error: String| DashboardError::Delivery(DeliveryError::Configuration(format!("invalid header {name}: {error}")));
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|error| invalid(error.to_string()))?;
    let mut value = HeaderValue::from_str(value).map_err(|error| invalid(error.to_string()))?;
    value.set_sensitive(sensitive);
    headers.insert(name, value);
    Ok(())
}
