//! The bulk sink: takes encoded documents, sends them in chunks with a
//! number of requests in flight that adapts to the domain (`concurrency`), retries only what can succeed on
//! retry, and tallies every document as indexed, already present or rejected
//! (rejected ones go to the dead-letter store with their reason).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::task::JoinSet;

use super::DeliveryError;
use super::bulk::{Chunk, ItemOutcome, split_into_chunks};
use super::concurrency::{Concurrency, ConcurrencyController, RequestOutcome};
use super::counts::{DeliveryStats, ItemCounts};
use super::retry::{BulkRound, RetryPolicy, RetryState, Sleeper, decide_round, tokio_sleeper};
use super::transport::{BulkTransport, DeliveryObserver, RejectSink};
use crate::convert::{EncodedDocs, write_reject};

#[cfg(test)]
mod tests;

/// Options of bulk delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOptions {
    /// Upper bound of a bulk request body (before compression). The default,
    /// 5 MiB, is well below the smallest HTTP payload limit of managed
    /// domains (10 MiB).
    pub max_chunk_bytes: usize,
    /// Upper bound of documents per bulk request.
    pub max_chunk_docs: usize,
    /// Bulk requests in flight at once: the fixed number, or the most when
    /// `adaptive`.
    pub max_in_flight: usize,
    /// Adapt the requests in flight to the domain (from one up to
    /// `max_in_flight`: more while it keeps up, fewer when it pushes back)
    /// rather than keep `max_in_flight` always.
    pub adaptive: bool,
    /// Retry policy of throttled and failed requests and items.
    pub retry: RetryPolicy,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            max_chunk_bytes: 5 * 1024 * 1024,
            max_chunk_docs: 5_000,
            max_in_flight: 2,
            adaptive: false,
            retry: RetryPolicy::default(),
        }
    }
}

impl DeliveryOptions {
    /// How many requests are kept in flight.
    pub fn concurrency(&self) -> Concurrency {
        if self.adaptive { Concurrency::Adaptive(self.max_in_flight) } else { Concurrency::Fixed(self.max_in_flight) }
    }
}

/// The result of a sink's work.
#[derive(Debug, Clone, Default)]
pub struct SinkReport {
    /// Outcomes per piece (as tagged when sending).
    pub counts: BTreeMap<usize, ItemCounts>,
    /// Wire statistics.
    pub stats: DeliveryStats,
    /// Dead letters written.
    pub num_dead_letters: u64,
    /// Dead-letter part files written.
    pub dead_letter_parts: Vec<String>,
}

struct ChunkReport {
    piece: usize,
    counts: ItemCounts,
    stats: DeliveryStats,
    dead_letters: Vec<u8>,
}

/// Sends documents to OpenSearch. Create one per shard attempt.
pub struct BulkSink {
    transport: Arc<dyn BulkTransport>,
    options: DeliveryOptions,
    sleeper: Sleeper,
    tasks: JoinSet<Result<ChunkReport, DeliveryError>>,
    controller: Arc<Mutex<ConcurrencyController>>,
    rejects: Box<dyn RejectSink>,
    report: SinkReport,
    observer: Option<Arc<dyn DeliveryObserver>>,
}

impl std::fmt::Debug for BulkSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkSink").field("in_flight", &self.tasks.len()).finish_non_exhaustive()
    }
}

impl BulkSink {
    /// A sink that sends through `transport` (an `OpenSearchClient`) and
    /// hands documents refused for good to `rejects` (the dead-letter store).
    pub fn new(transport: impl BulkTransport, options: DeliveryOptions, rejects: impl RejectSink + 'static) -> Self {
        let controller = ConcurrencyController::new(options.concurrency(), Instant::now());
        BulkSink {
            transport: Arc::new(transport),
            options,
            controller: Arc::new(Mutex::new(controller)),
            sleeper: tokio_sleeper(),
            tasks: JoinSet::new(),
            rejects: Box::new(rejects),
            report: SinkReport::default(),
            observer: None,
        }
    }

    /// Also tells `observer` the outcomes as requests complete.
    pub(crate) fn with_observer(mut self, observer: Arc<dyn DeliveryObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Replaces the sleep between retries (tests).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Sends the documents of `docs`, tagged with `piece`. Returns once they
    /// are handed to requests in flight (at most the controller's limit). Rows that
    /// could not be routed are counted as rejected and go to the dead-letter
    /// store with their reason, unsent.
    pub async fn send(&mut self, piece: usize, docs: EncodedDocs) -> Result<(), DeliveryError> {
        self.send_until(piece, docs, None).await.map(|_| ())
    }

    /// [`send`](Self::send), but waiting for room among the requests in
    /// flight only until `give_up_at`: false if that came first (then some
    /// of the documents may not have been sent).
    pub(crate) async fn send_until(
        &mut self,
        piece: usize,
        mut docs: EncodedDocs,
        give_up_at: Option<Instant>,
    ) -> Result<bool, DeliveryError> {
        if docs.num_unroutable > 0 {
            self.reject_unroutable(piece, &mut docs).await?;
        }
        for chunk in split_into_chunks(piece, docs, self.options.max_chunk_bytes, self.options.max_chunk_docs) {
            while self.tasks.len() >= self.limit() {
                lock(&self.controller).at_limit();
                let joined = match give_up_at {
                    Some(at) => match tokio::time::timeout_at(at.into(), self.tasks.join_next()).await {
                        Ok(joined) => joined,
                        Err(_) => return Ok(false),
                    },
                    None => self.tasks.join_next().await,
                };
                let Some(joined) = joined else { break };
                self.absorb(joined).await?;
            }
            let (transport, policy, sleeper) = (self.transport.clone(), self.options.retry, self.sleeper.clone());
            let controller = self.controller.clone();
            self.tasks.spawn(async move { deliver_chunk(transport.as_ref(), chunk, policy, &sleeper, &controller).await });
        }
        Ok(true)
    }

    /// Requests allowed in flight now.
    pub fn limit(&self) -> usize {
        lock(&self.controller).limit()
    }

    /// Outcomes of the requests collected so far, by tag.
    pub fn counts(&self) -> &BTreeMap<usize, ItemCounts> {
        &self.report.counts
    }

    async fn reject_unroutable(&mut self, piece: usize, docs: &mut EncodedDocs) -> Result<(), DeliveryError> {
        let counts = ItemCounts { num_rejected: docs.num_unroutable, ..ItemCounts::default() };
        self.tally(piece, &counts);
        let lines = std::mem::take(&mut docs.unroutable);
        docs.num_unroutable = 0;
        self.rejects.append(&lines, counts.num_rejected).await.map_err(DeliveryError::DeadLetters)
    }

    fn tally(&mut self, piece: usize, counts: &ItemCounts) {
        self.report.counts.entry(piece).or_default().add(counts);
        if let Some(observer) = &self.observer {
            observer.delivered(counts);
        }
    }

    async fn collect_one(&mut self) -> Result<(), DeliveryError> {
        let Some(joined) = self.tasks.join_next().await else { return Ok(()) };
        self.absorb(joined).await
    }

    /// Takes in the outcome of a finished request: counts, statistics, dead
    /// letters.
    async fn absorb(&mut self, joined: Result<Result<ChunkReport, DeliveryError>, tokio::task::JoinError>) -> Result<(), DeliveryError> {
        let chunk = match joined {
            Ok(Ok(chunk)) => chunk,
            Ok(Err(error)) => {
                self.tasks.abort_all();
                return Err(error);
            }
            Err(error) => {
                self.tasks.abort_all();
                return Err(DeliveryError::Protocol(format!("delivery task failed: {error}")));
            }
        };
        self.tally(chunk.piece, &chunk.counts);
        self.report.stats.add(&chunk.stats);
        if !chunk.dead_letters.is_empty() {
            self.rejects.append(&chunk.dead_letters, chunk.counts.num_rejected).await.map_err(DeliveryError::DeadLetters)?;
        }
        Ok(())
    }

    /// Stops: waits for the requests in flight until `abandon_at`, then
    /// abandons those still running (their documents may or may not have
    /// been indexed: sent again, they come back as created or already
    /// present), and stores the dead letters of what came back. The report
    /// holds the outcomes of the requests that finished; a request that
    /// failed while waiting is abandoned like the others.
    pub async fn stop(mut self, abandon_at: Instant) -> Result<SinkReport, DeliveryError> {
        while !self.tasks.is_empty() {
            let Ok(Some(joined)) = tokio::time::timeout_at(abandon_at.into(), self.tasks.join_next()).await else { break };
            if let Err(error) = self.absorb(joined).await {
                if matches!(error, DeliveryError::DeadLetters(_)) {
                    return Err(error);
                }
                tracing::warn!(error = %error, "a bulk request failed while stopping; its documents are sent again by the retry");
                break;
            }
        }
        if !self.tasks.is_empty() {
            tracing::warn!(num_requests = self.tasks.len(), "abandoning bulk requests in flight at the deadline");
            self.tasks.abort_all();
        }
        self.finish_rejects().await
    }

    async fn finish_rejects(mut self) -> Result<SinkReport, DeliveryError> {
        let (num_dead_letters, parts) = self.rejects.finish().await.map_err(DeliveryError::DeadLetters)?;
        self.report.num_dead_letters = num_dead_letters;
        self.report.dead_letter_parts = parts;
        Ok(self.report)
    }

    /// Waits for every request and stores the dead letters.
    pub async fn finish(mut self) -> Result<SinkReport, DeliveryError> {
        self.drain().await?;
        self.finish_rejects().await
    }

    /// Waits for every request; on a failure, the requests still in flight
    /// are abandoned and the sink keeps the outcomes collected so far (for
    /// [`stop`](Self::stop)).
    pub(crate) async fn drain(&mut self) -> Result<(), DeliveryError> {
        while !self.tasks.is_empty() {
            self.collect_one().await?;
        }
        Ok(())
    }
}

/// Sends one chunk until every document has an outcome, or retries run out.
async fn deliver_chunk(
    transport: &dyn BulkTransport,
    chunk: Chunk,
    policy: RetryPolicy,
    sleeper: &Sleeper,
    controller: &Mutex<ConcurrencyController>,
) -> Result<ChunkReport, DeliveryError> {
    let mut report =
        ChunkReport { piece: chunk.piece, counts: ItemCounts::default(), stats: DeliveryStats::default(), dead_letters: Vec::new() };
    let mut pending: Vec<usize> = (0..chunk.docs.len()).collect();
    let mut state = RetryState::new(policy);
    loop {
        state.attempt();
        let body = chunk.body_of(&pending);
        report.stats.num_requests += 1;
        report.stats.num_bytes_sent += body.len() as u64;
        let sent_at = Instant::now();
        let round = decide_round(transport.bulk(body).await, pending.len());
        lock(controller).record(Instant::now(), sent_at.elapsed(), concurrency_outcome(&round));
        let (throttled, retry_after, last_error) = match round {
            BulkRound::Fail(error) => return Err(error),
            BulkRound::Split => {
                // Too large for the endpoint: halve and send the halves.
                let (first, second) = pending.split_at(pending.len() / 2);
                for half in [first.to_vec(), second.to_vec()] {
                    let sub = sub_chunk(&chunk, &half);
                    let sub_report = Box::pin(deliver_chunk(transport, sub, policy, sleeper, controller)).await?;
                    report.counts.add(&sub_report.counts);
                    report.stats.add(&sub_report.stats);
                    report.dead_letters.extend_from_slice(&sub_report.dead_letters);
                }
                return Ok(report);
            }
            BulkRound::TooLarge => {
                reject(&chunk, pending[0], 413, "document too large for the endpoint (413)", &mut report);
                return Ok(report);
            }
            BulkRound::RetryAll { throttled, retry_after, reason } => {
                if throttled {
                    report.stats.num_throttled_requests += 1;
                } else {
                    report.stats.num_failed_requests += 1;
                }
                (throttled, retry_after, reason)
            }
            BulkRound::Items(outcomes) => {
                let mut retry = Vec::new();
                let mut throttled = false;
                for (&index, outcome) in pending.iter().zip(outcomes) {
                    match outcome {
                        ItemOutcome::Indexed => report.counts.num_indexed += 1,
                        ItemOutcome::AlreadyPresent => report.counts.num_already_present += 1,
                        ItemOutcome::Retry { status } => {
                            if status == 429 {
                                report.stats.num_throttled_items += 1;
                                throttled = true;
                            }
                            retry.push(index);
                        }
                        ItemOutcome::Rejected { status, reason } => reject(&chunk, index, status, &reason, &mut report),
                        ItemOutcome::IdsRefused => return Err(super::bulk::ids_refused("POST /_bulk")),
                    }
                }
                if retry.is_empty() {
                    return Ok(report);
                }
                let message = format!("{} of {} documents answered 429/5xx", retry.len(), pending.len());
                pending = retry;
                (throttled, None, message)
            }
        };
        let Some(backoff) = state.next_backoff(retry_after) else {
            return Err(DeliveryError::RetriesExhausted { throttled, attempts: state.attempts(), num_pending: pending.len(), last_error });
        };
        report.stats.num_retried_docs += pending.len() as u64;
        tracing::debug!(num_pending = pending.len(), backoff_ms = backoff.as_millis() as u64, throttled, "retrying bulk items");
        sleeper(backoff).await;
    }
}

/// What an answer says about the domain's load.
fn concurrency_outcome(round: &BulkRound) -> RequestOutcome {
    match round {
        BulkRound::RetryAll { .. } => RequestOutcome::BackPressure,
        BulkRound::Items(outcomes) if outcomes.iter().any(|outcome| matches!(outcome, ItemOutcome::Retry { .. })) => {
            RequestOutcome::BackPressure
        }
        BulkRound::Items(_) => RequestOutcome::Answered,
        BulkRound::Split | BulkRound::TooLarge | BulkRound::Fail(_) => RequestOutcome::Ignored,
    }
}

/// The controller, also after a panic elsewhere (its state stays usable).
fn lock(controller: &Mutex<ConcurrencyController>) -> std::sync::MutexGuard<'_, ConcurrencyController> {
    controller.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn sub_chunk(chunk: &Chunk, indices: &[usize]) -> Chunk {
    let body = chunk.body_of(indices);
    let mut offset = 0u32;
    let docs = indices
        .iter()
        .map(|&index| {
            let span = chunk.docs[index];
            let rebased = crate::convert::DocSpan {
                start: offset,
                source_start: offset + (span.source_start - span.start),
                end: offset + (span.end - span.start),
            };
            offset = rebased.end;
            rebased
        })
        .collect();
    Chunk { piece: chunk.piece, body, docs }
}

fn reject(chunk: &Chunk, index: usize, status: u16, reason: &str, report: &mut ChunkReport) {
    report.counts.num_rejected += 1;
    let action: serde_json::Value = serde_json::from_slice(chunk.action(index)).unwrap_or_default();
    let target = action.as_object().and_then(|object| object.values().next()).cloned().unwrap_or_default();
    let index_name = target["_index"].as_str().unwrap_or_default();
    let id = target["_id"].as_str().unwrap_or_default();
    write_reject(&mut report.dead_letters, index_name, id, status, reason, chunk.source(index));
}
