//! Importing saved objects through the OpenSearch Dashboards API:
//! `POST <dashboards>/api/saved_objects/_import?overwrite=true` with the
//! `.ndjson` file as a `multipart/form-data` upload and the `osd-xsrf`
//! header Dashboards requires of every API call that changes something.
//!
//! [`import_request`] builds the request (pure, tested byte for byte);
//! [`DashboardsClient`] sends it, authenticated like OpenSearch requests
//! (HTTP basic, or SigV4 with service `es` on Amazon OpenSearch Service,
//! where Dashboards is the domain endpoint plus `/_dashboards`). It has its
//! own small HTTP client because the OpenSearch client sends no custom
//! headers.

use std::time::SystemTime;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{DashboardError, Result};
use lakeship::config::Config;
use lakeship::delivery::auth::{Auth, basic_header, load_credentials, sigv4_headers};
use lakeship::delivery::{ClientOptions, DeliveryError};

/// Options of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Replace objects that exist with the same id (`overwrite=true`);
    /// without it, existing objects are reported as conflicts and kept.
    pub overwrite: bool,
    /// Security plugin tenant to import into (`securitytenant` header), e.g.
    /// `global`; the user's default tenant when none.
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
    /// Path and query below the Dashboards base URL.
    pub path: String,
    /// Headers besides authentication (content type, `osd-xsrf`, tenant).
    pub headers: Vec<(String, String)>,
    /// The multipart body.
    pub body: Vec<u8>,
}

/// The request that imports `ndjson` as file `file_name` (Dashboards only
/// accepts names ending in `.ndjson`). The multipart boundary derives from
/// the content, so the same file gives the same bytes.
pub fn import_request(file_name: &str, ndjson: &[u8], options: &ImportOptions) -> Result<ImportRequest> {
    if !file_name.ends_with(".ndjson") || file_name.contains(['"', '\r', '\n']) {
        return Err(DashboardError::invalid(file_name, "the file name must end in .ndjson (and hold no quotes or line breaks)"));
    }
    let boundary = boundary_for(ndjson);
    let mut body = Vec::with_capacity(ndjson.len() + 256);
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(format!("Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n").as_bytes());
    body.extend_from_slice(b"Content-Type: application/ndjson\r\n\r\n");
    body.extend_from_slice(ndjson);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut headers = vec![
        ("content-type".to_string(), format!("multipart/form-data; boundary={boundary}")),
        ("osd-xsrf".to_string(), "true".to_string()),
    ];
    if let Some(tenant) = &options.tenant {
        headers.push(("securitytenant".to_string(), tenant.clone()));
    }
    Ok(ImportRequest { path: format!("api/saved_objects/_import?overwrite={}", options.overwrite), headers, body })
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

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOutcome {
    /// True when every object was imported.
    pub success: bool,
    /// Objects imported.
    pub num_imported: u64,
    /// Objects that were not.
    pub failures: Vec<ImportFailure>,
}

/// Reads the answer to an import request (status and body).
pub fn parse_import_response(status: u16, body: &[u8]) -> Result<ImportOutcome> {
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
    let failures = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|error| ImportFailure {
            object: format!("{} {}", error["type"].as_str().unwrap_or("?"), error["id"].as_str().unwrap_or("?")),
            title: error["title"].as_str().unwrap_or_default().to_string(),
            error: error["error"]["type"].as_str().unwrap_or("unknown").to_string(),
            detail: error["error"].to_string(),
        })
        .collect();
    Ok(ImportOutcome {
        success: answer["success"].as_bool().unwrap_or(false),
        num_imported: answer["successCount"].as_u64().unwrap_or(0),
        failures,
    })
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

    /// Sends an import request; transient answers (429, 502, 503, 504) are
    /// tried again with the backoff of delivery (an import with
    /// `overwrite=true` is idempotent).
    pub async fn import(&self, request: &ImportRequest) -> Result<ImportOutcome> {
        let (status, body) = lakeship::delivery::retry::with_retries(
            lakeship::delivery::RetryPolicy::default(),
            "POST saved objects import",
            || self.send_import(request),
            |outcome| match outcome {
                Ok((status, _)) if lakeship::delivery::retry::is_transient_status(*status) => Some(None),
                _ => None,
            },
        )
        .await?;
        parse_import_response(status, &body)
    }

    async fn send_import(&self, request: &ImportRequest) -> Result<(u16, bytes::Bytes)> {
        let url = reqwest::Url::parse(&format!("{}/{}", self.base.as_str().trim_end_matches('/'), request.path))
            .map_err(|error| DeliveryError::Configuration(format!("invalid import URL: {error}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            insert(&mut headers, name, value, false)?;
        }
        self.authenticate(&url, &request.body, &mut headers).await?;
        let response = self
            .http
            .post(url.clone())
            .headers(headers)
            .body(request.body.clone())
            .send()
            .await
            .map_err(|error| unreachable(&url, &error))?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|error| unreachable(&url, &error))?;
        Ok((status, body))
    }

    async fn authenticate(&self, url: &reqwest::Url, body: &[u8], headers: &mut HeaderMap) -> Result<()> {
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
                let added = sigv4_headers("POST", url.as_str(), &signed, body, &credentials, region, *service, SystemTime::now())
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
