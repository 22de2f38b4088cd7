//! The worker Lambda function (one item of the `Shards` Distributed Map):
//! works one shard — range-reads its row groups, converts, delivers, and
//! stores its `ShardResult` in the work bucket itself — and answers the
//! result's brief. Before the invocation's deadline it stops, keeps what it
//! finished, and fails with `Lakeship.OutOfTime`; the retry resumes.

use lakeship::pipeline::PipelineContext;
use lakeship::plan::ShardTask;
use lakeship_lambda::{HandlerError, Invocation, parse_payload};
use serde_json::Value;

async fn work(context: &'static PipelineContext, payload: Value, invocation: Invocation) -> Result<Value, HandlerError> {
    let task: ShardTask = parse_payload(payload, "a shard task ({\"run_id\",\"shard_id\",\"pieces\"})")?;
    let result = lakeship::pipeline::run_shard_until(context, &task, Some(invocation.stop_deadline())).await?;
    Ok(result.brief())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    Box::pin(lakeship_lambda::run(work)).await
}
