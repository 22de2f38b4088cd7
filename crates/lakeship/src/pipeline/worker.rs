//! Work one shard: range-read its row groups, convert, deliver, and store the
//! `ShardResult`.
//!
//! A bad object (corrupt, missing, changed) fails only its piece: the piece
//! result carries the named error and the other pieces go on. Transient
//! failures (network, throttling beyond the retry budget) fail the whole
//! shard with a named error and record nothing, so the state machine retries
//! or redrives it; documents already sent are then answered "already present".

use crate::delivery::BulkSink;
use crate::dlq::DeadLetterWriter;
use crate::errors::{ErrorName, NamedError};
use crate::plan::{ShardPiece, ShardTask};
use crate::reader::{DEFAULT_FOOTER_HINT, read_footer};
use crate::scan::spawn_scan;

use super::payload::{PieceResult, ShardResult};
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
        let mut num_rows_read = 0;
        let error = match scan_piece(context, &source, &mut sink, index, piece, &mut num_rows_read).await {
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
            num_rows_read,
            counts: Default::default(),
            error,
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

async fn scan_piece(
    context: &PipelineContext,
    source: &crate::object::ObjectStore,
    sink: &mut BulkSink,
    index: usize,
    piece: &ShardPiece,
    num_rows_read: &mut u64,
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
    let (mut batches, _task) = spawn_scan(source.clone(), footer, piece.row_groups().collect(), context.scan.clone());
    while let Some(batch) = batches.recv().await {
        let batch = batch.map_err(|e| classify(e.into()))?;
        *num_rows_read += batch.docs.docs.len() as u64;
        context.live.num_rows_read.fetch_add(batch.docs.docs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        sink.send(index, batch.docs).await.map_err(|error| PieceFailure::Shard(error.into()))?;
    }
    if *num_rows_read != piece.num_rows {
        return Err(PieceFailure::Object(NamedError::new(
            ErrorName::InvalidObject,
            format!(
                "{}: read {} rows from row groups {:?}, the footer gives {}",
                piece.object,
                num_rows_read,
                piece.row_groups(),
                piece.num_rows
            ),
        )));
    }
    Ok(())
}
