//! The local executor: dispatch, workers in parallel, finalize — the state
//! machine's flow on one machine, with the same handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinSet;

use crate::errors::{ErrorName, NamedError};
use crate::plan::ShardTask;

use super::dispatch::dispatch_planned;
use super::payload::RunReport;
use super::payload::{DispatchRequest, RunSummary, ShardResult};
use super::{PipelineContext, record_run, run_shard};

/// What the executor reports while it runs.
pub trait Progress: Send + Sync {
    /// The run is planned; `shards` are those that will run now.
    fn planned(&self, _summary: &RunSummary, _shards: &[ShardTask]) {}
    /// A shard finished.
    fn shard_done(&self, _result: &ShardResult) {}
    /// A shard failed (it has no result; `--resume` re-runs it).
    fn shard_failed(&self, _shard: &ShardTask, _error: &NamedError) {}
}

/// Reports nothing.
#[derive(Debug)]
pub(crate) struct NoProgress;

impl Progress for NoProgress {}

/// Options of a local run.
#[derive(Clone)]
pub struct LocalRunOptions {
    /// Shards worked at once.
    pub workers: usize,
    /// Set to stop starting new shards (Ctrl-C); shards in flight finish.
    pub stop: Arc<AtomicBool>,
    /// Progress reporting.
    pub progress: Arc<dyn Progress>,
    /// Worker slots shared with other runs in the same process (a queue
    /// consumer's concurrent batches): a shard starts only with a permit.
    pub slots: Option<Arc<tokio::sync::Semaphore>>,
}

impl std::fmt::Debug for LocalRunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRunOptions").field("workers", &self.workers).finish_non_exhaustive()
    }
}

impl Default for LocalRunOptions {
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        LocalRunOptions { workers, stop: Arc::default(), progress: Arc::new(NoProgress), slots: None }
    }
}

/// How a local run ended.
#[derive(Debug, Clone)]
pub struct LocalOutcome {
    /// The dispatcher's summary.
    pub summary: RunSummary,
    /// The finalizer's report (written to the ledger), absent when the run
    /// was stopped before every shard ran.
    pub report: Option<RunReport>,
    /// Shards that failed (no result; `--resume` re-runs them).
    pub failed_shards: Vec<(String, NamedError)>,
    /// True if stopped (Ctrl-C) before every shard ran.
    pub stopped: bool,
    /// Finalizing failed (for example OpenSearch went away while writing the
    /// ledger); `--resume` finalizes again.
    pub finalize_error: Option<NamedError>,
    /// Runs (pages of a backfill) this outcome covers.
    pub num_pages: usize,
}

impl LocalOutcome {
    /// This outcome and that of a later run (the next page of a backfill, or
    /// the next batch of a queue), as one: the first run's summary, every
    /// run's objects, messages, failures and stops.
    pub fn followed_by(mut self, later: LocalOutcome) -> LocalOutcome {
        self.report = match (self.report, later.report) {
            (Some(mut report), Some(later)) => {
                report.objects.extend(later.objects);
                report.skipped.extend(later.skipped);
                report.bad_messages.extend(later.bad_messages);
                report.ignored_messages.extend(later.ignored_messages);
                report.missing_shards.extend(later.missing_shards);
                Some(report)
            }
            (report, later) => report.or(later),
        };
        self.num_pages += later.num_pages;
        self.failed_shards.extend(later.failed_shards);
        self.stopped |= later.stopped;
        self.finalize_error = self.finalize_error.or(later.finalize_error);
        self
    }

    /// `Ok` if every object of the run is complete and every message of its
    /// batch could be read; otherwise the named error a user needs (incomplete
    /// objects, failed shards, a stop, or unreadable messages).
    pub fn check(&self) -> Result<(), NamedError> {
        let run_id = &self.summary.run_id;
        if self.stopped {
            return Err(NamedError::new(
                ErrorName::Transient,
                format!("stopped before every shard ran; continue with `lakeship run --resume {run_id}`"),
            ));
        }
        if let Some(error) = &self.finalize_error {
            return Err(NamedError::new(error.name, format!("{}; finalize again with `lakeship run --resume {run_id}`", error.message)));
        }
        if let Some(report) = &self.report
            && let Err(error) = super::check_complete(report)
        {
            let hint = if self.failed_shards.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} shard(s) failed (first: {}); re-run them with `lakeship run --resume {run_id}`",
                    self.failed_shards.len(),
                    self.failed_shards[0].1
                )
            };
            return Err(NamedError::new(error.name, format!("{}{hint}", error.message)));
        }
        if let Some(report) = &self.report {
            super::messages::check_messages(report)?;
        }
        Ok(())
    }
}

/// Dispatches, works every shard, and finalizes; a prefix backfill page by
/// page, one after another.
pub async fn run_local(context: &PipelineContext, request: DispatchRequest, options: &LocalRunOptions) -> Result<LocalOutcome, NamedError> {
    let (summary, shards) = dispatch_planned(context, request).await?;
    Box::pin(resume_pages(context, summary, Some(shards), options)).await
}

/// Works the shards of a dispatched run that have no result yet, then
/// finalizes (the local counterpart of a redrive); then the pages of the
/// backfill that follow it, dispatching those not dispatched yet. The
/// outcome covers every page, under the first page's run id.
pub async fn resume_local(context: &PipelineContext, summary: RunSummary, options: &LocalRunOptions) -> Result<LocalOutcome, NamedError> {
    Box::pin(resume_pages(context, summary, None, options)).await
}

/// [`resume_local`] from a run whose shard list is known (just planned) or
/// read from the work area (`None`).
async fn resume_pages(
    context: &PipelineContext,
    summary: RunSummary,
    shards: Option<Vec<ShardTask>>,
    options: &LocalRunOptions,
) -> Result<LocalOutcome, NamedError> {
    let mut next = summary.next.clone();
    let mut outcome = Box::pin(resume_page(context, summary, shards, options)).await?;
    while let Some(page) = next.take() {
        if options.stop.load(Ordering::Relaxed) {
            outcome.stopped = true;
            break;
        }
        let recorded = context.work.get_json::<RunSummary>(&context.work.run_file(&page.run_id, "summary.json")).await?;
        let (summary, shards) = match recorded {
            Some(summary) => (summary, None),
            None => {
                let request = DispatchRequest::WithRunId { run_id: page.run_id, request: Box::new(page.request) };
                let (summary, shards) = Box::pin(dispatch_planned(context, request)).await?;
                (summary, Some(shards))
            }
        };
        next = summary.next.clone();
        outcome = outcome.followed_by(Box::pin(resume_page(context, summary, shards, options)).await?);
    }
    Ok(outcome)
}

/// Works the shards of one dispatched run that have no result yet, then
/// finalizes. `shards` is the shard list the caller just planned; without
/// it (a resume) the list is read back from the work area.
async fn resume_page(
    context: &PipelineContext,
    summary: RunSummary,
    shards: Option<Vec<ShardTask>>,
    options: &LocalRunOptions,
) -> Result<LocalOutcome, NamedError> {
    let run_id = summary.run_id.clone();
    let shards: Vec<ShardTask> = match shards {
        Some(shards) => shards,
        None => context.work.get_json(&context.work.run_file(&run_id, "shards.json")).await?.ok_or_else(|| {
            NamedError::new(ErrorName::InvalidInput, format!("run {run_id} has no shard list in {}", context.work.root()))
        })?,
    };
    let mut pending = Vec::new();
    for shard in &shards {
        let done: Option<ShardResult> = context.work.get_json(&context.work.result_file(&run_id, &shard.shard_id)).await?;
        if done.is_none() {
            pending.push(shard.clone());
        }
    }
    options.progress.planned(&summary, &pending);
    let failed_shards = run_shards(context, pending, options).await;
    let stopped = options.stop.load(Ordering::Relaxed);
    let (report, finalize_error) = if stopped {
        (None, None)
    } else {
        match record_run(context, &run_id).await {
            Ok(report) => (Some(report), None),
            Err(error) => (None, Some(error)),
        }
    };
    Ok(LocalOutcome { summary, report, failed_shards, stopped, finalize_error, num_pages: 1 })
}

/// Retries of a shard that ended `Lakeship.Throttled`, as the state
/// machine's retrier on the Work task does (there: 16 retries, up to 600 s
/// apart; here shorter, for a machine that waits in front of a terminal).
const LOCAL_THROTTLED_RETRIES: u32 = 16;
/// The longest wait between them (full jitter below it).
const LOCAL_THROTTLED_MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a shard; a throttled shard kept what it delivered in a checkpoint,
/// so it is run again (resuming) after a backoff with full jitter, until it
/// ends otherwise, the retries run out, or the run is stopped.
async fn run_shard_retrying_throttled(context: &PipelineContext, shard: &ShardTask, stop: &AtomicBool) -> Result<ShardResult, NamedError> {
    let mut retry = 0;
    loop {
        let result = run_shard(context, shard).await;
        match &result {
            Err(error) if error.name == ErrorName::Throttled && retry < LOCAL_THROTTLED_RETRIES && !stop.load(Ordering::Relaxed) => {
                let ceiling = std::time::Duration::from_secs(1 << retry.min(5)).min(LOCAL_THROTTLED_MAX_DELAY);
                let delay = ceiling.mul_f64(fastrand::f64());
                retry += 1;
                tracing::warn!(shard_id = %shard.shard_id, retry, delay_ms = delay.as_millis() as u64, error = %error, "shard throttled; resuming after a backoff");
                context.live.num_throttled_retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
            }
            _ => return result,
        }
    }
}

/// Runs shards with at most `workers` at once; returns the failures.
async fn run_shards(context: &PipelineContext, shards: Vec<ShardTask>, options: &LocalRunOptions) -> Vec<(String, NamedError)> {
    let mut tasks = JoinSet::new();
    let mut queue = shards.into_iter();
    let mut failures = Vec::new();
    loop {
        while tasks.len() < options.workers.max(1) && !options.stop.load(Ordering::Relaxed) {
            let Some(shard) = queue.next() else { break };
            let context = context.clone();
            let stop = options.stop.clone();
            let slots = options.slots.clone();
            tasks.spawn(async move {
                let _permit = match &slots {
                    Some(slots) => Some(slots.clone().acquire_owned().await),
                    None => None,
                };
                if stop.load(Ordering::Relaxed) {
                    let error = NamedError::new(ErrorName::Transient, "stopped before it started");
                    return (shard, Err(error));
                }
                let result = run_shard_retrying_throttled(&context, &shard, &stop).await;
                (shard, result)
            });
        }
        let Some(joined) = tasks.join_next().await else { break };
        match joined {
            Ok((_, Ok(result))) => options.progress.shard_done(&result),
            Ok((shard, Err(error))) => {
                tracing::warn!(shard_id = %shard.shard_id, error = %error, "shard failed");
                options.progress.shard_failed(&shard, &error);
                failures.push((shard.shard_id, error));
            }
            Err(error) => failures.push((String::new(), NamedError::new(ErrorName::Transient, format!("worker task failed: {error}")))),
        }
    }
    failures
}
