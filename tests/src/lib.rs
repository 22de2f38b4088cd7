//! Helpers for Lakeship's end-to-end tests: where the real services are and
//! clients that reach them.
//!
//! The services are started by `scripts/test.sh` (`make test`): a real
//! OpenSearch node and moto's server for S3, SQS and Step Functions. Their
//! addresses come from the environment and default to loopback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;

/// Region used with the local AWS endpoint.
pub const TEST_REGION: &str = "us-east-1";

/// Base URL of the real OpenSearch node (`LAKESHIP_TEST_OPENSEARCH`).
pub fn opensearch_url() -> String {
    std::env::var("LAKESHIP_TEST_OPENSEARCH").unwrap_or_else(|_| "http://127.0.0.1:9200".to_string())
}

/// Endpoint of the local AWS services (`LAKESHIP_TEST_AWS_ENDPOINT`).
pub fn aws_endpoint() -> String {
    std::env::var("LAKESHIP_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
}

/// AWS configuration for the local endpoint, with static test credentials.
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(aws_config::Region::new(TEST_REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "lakeship-tests"))
        .endpoint_url(aws_endpoint())
        .load()
        .await
}

/// A real `aws-sdk-s3` client for the local endpoint (path-style).
pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&aws_config().await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A real `aws-sdk-sqs` client for the local endpoint.
pub async fn sqs_client() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&aws_config().await)
}

/// A name no other test (or earlier run) uses: `prefix-<time>-<counter>`,
/// lower case, valid as an index, bucket or queue name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{count}", nanos % 1_000_000_000_000)
}

/// A plain HTTP client for direct requests to OpenSearch in assertions.
pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends a request to the OpenSearch node and returns the JSON answer,
/// failing the test on a non-success status.
pub async fn opensearch(method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let url = format!("{}/{}", opensearch_url(), path.trim_start_matches('/'));
    let mut request = http().request(method.clone(), &url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap_or_else(|error| panic!("{method} {url} failed: {error}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert!(status.is_success(), "{method} {url} answered {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{method} {url}: not JSON ({error}): {text}"))
}

/// Refreshes indices and counts their documents.
pub async fn count(index_pattern: &str) -> u64 {
    opensearch(reqwest::Method::POST, &format!("{index_pattern}/_refresh"), None).await;
    let answer = opensearch(reqwest::Method::GET, &format!("{index_pattern}/_count"), None).await;
    answer["count"].as_u64().unwrap_or_else(|| panic!("no count in {answer}"))
}

/// The repository's root directory.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|path| path.to_path_buf()).unwrap_or_default()
}
