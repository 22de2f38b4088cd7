//! Reading and writing objects, in S3 or on the local file system, through one
//! interface.
//!
//! Parquet objects are only ever read by byte range: the footer with one
//! suffix request, a worker's row groups with one request per row group. Small
//! JSON objects (manifests, shard results, dead letters) are read and written
//! whole.

mod local;
mod location;
mod s3;

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::aws::{AwsOptions, s3_client};
use crate::errors::{ErrorName, NamedError};
pub use location::{Location, ObjectRef};

/// Errors of object access. Every variant names the object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The object (or file) does not exist.
    #[error("object not found: {location}")]
    NotFound {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
    },
    /// The object changed since it was planned (its etag no longer matches).
    #[error("object changed since it was planned: {location} (expected etag {expected_etag})")]
    Changed {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
        /// The etag it was planned with.
        expected_etag: String,
    },
    /// Access was denied.
    #[error("access denied to {location}: {message}")]
    AccessDenied {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
        /// Why, as the service said it.
        message: String,
    },
    /// A request that may succeed when tried again (throttling, 5xx, network).
    #[error("failed to read {location} (transient): {message}")]
    Transient {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
        /// What failed.
        message: String,
    },
    /// Any other failure.
    #[error("failed to access {location}: {message}")]
    Other {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
        /// What failed.
        message: String,
    },
    /// A setting is missing or wrong (no credentials, no region, an untrusted
    /// certificate): trying again cannot help.
    #[error("cannot access {location}: {message}")]
    Configuration {
        /// The object or file, as `s3://bucket/key` or a path.
        location: String,
        /// The setting to fix.
        message: String,
    },
    /// A location that cannot be parsed.
    #[error("invalid location {location:?}: {message}")]
    InvalidLocation {
        /// The text given as a location.
        location: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = ObjectError> = std::result::Result<T, E>;

impl ObjectError {
    /// The name Step Functions sees for this error.
    pub fn name(&self) -> ErrorName {
        match self {
            ObjectError::NotFound { .. } => ErrorName::ObjectNotFound,
            ObjectError::Changed { .. } => ErrorName::ObjectChanged,
            ObjectError::AccessDenied { .. } | ObjectError::Configuration { .. } | ObjectError::InvalidLocation { .. } => {
                ErrorName::Configuration
            }
            ObjectError::Transient { .. } => ErrorName::Transient,
            ObjectError::Other { .. } => ErrorName::Transient,
        }
    }
}

impl From<ObjectError> for NamedError {
    fn from(error: ObjectError) -> Self {
        NamedError::new(error.name(), error.to_string())
    }
}

/// The tail of an object: its last bytes and the object's total size.
#[derive(Debug, Clone)]
pub(crate) struct ObjectTail {
    /// The last `bytes.len()` bytes of the object.
    pub bytes: Bytes,
    /// Total size of the object in bytes.
    pub size: u64,
    /// The object's etag (S3) or a content fingerprint stand-in (none, local).
    pub etag: Option<String>,
    /// The object's version id (S3 with versioning).
    pub version_id: Option<String>,
}

/// Counts of the reads made through a store, for shard results (bytes
/// read) and the test that a row group is one ranged request.
#[derive(Debug, Default)]
pub struct RequestCounters {
    num_range_requests: AtomicU64,
    num_bytes_read: AtomicU64,
}

impl RequestCounters {
    fn record_read(&self, num_bytes: usize) {
        self.num_range_requests.fetch_add(1, Ordering::Relaxed);
        self.num_bytes_read.fetch_add(num_bytes as u64, Ordering::Relaxed);
    }

    /// Number of ranged (or whole-object) GET requests made.
    pub fn num_range_requests(&self) -> u64 {
        self.num_range_requests.load(Ordering::Relaxed)
    }

    /// Number of bytes received by GET requests.
    pub(crate) fn num_bytes_read(&self) -> u64 {
        self.num_bytes_read.load(Ordering::Relaxed)
    }
}

/// One interface over S3 and the local file system.
///
/// Cloning is cheap; clones share the S3 client and the request counters.
#[derive(Debug, Clone)]
pub struct ObjectStore {
    s3: Arc<tokio::sync::OnceCell<aws_sdk_s3::Client>>,
    s3_options: Option<Arc<AwsOptions>>,
    counters: Arc<RequestCounters>,
}

impl ObjectStore {
    /// A store that can reach local files only.
    pub fn local_only() -> Self {
        ObjectStore { s3: Arc::default(), s3_options: None, counters: Arc::default() }
    }

    /// A store that reaches S3 through `client` and local files.
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        let s3 = Arc::new(tokio::sync::OnceCell::new_with(Some(client)));
        ObjectStore { s3, s3_options: None, counters: Arc::default() }
    }

    /// A store whose S3 client is built from `options` when S3 is first used
    /// (so local-only work never loads AWS configuration).
    pub fn from_options(options: AwsOptions) -> Self {
        ObjectStore { s3: Arc::default(), s3_options: Some(Arc::new(options)), counters: Arc::default() }
    }

    /// The request counters shared by this store and its clones.
    pub fn counters(&self) -> &RequestCounters {
        &self.counters
    }

    /// A fresh store sharing the S3 client but with its own counters.
    pub(crate) fn with_fresh_counters(&self) -> Self {
        ObjectStore { s3: self.s3.clone(), s3_options: self.s3_options.clone(), counters: Arc::default() }
    }

    async fn s3_client(&self, location: &str) -> Result<&aws_sdk_s3::Client> {
        if let Some(client) = self.s3.get() {
            return Ok(client);
        }
        let Some(options) = &self.s3_options else {
            return Err(ObjectError::Other { location: location.to_string(), message: "no S3 client configured".to_string() });
        };
        Ok(self.s3.get_or_init(|| s3_client(options)).await)
    }

    /// Reads the last `num_bytes` bytes of an object (fewer if it is smaller)
    /// with a single suffix-range request, and learns its size and etag.
    /// Where the object's etag is known (and no version id) the read is
    /// conditional on it (`If-Match`), so a changed object is
    /// [`ObjectError::Changed`].
    pub(crate) async fn get_tail(&self, object: &ObjectRef, num_bytes: u64) -> Result<ObjectTail> {
        let tail = match &object.location() {
            Location::S3 { bucket, key } => {
                s3::get_tail(self.s3_client(&object.to_string()).await?, bucket, key, object, num_bytes).await?
            }
            Location::Local { path } => local::get_tail(path, num_bytes).await?,
        };
        self.counters.record_read(tail.bytes.len());
        Ok(tail)
    }

    /// Reads the byte range `range` of an object. Where the object's etag is
    /// known the read is conditional on it, so a changed object is detected.
    pub(crate) async fn get_range(&self, object: &ObjectRef, range: Range<u64>) -> Result<Bytes> {
        let bytes = match &object.location() {
            Location::S3 { bucket, key } => s3::get_range(self.s3_client(&object.to_string()).await?, bucket, key, object, range).await?,
            Location::Local { path } => local::get_range(path, range).await?,
        };
        self.counters.record_read(bytes.len());
        Ok(bytes)
    }

    /// A SHA-256 of a local file's content (hex, 32 digits), read in 1 MiB
    /// chunks: a local file's identity. S3 objects have etags instead.
    pub(crate) async fn content_hash(&self, object: &ObjectRef) -> Result<String> {
        match &object.location() {
            Location::Local { path } => {
                let hash = local::content_hash(path).await?;
                self.counters.record_read(object.size.unwrap_or_default() as usize);
                Ok(hash)
            }
            Location::S3 { .. } => Err(ObjectError::Other {
                location: object.to_string(),
                message: "content hashes are for local files; S3 objects have etags".to_string(),
            }),
        }
    }

    /// Reads a whole (small) object, such as a manifest or a shard result.
    /// Never used for Parquet objects.
    pub(crate) async fn get_small(&self, location: &Location) -> Result<Bytes> {
        let bytes = match location {
            Location::S3 { bucket, key } => s3::get_whole(self.s3_client(&location.to_string()).await?, bucket, key).await?,
            Location::Local { path } => local::get_whole(path).await?,
        };
        self.counters.record_read(bytes.len());
        Ok(bytes)
    }

    /// Writes a whole object, replacing any previous one.
    pub async fn put(&self, location: &Location, body: Bytes) -> Result<()> {
        match location {
            Location::S3 { bucket, key } => s3::put(self.s3_client(&location.to_string()).await?, bucket, key, body).await,
            Location::Local { path } => local::put(path, body).await,
        }
    }

    /// Lists the objects under a prefix (S3) or the files under a directory
    /// (recursively), in lexicographic order, with their sizes and etags.
    pub async fn list(&self, prefix: &Location) -> Result<Vec<ObjectRef>> {
        match prefix {
            Location::S3 { bucket, key } => s3::list(self.s3_client(&prefix.to_string()).await?, bucket, key).await,
            Location::Local { path } => local::list(path).await,
        }
    }

    /// Lists the objects under a prefix (S3) or the files under a directory
    /// whose key (path) sorts after `start_after`, in key order, handing each
    /// to `visit` until it returns false. S3 is listed page by page and only
    /// as far as `visit` wants (`ListObjectsV2` with `StartAfter`).
    pub(crate) async fn list_after(
        &self,
        prefix: &Location,
        start_after: Option<&str>,
        visit: &mut (dyn FnMut(ObjectRef) -> bool + Send),
    ) -> Result<()> {
        match prefix {
            Location::S3 { bucket, key } => {
                s3::list_after(self.s3_client(&prefix.to_string()).await?, bucket, key, start_after, visit).await
            }
            Location::Local { path } => {
                for object in local::list(path).await? {
                    if start_after.is_some_and(|after| object.key.as_str() <= after) {
                        continue;
                    }
                    if !visit(object) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Deletes an object; deleting a missing object is not an error.
    pub async fn delete(&self, location: &Location) -> Result<()> {
        match location {
            Location::S3 { bucket, key } => s3::delete(self.s3_client(&location.to_string()).await?, bucket, key).await,
            Location::Local { path } => local::delete(path).await,
        }
    }
}
