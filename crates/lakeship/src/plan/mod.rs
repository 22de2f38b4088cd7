//! Shard planning: from Parquet footers to the list of shards that workers
//! run in parallel (the Distributed Map's item list).
//!
//! A shard is a list of pieces; a piece is a run of consecutive row groups of
//! one object. Row groups are packed in order into shards whose byte size
//! stays under a target: a row group is never split, a row group larger than
//! the target is a shard of its own, and small objects share shards, so a
//! batch of many small objects does not pay one invocation per object.
//!
//! A shard is also a Distributed Map item: Step Functions passes it as the
//! input of a child execution and of the worker's Lambda invocation, and
//! refuses any state input over 256 KiB. So a shard is also closed before its
//! JSON would outgrow [`DEFAULT_MAX_SHARD_JSON_BYTES`] or its pieces
//! [`DEFAULT_MAX_SHARD_PIECES`] (a backfill of many small objects with
//! Security Lake's long bucket names and keys would otherwise pack 1,500
//! pieces, ~550 KiB, into one shard).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::object::ObjectRef;
use crate::reader::{ParquetFooter, row_group_byte_range};

/// Default target size of a shard: 64 MiB of compressed Parquet.
pub(crate) const DEFAULT_TARGET_SHARD_BYTES: u64 = 64 * 1024 * 1024;

/// Default upper bound of a shard task's JSON: a quarter of the 256 KiB
/// that Step Functions accepts as a state's input
/// ([`STATE_PAYLOAD_MAX_BYTES`](crate::pipeline::quotas::STATE_PAYLOAD_MAX_BYTES)),
/// leaving room for anything the state machine adds around the item.
pub(crate) const DEFAULT_MAX_SHARD_JSON_BYTES: usize = crate::pipeline::quotas::STATE_PAYLOAD_MAX_BYTES / 4;

/// Default upper bound of pieces in a shard: each piece costs the worker a
/// footer read and a scan of its own, so a shard of 100 small objects stays a
/// few seconds of overhead in a 15-minute invocation.
pub(crate) const DEFAULT_MAX_SHARD_PIECES: usize = 100;

/// Options of planning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Target compressed size of a shard in bytes.
    pub target_shard_bytes: u64,
    /// Upper bound of a shard task's serialized JSON (a Map item, a Lambda
    /// input). A single piece larger than this is a shard of its own.
    pub max_shard_json_bytes: usize,
    /// Upper bound of pieces in a shard.
    pub max_shard_pieces: usize,
    /// Workers that can start a shard at once (local workers, or the Map's
    /// concurrency): a run smaller than `spread` target shards is cut into
    /// about `spread` shards (whole row groups each), so one large object
    /// does not wait on one worker while the others idle. 1 = pack to the
    /// target only.
    pub spread: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            target_shard_bytes: DEFAULT_TARGET_SHARD_BYTES,
            max_shard_json_bytes: DEFAULT_MAX_SHARD_JSON_BYTES,
            max_shard_pieces: DEFAULT_MAX_SHARD_PIECES,
            spread: 1,
        }
    }
}

impl PlanOptions {
    /// These options with another target shard size.
    pub fn with_target_shard_bytes(mut self, target_shard_bytes: u64) -> Self {
        self.target_shard_bytes = target_shard_bytes;
        self
    }

    /// These options spreading a run over `workers` (see [`PlanOptions::spread`]).
    pub fn with_spread(mut self, workers: usize) -> Self {
        self.spread = workers.max(1);
        self
    }

    /// The target size of a run of `total_bytes` in row groups of at most
    /// `largest_row_group` bytes: the configured target, or less so that the
    /// run makes about `spread` shards (half a row group of slack, so row
    /// groups of slightly different sizes do not spill into one more shard).
    fn target_for(&self, total_bytes: u64, largest_row_group: u64) -> u64 {
        let spread = self.spread.max(1) as u64;
        self.target_shard_bytes.min(total_bytes.div_ceil(spread) + largest_row_group / 2).max(1)
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
pub(crate) fn object_class(footer: &ParquetFooter) -> (Option<i64>, Option<String>) {
    let class_uid = single_value(footer, "class_uid").and_then(|bytes| match bytes.len() {
        4 => Some(i64::from(i32::from_le_bytes(bytes.try_into().ok()?))),
        8 => Some(i64::from_le_bytes(bytes.try_into().ok()?)),
        _ => None,
    });
    let version = single_value(footer, "metadata.version").and_then(|bytes| String::from_utf8(bytes).ok());
    (class_uid, version)
}

/// The row groups of an object, from its footer.
pub(crate) fn row_group_infos(footer: &ParquetFooter) -> Vec<RowGroupInfo> {
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

impl PlannedObject {
    /// What planning needs of a footer (before it is planned: no shards).
    pub fn from_footer(footer: &ParquetFooter) -> PlannedObject {
        let (class_uid, ocsf_version) = object_class(footer);
        PlannedObject {
            object: footer.object.clone(),
            num_rows: footer.num_rows(),
            row_groups: row_group_infos(footer),
            shard_ids: Vec::new(),
            class_uid,
            ocsf_version,
        }
    }
}

/// Packs the row groups of `footers`, in order, into shards.
pub fn plan_shards(run_id: &str, footers: &[ParquetFooter], options: PlanOptions) -> (Vec<ShardTask>, Vec<PlannedObject>) {
    plan_objects(run_id, footers.iter().map(PlannedObject::from_footer).collect(), options)
}

/// Packs the row groups of `objects` (from [`PlannedObject::from_footer`]),
/// in order, into shards; answers the objects with their shards.
pub(crate) fn plan_objects(run_id: &str, objects: Vec<PlannedObject>, options: PlanOptions) -> (Vec<ShardTask>, Vec<PlannedObject>) {
    let row_group_bytes = || objects.iter().flat_map(|object| &object.row_groups).map(|row_group| row_group.num_bytes);
    let mut builder = ShardBuilder {
        run_id,
        target: options.target_for(row_group_bytes().sum(), row_group_bytes().max().unwrap_or(0)),
        caps: JsonCaps::new(run_id, options),
        shards: Vec::new(),
        open: Vec::new(),
        open_bytes: 0,
        open_json_bytes: 0,
    };
    for object in &objects {
        let piece_json_bytes = builder.caps.piece_bound(&object.object);
        for row_group in &object.row_groups {
            builder.add(&object.object, row_group, piece_json_bytes);
        }
    }
    builder.close();
    let shards = builder.shards;
    let mut shards_of: std::collections::HashMap<&ObjectRef, Vec<String>> = std::collections::HashMap::new();
    for shard in &shards {
        for piece in &shard.pieces {
            let ids = shards_of.entry(&piece.object).or_default();
            if ids.last() != Some(&shard.shard_id) {
                ids.push(shard.shard_id.clone());
            }
        }
    }
    let planned = objects
        .into_iter()
        .map(|mut object| {
            object.shard_ids = shards_of.get(&object.object).cloned().unwrap_or_default();
            object
        })
        .collect();
    (shards, planned)
}

/// Upper bounds of the JSON a shard task serializes to, so shards can be
/// closed before they outgrow [`PlanOptions::max_shard_json_bytes`].
#[derive(Debug, Clone, Copy)]
struct JsonCaps {
    /// `{"run_id":…,"shard_id":"<16 hex>","pieces":[]}`.
    envelope_bytes: usize,
    /// A piece without its object, every number at its widest, plus the comma.
    piece_fields_bytes: usize,
    max_json_bytes: usize,
    max_pieces: usize,
}

impl JsonCaps {
    fn new(run_id: &str, options: PlanOptions) -> Self {
        let envelope = ShardTask { run_id: run_id.to_string(), shard_id: "0".repeat(16), pieces: Vec::new() };
        let widest = ShardPiece {
            object: ObjectRef::s3("", ""),
            first_row_group: usize::MAX,
            num_row_groups: usize::MAX,
            num_rows: u64::MAX,
            num_bytes: u64::MAX,
        };
        JsonCaps {
            envelope_bytes: json_len(&envelope),
            piece_fields_bytes: json_len(&widest) - json_len(&widest.object) + 1,
            max_json_bytes: options.max_shard_json_bytes.max(1),
            max_pieces: options.max_shard_pieces.max(1),
        }
    }

    /// The most bytes a piece of `object` adds to a shard's JSON.
    fn piece_bound(&self, object: &ObjectRef) -> usize {
        json_len(object) + self.piece_fields_bytes
    }
}

/// The length of a value's compact JSON (as Step Functions passes it on).
pub fn json_len(value: &impl Serialize) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

struct ShardBuilder<'a> {
    run_id: &'a str,
    target: u64,
    caps: JsonCaps,
    shards: Vec<ShardTask>,
    open: Vec<ShardPiece>,
    open_bytes: u64,
    /// Upper bound of the open shard's JSON.
    open_json_bytes: usize,
}

impl ShardBuilder<'_> {
    fn add(&mut self, object: &ObjectRef, row_group: &RowGroupInfo, piece_json_bytes: usize) {
        let extends_last = self.extends_last(object, row_group);
        let over_target = self.open_bytes + row_group.num_bytes > self.target;
        let over_caps = !extends_last
            && (self.open.len() + 1 > self.caps.max_pieces
                || self.caps.envelope_bytes + self.open_json_bytes + piece_json_bytes > self.caps.max_json_bytes);
        if !self.open.is_empty() && (over_target || over_caps) {
            self.close();
        }
        if !self.extends_last(object, row_group) {
            self.open_json_bytes += piece_json_bytes;
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

    /// True if `row_group` continues the open shard's last piece.
    fn extends_last(&self, object: &ObjectRef, row_group: &RowGroupInfo) -> bool {
        self.open.last().is_some_and(|piece| piece.object == *object && piece.row_groups().end == row_group.index)
    }

    fn close(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let pieces = std::mem::take(&mut self.open);
        self.open_bytes = 0;
        self.open_json_bytes = 0;
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
