//! Generated sample data: realistic OCSF Parquet objects shaped like the ones
//! Amazon Security Lake writes, for the demo, the end-to-end tests and the
//! benchmark.
//!
//! Four families of classes, each in both OCSF versions Security Lake writes:
//!
//! | [`SampleClass`] | 1.0.0-rc.2 | 1.1.0 | Security Lake source |
//! |---|---|---|---|
//! | `network` | 4001 Network Activity | 4001 Network Activity | `VPC_FLOW` |
//! | `dns` | 4003 DNS Activity | 4003 DNS Activity | `ROUTE53` |
//! | `api` | 3005 API Activity | 6003 API Activity | `CLOUD_TRAIL_MGMT` |
//! | `findings` | 2001 Security Finding | 2004 Detection Finding | `SH_FINDINGS` |
//!
//! Each schema mirrors Security Lake's own samples (the fixtures under
//! `tests/fixtures/security-lake-samples/`) field for field: names, nesting,
//! types and nullability. The differences are encodings only: lists are
//! standard 3-level lists with an `element` item (Security Lake's are legacy
//! 2-level lists named `array`), maps are `key_value` groups, and the
//! compression is zstd rather than gzip.
//!
//! Values are drawn from a seeded stream: a few accounts (12-digit ids),
//! each with an estate of VPCs, subnets, instances and network interfaces in
//! its region, public addresses with skewed popularity, consistent OCSF enum
//! captions (`type_uid = class_uid * 100 + activity_id`), and times spread
//! in order over a window ending at a given instant. The same options give
//! byte-identical objects; nothing depends on the wall clock.
//!
//! Objects are written streaming, batch by batch, through an `ArrowWriter`
//! that cuts row groups of [`SampleOptions::row_group_rows`] rows, so memory
//! stays bounded whatever the object size.
//!
//! ```no_run
//! use lakeship_sample::{SampleClass, SampleOptions, generate};
//!
//! let options = SampleOptions::default().with_classes(vec![SampleClass::NetworkActivity]).with_rows_per_object(1000);
//! let objects = generate(&options, std::path::Path::new("/tmp/lake"))?;
//! assert_eq!(objects.len(), 2); // one per OCSF version
//! # Ok::<(), lakeship_sample::SampleError>(())
//! ```

mod api;
mod columns;
mod common;
mod context;
mod dns;
mod findings;
mod network;
mod options;
mod rng;
mod time;
mod values;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use context::ObjectContext;
pub use options::{DEFAULT_END_TIME_MILLIS, SampleLayout, SampleOptions};
pub use time::{event_day, parse_duration_millis, parse_rfc3339_millis};
pub use writer::{WrittenObject, generate, generate_with_progress, object_key, write_object};

/// Errors of sample generation.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The options cannot be used (zero row-group size, no classes, …).
    #[error("invalid sample options: {0}")]
    InvalidOptions(String),
    /// A file or directory could not be created or written.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (in the message, not a chained source).
        cause: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("writing the {object} object failed: {cause}")]
    Parquet {
        /// Which object (class, version, index).
        object: String,
        /// The cause (in the message, not a chained source).
        cause: parquet::errors::ParquetError,
    },
}

/// Result alias of this module.
pub type Result<T, E = SampleError> = std::result::Result<T, E>;

/// A family of OCSF classes the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleClass {
    /// Network Activity (4001), from VPC Flow Logs.
    NetworkActivity,
    /// DNS Activity (4003), from Route 53 Resolver query logs.
    DnsActivity,
    /// API Activity (3005 in 1.0.0-rc.2, 6003 in 1.1.0), from CloudTrail
    /// management events.
    ApiActivity,
    /// Findings from Security Hub (2001 Security Finding in 1.0.0-rc.2, 2004
    /// Detection Finding in 1.1.0).
    Findings,
}

impl SampleClass {
    /// Every class, in the order objects are generated.
    pub const ALL: [SampleClass; 4] =
        [SampleClass::NetworkActivity, SampleClass::DnsActivity, SampleClass::ApiActivity, SampleClass::Findings];

    /// The OCSF `class_uid` in `version`.
    pub fn class_uid(self, version: OcsfVersion) -> i32 {
        match (self, version) {
            (SampleClass::NetworkActivity, _) => 4001,
            (SampleClass::DnsActivity, _) => 4003,
            (SampleClass::ApiActivity, OcsfVersion::V1_0_0Rc2) => 3005,
            (SampleClass::ApiActivity, OcsfVersion::V1_1_0) => 6003,
            (SampleClass::Findings, OcsfVersion::V1_0_0Rc2) => 2001,
            (SampleClass::Findings, OcsfVersion::V1_1_0) => 2004,
        }
    }

    /// The OCSF class name in `version`, e.g. `network_activity` (also the
    /// root name of the Parquet schema, as in Security Lake's objects).
    pub fn ocsf_name(self, version: OcsfVersion) -> &'static str {
        match (self, version) {
            (SampleClass::NetworkActivity, _) => "network_activity",
            (SampleClass::DnsActivity, _) => "dns_activity",
            (SampleClass::ApiActivity, _) => "api_activity",
            (SampleClass::Findings, OcsfVersion::V1_0_0Rc2) => "security_finding",
            (SampleClass::Findings, OcsfVersion::V1_1_0) => "detection_finding",
        }
    }

    /// The Security Lake source name of the class's objects.
    pub fn security_lake_source(self) -> &'static str {
        match self {
            SampleClass::NetworkActivity => "VPC_FLOW",
            SampleClass::DnsActivity => "ROUTE53",
            SampleClass::ApiActivity => "CLOUD_TRAIL_MGMT",
            SampleClass::Findings => "SH_FINDINGS",
        }
    }
}

impl fmt::Display for SampleClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SampleClass::NetworkActivity => "network",
            SampleClass::DnsActivity => "dns",
            SampleClass::ApiActivity => "api",
            SampleClass::Findings => "findings",
        })
    }
}

impl FromStr for SampleClass {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "network" => Ok(SampleClass::NetworkActivity),
            "dns" => Ok(SampleClass::DnsActivity),
            "api" => Ok(SampleClass::ApiActivity),
            "findings" => Ok(SampleClass::Findings),
            _ => Err(format!("unknown sample class {text:?}: expected network, dns, api or findings")),
        }
    }
}

/// An OCSF version Security Lake writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OcsfVersion {
    /// OCSF 1.0.0-rc.2 (Security Lake source version 1).
    V1_0_0Rc2,
    /// OCSF 1.1.0 (Security Lake source version 2).
    V1_1_0,
}

impl OcsfVersion {
    /// Both versions, oldest first.
    pub const ALL: [OcsfVersion; 2] = [OcsfVersion::V1_0_0Rc2, OcsfVersion::V1_1_0];

    /// The version as `metadata.version` holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            OcsfVersion::V1_0_0Rc2 => "1.0.0-rc.2",
            OcsfVersion::V1_1_0 => "1.1.0",
        }
    }

    /// The Security Lake source version in object keys (`1.0`, `2.0`).
    pub fn source_version(self) -> &'static str {
        match self {
            OcsfVersion::V1_0_0Rc2 => "1.0",
            OcsfVersion::V1_1_0 => "2.0",
        }
    }
}

impl fmt::Display for OcsfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OcsfVersion {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "1.0.0-rc.2" => Ok(OcsfVersion::V1_0_0Rc2),
            "1.1.0" => Ok(OcsfVersion::V1_1_0),
            _ => Err(format!("unknown OCSF version {text:?}: expected 1.0.0-rc.2 or 1.1.0")),
        }
    }
}

/// One object written by [`generate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedObject {
    /// Key of the object relative to the output directory (`/`-separated).
    pub path: PathBuf,
    /// Which class family.
    pub class: SampleClass,
    /// The OCSF `class_uid` of its rows.
    pub class_uid: i32,
    /// The OCSF version of its rows.
    pub version: OcsfVersion,
    /// Number of rows.
    pub num_rows: u64,
    /// Number of row groups.
    pub num_row_groups: usize,
    /// Size of the object in bytes.
    pub bytes: u64,
}

/// Draws the rows of one class in one version, a batch at a time.
pub(crate) trait ClassGenerator: Send + fmt::Debug {
    /// The next `num_rows` rows (0 gives an empty batch with the schema and
    /// draws nothing).
    fn next_batch(&mut self, context: &mut ObjectContext, num_rows: usize) -> RecordBatch;
}

fn class_generator(class: SampleClass, context: &ObjectContext) -> Box<dyn ClassGenerator> {
    match class {
        SampleClass::NetworkActivity => Box::new(network::NetworkGenerator::new(context)),
        SampleClass::DnsActivity => Box::new(dns::DnsGenerator::new(context)),
        SampleClass::ApiActivity => Box::new(api::ApiGenerator::new(context)),
        SampleClass::Findings => Box::new(findings::FindingsGenerator::new(context)),
    }
}

/// The record batches of one object, generated lazily: at most one batch of
/// [`SampleOptions::batch_rows`] rows exists at a time.
#[derive(Debug)]
pub struct SampleBatches {
    context: ObjectContext,
    generator: Box<dyn ClassGenerator>,
    schema: SchemaRef,
    num_rows_left: u64,
    batch_rows: usize,
}

impl SampleBatches {
    /// The Arrow schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Rows not yet generated.
    pub fn num_rows_left(&self) -> u64 {
        self.num_rows_left
    }
}

impl Iterator for SampleBatches {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        if self.num_rows_left == 0 {
            return None;
        }
        let num_rows = self.num_rows_left.min(self.batch_rows as u64) as usize;
        self.num_rows_left -= num_rows as u64;
        Some(self.generator.next_batch(&mut self.context, num_rows))
    }
}

/// The batches of object `object_index` of `class` in `version`. Objects of
/// one class and version differ by index: each has its own account, region,
/// slice of the time window and random stream.
pub fn record_batches(class: SampleClass, version: OcsfVersion, options: &SampleOptions, object_index: usize) -> Result<SampleBatches> {
    options.validate()?;
    let mut context = ObjectContext::new(class, version, options, object_index);
    let mut generator = class_generator(class, &context);
    let schema = generator.next_batch(&mut context, 0).schema();
    Ok(SampleBatches { context, generator, schema, num_rows_left: options.rows_per_object as u64, batch_rows: options.batch_rows })
}
