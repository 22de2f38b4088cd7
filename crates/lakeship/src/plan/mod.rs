//! Shard planning: from Parquet footers to the list of shards that workers
//! run in parallel (the Distributed Map's item list).
//!
//! A shard is a list of pieces; a piece is a run of consecutive row groups of
//! one object. Row groups are packed in order into shards whose byte size
//! stays under a target: a row group is never split, a row group larger than
//! the target is a shard of its own, and small objects share shards, so a
//! batch of many small objects does not pay one invocation per object.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::object::ObjectRef;
use crate::reader::{ParquetFooter, row_group_byte_range};

/// Default target size of a shard: 64 MiB of compressed Parquet.
pub const DEFAULT_TARGET_SHARD_BYTES: u64 = 64 * 1024 * 1024;

/// Options of planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Target compressed size of a shard in bytes.
    pub target_shard_bytes: u64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions { target_shard_bytes: DEFAULT_TARGET_SHARD_BYTES }
    }
}

/// Consecutive row groups of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPiece {
    /// The object (with etag and size).
    pub object: ObjectRef,
    /// First row group of the piece.
    pub first_row_group: usize,
    /// Number of row groups.
    pub num_row_groups: usize,
    /// Rows in these row groups (from the footer).
    pub num_rows: u64,
    /// Compressed bytes of these row groups.
    pub num_bytes: u64,
}

impl ShardPiece {
    /// The row group indices of the piece.
    pub fn row_groups(&self) -> std::ops::Range<usize> {
        self.first_row_group..self.first_row_group + self.num_row_groups
    }
}

/// One unit of work for a worker: an item of the Distributed Map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardTask {
    /// The run this shard belongs to.
    pub run_id: String,
    /// Stable id: a hash of the pieces (object identities and row groups).
    pub shard_id: String,
    /// The pieces, in order.
    pub pieces: Vec<ShardPiece>,
}

impl ShardTask {
    /// Rows in the shard.
    pub fn num_rows(&self) -> u64 {
        self.pieces.iter().map(|piece| piece.num_rows).sum()
    }

    /// Compressed bytes of the shard.
    pub fn num_bytes(&self) -> u64 {
        self.pieces.iter().map(|piece| piece.num_bytes).sum()
    }
}

/// A row group as planning sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowGroupInfo {
    /// Index in the object.
    pub index: usize,
    /// Rows.
    pub num_rows: u64,
    /// Compressed bytes (the span of its column chunks).
    pub num_bytes: u64,
}

/// An object of the plan with its footer facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedObject {
    /// The object (with etag and size).
    pub object: ObjectRef,
    /// Rows according to the footer.
    pub num_rows: u64,
    /// Row groups.
    pub row_groups: Vec<RowGroupInfo>,
    /// The shards that hold its row groups.
    pub shard_ids: Vec<String>,
    /// The OCSF class of every row, when the footer statistics say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_uid: Option<i64>,
    /// The OCSF version of every row, when the footer statistics say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsf_version: Option<String>,
}

/// The single value a column holds in every row group, from the footer's
/// min/max statistics (None if absent or if rows differ).
fn single_value(footer: &ParquetFooter, path: &str) -> Option<Vec<u8>> {
    let mut found: Option<Vec<u8>> = None;
    for row_group in footer.metadata.row_groups() {
        let column = row_group.columns().iter().find(|column| column.column_path().string() == path)?;
        let statistics = column.statistics()?;
        let (min, max) = (statistics.min_bytes_opt()?, statistics.max_bytes_opt()?);
        if min != max || found.as_deref().is_some_and(|value| value != min) {
            return None;
        }
        found = Some(min.to_vec());
    }
    found
}

/// The OCSF class and version of an object's rows, from footer statistics.
pub fn object_class(footer: &ParquetFooter) -> (Option<i64>, Option<String>) {
    let class_uid = single_value(footer, "class_uid").and_then(|bytes| match bytes.len() {
        4 => Some(i64::from(i32::from_le_bytes(bytes.try_into().ok()?))),
        8 => Some(i64::from_le_bytes(bytes.try_into().ok()?)),
        _ => None,
    });
    let version = single_value(footer, "metadata.version").and_then(|bytes| String::from_utf8(bytes).ok());
    (class_uid, version)
}

/// The row groups of an object, from its footer.
pub fn row_group_infos(footer: &ParquetFooter) -> Vec<RowGroupInfo> {
    footer
        .metadata
        .row_groups()
        .iter()
        .enumerate()
        .map(|(index, row_group)| {
            let range = row_group_byte_range(row_group);
            RowGroupInfo { index, num_rows: row_group.num_rows().max(0) as u64, num_bytes: range.end - range.start }
        })
        .collect()
}

/// Packs the row groups of `footers`, in order, into shards.
pub fn plan_shards(run_id: &str, footers: &[ParquetFooter], options: PlanOptions) -> (Vec<ShardTask>, Vec<PlannedObject>) {
    let mut builder =
        ShardBuilder { run_id, target: options.target_shard_bytes.max(1), shards: Vec::new(), open: Vec::new(), open_bytes: 0 };
    let mut objects = Vec::with_capacity(footers.len());
    for footer in footers {
        let row_groups = row_group_infos(footer);
        for row_group in &row_groups {
            builder.add(&footer.object, row_group);
        }
        objects.push((footer.object.clone(), footer.num_rows(), row_groups, object_class(footer)));
    }
    builder.close();
    let shards = builder.shards;
    let planned = objects
        .into_iter()
        .map(|(object, num_rows, row_groups, (class_uid, ocsf_version))| {
            let shard_ids = shards
                .iter()
                .filter(|shard| shard.pieces.iter().any(|piece| piece.object == object))
                .map(|shard| shard.shard_id.clone())
                .collect();
            PlannedObject { object, num_rows, row_groups, shard_ids, class_uid, ocsf_version }
        })
        .collect();
    (shards, planned)
}

struct ShardBuilder<'a> {
    run_id: &'a str,
    target: u64,
    shards: Vec<ShardTask>,
    open: Vec<ShardPiece>,
    open_bytes: u64,
}

impl ShardBuilder<'_> {
    fn add(&mut self, object: &ObjectRef, row_group: &RowGroupInfo) {
        if !self.open.is_empty() && self.open_bytes + row_group.num_bytes > self.target {
            self.close();
        }
        self.open_bytes += row_group.num_bytes;
        match self.open.last_mut() {
            Some(piece) if piece.object == *object && piece.row_groups().end == row_group.index => {
                piece.num_row_groups += 1;
                piece.num_rows += row_group.num_rows;
                piece.num_bytes += row_group.num_bytes;
            }
            _ => self.open.push(ShardPiece {
                object: object.clone(),
                first_row_group: row_group.index,
                num_row_groups: 1,
                num_rows: row_group.num_rows,
                num_bytes: row_group.num_bytes,
            }),
        }
    }

    fn close(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let pieces = std::mem::take(&mut self.open);
        self.open_bytes = 0;
        self.shards.push(ShardTask { run_id: self.run_id.to_string(), shard_id: shard_id(&pieces), pieces });
    }
}

/// A stable shard id: 16 hex digits of a hash of the pieces.
fn shard_id(pieces: &[ShardPiece]) -> String {
    let mut hasher = Sha256::new();
    for piece in pieces {
        hasher.update(piece.object.identity().as_bytes());
        hasher.update(piece.first_row_group.to_le_bytes());
        hasher.update(piece.num_row_groups.to_le_bytes());
    }
    hasher.finalize()[..8].iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests;
