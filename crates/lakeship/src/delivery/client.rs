//! The HTTP client for OpenSearch: one place that builds, authenticates,
//! optionally compresses and sends requests.

use std::io::Write;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};

use super::DeliveryError;
use super::auth::{Auth, basic_header, load_credentials, sigv4_headers};

/// How to reach OpenSearch.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://search-x.us-east-1.es.amazonaws.com` or
    /// `http://127.0.0.1:9200`.
    pub endpoint: String,
    /// Authentication.
    pub auth: Auth,
    /// PEM bundle of extra CA certificates to trust.
    pub ca_bundle: Option<Vec<u8>>,
    /// Skip TLS certificate verification (never in production).
    pub insecure: bool,
    /// Compress request bodies with gzip.
    pub gzip: bool,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl ClientOptions {
    /// Options for an endpoint without authentication.
    pub fn new(endpoint: impl Into<String>) -> Self {
        ClientOptions {
            endpoint: endpoint.into(),
            auth: Auth::None,
            ca_bundle: None,
            insecure: false,
            gzip: false,
            timeout: Duration::from_secs(120),
        }
    }

    /// Sets the authentication.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets gzip compression of request bodies.
    pub fn with_gzip(mut self, gzip: bool) -> Self {
        self.gzip = gzip;
        self
    }
}

/// An answer from OpenSearch.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, DeliveryError> {
        if self.is_html() {
            return Err(DeliveryError::Protocol(format!("the answer ({}) is {}", self.status, self.excerpt())));
        }
        serde_json::from_slice(&self.body).map_err(|error| {
            DeliveryError::Protocol(format!(
                "answer ({}) is not JSON: {error}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            ))
        })
    }

    /// True when the body is an HTML page (a proxy, a login page, OpenSearch
    /// Dashboards …), which OpenSearch's API never sends.
    pub(crate) fn is_html(&self) -> bool {
        let start = String::from_utf8_lossy(&self.body[..self.body.len().min(512)]).trim_start().to_ascii_lowercase();
        start.starts_with("<!doctype html") || start.starts_with("<html") || start.starts_with("<head") || start.starts_with("<body")
    }

    /// A short excerpt of the body for error messages; an HTML page is
    /// named by its title instead of shown.
    pub fn excerpt(&self) -> String {
        if self.is_html() {
            let text = String::from_utf8_lossy(&self.body);
            let title = html_title(&text).map(|title| format!(" titled {title:?}")).unwrap_or_default();
            return format!(
                "an HTML page{title}, not an OpenSearch answer: is the endpoint OpenSearch's REST API (not Dashboards or a proxy)?"
            );
        }
        String::from_utf8_lossy(&self.body[..self.body.len().min(500)]).into_owned()
    }
}

/// A client for one OpenSearch endpoint. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OpenSearchClient {
    http: reqwest::Client,
    base: reqwest::Url,
    options: std::sync::Arc<ClientOptions>,
}

impl OpenSearchClient {
    /// Builds a client.
    pub fn new(options: ClientOptions) -> Result<Self, DeliveryError> {
        let base = reqwest::Url::parse(options.endpoint.trim_end_matches('/'))
            .map_err(|error| DeliveryError::Configuration(format!("invalid endpoint {:?}: {error}", options.endpoint)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(DeliveryError::Configuration(format!("endpoint {} must be http:// or https://", options.endpoint)));
        }
        let mut builder = reqwest::Client::builder().timeout(options.timeout).pool_max_idle_per_host(8);
        if let Some(bundle) = &options.ca_bundle {
            let certificates = reqwest::Certificate::from_pem_bundle(bundle)
                .map_err(|error| DeliveryError::Configuration(format!("invalid CA bundle: {error}")))?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if options.insecure {
            tracing::warn!("TLS certificate verification is off");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|error| DeliveryError::Configuration(format!("HTTP client: {error}")))?;
        Ok(OpenSearchClient { http, base, options: std::sync::Arc::new(options) })
    }

    /// The endpoint's base URL.
    pub fn endpoint(&self) -> &str {
        self.base.as_str()
    }

    /// True when request bodies are gzip-compressed.
    pub fn gzip(&self) -> bool {
        self.options.gzip
    }

    fn url(&self, path_and_query: &str) -> Result<reqwest::Url, DeliveryError> {
        let base = self.base.as_str().trim_end_matches('/');
        reqwest::Url::parse(&format!("{base}/{}", path_and_query.trim_start_matches('/')))
            .map_err(|error| DeliveryError::Configuration(format!("invalid request path {path_and_query:?}: {error}")))
    }

    /// Sends a request with a JSON body (or none).
    pub async fn json(&self, method: reqwest::Method, path: &str, body: Option<&serde_json::Value>) -> Result<Response, DeliveryError> {
        let body = match body {
            Some(value) => Bytes::from(serde_json::to_vec(value).map_err(|e| DeliveryError::Protocol(e.to_string()))?),
            None => Bytes::new(),
        };
        self.send(method, path, "application/json", body).await
    }

    /// Sends a request; connection failures are `DeliveryError::Connection`,
    /// any HTTP answer (also 4xx/5xx) is a `Response`.
    pub async fn send(&self, method: reqwest::Method, path: &str, content_type: &str, body: Bytes) -> Result<Response, DeliveryError> {
        let url = self.url(path)?;
        let mut headers = HeaderMap::new();
        let compress = self.options.gzip && !body.is_empty();
        let body = if compress { gzip(&body)? } else { body };
        if !body.is_empty() {
            headers.insert(reqwest::header::CONTENT_TYPE, header_value(content_type)?);
        }
        if compress {
            headers.insert(reqwest::header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        self.authenticate(method.as_str(), &url, &body, &mut headers).await?;
        let response = self
            .http
            .request(method.clone(), url.clone())
            .headers(headers)
            .body(body)
            .send()
            .await
            .map_err(|error| connection_error(&method, &url, &error))?;
        let status = response.status().as_u16();
        let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|value| value.to_str().ok()).map(str::to_string);
        let body = response
            .bytes()
            .await
            .map_err(|error| DeliveryError::Connection(format!("{method} {}: reading the answer: {error}", redact(&url))))?;
        Ok(Response { status, retry_after, body })
    }

    async fn authenticate(&self, method: &str, url: &reqwest::Url, body: &[u8], headers: &mut HeaderMap) -> Result<(), DeliveryError> {
        match &self.options.auth {
            Auth::None => {}
            Auth::Basic { username, password } => {
                let mut value = header_value(&basic_header(username, password))?;
                value.set_sensitive(true);
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
            Auth::SigV4 { service, region, credentials } => {
                let credentials = load_credentials(credentials).await.map_err(|error| DeliveryError::Configuration(error.to_string()))?;
                let host = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                };
                let mut signed_headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
                let existing: Vec<(String, String)> = headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
                    .collect();
                signed_headers.extend(existing.iter().map(|(name, value)| (name.as_str(), value.as_str())));
                let signed = sigv4_headers(method, url.as_str(), &signed_headers, body, &credentials, region, *service, SystemTime::now())
                    .map_err(|error| DeliveryError::Configuration(error.to_string()))?;
                for (name, value) in signed {
                    let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|error| DeliveryError::Configuration(error.to_string()))?;
                    let mut value = header_value(&value)?;
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
            }
        }
        Ok(())
    }
}

fn header_value(text: &str) -> Result<HeaderValue, DeliveryError> {
    HeaderValue::from_str(text).map_err(|error| DeliveryError::Configuration(format!("invalid header value: {error}")))
}

fn gzip(body: &[u8]) -> Result<Bytes, DeliveryError> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 6), flate2::Compression::fast());
    encoder.write_all(body).map_err(|error| DeliveryError::Protocol(format!("gzip: {error}")))?;
    encoder.finish().map(Bytes::from).map_err(|error| DeliveryError::Protocol(format!("gzip: {error}")))
}

/// The error of a request that got no answer: an untrusted certificate is a
/// configuration error (trying again cannot help); anything else is a
/// connection error, described by its cause.
fn connection_error(method: &reqwest::Method, url: &reqwest::Url, error: &reqwest::Error) -> DeliveryError {
    let chain = error_chain(error);
    let shown = redact(url);
    if is_certificate_problem(&chain) {
        return DeliveryError::Configuration(format!(
            "{method} {shown}: the server's TLS certificate is not trusted ({}): pass --ca-bundle FILE (LAKESHIP_CA_BUNDLE) with the CA \
             that signed it, or --insecure for development only",
            certificate_detail(&chain)
        ));
    }
    let lower = chain.to_ascii_lowercase();
    let cause = if lower.contains("connection refused") {
        "connection refused: is OpenSearch running there, on that port?".to_string()
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        "the host name does not resolve: check the endpoint".to_string()
    } else if lower.contains("corrupt message") || lower.contains("wrong version number") {
        "the server does not answer TLS: is the endpoint http://, not https://?".to_string()
    } else if error.is_timeout() {
        "no answer in time".to_string()
    } else {
        chain
    };
    DeliveryError::Connection(format!("{method} {shown}: {cause}"))
}

fn is_certificate_problem(chain: &str) -> bool {
    let lower = chain.to_ascii_lowercase();
    [
        "invalid peer certificate",
        "certificate verify failed",
        "unknownissuer",
        "unknown issuer",
        "certificate has expired",
        "notvalidforname",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// What is wrong with the certificate, in words.
fn certificate_detail(chain: &str) -> &'static str {
    let lower = chain.to_ascii_lowercase();
    if lower.contains("causedasendentity") || lower.contains("self signed") || lower.contains("self-signed") {
        "it is self-signed"
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "it is signed by a CA this machine does not trust"
    } else if lower.contains("expired") {
        "it has expired"
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "it is not valid for this host name"
    } else {
        "it does not verify"
    }
}

/// The `<title>` of an HTML page.
fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let start = start + lower[start..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title: String = html.get(start..end)?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then(|| title.chars().take(80).collect())
}

/// What `GET /` of an OpenSearch endpoint says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// `version.distribution` (`opensearch`), when given.
    pub distribution: Option<String>,
    /// `version.number`, when given.
    pub version: Option<String>,
}

impl OpenSearchClient {
    /// Checks at start-up that the endpoint is OpenSearch and answers:
    /// every failure is a configuration error whose message says what to
    /// check (nothing is retried: a command that cannot reach its cluster at
    /// all should say so at once).
    pub async fn check_reachable(&self) -> Result<ClusterInfo, DeliveryError> {
        let shown = redact(&self.base);
        let response = match self.json(reqwest::Method::GET, "", None).await {
            Ok(response) => response,
            Err(DeliveryError::Connection(message)) => {
                return Err(DeliveryError::Configuration(format!(
                    "cannot reach OpenSearch: {message} (the endpoint is set with --endpoint or LAKESHIP_ENDPOINT)"
                )));
            }
            Err(error) => return Err(error),
        };
        if response.is_html() {
            return Err(DeliveryError::Configuration(format!("{shown} answered with {}", response.excerpt())));
        }
        match response.status {
            401 => {
                return Err(DeliveryError::Configuration(format!(
                    "{shown} answered 401 Unauthorized: check --auth and the credentials (LAKESHIP_USERNAME and LAKESHIP_PASSWORD for basic, \
                     the AWS identity for sigv4)"
                )));
            }
            403 => {
                return Err(DeliveryError::Configuration(format!(
                    "{shown} answered 403 Forbidden: the identity is not allowed (check the domain's access policy or the security plugin's \
                     role mapping): {}",
                    response.excerpt()
                )));
            }
            _ => {}
        }
        let answer: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or(serde_json::Value::Null);
        if !answer.is_object() {
            return Err(DeliveryError::Configuration(format!(
                "{shown} answered {} with something that is not JSON, so it is not OpenSearch's REST API: {}",
                response.status,
                response.excerpt()
            )));
        }
        if !response.is_success() && response.status != 404 {
            return Err(DeliveryError::Http { request: "GET /".to_string(), status: response.status, body: response.excerpt() });
        }
        let version = &answer["version"];
        Ok(ClusterInfo {
            distribution: version["distribution"].as_str().map(str::to_string),
            version: version["number"].as_str().map(str::to_string),
        })
    }
}

/// The URL without user info, for messages.
fn redact(url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
