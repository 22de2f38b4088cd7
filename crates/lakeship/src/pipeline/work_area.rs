//! The work area of runs: an S3 prefix (the work bucket) or a local
//! directory, laid out as
//!
//! ```text
//! runs/<run_id>/manifest.json           the dispatcher's manifest
//! runs/<run_id>/shards.json             the shard list (the Map's items)
//! runs/<run_id>/results/<shard_id>.json one result per finished shard
//! runs/<run_id>/results/<shard_id>.partial.json  a shard stopped at its deadline
//! runs/<run_id>/page.json               the bounds of a backfill page
//! runs/<run_id>/report.json             the finalizer's report
//! dead-letters/<shard_id>/part-<hash of the letters' ids>.ndjson
//! ```

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::errors::{ErrorName, NamedError};
use crate::object::{Location, ObjectError, ObjectStore};

/// Where runs keep their files.
#[derive(Debug, Clone)]
pub struct WorkArea {
    store: ObjectStore,
    root: Location,
}

impl WorkArea {
    /// A work area at `root`.
    pub fn new(store: ObjectStore, root: Location) -> Self {
        WorkArea { store, root }
    }

    /// The store the work area lives in.
    pub fn store(&self) -> &ObjectStore {
        &self.store
    }

    /// The root location.
    pub fn root(&self) -> &Location {
        &self.root
    }

    /// `runs/<run_id>/<name>`.
    pub fn run_file(&self, run_id: &str, name: &str) -> Location {
        self.root.join(&format!("runs/{run_id}/{name}"))
    }

    /// `runs/<run_id>/results/<shard_id>.json`.
    pub fn result_file(&self, run_id: &str, shard_id: &str) -> Location {
        self.run_file(run_id, &format!("results/{shard_id}.json"))
    }

    /// `runs/<run_id>/results/<shard_id>.partial.json`: what a shard that
    /// stopped at its deadline finished (read back by its retry).
    pub fn partial_file(&self, run_id: &str, shard_id: &str) -> Location {
        self.run_file(run_id, &format!("results/{shard_id}.partial.json"))
    }

    /// `dead-letters/<shard_id>`: the prefix of the dead letters of a shard,
    /// the same in every attempt and every run that works the same pieces
    /// (part files are named by the letters they hold, see `dlq`).
    pub fn dead_letter_prefix(&self, shard_id: &str) -> Location {
        self.root.join(&format!("dead-letters/{shard_id}"))
    }

    /// Writes a JSON file.
    pub async fn put_json(&self, location: &Location, value: &impl Serialize) -> Result<(), NamedError> {
        let body = serde_json::to_vec_pretty(value)
            .map_err(|error| NamedError::new(ErrorName::Transient, format!("cannot encode {location}: {error}")))?;
        self.store.put(location, Bytes::from(body)).await.map_err(NamedError::from)
    }

    /// Reads a JSON file; `Ok(None)` if it does not exist.
    pub async fn get_json<T: DeserializeOwned>(&self, location: &Location) -> Result<Option<T>, NamedError> {
        let bytes = match self.store.get_small(location).await {
            Ok(bytes) => bytes,
            Err(ObjectError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| NamedError::new(ErrorName::InvalidInput, format!("{location} is not valid: {error}")))
    }
}
