//! What to generate: classes, versions, sizes, seed, time window, layout.

use std::fmt;
use std::str::FromStr;

use super::{OcsfVersion, Result, SampleClass, SampleError};

/// How object keys are laid out under the output directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleLayout {
    /// `<version>/<ocsf class name>-<n>.parquet`, e.g.
    /// `1.1.0/network_activity-0.parquet`.
    Flat,
    /// Security Lake's keys for native AWS sources:
    /// `aws/<SOURCE>/<source version>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/<32 hex>.zstd.parquet`.
    #[default]
    SecurityLake,
}

impl fmt::Display for SampleLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SampleLayout::Flat => "flat",
            SampleLayout::SecurityLake => "security-lake",
        })
    }
}

impl FromStr for SampleLayout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "flat" => Ok(SampleLayout::Flat),
            "security-lake" | "securitylake" | "security_lake" => Ok(SampleLayout::SecurityLake),
            _ => Err(format!("unknown layout {text:?}: expected security-lake or flat")),
        }
    }
}

/// 2025-01-01T00:00:00Z, the default end of the time window (fixed, so that
/// default options always give the same bytes).
pub const DEFAULT_END_TIME_MILLIS: i64 = 1_735_689_600_000;

/// Options of the generator. Build with [`SampleOptions::default`] and the
/// `with_*` methods; [`SampleOptions::validate`] checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOptions {
    /// Class families to write (default: all four).
    pub classes: Vec<SampleClass>,
    /// OCSF versions to write (default: both).
    pub versions: Vec<OcsfVersion>,
    /// Rows in each object (default 200,000).
    pub rows_per_object: usize,
    /// Objects per class and version (default 1).
    pub objects_per_class: usize,
    /// Maximum rows per row group (default 131,072, as Security Lake's
    /// large objects).
    pub row_group_rows: usize,
    /// Rows generated and handed to the writer at a time (default 8,192);
    /// bounds the memory of generation.
    pub batch_rows: usize,
    /// Seed of every random draw (default 42).
    pub seed: u64,
    /// End of the time window, epoch milliseconds (default
    /// [`DEFAULT_END_TIME_MILLIS`]).
    pub end_time_millis: i64,
    /// Length of the time window in milliseconds (default 24 hours). The
    /// objects of a class and version split it into consecutive slices.
    pub window_millis: i64,
    /// Number of AWS accounts objects are spread over (default 3). Each
    /// object belongs to one account and region, as in Security Lake.
    pub accounts: usize,
    /// Key layout (default Security Lake's).
    pub layout: SampleLayout,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            classes: SampleClass::ALL.to_vec(),
            versions: OcsfVersion::ALL.to_vec(),
            rows_per_object: 200_000,
            objects_per_class: 1,
            row_group_rows: 131_072,
            batch_rows: 8192,
            seed: 42,
            end_time_millis: DEFAULT_END_TIME_MILLIS,
            window_millis: 24 * 3_600_000,
            accounts: 3,
            layout: SampleLayout::SecurityLake,
        }
    }
}

impl SampleOptions {
    /// Sets the class families.
    pub fn with_classes(mut self, classes: Vec<SampleClass>) -> Self {
        self.classes = classes;
        self
    }

    /// Sets the OCSF versions.
    pub fn with_versions(mut self, versions: Vec<OcsfVersion>) -> Self {
        self.versions = versions;
        self
    }

    /// Sets the rows per object.
    pub fn with_rows_per_object(mut self, rows: usize) -> Self {
        self.rows_per_object = rows;
        self
    }

    /// Sets the number of objects per class and version.
    pub fn with_objects_per_class(mut self, objects: usize) -> Self {
        self.objects_per_class = objects;
        self
    }

    /// Sets the maximum rows per row group.
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows;
        self
    }

    /// Sets the rows generated per batch.
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the end of the time window (epoch milliseconds).
    pub fn with_end_time_millis(mut self, end_time_millis: i64) -> Self {
        self.end_time_millis = end_time_millis;
        self
    }

    /// Sets the length of the time window (milliseconds).
    pub fn with_window_millis(mut self, window_millis: i64) -> Self {
        self.window_millis = window_millis;
        self
    }

    /// Sets the number of accounts.
    pub fn with_accounts(mut self, accounts: usize) -> Self {
        self.accounts = accounts;
        self
    }

    /// Sets the key layout.
    pub fn with_layout(mut self, layout: SampleLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Checks that the options can be generated.
    pub fn validate(&self) -> Result<()> {
        let invalid = |reason: &str| Err(SampleError::InvalidOptions(reason.to_string()));
        if self.row_group_rows == 0 {
            return invalid("row_group_rows must be at least 1");
        }
        if self.batch_rows == 0 {
            return invalid("batch_rows must be at least 1");
        }
        if self.accounts == 0 || self.accounts > 1000 {
            return invalid("accounts must be between 1 and 1000");
        }
        if self.window_millis < 0 {
            return invalid("the time window must not be negative");
        }
        let year_3000 = 32_503_680_000_000;
        if self.end_time_millis < self.window_millis || self.end_time_millis > year_3000 {
            return invalid("the time window must lie between 1970 and 3000");
        }
        Ok(())
    }

    /// The `(class, version)` pairs to write, in order.
    pub(crate) fn class_versions(&self) -> Vec<(SampleClass, OcsfVersion)> {
        let mut classes = self.classes.clone();
        classes.sort();
        classes.dedup();
        let mut versions = self.versions.clone();
        versions.sort();
        versions.dedup();
        versions.iter().flat_map(|&version| classes.iter().map(move |&class| (class, version))).collect()
    }
}
