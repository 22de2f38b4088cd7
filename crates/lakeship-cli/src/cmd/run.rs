//! `lakeship run`: the whole pipeline on one machine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lakeship::config::Config;
use lakeship::notification::sqs::SqsQueue;
use lakeship::object::Location;
use lakeship::pipeline::consumer::{Batch, BatchObserver, ConsumerOptions, consume};
use lakeship::pipeline::local::{LocalOutcome, LocalRunOptions, resume_local, run_local};
use lakeship::pipeline::payload::{DispatchRequest, RunSummary};
use lakeship::pipeline::{PipelineContext, list_prefix};

use crate::common::{check_opensearch, check_rejected};
use crate::config_args::ConfigArgs;
use crate::progress::{Bars, print_summary};

const EXAMPLES: &str = "\
Examples:
  lakeship run --source ./lake --endpoint http://127.0.0.1:9200
  lakeship run --since 20240301 --until 20240307 \\
      --source s3://aws-security-data-lake-us-east-1-x/aws/VPC_FLOW/2.0/
  lakeship run --source https://sqs.us-east-1.amazonaws.com/111122223333/lakeship --follow
  lakeship run --resume 20241127T101500Z-3fa2c1";

/// Run the pipeline locally: dispatch, workers in parallel, finalize, ledger.
///
/// SOURCE is a local directory (or file), an s3://bucket/prefix, or an SQS
/// queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>, or a
/// local endpoint's queue URL). From a queue, each receive takes as many
/// messages as workers are free (so several consumers share a queue); each
/// batch runs while the next is received, its messages are kept invisible by
/// a heartbeat while they are worked, and deleted only after every object
/// they name reconciles. A killed consumer's messages return after the
/// visibility timeout (30 s). With --follow the queue is polled until
/// Ctrl-C. Ctrl-C stops cleanly: shards in flight finish, the rest is left
/// for `--resume` (or, from a queue, returns to the queue).
///
/// The run id is printed when the run starts (for `--resume` and `lakeship
/// status --run`). Exits 3 when rows were rejected into the dead-letter
/// store, 4 when queue messages could not be read (each is printed with its
/// reason and left on the queue for its redrive policy; the readable ones
/// are indexed and deleted), 1 when objects are not complete.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// Directory, s3://bucket/prefix, or SQS queue URL.
    #[arg(long, value_name = "SOURCE", required_unless_present = "resume")]
    source: Option<String>,
    /// Only Security Lake partitions (eventDay=/eventHour=) on or after this day, YYYYMMDD or YYYY-MM-DD.
    #[arg(long, value_name = "DAY")]
    since: Option<String>,
    /// Only partitions on or before this day, YYYYMMDD or YYYY-MM-DD.
    #[arg(long, value_name = "DAY")]
    until: Option<String>,
    /// Keep polling the queue until Ctrl-C (queue sources only).
    #[arg(long)]
    follow: bool,
    /// Re-run only the shards of an earlier local run that have no result, then finalize.
    #[arg(long, value_name = "RUN_ID", conflicts_with = "source")]
    resume: Option<String>,
    /// Most messages in one batch (one receive takes at most as many as workers are free, and SQS answers at most 10).
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_messages: usize,
    /// Seconds a received message stays invisible to other consumers; renewed every third of it while its work runs, so a stopped or killed consumer's messages return within this time.
    #[arg(long, default_value_t = lakeship::pipeline::consumer::DEFAULT_VISIBILITY_TIMEOUT_SECONDS, value_name = "SECONDS", value_parser = clap::value_parser!(i32).range(3..=43_200))]
    visibility_timeout: i32,
    /// No progress bars (they are off anyway when stderr is not a terminal).
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Where work comes from.
enum Source {
    Objects(Location),
    Queue(String),
}

fn parse_source(text: &str) -> anyhow::Result<Source> {
    if text.starts_with("http://") || text.starts_with("https://") {
        return Ok(Source::Queue(text.to_string()));
    }
    Ok(Source::Objects(Location::parse(text)?))
}

fn normalize_day(day: Option<&str>) -> Option<String> {
    day.map(|day| day.replace('-', ""))
}

pub async fn run(args: RunArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let mut context = PipelineContext::from_config(&config).await?;
    // A queue keeps what it could not settle: unreadable messages stay there
    // for its redrive policy instead of going to the work area too.
    context.keep_unreadable_messages = !matches!(args.source.as_deref().map(parse_source), Some(Ok(Source::Queue(_))));
    check_opensearch(&context.client).await?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_ctrl_c(stop.clone());
    let quiet = args.quiet;
    if let Some(run_id) = &args.resume {
        let summary: RunSummary = context
            .work
            .get_json(&context.work.run_file(run_id, "summary.json"))
            .await?
            .with_context(|| format!("no run {run_id} in the work area {} (see `lakeship status`)", context.work.root()))?;
        let context = &context;
        let outcome =
            execute(context, &config, &stop, quiet, |options| async move { resume_local(context, summary, &options).await }).await?;
        return finish(&outcome, context);
    }
    let source = args.source.as_deref().context("--source is required")?;
    match parse_source(source)? {
        Source::Objects(location) => {
            let (since, until) = (normalize_day(args.since.as_deref()), normalize_day(args.until.as_deref()));
            if location.is_local() && list_prefix(&context.source, &location, since.as_deref(), until.as_deref()).await?.is_empty() {
                anyhow::bail!("no Parquet objects under {location}");
            }
            // Planned in pages of --max-objects-per-run objects, run one after another.
            let request =
                DispatchRequest::Prefix { prefix: location.to_string(), since, until, run_id: None, continuation: Default::default() };
            let context = &context;
            let outcome =
                execute(context, &config, &stop, quiet, |options| async move { run_local(context, request, &options).await }).await?;
            finish(&outcome, context)
        }
        Source::Queue(queue_url) => Box::pin(run_queue(&context, &config, &args, &queue_url, &stop)).await,
    }
}

/// Runs one local execution with progress bars and prints its summary.
async fn execute<F, Fut>(
    context: &PipelineContext,
    config: &Config,
    stop: &Arc<AtomicBool>,
    quiet: bool,
    work: F,
) -> anyhow::Result<LocalOutcome>
where
    F: FnOnce(LocalRunOptions) -> Fut,
    Fut: std::future::Future<Output = Result<LocalOutcome, lakeship::errors::NamedError>>,
{
    let started = Instant::now();
    let bars = Bars::new(context.live.clone(), quiet);
    let options = LocalRunOptions { workers: config.workers, stop: stop.clone(), progress: bars.clone(), slots: None };
    let outcome = work(options).await;
    bars.finish();
    let outcome = outcome?;
    if let Some(report) = &outcome.report {
        print_summary(report, started.elapsed());
    }
    Ok(outcome)
}

fn finish(outcome: &LocalOutcome, context: &PipelineContext) -> anyhow::Result<()> {
    outcome.check()?;
    match &outcome.report {
        Some(report) => check_rejected(report, &context.work),
        None => Ok(()),
    }
}

fn watch_ctrl_c(stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::Relaxed);
        eprintln!(
            "\nstopping: shards in flight finish, no new ones start (Ctrl-C again to quit now; unfinished shards are left for --resume)"
        );
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

async fn run_queue(
    context: &PipelineContext,
    config: &Config,
    args: &RunArgs,
    queue_url: &str,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let queue = SqsQueue::new(lakeship::aws::sqs_client(&config.aws.own_identity()).await, queue_url);
    let bars = Bars::new(context.live.clone(), args.quiet);
    let options = ConsumerOptions {
        workers: config.workers,
        max_messages: args.max_messages,
        visibility_timeout: args.visibility_timeout,
        follow: args.follow,
        stop: stop.clone(),
        progress: bars.clone(),
    };
    let started = Instant::now();
    let observer = Arc::new(QueueObserver {
        queue_url: queue_url.to_string(),
        work: context.work.clone(),
        follow: args.follow,
        state: Mutex::default(),
    });
    let consumed = consume(context, &queue, &options, observer.clone()).await;
    bars.finish();
    let num_batches = consumed?;
    if num_batches == 0 {
        match queue.num_in_flight().await {
            Ok(0) | Err(_) => eprintln!("the queue {queue_url} is empty"),
            Ok(num_in_flight) => eprintln!(
                "the queue {queue_url} has no message to receive now; about {num_in_flight} are in flight \
                 (being worked by another consumer, or returning after their visibility timeout: run again, or use --follow)"
            ),
        }
    }
    let mut state = std::mem::take(&mut *observer.state.lock().map_err(|_| anyhow::anyhow!("a batch panicked"))?);
    // Without --follow, the batches are one run to the user: one summary, one verdict.
    if let Some(merged) = state.merged.take() {
        if let Some(report) = &merged.report {
            print_summary(report, started.elapsed());
        }
        state.judge(&merged, &context.work);
    }
    if state.unreadable > 0 && args.follow {
        eprintln!("{} batch(es) held unreadable messages; they were left on the queue (see above for each reason)", state.unreadable);
    }
    match state.failures.into_iter().chain(state.first_unreadable).chain(state.rejected).next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// Follows the batches as they end: with --follow, prints each and judges
/// it; otherwise merges them into one outcome. Keeps the errors for the exit
/// status: failures (1) before unreadable messages (4) before rejected rows (3).
struct QueueObserver {
    queue_url: String,
    work: lakeship::pipeline::WorkArea,
    follow: bool,
    state: Mutex<QueueState>,
}

#[derive(Default)]
struct QueueState {
    merged: Option<LocalOutcome>,
    failures: Vec<anyhow::Error>,
    first_unreadable: Option<anyhow::Error>,
    unreadable: usize,
    rejected: Option<anyhow::Error>,
}

impl QueueState {
    /// Keeps the error of `outcome`, if any, for the exit status.
    fn judge(&mut self, outcome: &LocalOutcome, work: &lakeship::pipeline::WorkArea) {
        if let Err(error) = outcome.check() {
            let error = anyhow::Error::from(error);
            if crate::common::is_unreadable_messages(&error) {
                self.unreadable += 1;
                self.first_unreadable.get_or_insert(error);
            } else {
                self.failures.push(error);
            }
        } else if let Some(report) = &outcome.report
            && let Err(rejected) = check_rejected(report, work)
        {
            self.rejected.get_or_insert(rejected);
        }
    }
}

impl BatchObserver for QueueObserver {
    fn received(&self, num_messages: usize) {
        eprintln!("{num_messages} message(s) from {}", self.queue_url);
    }

    fn finished(&self, batch: Batch) {
        // One batch's lines together, also when batches end at once.
        let Ok(mut state) = self.state.lock() else { return };
        if let Some(error) = batch.delete_error {
            state.failures.push(error.into());
        }
        let outcome = match batch.outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                eprintln!("a batch of {} message(s) failed: {error}; they stay on the queue", batch.num_messages);
                state.failures.push(error.into());
                return;
            }
        };
        let left = if batch.num_deleted < batch.num_messages {
            "; the others stay on the queue and come back after the visibility timeout"
        } else {
            ""
        };
        eprintln!(
            "run {}: deleted {} of {} message(s) in {:.1} s{left}",
            outcome.summary.run_id,
            batch.num_deleted,
            batch.num_messages,
            batch.elapsed.as_secs_f64()
        );
        if self.follow {
            if let Some(report) = &outcome.report {
                print_summary(report, batch.elapsed);
            }
            state.judge(&outcome, &self.work);
            return;
        }
        state.merged = Some(match state.merged.take() {
            Some(merged) => merged.followed_by(outcome),
            None => outcome,
        });
    }
}
