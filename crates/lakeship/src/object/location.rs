//! Where an object lives, and the identity of a Parquet object.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ObjectError, Result};

/// A place that holds an object or a prefix: an S3 bucket and key, or a local
/// path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// `s3://bucket/key`.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key (or key prefix), without a leading slash.
        key: String,
    },
    /// A path on the local file system.
    Local {
        /// The path.
        path: PathBuf,
    },
}

impl Location {
    /// Parses `s3://bucket/key`, `file:///path` or a plain path.
    pub fn parse(text: &str) -> Result<Location> {
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(ObjectError::InvalidLocation {
                    location: text.to_string(),
                    message: "an S3 URL needs a bucket: s3://bucket/key".to_string(),
                });
            }
            return Ok(Location::S3 { bucket: bucket.to_string(), key: key.to_string() });
        }
        if text.contains("://") && !text.starts_with("file://") {
            return Err(ObjectError::InvalidLocation {
                location: text.to_string(),
                message: "expected s3://bucket/key or a local path".to_string(),
            });
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        if path.is_empty() {
            return Err(ObjectError::InvalidLocation { location: text.to_string(), message: "empty path".to_string() });
        }
        Ok(Location::Local { path: PathBuf::from(path) })
    }

    /// A location under this one: `prefix/child` in S3 or `dir/child` locally.
    pub fn join(&self, child: &str) -> Location {
        match self {
            Location::S3 { bucket, key } => {
                let key = if key.is_empty() || key.ends_with('/') { format!("{key}{child}") } else { format!("{key}/{child}") };
                Location::S3 { bucket: bucket.clone(), key }
            }
            Location::Local { path } => Location::Local { path: path.join(child) },
        }
    }

    /// True for local paths.
    pub fn is_local(&self) -> bool {
        matches!(self, Location::Local { .. })
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            Location::Local { path } => write!(f, "{}", path.display()),
        }
    }
}

/// A Parquet object and its identity.
///
/// The identity is what document ids derive from: the same object always
/// yields the same ids, and a rewritten object (new etag) is a new object.
/// An S3 object is its bucket, key and version id (or etag). A local file is
/// its content: its etag is `<size and footer fingerprint>.<SHA-256 of its
/// bytes>`, whatever path names it (relative, absolute, `./`, a symbolic
/// link, a copy, a moved lake); see [`ObjectRef::identity`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// S3 bucket; empty for a local file.
    #[serde(default)]
    pub bucket: String,
    /// S3 key, or the local file path.
    pub key: String,
    /// The object's etag, without quotes. For local files, fingerprints of
    /// the footer and of the content, filled in when the footer is read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The object's S3 version id, where versioning is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// Size in bytes, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl ObjectRef {
    /// An S3 object.
    pub fn s3(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        ObjectRef { bucket: bucket.into(), key: key.into(), etag: None, version_id: None, size: None }
    }

    /// A local file.
    pub fn local(path: impl AsRef<Path>) -> Self {
        ObjectRef::s3("", path.as_ref().to_string_lossy().into_owned())
    }

    /// An object at `location` (an S3 object or a local file).
    pub fn from_location(location: &Location) -> Self {
        match location {
            Location::S3 { bucket, key } => ObjectRef::s3(bucket.clone(), key.clone()),
            Location::Local { path } => ObjectRef::local(path),
        }
    }

    /// Sets the etag (quotes around it are removed).
    pub fn with_etag(mut self, etag: Option<&str>) -> Self {
        self.etag = etag.map(normalize_etag).filter(|etag| !etag.is_empty());
        self
    }

    /// Sets the size.
    pub fn with_size(mut self, size: Option<u64>) -> Self {
        self.size = size;
        self
    }

    /// True for a local file.
    pub fn is_local(&self) -> bool {
        self.bucket.is_empty()
    }

    /// Where the object lives.
    pub fn location(&self) -> Location {
        if self.is_local() {
            Location::Local { path: PathBuf::from(&self.key) }
        } else {
            Location::S3 { bucket: self.bucket.clone(), key: self.key.clone() }
        }
    }

    /// The string the object's identity hash is computed over:
    /// `bucket \0 key \0 version-or-etag` for an S3 object;
    /// `\0local\0 etag` for a local file whose footer has been read (its
    /// content, not its path), and `\0 path \0` before that.
    pub fn identity(&self) -> String {
        if self.is_local()
            && let Some(fingerprint) = &self.etag
        {
            return format!("\u{0}local\u{0}{fingerprint}");
        }
        let revision = self.version_id.as_deref().or(self.etag.as_deref()).unwrap_or("");
        format!("{}\u{0}{}\u{0}{}", self.bucket, self.key, revision)
    }

    /// The object with a local path made canonical (absolute, `.`/`..` and
    /// symbolic links resolved), so every spelling of a file names it the
    /// same way; S3 objects and paths that do not exist are returned as
    /// they are.
    pub fn canonical(self) -> Self {
        if !self.is_local() {
            return self;
        }
        match std::fs::canonicalize(&self.key) {
            Ok(path) => ObjectRef { key: path.to_string_lossy().into_owned(), ..self },
            Err(_) => self,
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_local() { write!(f, "{}", self.key) } else { write!(f, "s3://{}/{}", self.bucket, self.key) }
    }
}

/// Removes the quotes S3 puts around etags.
pub(crate) fn normalize_etag(etag: &str) -> String {
    etag.trim().trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_and_local_locations() {
        assert_eq!(
            Location::parse("s3://bucket/a/b.parquet").unwrap(),
            Location::S3 { bucket: "bucket".into(), key: "a/b.parquet".into() }
        );
        assert_eq!(Location::parse("s3://bucket").unwrap(), Location::S3 { bucket: "bucket".into(), key: "".into() });
        assert_eq!(Location::parse("file:///tmp/x").unwrap(), Location::Local { path: "/tmp/x".into() });
        assert!(Location::parse("s3:///key").is_err());
        assert!(Location::parse("http://x/y").is_err());
    }

    #[test]
    fn joins_prefixes() {
        let prefix = Location::parse("s3://work/runs").unwrap();
        assert_eq!(prefix.join("r1/manifest.json").to_string(), "s3://work/runs/r1/manifest.json");
        let root = Location::parse("s3://work").unwrap();
        assert_eq!(root.join("x").to_string(), "s3://work/x");
    }

    #[test]
    fn identity_prefers_version_then_etag() {
        let object = ObjectRef::s3("b", "k").with_etag(Some("\"abc\""));
        assert_eq!(object.etag.as_deref(), Some("abc"));
        assert_eq!(object.identity(), "b\u{0}k\u{0}abc");
        let mut versioned = object.clone();
        versioned.version_id = Some("v1".into());
        assert_eq!(versioned.identity(), "b\u{0}k\u{0}v1");
    }

    #[test]
    fn a_local_file_is_its_content_not_its_path() {
        let one = ObjectRef::local("/lake/a.parquet").with_etag(Some("f1"));
        let moved = ObjectRef::local("/elsewhere/b.parquet").with_etag(Some("f1"));
        assert_eq!(one.identity(), moved.identity());
        assert_ne!(one.identity(), ObjectRef::local("/lake/a.parquet").with_etag(Some("f2")).identity());
        assert_ne!(ObjectRef::local("/lake/a.parquet").identity(), ObjectRef::local("/lake/b.parquet").identity());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.parquet"), b"x").unwrap();
        let spelled = ObjectRef::local(dir.path().join(".").join("sub").join("..").join("x.parquet"));
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(spelled.canonical().key, std::fs::canonicalize(dir.path().join("x.parquet")).unwrap().to_string_lossy());
        assert_eq!(ObjectRef::local("/does/not/exist.parquet").canonical().key, "/does/not/exist.parquet");
    }
}
