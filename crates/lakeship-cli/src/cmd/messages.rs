//! `lakeship messages`: the queue messages a deployed run could not read,
//! kept in the dead-letter store of the work area, listed and replayed.

use anyhow::Context;
use clap::{Args, Subcommand};
use lakeship::notification::sqs::SqsQueue;
use lakeship::object::ObjectStore;
use lakeship::pipeline::WorkArea;
use lakeship::pipeline::messages::{Replayed, UnreadableMessage, find_kept, read_kept, replayed_file, why_unreadable};

use crate::config_args::{WorkPlaceArgs, load};

const EXAMPLES: &str = "\
Examples:
  lakeship messages list --work s3://my-lakeship-work/
  lakeship messages list --run 20241127T101500Z-3fa2c1 --body
  lakeship messages replay --run 20241127T101500Z-3fa2c1 \\
      --to-queue https://sqs.us-east-1.amazonaws.com/111122223333/AmazonSecurityLake-x-Main-Queue";

/// Queue messages that a deployed run could not read.
///
/// The EventBridge Pipe deletes a batch from the subscriber queue when it
/// starts the execution, so the dispatcher keeps every message it cannot
/// read (body, message id, reason) in the work area's dead-letter store,
/// `dead-letters/<run_id>/messages.ndjson`, and the run fails with
/// Lakeship.UnreadableMessages. `lakeship run --source <queue>` leaves such
/// messages on the queue instead (its redrive policy moves them to its
/// dead-letter queue).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct MessagesArgs {
    #[command(subcommand)]
    command: MessagesCommand,
}

#[derive(Debug, Subcommand)]
enum MessagesCommand {
    /// List the kept messages with their reasons, and whether this version
    /// of lakeship can read them now.
    List {
        /// Only this run's messages.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// Print each message's body too.
        #[arg(long)]
        body: bool,
        #[command(flatten)]
        place: WorkPlaceArgs,
    },
    /// Send a run's kept messages that can be read now to a queue (the
    /// subscriber queue, for the deployed pipeline; or any queue for `lakeship
    /// run --source`). Messages still unreadable are listed and not sent
    /// (exit status 4); edit them in the file first if a person can fix them.
    /// Sending twice is harmless: document ids are deterministic and objects
    /// already complete are skipped.
    Replay {
        /// The run whose messages to send.
        #[arg(long, value_name = "RUN_ID")]
        run: String,
        /// Queue URL to send them to.
        #[arg(long, value_name = "QUEUE_URL")]
        to_queue: String,
        #[command(flatten)]
        place: WorkPlaceArgs,
    },
}

/// The work area and the AWS options of the configuration.
fn open(place: &WorkPlaceArgs, file: Option<&std::path::Path>) -> anyhow::Result<(WorkArea, lakeship::aws::AwsOptions)> {
    let config = load(file, &[place])?;
    let aws = config.aws.own_identity();
    Ok((WorkArea::new(ObjectStore::from_options(aws.clone()), config.work.clone()), aws))
}

pub async fn run(args: MessagesArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match args.command {
        MessagesCommand::List { run, body, place } => {
            let (work, _) = open(&place, file)?;
            list(&work, run.as_deref(), body).await
        }
        MessagesCommand::Replay { run, to_queue, place } => {
            let (work, aws) = open(&place, file)?;
            let queue = SqsQueue::new(lakeship::aws::sqs_client(&aws).await, to_queue);
            replay(&work, &run, &queue).await
        }
    }
}

async fn list(work: &WorkArea, run_id: Option<&str>, with_body: bool) -> anyhow::Result<()> {
    let files = find_kept(work, run_id).await?;
    if files.is_empty() {
        println!("no unreadable messages are kept in {}", work.root());
        return Ok(());
    }
    let mut total = 0;
    for location in &files {
        let messages = read_kept(work, location).await?;
        total += messages.len();
        let Some(first) = messages.first() else { continue };
        let replayed = work.get_json::<Replayed>(&replayed_file(work, &first.run_id)).await?;
        let note = replayed.map(|replayed| format!(" (replayed to {})", replayed.queue_url)).unwrap_or_default();
        println!("run {}: {} message(s) in {location}{note}", first.run_id, messages.len());
        for message in &messages {
            let now = match why_unreadable(message) {
                Some(reason) => format!("still unreadable: {reason}"),
                None => "readable now: replay it".to_string(),
            };
            println!("  {}: {} ({now})", message.message_id, message.reason);
            if with_body {
                println!("    {}", message.body);
            }
        }
    }
    println!("{total} message(s) in {} run(s); replay a run's with `lakeship messages replay --run RUN_ID --to-queue URL`", files.len());
    Ok(())
}

async fn replay(work: &WorkArea, run_id: &str, queue: &SqsQueue) -> anyhow::Result<()> {
    let location = lakeship::pipeline::messages::messages_file(work, run_id);
    let messages: Vec<UnreadableMessage> =
        read_kept(work, &location).await.with_context(|| format!("no kept messages of run {run_id} (see `lakeship messages list`)"))?;
    let (readable, unreadable): (Vec<&UnreadableMessage>, Vec<&UnreadableMessage>) =
        messages.iter().partition(|message| why_unreadable(message).is_none());
    let mut sent = Vec::with_capacity(readable.len());
    for message in &readable {
        queue.send(&message.body).await?;
        sent.push(message.message_id.clone());
    }
    if !sent.is_empty() {
        let record = Replayed { at: lakeship::time::now_millis(), queue_url: queue.url().to_string(), message_ids: sent.clone() };
        work.put_json(&replayed_file(work, run_id), &record).await?;
    }
    println!("sent {} of {} kept message(s) of run {run_id} to {}", sent.len(), messages.len(), queue.url());
    for message in &unreadable {
        println!("  not sent, still unreadable: {}: {}", message.message_id, why_unreadable(message).unwrap_or_default());
    }
    if !unreadable.is_empty() {
        return Err(lakeship::errors::NamedError::new(
            lakeship::errors::ErrorName::UnreadableMessages,
            format!("{} message(s) of run {run_id} are still unreadable; fix them in {location} and replay again", unreadable.len()),
        )
        .into());
    }
    Ok(())
}
