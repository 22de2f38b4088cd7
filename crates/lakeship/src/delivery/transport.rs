//! What the sink stands on, as traits: where bulk bodies go (OpenSearch, or
//! a scripted peer in unit tests), where rejected documents go (the
//! dead-letter store), and who wants to hear about outcomes as they come
//! (progress displays). Delivery needs nothing else from the rest of the
//! crate.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use super::DeliveryError;
use super::bulk::BULK_PATH;
use super::client::{OpenSearchClient, Response};
use super::counts::ItemCounts;

/// A boxed future that may move between threads.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where bulk request bodies go.
pub trait BulkTransport: Send + Sync + 'static {
    /// Sends one NDJSON bulk body; a connection failure is
    /// `DeliveryError::Connection`, any HTTP answer (also 4xx/5xx) a
    /// `Response`.
    fn bulk(&self, body: Bytes) -> BoxFuture<'_, Result<Response, DeliveryError>>;
}

impl BulkTransport for OpenSearchClient {
    fn bulk(&self, body: Bytes) -> BoxFuture<'_, Result<Response, DeliveryError>> {
        Box::pin(self.send(reqwest::Method::POST, BULK_PATH, "application/x-ndjson", body))
    }
}

/// Where documents refused for good go, as lines written by
/// [`crate::convert::write_reject`] (the dead-letter store in a run).
pub trait RejectSink: Send {
    /// Adds `num_rejects` rejects, written as `lines`.
    fn append<'a>(&'a mut self, lines: &'a [u8], num_rejects: u64) -> BoxFuture<'a, Result<(), String>>;
    /// Stores what is buffered; returns the number of rejects and where
    /// they are.
    fn finish(&mut self) -> BoxFuture<'_, Result<(u64, Vec<String>), String>>;
}

/// Hears about document outcomes as requests complete.
pub trait DeliveryObserver: Send + Sync {
    /// `counts` more documents have their outcome.
    fn delivered(&self, counts: &ItemCounts);
}
