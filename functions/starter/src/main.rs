//! The starter Lambda function: an SQS event source mapping on the Security
//! Lake subscriber queue (in another account than the stack) hands it a batch
//! of messages, and it starts the ingest state machine with them — what the
//! EventBridge Pipe does when the queue is in the stack's own account.

use lakeship::starter::{SqsEvent, Starter};
use lakeship_lambda::{HandlerError, answer, parse_payload};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;

static STARTER: OnceCell<Starter> = OnceCell::const_new();

async fn start(payload: Value) -> Result<Value, HandlerError> {
    let starter = STARTER.get_or_try_init(|| Starter::from_env(|name| std::env::var(name).ok())).await?;
    let batch: SqsEvent = parse_payload(payload, "an SQS event ({\"Records\":[…]})")?;
    let started = starter.start(&batch.records).await?;
    answer(&serde_json::json!({ "started": started }))
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, HandlerError> {
    let outcome = start(event.payload).await;
    if let Err(HandlerError(error)) = &outcome {
        tracing::error!(error_name = %error.name, reason = %error.message, request_id = %event.context.request_id, "invocation failed");
    }
    outcome
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lakeship_lambda::init_tracing();
    lambda_runtime::run(service_fn(handle)).await
}
