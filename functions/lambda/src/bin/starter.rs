//! The starter Lambda function: an SQS event source mapping on the Security
//! Lake subscriber queue (in another account than the stack) hands it a batch
//! of messages, and it starts the ingest state machine with them — what the
//! EventBridge Pipe does when the queue is in the stack's own account.

use lakeship::starter::{SqsEvent, Starter};
use lakeship_lambda::{HandlerError, Invocation, answer, parse_payload};
use serde_json::Value;
use tokio::sync::OnceCell;

static STARTER: OnceCell<Starter> = OnceCell::const_new();

async fn start(payload: Value, _invocation: Invocation) -> Result<Value, HandlerError> {
    let starter = STARTER.get_or_try_init(|| Starter::from_env(|name| std::env::var(name).ok())).await?;
    let batch: SqsEvent = parse_payload(payload, "an SQS event ({\"Records\":[…]})")?;
    let started = starter.start(&batch.records).await?;
    answer(&serde_json::json!({ "started": started }))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    Box::pin(lakeship_lambda::run_without_context(start)).await
}
