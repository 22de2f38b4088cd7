//! Lambda adapter; the work happens in the `lakeship` core library.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().without_time().init();
    lambda_runtime::run(service_fn(handle)).await
}
