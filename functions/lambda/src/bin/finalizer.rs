//! The finalizer Lambda function (the `Finalize` state): reconciles every
//! object of the run from the shard results in the work bucket, writes the
//! ledger, and fails with `Lakeship.ObjectsIncomplete` if any object is not
//! complete.

use lakeship::pipeline::PipelineContext;
use lakeship::pipeline::payload::FinalizeRequest;
use lakeship_lambda::{HandlerError, Invocation, parse_payload, report_brief};
use serde_json::Value;

async fn finalize(context: &'static PipelineContext, payload: Value, _invocation: Invocation) -> Result<Value, HandlerError> {
    let request: FinalizeRequest = parse_payload(payload, "{\"run_id\":…}")?;
    let report = lakeship::pipeline::finalize(context, &request.run_id).await?;
    Ok(report_brief(&report))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    Box::pin(lakeship_lambda::run(finalize)).await
}
