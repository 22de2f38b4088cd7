//! Work one shard: range-read its row groups, convert, deliver, and store the
//! `ShardResult`.
//!
//! A bad object (corrupt, missing, changed) fails only its piece: the piece
//! result carries the named error and the other pieces go on. A row group
//! that cannot be read fails only itself: the piece's other row groups are
//! read, and the piece result names the bad ones and the rows they lost. A
//! panic while working a piece is contained to that piece. Transient
//! failures (network, throttling beyond the retry budget) fail the whole
//! shard with a named error and record nothing, so the state machine retries
//! or redrives it; documents already sent are then answered "already present".

use crate::delivery::BulkSink;
use crate::dlq::DeadLetterWriter;
use crate::errors::{ErrorName, NamedError};
use crate::plan::{ShardPiece, ShardTask};
use std::collections::{BTreeMap, BTreeSet};

use futures::FutureExt;

use crate::reader::{DEFAULT_FOOTER_HINT, ReadError, read_footer};
use crate::scan::spawn_scan;

use super::payload::{PieceResult, RowGroupFailure, ShardResult};
use super::{PipelineContext, now_millis};

/// How a piece ended early.
enum PieceFailure {
    /// The object is bad: recorded on the piece.
    Object(NamedError),
    /// The shard must fail (transient, delivery).
    Shard(NamedError),
}

/// Runs a shard and stores its result in the work area.
pub async fn run_shard(context: &PipelineContext, task: &ShardTask) -> Result<ShardResult, NamedError> {
    if task.pieces.is_empty() {
        return Err(NamedError::new(ErrorName::InvalidInput, format!("shard {} has no pieces", task.shard_id)));
    }
    let started_at = now_millis();
    let source = context.source.with_fresh_counters();
    let dead_letters = DeadLetterWriter::new(context.work.store().clone(), context.work.dead_letter_prefix(&task.run_id, &task.shard_id));
    let mut sink = BulkSink::new(context.client.clone(), context.delivery.clone(), dead_letters).with_live_counters(context.live.clone());
    let mut pieces = Vec::with_capacity(task.pieces.len());
    for (index, piece) in task.pieces.iter().enumerate() {
        let mut progress = PieceProgress::default();
        let error = match contained_scan_piece(context, &source, &mut sink, index, piece, &mut progress).await {
            Ok(()) => None,
            Err(PieceFailure::Object(error)) => {
                tracing::warn!(object = %piece.object, error = %error, "piece failed");
                Some(error)
            }
            Err(PieceFailure::Shard(error)) => return Err(error),
        };
        pieces.push(PieceResult {
            object: piece.object.clone(),
            first_row_group: piece.first_row_group,
            num_row_groups: piece.num_row_groups,
            num_rows_expected: piece.num_rows,
            num_rows_read: progress.num_rows_read,
            counts: Default::default(),
            error,
            failed_row_groups: progress.failed_row_groups,
            dropped_columns: progress.dropped_columns.into_iter().collect(),
        });
    }
    let report = sink.finish().await.map_err(NamedError::from)?;
    for (index, counts) in report.counts {
        if let Some(piece) = pieces.get_mut(index) {
            piece.counts = counts;
        }
    }
    context.live.num_bytes_read.fetch_add(source.counters().num_bytes_read(), std::sync::atomic::Ordering::Relaxed);
    let result = ShardResult {
        run_id: task.run_id.clone(),
        shard_id: task.shard_id.clone(),
        pieces,
        dead_letters: report.dead_letter_parts,
        num_bytes_read: source.counters().num_bytes_read(),
        delivery: report.stats,
        started_at,
        ended_at: now_millis(),
    };
    context.work.put_json(&context.work.result_file(&task.run_id, &task.shard_id), &result).await?;
    Ok(result)
}

/// What a piece read, also when it ended early.
#[derive(Debug, Default)]
struct PieceProgress {
    num_rows_read: u64,
    num_rows_per_row_group: BTreeMap<usize, u64>,
    failed_row_groups: Vec<RowGroupFailure>,
    dropped_columns: BTreeSet<String>,
}

/// [`scan_piece`], with a panic contained to the piece (the last resort:
/// the reader and converter contain their own).
async fn contained_scan_piece(
    context: &PipelineContext,
    source: &crate::object::ObjectStore,
    sink: &mut BulkSink,
    index: usize,
    piece: &ShardPiece,
    progress: &mut PieceProgress,
) -> Result<(), PieceFailure> {
    let scanned = std::panic::AssertUnwindSafe(scan_piece(context, source, sink, index, piece, progress)).catch_unwind().await;
    scanned.unwrap_or_else(|payload| {
        let message = payload.downcast_ref::<&str>().map(|text| (*text).to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
        Err(PieceFailure::Object(NamedError::new(
            ErrorName::InvalidObject,
            format!("{}: {} ({})", piece.object, crate::guard::PANIC_MARKER, message.as_deref().unwrap_or("no message")),
        )))
    })
}

async fn scan_piece(
    context: &PipelineContext,
    source: &crate::object::ObjectStore,
    sink: &mut BulkSink,
    index: usize,
    piece: &ShardPiece,
    progress: &mut PieceProgress,
) -> Result<(), PieceFailure> {
    let classify = |error: NamedError| {
        if error.name.is_retryable() || error.name == ErrorName::Configuration {
            PieceFailure::Shard(error)
        } else {
            PieceFailure::Object(error)
        }
    };
    let footer = read_footer(source, &piece.object, DEFAULT_FOOTER_HINT).await.map_err(|e| classify(e.into()))?;
    if piece.object.etag.is_some() && footer.object.etag != piece.object.etag {
        return Err(PieceFailure::Object(NamedError::new(
            ErrorName::ObjectChanged,
            format!(
                "{} changed since it was planned (etag {} then, {} now); it will be ingested from its own notification",
                piece.object,
                piece.object.etag.as_deref().unwrap_or("-"),
                footer.object.etag.as_deref().unwrap_or("-")
            ),
        )));
    }
    if piece.row_groups().end > footer.num_row_groups() {
        return Err(PieceFailure::Object(NamedError::new(
            ErrorName::InvalidObject,
            format!("{} has {} row groups, the plan expects {}", piece.object, footer.num_row_groups(), piece.row_groups().end),
        )));
    }
    let rows_in_footer: BTreeMap<usize, u64> =
        piece.row_groups().map(|row_group| (row_group, footer.metadata.row_group(row_group).num_rows().max(0) as u64)).collect();
    let (mut batches, _task) = spawn_scan(source.clone(), footer, piece.row_groups().collect(), context.scan.clone());
    let mut failures = Vec::new();
    while let Some(batch) = batches.recv().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(ReadError::RowGroup { row_group, reason, .. }) => {
                failures.push((row_group, reason));
                continue;
            }
            Err(error) => return Err(classify(error.into())),
        };
        let num_rows = batch.docs.num_rows();
        progress.num_rows_read += num_rows;
        *progress.num_rows_per_row_group.entry(batch.row_group).or_default() += num_rows;
        progress.dropped_columns.extend(batch.dropped_columns.iter().cloned());
        context.live.num_rows_read.fetch_add(num_rows, std::sync::atomic::Ordering::Relaxed);
        sink.send(index, batch.docs).await.map_err(|error| PieceFailure::Shard(error.into()))?;
    }
    for (row_group, reason) in failures {
        let read = progress.num_rows_per_row_group.get(&row_group).copied().unwrap_or(0);
        let num_rows_lost = rows_in_footer.get(&row_group).copied().unwrap_or(0).saturating_sub(read);
        progress.failed_row_groups.push(RowGroupFailure { row_group, num_rows_lost, reason });
    }
    let num_rows_lost: u64 = progress.failed_row_groups.iter().map(|failure| failure.num_rows_lost).sum();
    if progress.num_rows_read + num_rows_lost != piece.num_rows {
        return Err(PieceFailure::Object(NamedError::new(
            ErrorName::InvalidObject,
            format!(
                "{}: read {} rows from row groups {:?}, the footer gives {}",
                piece.object,
                progress.num_rows_read,
                piece.row_groups(),
                piece.num_rows
            ),
        )));
    }
    if let Some(first) = progress.failed_row_groups.first() {
        let bad: Vec<String> = progress.failed_row_groups.iter().map(|failure| failure.row_group.to_string()).collect();
        return Err(PieceFailure::Object(NamedError::new(
            ErrorName::InvalidObject,
            format!(
                "{}: row group(s) {} cannot be read ({num_rows_lost} rows lost; first: {}); the other row groups were read",
                piece.object,
                bad.join(", "),
                first.reason
            ),
        )));
    }
    Ok(())
}
