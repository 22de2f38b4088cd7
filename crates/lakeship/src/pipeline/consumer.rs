//! The subscriber queue consumed on one machine (`lakeship run --source
//! <queue URL>`): the local counterpart of the pipe and the state machine.
//!
//! - **Fair receiving.** One `ReceiveMessage` asks for as many messages as
//!   workers are free now (at most 10), so two consumers of one queue share
//!   its messages instead of one holding a hundred while the other idles.
//! - **Batches overlap.** Each received batch is a run of its own (dispatch,
//!   shards, finalize, delete) in a task; the next receive does not wait for
//!   the previous batch's ledger write and deletes. Every batch's shards take
//!   their worker from one shared pool.
//! - **A heartbeat, not a long timeout.** A message is received with a short
//!   visibility timeout and kept invisible every third of it while its batch
//!   runs (`ChangeMessageVisibilityBatch`). A consumer that dies (`kill -9`)
//!   stops the heartbeat, so its messages return to the queue within one
//!   timeout; a slow object never returns while it is still being worked.
//! - **Prompt stop.** Ctrl-C ends a long poll at once; shards in flight
//!   finish, the rest is left on the queue (it returns after the timeout).
//!
//! Messages a batch settled are deleted; the others return after the
//! visibility timeout (without `--follow`, this consumer does not take them
//! again, so it ends).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::PipelineContext;
use super::local::{LocalOutcome, LocalRunOptions, Progress, run_local};
use super::payload::{DispatchRequest, RunSummary, ShardResult};
use crate::errors::NamedError;
use crate::notification::SqsRecord;
use crate::notification::sqs::{RECEIVE_MAX_MESSAGES, SqsQueue};
use crate::plan::ShardTask;

/// The longest wait of one `ReceiveMessage` (SQS's maximum): with
/// `--follow`, a message that arrives while the consumer waits is answered
/// at once.
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html>
pub const LONG_POLL_SECONDS: i32 = 20;

/// The wait of one `ReceiveMessage` without `--follow`: the consumer ends
/// when a receive this long finds nothing and no batch is running.
pub const SHORT_POLL_SECONDS: i32 = 2;

/// Default visibility timeout of received messages: a crashed consumer's
/// messages are back on the queue within this many seconds; the heartbeat
/// renews it every third while the work runs.
pub const DEFAULT_VISIBILITY_TIMEOUT_SECONDS: i32 = 30;

/// Options of a queue consumer.
#[derive(Clone)]
pub struct ConsumerOptions {
    /// Shards worked at once, over every batch.
    pub workers: usize,
    /// Upper bound of messages in one batch (one receive asks for at most
    /// the free workers, and SQS answers at most 10).
    pub max_messages: usize,
    /// Seconds a received message stays invisible without a heartbeat.
    pub visibility_timeout: i32,
    /// Keep polling until stopped; otherwise end when the queue is empty.
    pub follow: bool,
    /// Set to stop (Ctrl-C): no new receive, no new shard.
    pub stop: Arc<AtomicBool>,
    /// Progress of the batches' runs.
    pub progress: Arc<dyn Progress>,
}

impl std::fmt::Debug for ConsumerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumerOptions")
            .field("workers", &self.workers)
            .field("max_messages", &self.max_messages)
            .field("visibility_timeout", &self.visibility_timeout)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

/// A batch of messages worked as one run, and how it ended.
#[derive(Debug)]
pub struct Batch {
    /// The messages received.
    pub num_messages: usize,
    /// The messages deleted (settled).
    pub num_deleted: usize,
    /// The run's outcome.
    pub outcome: Result<LocalOutcome, NamedError>,
    /// Deleting the settled messages failed (they return and are skipped
    /// then as complete).
    pub delete_error: Option<NamedError>,
    /// From the receive to the deletes.
    pub elapsed: Duration,
}

/// What a consumer tells its caller while it runs.
pub trait BatchObserver: Send + Sync {
    /// A batch of `num_messages` was received and starts.
    fn received(&self, _num_messages: usize) {}
    /// A batch ended (its settled messages are deleted).
    fn finished(&self, _batch: Batch) {}
}

/// Consumes `queue` until it is empty (or, with `follow`, until stopped);
/// answers the number of batches. Batches that fail are reported to
/// `observer`; an error here is one of the queue itself (receiving failed),
/// answered once the batches in flight ended.
pub async fn consume(
    context: &PipelineContext,
    queue: &SqsQueue,
    options: &ConsumerOptions,
    observer: Arc<dyn BatchObserver>,
) -> Result<usize, NamedError> {
    let shared =
        Shared { slots: Arc::new(Semaphore::new(options.workers.max(1))), planning: Arc::new(AtomicUsize::new(0)), left: Arc::default() };
    let mut batches = JoinSet::new();
    let mut num_batches = 0;
    let mut failure = None;
    while !options.stop.load(Ordering::Relaxed) {
        while batches.try_join_next().is_some() {}
        let free = shared.slots.available_permits().saturating_sub(shared.planning.load(Ordering::Relaxed));
        if free == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let wait = if options.follow { LONG_POLL_SECONDS } else { SHORT_POLL_SECONDS };
        let size = free.min(options.max_messages.max(1)).min(RECEIVE_MAX_MESSAGES);
        let received = tokio::select! {
            received = queue.receive(size, wait, options.visibility_timeout) => received,
            () = stopped(&options.stop) => break,
        };
        let mut records = match received {
            Ok(records) => records,
            Err(error) => {
                failure = Some(error);
                break;
            }
        };
        if !options.follow
            && let Ok(left) = shared.left.lock()
        {
            records.retain(|record| !left.contains(&record.message_id));
        }
        if records.is_empty() {
            if !options.follow && batches.is_empty() {
                break;
            }
            continue;
        }
        num_batches += 1;
        shared.planning.fetch_add(records.len(), Ordering::Relaxed);
        observer.received(records.len());
        let batch = BatchRun { context: context.clone(), queue: queue.clone(), options: options.clone(), shared: shared.clone(), records };
        let observer = observer.clone();
        batches.spawn(async move { observer.finished(Box::pin(batch.run()).await) });
    }
    while let Some(joined) = batches.join_next().await {
        if let Err(error) = joined {
            tracing::error!(error = %error, "a batch task failed");
        }
    }
    failure.map_or(Ok(num_batches), Err)
}

/// Resolves when `stop` is set.
async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the batches of one consumer share.
#[derive(Clone)]
struct Shared {
    /// One permit per worker.
    slots: Arc<Semaphore>,
    /// Messages received whose batch has not planned its shards yet: they
    /// will need workers, so the next receive leaves room for them.
    planning: Arc<AtomicUsize>,
    /// Messages this consumer left on the queue (unreadable, or naming
    /// objects that did not settle).
    left: Arc<Mutex<HashSet<String>>>,
}

struct BatchRun {
    context: PipelineContext,
    queue: SqsQueue,
    options: ConsumerOptions,
    shared: Shared,
    records: Vec<SqsRecord>,
}

impl BatchRun {
    async fn run(self) -> Batch {
        let started = Instant::now();
        let planned =
            Arc::new(Planned { planning: self.shared.planning.clone(), num_messages: self.records.len(), done: AtomicBool::new(false) });
        let heartbeat = tokio::spawn(keep_invisible(self.queue.clone(), self.records.clone(), self.options.visibility_timeout));
        let local = LocalRunOptions {
            workers: self.options.workers,
            stop: self.options.stop.clone(),
            progress: Arc::new(SignalPlanned { inner: self.options.progress.clone(), planned: planned.clone() }),
            slots: Some(self.shared.slots.clone()),
        };
        let outcome = run_local(&self.context, DispatchRequest::Records(self.records.clone()), &local).await;
        planned.release();
        let done = super::settled_records(&self.records, outcome.as_ref().ok().and_then(|outcome| outcome.report.as_ref()));
        heartbeat.abort();
        let delete_error = self.queue.delete(&done).await.err();
        let settled: HashSet<&str> = done.iter().map(|record| record.message_id.as_str()).collect();
        if let Ok(mut left) = self.shared.left.lock() {
            left.extend(
                self.records.iter().filter(|record| !settled.contains(record.message_id.as_str())).map(|record| record.message_id.clone()),
            );
        }
        Batch { num_messages: self.records.len(), num_deleted: done.len(), outcome, delete_error, elapsed: started.elapsed() }
    }
}

/// Renews the visibility of `records` every third of `visibility_timeout`
/// until aborted.
async fn keep_invisible(queue: SqsQueue, records: Vec<SqsRecord>, visibility_timeout: i32) {
    let every = Duration::from_secs(u64::try_from(visibility_timeout / 3).unwrap_or(0).max(1));
    loop {
        tokio::time::sleep(every).await;
        match queue.keep_invisible(&records, visibility_timeout).await {
            Ok(0) => {}
            Ok(num_refused) => {
                tracing::warn!(
                    num_refused,
                    "messages could not be kept invisible; another consumer may receive them (their rows keep their ids)"
                )
            }
            Err(error) => tracing::warn!(error = %error, "the heartbeat of a batch failed; it tries again"),
        }
    }
}

/// The messages of a batch still counted as planning, released once.
struct Planned {
    planning: Arc<AtomicUsize>,
    num_messages: usize,
    done: AtomicBool,
}

impl Planned {
    fn release(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            self.planning.fetch_sub(self.num_messages, Ordering::Relaxed);
        }
    }
}

/// Progress that releases a batch's planning count when its shards are
/// planned (they then wait for workers themselves).
struct SignalPlanned {
    inner: Arc<dyn Progress>,
    planned: Arc<Planned>,
}

impl Progress for SignalPlanned {
    fn planned(&self, summary: &RunSummary, shards: &[ShardTask]) {
        self.planned.release();
        self.inner.planned(summary, shards);
    }

    fn shard_done(&self, result: &ShardResult) {
        self.inner.shard_done(result);
    }

    fn shard_failed(&self, shard: &ShardTask, error: &NamedError) {
        self.inner.shard_failed(shard, error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_is_released_once() {
        let planning = Arc::new(AtomicUsize::new(5));
        let planned = Planned { planning: planning.clone(), num_messages: 3, done: AtomicBool::new(false) };
        planned.release();
        planned.release();
        assert_eq!(planning.load(Ordering::Relaxed), 2);
    }
}
