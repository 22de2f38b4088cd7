//! `lakeship run`: the whole pipeline on one machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use lakeship::config::Config;
use lakeship::notification::sqs::SqsQueue;
use lakeship::object::Location;
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
/// local endpoint's queue URL). From a queue, messages are long-polled and
/// deleted only after every object they name reconciles; with --follow the
/// queue is polled until Ctrl-C. Ctrl-C stops cleanly: shards in flight
/// finish, the rest is left for `--resume`.
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
    /// Messages taken from the queue per run.
    #[arg(long, default_value_t = 100, value_name = "N")]
    max_messages: usize,
    /// Seconds a received message stays invisible to other consumers.
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
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
    let options = LocalRunOptions { workers: config.workers, stop: stop.clone(), progress: bars.clone() };
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
    let mut failures = Vec::new();
    let mut unreadable = Vec::new();
    let mut rejected_runs = Vec::new();
    let mut num_runs = 0;
    // Messages this run left on the queue (unreadable, or naming objects
    // that did not settle): without --follow, one that comes back after its
    // visibility timeout is not worked again, so the run ends.
    let mut left = std::collections::HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        let wait = if args.follow { 20 } else { 2 };
        let mut records = queue.receive(args.max_messages.max(1), wait, args.visibility_timeout).await?;
        if !args.follow {
            records.retain(|record| !left.contains(&record.message_id));
        }
        if records.is_empty() {
            if args.follow {
                continue;
            }
            break;
        }
        eprintln!("{} message(s) from {queue_url}", records.len());
        num_runs += 1;
        let request = DispatchRequest::Records(records.clone());
        let outcome =
            execute(context, config, stop, args.quiet, |options| async move { run_local(context, request, &options).await }).await?;
        let done = lakeship::pipeline::settled_records(&records, outcome.report.as_ref());
        queue.delete(&done).await?;
        let settled: std::collections::HashSet<&str> = done.iter().map(|record| record.message_id.as_str()).collect();
        left.extend(records.iter().filter(|record| !settled.contains(record.message_id.as_str())).map(|record| record.message_id.clone()));
        eprintln!(
            "deleted {} of {} message(s); the others stay on the queue and come back after the visibility timeout",
            done.len(),
            records.len()
        );
        if let Err(error) = outcome.check() {
            let error = anyhow::Error::from(error);
            if crate::common::is_unreadable_messages(&error) {
                unreadable.push(error);
            } else {
                failures.push(error);
            }
        } else if let Some(report) = &outcome.report
            && let Err(rejected) = check_rejected(report, &context.work)
        {
            rejected_runs.push(rejected);
        }
    }
    if num_runs == 0 {
        eprintln!("the queue {queue_url} is empty");
    }
    if !unreadable.is_empty() && args.follow {
        eprintln!("{} batch(es) held unreadable messages; they were left on the queue (see above for each reason)", unreadable.len());
    }
    match failures.into_iter().chain(unreadable).chain(rejected_runs).next() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}
