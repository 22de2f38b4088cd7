//! Work one shard: range-read its row groups, convert, deliver, and store the
//! `ShardResult`.
//!
//! Given a deadline (the Lambda invocation's), a shard stops before it and
//! keeps what it finished for the retry (see `checkpoint`).
//!
//! A bad object (corrupt, missing, changed) fails only its piece: the piece
//! result carries the named error and the other pieces go on. A row group
//! that cannot be read fails only itself: the piece's other row groups are
//! read, and the piece result names the bad ones and the rows they lost. A
//! panic while working a piece is contained to that piece. Transient
//! failures (network) fail the whole shard with a named error and record
//! nothing, so the state machine retries or redrives it; documents already
//! sent are then answered "already present". Throttling beyond the sink's
//! retry budget is a reason to slow down, not to lose work: the shard keeps
//! what was delivered in a checkpoint (as at its deadline) and fails with
//! `Lakeship.Throttled`, which the state machine retries for an hour and more.

use std::collections::BTreeMap;

use futures::FutureExt;

use super::doc_stream::spawn_scan;
use crate::delivery::BulkSink;
use crate::dlq::DeadLetterWriter;
use crate::errors::{ErrorName, NamedError};
use crate::plan::{ShardPiece, ShardTask};
use crate::reader::{DEFAULT_FOOTER_HINT, ReadError, read_footer};

use super::PipelineContext;
use super::checkpoint::{AttemptUnits, Deadline};
use super::payload::{RowGroupFailure, ShardResult};
use crate::time::now_millis;

/// How a piece ended early.
enum PieceFailure {
    /// The object is bad: recorded on the piece.
    Object(NamedError),
    /// The shard must fail (transient, delivery).
    Shard(NamedError),
    /// The deadline is near: the shard stops and keeps what it finished.
    OutOfTime,
}

/// Runs a shard and stores its result in the work area.
pub async fn run_shard(context: &PipelineContext, task: &ShardTask) -> Result<ShardResult, NamedError> {
    Box::pin(run_shard_until(context, task, None)).await
}

/// Runs a shard (what is left of it after the checkpoint of an earlier
/// attempt), stopping before `deadline` with `Lakeship.OutOfTime` and a new
/// checkpoint; stores its result in the work area when it is done.
pub async fn run_shard_until(context: &PipelineContext, task: &ShardTask, deadline: Option<Deadline>) -> Result<ShardResult, NamedError> {
    if task.pieces.is_empty() {
        return Err(NamedError::new(ErrorName::InvalidInput, format!("shard {} has no pieces", task.shard_id)));
    }
    let checkpoint = Box::pin(super::checkpoint::load(context, task)).await?;
    let (remaining, origins) = checkpoint.remaining(task);
    let source = context.source.with_fresh_counters();
    let dead_letters = DeadLetterWriter::new(context.work.store().clone(), context.work.dead_letter_prefix(&task.shard_id));
    let mut sink = BulkSink::new(context.client.clone(), context.delivery.clone(), dead_letters).with_observer(context.live.clone());
    let mut units = AttemptUnits::new(remaining.pieces.len(), deadline);
    let mut stopped = false;
    let mut cause = None;
    for (index, piece) in remaining.pieces.iter().enumerate() {
        if units.should_stop(sink.counts()) {
            stopped = true;
            break;
        }
        match Box::pin(contain_piece_panic(piece, scan_piece(context, &source, &mut sink, &mut units, index, piece))).await {
            Ok(()) => units.piece_ended(index, None),
            Err(PieceFailure::Object(error)) => {
                tracing::warn!(object = %piece.object, error = %error, "piece failed");
                units.piece_ended(index, Some(error));
            }
            Err(PieceFailure::Shard(error)) if error.name == ErrorName::Throttled => {
                cause = Some(error);
                break;
            }
            Err(PieceFailure::Shard(error)) => return Err(error),
            Err(PieceFailure::OutOfTime) => {
                stopped = true;
                break;
            }
        }
    }
    if cause.is_none() && !stopped {
        match sink.drain().await {
            Err(error) if error.name() == ErrorName::Throttled => cause = Some(error.into()),
            Err(error) => return Err(error.into()),
            Ok(()) => {}
        }
    }
    context.live.num_bytes_read.fetch_add(source.counters().num_bytes_read(), std::sync::atomic::Ordering::Relaxed);
    let deadline = match (&cause, stopped, deadline) {
        // Throttled: keep what came back; nothing left in flight is waited for.
        (Some(_), _, _) => Some(Deadline::at(std::time::Instant::now(), std::time::Instant::now())),
        (None, true, deadline) => deadline,
        (None, false, _) => None,
    };
    if let Some(deadline) = deadline {
        let attempt = super::checkpoint::Stopped { task, remaining: &remaining, origins: &origins, units: &units, deadline, cause };
        return Err(Box::pin(attempt.keep(context, checkpoint, sink, source.counters().num_bytes_read())).await);
    }
    let report = sink.finish().await.map_err(NamedError::from)?;
    let mut done = checkpoint.followed_by(task, &origins, units.results(&remaining, &report.counts), true);
    done.dead_letters.extend(report.dead_letter_parts);
    done.delivery.add(&report.stats);
    let result = ShardResult {
        run_id: task.run_id.clone(),
        shard_id: task.shard_id.clone(),
        num_bytes_read: done.num_bytes_read + source.counters().num_bytes_read(),
        dead_letters: std::mem::take(&mut done.dead_letters),
        delivery: done.delivery,
        started_at: done.started_at,
        pieces: done.into_results(task),
        ended_at: now_millis(),
    };
    context.work.put_json(&context.work.result_file(&task.run_id, &task.shard_id), &result).await?;
    Ok(result)
}

/// The work of a piece ([`scan_piece`]), with a panic contained to the
/// piece (the last resort: the reader and converter contain their own).
async fn contain_piece_panic(piece: &ShardPiece, work: impl Future<Output = Result<(), PieceFailure>>) -> Result<(), PieceFailure> {
    let scanned = std::panic::AssertUnwindSafe(work).catch_unwind().await;
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
    units: &mut AttemptUnits,
    index: usize,
    piece: &ShardPiece,
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
    let give_up_at = units.deadline().map(|deadline| deadline.abandon_at());
    let mut rows_per_row_group: BTreeMap<usize, u64> = BTreeMap::new();
    let mut failed_row_groups = Vec::new();
    while let Some(batch) = next_batch(&mut batches, give_up_at).await? {
        let batch = match batch {
            Ok(batch) => batch,
            Err(ReadError::RowGroup { row_group, reason, .. }) => {
                let read = rows_per_row_group.get(&row_group).copied().unwrap_or(0);
                let num_rows_lost = rows_in_footer.get(&row_group).copied().unwrap_or(0).saturating_sub(read);
                let failure = RowGroupFailure { row_group, num_rows_lost, reason };
                units.row_group_failed(index, failure.clone());
                failed_row_groups.push(failure);
                continue;
            }
            Err(error) => return Err(classify(error.into())),
        };
        if units.should_stop(sink.counts()) {
            return Err(PieceFailure::OutOfTime);
        }
        let num_rows = batch.docs.num_rows();
        *rows_per_row_group.entry(batch.row_group).or_default() += num_rows;
        units.columns_dropped(index, &batch.dropped_columns);
        context.live.num_rows_read.fetch_add(num_rows, std::sync::atomic::Ordering::Relaxed);
        let tag = units.tag(index, batch.row_group, num_rows);
        if !sink.send_until(tag, batch.docs, give_up_at).await.map_err(|error| PieceFailure::Shard(error.into()))? {
            return Err(PieceFailure::OutOfTime);
        }
    }
    let num_rows_read: u64 = rows_per_row_group.values().sum();
    let num_rows_lost: u64 = failed_row_groups.iter().map(|failure| failure.num_rows_lost).sum();
    if num_rows_read + num_rows_lost != piece.num_rows {
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
    if let Some(first) = failed_row_groups.first() {
        let bad: Vec<String> = failed_row_groups.iter().map(|failure| failure.row_group.to_string()).collect();
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

/// The next batch of a scan, waiting at most until `give_up_at`.
async fn next_batch<T>(
    batches: &mut tokio::sync::mpsc::Receiver<T>,
    give_up_at: Option<std::time::Instant>,
) -> Result<Option<T>, PieceFailure> {
    match give_up_at {
        None => Ok(batches.recv().await),
        Some(at) => tokio::time::timeout_at(at.into(), batches.recv()).await.map_err(|_| PieceFailure::OutOfTime),
    }
}
