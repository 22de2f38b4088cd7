//! The dispatcher Lambda function (the `Dispatch` state): a batch of SQS
//! records from the EventBridge Pipe, or a manual backfill, in; the run
//! planned, its shard list written to the work bucket, and a small
//! `RunSummary` (never the shard list) out. A prefix backfill is planned one
//! page at a time; the next page is started here as an execution of the
//! dispatcher's own state machine (`LAKESHIP_STATE_MACHINE_ARN`). A run
//! waits here (`Lakeship.AtCapacity`, retried by the state) while
//! `LAKESHIP_MAX_CONCURRENT_RUNS` older runs are open.

use lakeship::pipeline::PipelineContext;
use lakeship::pipeline::payload::DispatchRequest;
use lakeship_lambda::{HandlerError, Invocation, answer, parse_payload};
use serde_json::Value;

const EXPECTED: &str = "SQS records, {\"objects\":[…]}, {\"prefix\":…} or {\"run_id\":…,\"request\":…}";

async fn dispatch(context: &'static PipelineContext, payload: Value, _invocation: Invocation) -> Result<Value, HandlerError> {
    let request: DispatchRequest = parse_payload(payload, EXPECTED)?;
    if let DispatchRequest::WithRunId { run_id, .. } = &request {
        lakeship_lambda::admit_run(run_id).await?;
    }
    let summary = lakeship::pipeline::dispatch(context, request).await?;
    answer(&summary)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    Box::pin(lakeship_lambda::run(dispatch)).await
}
