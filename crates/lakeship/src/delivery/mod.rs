//! Delivery to OpenSearch: an authenticated client, bulk requests cut by
//! bytes and documents, a number in flight that adapts to the domain, per-item outcomes, retries
//! of only the items that can succeed on retry, and dead letters for the rest.

pub mod auth;
pub mod bulk;
pub mod client;
pub mod concurrency;
pub mod counts;
pub mod retry;
pub mod sink;
pub mod transport;

use crate::errors::{ErrorName, NamedError};
pub use auth::{Auth, AuthConfig, SigV4Service};
pub use client::{ClientOptions, OpenSearchClient, Response};
pub use concurrency::{Concurrency, ConcurrencyController, RequestOutcome};
pub use counts::{DeliveryStats, ItemCounts};
pub use retry::{ControlRetry, RetryPolicy};
pub use sink::{BulkSink, DeliveryOptions, SinkReport};
pub use transport::{BulkTransport, DeliveryObserver, RejectSink};

/// Errors of delivery.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// The endpoint could not be reached or the connection broke.
    #[error("cannot reach OpenSearch: {0}")]
    Connection(String),
    /// An answer that could not be understood.
    #[error("unexpected answer from OpenSearch: {0}")]
    Protocol(String),
    /// Wrong endpoint, credentials or permissions.
    #[error("{0}")]
    Configuration(String),
    /// An HTTP error answer to a request.
    #[error("OpenSearch answered {status} to {request}: {body}")]
    Http {
        /// What was asked.
        request: String,
        /// The status.
        status: u16,
        /// An excerpt of the answer.
        body: String,
    },
    /// Retries ran out (attempts or time budget) while items still failed.
    #[error("gave up after {attempts} attempts ({num_pending} documents still failing{}): {last_error}", if *.throttled { ", throttled" } else { "" })]
    RetriesExhausted {
        /// True if the last failures were throttling (429).
        throttled: bool,
        /// Attempts made.
        attempts: u32,
        /// Documents not delivered.
        num_pending: usize,
        /// The last failure.
        last_error: String,
    },
    /// Dead letters could not be stored.
    #[error("cannot store dead letters: {0}")]
    DeadLetters(String),
}

impl DeliveryError {
    /// The name Step Functions sees for this error.
    pub fn name(&self) -> ErrorName {
        match self {
            DeliveryError::Connection(_) | DeliveryError::Protocol(_) | DeliveryError::DeadLetters(_) => ErrorName::Transient,
            DeliveryError::Configuration(_) => ErrorName::Configuration,
            DeliveryError::Http { status: 401 | 403 | 404, .. } => ErrorName::Configuration,
            DeliveryError::Http { status: 429, .. } => ErrorName::Throttled,
            DeliveryError::Http { .. } => ErrorName::Transient,
            DeliveryError::RetriesExhausted { throttled: true, .. } => ErrorName::Throttled,
            DeliveryError::RetriesExhausted { throttled: false, .. } => ErrorName::Transient,
        }
    }
}

impl From<DeliveryError> for NamedError {
    fn from(error: DeliveryError) -> Self {
        NamedError::new(error.name(), error.to_string())
    }
}

impl OpenSearchClient {
    /// Sends a JSON request and fails on a non-2xx answer; transient answers
    /// (429, 502, 503, 504) are tried again first, with the backoff of
    /// delivery.
    pub async fn json_ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, DeliveryError> {
        let response = self.json_retried(ControlRetry::default(), method.clone(), path, body).await?;
        if !response.is_success() {
            return Err(DeliveryError::Http { request: format!("{method} /{path}"), status: response.status, body: response.excerpt() });
        }
        if response.body.is_empty() { Ok(serde_json::Value::Null) } else { response.json() }
    }

    /// Sends a JSON request (as [`OpenSearchClient::json`]), trying it again
    /// while the answer is transient (429, 502, 503, 504; also a connection
    /// failure where `retry` says so). Meant for idempotent requests.
    pub async fn json_retried(
        &self,
        retry: ControlRetry,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Response, DeliveryError> {
        let what = format!("{method} /{path}");
        retry::with_retries(retry.policy, &what, || self.json(method.clone(), path, body), |outcome| transient_outcome(outcome, retry))
            .await
    }
}

/// `Some(Retry-After)` when an outcome is worth another attempt.
pub(crate) fn transient_outcome(outcome: &Result<Response, DeliveryError>, retry: ControlRetry) -> Option<Option<std::time::Duration>> {
    match outcome {
        Ok(response) if retry::is_transient_status(response.status) => Some(retry::parse_retry_after(response.retry_after.as_deref())),
        Err(DeliveryError::Connection(_)) if retry.connection_errors => Some(None),
        _ => None,
    }
}
