//! The starter binary under the Lambda Runtime API, starting executions of a
//! state machine on the local AWS endpoint (moto, `LAKESHIP_TEST_AWS_ENDPOINT`).

#[path = "../../lambda/tests/common/mod.rs"]
#[allow(dead_code)] // the offline configuration is for the other functions
mod common;

use aws_sdk_sfn::types::StateMachineType;
use serde_json::{Value, json};

fn endpoint() -> String {
    std::env::var("LAKESHIP_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".to_string())
}

async fn sfn() -> aws_sdk_sfn::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("testing", "testing", None, None, "starter-test"))
        .endpoint_url(endpoint())
        .load()
        .await;
    aws_sdk_sfn::Client::new(&config)
}

/// A Lambda SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
/// "Example standard queue message event") whose bodies are Security Lake
/// subscriber messages (tests/fixtures/notifications/README.md); ids made up.
fn sqs_event(ids: &[&str]) -> Value {
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            json!({
                "messageId": id,
                "receiptHandle": format!("handle-{id}"),
                "body": json!({"source": "aws.s3", "detail": {"bucket": {"name": "lake"}, "object": {"key": format!("{id}.parquet")}, "requester": "securitylake.amazonaws.com"}}).to_string(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:AmazonSecurityLake-abc-Main-Queue",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn a_batch_starts_one_execution_once_with_the_records_as_input() {
    let sfn = sfn().await;
    let name = format!("starter-{}", std::process::id());
    let definition = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string();
    let created = sfn
        .create_state_machine()
        .name(&name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/lakeship-state-machine")
        .r#type(StateMachineType::Standard)
        .send()
        .await
        .expect("create a state machine on the local endpoint (is moto running? scripts/moto.sh start)");
    let state_machine = created.state_machine_arn().to_string();
    let environment = [("LAKESHIP_STATE_MACHINE_ARN", state_machine.as_str()), ("LAKESHIP_AWS_ENDPOINT", &endpoint())];
    let event = sqs_event(&["m-1", "m-2"]);

    let first = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &environment, &event).await;
    assert_eq!(first.kind, "response", "{first:?}");
    let started = &first.body["started"];
    assert_eq!((started[0]["num_messages"].as_u64(), started[0]["already_started"].as_bool()), (Some(2), Some(false)), "{first:?}");
    let execution_name = started[0]["name"].as_str().unwrap_or_default().to_string();
    assert!(execution_name.starts_with("sqs-"), "{first:?}");

    // Lambda delivers the same batch again (say the first invocation timed out
    // after StartExecution): nothing new starts. StartExecution answers the
    // running execution's ARN again (same name and input), or
    // ExecutionAlreadyExists once it has closed; both count as started.
    let again = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &environment, &event).await;
    assert_eq!(again.kind, "response", "{again:?}");
    assert_eq!(again.body["started"][0]["name"].as_str(), Some(execution_name.as_str()), "{again:?}");

    let executions = sfn.list_executions().state_machine_arn(&state_machine).send().await.expect("list executions");
    assert_eq!(executions.executions().iter().map(|execution| execution.name()).collect::<Vec<_>>(), [execution_name.as_str()]);
    let described = sfn.describe_execution().execution_arn(executions.executions()[0].execution_arn()).send().await.expect("describe");
    let input: Value = serde_json::from_str(described.input().unwrap_or("null")).expect("input is JSON");
    let records = event["Records"].as_array().cloned().unwrap_or_default();
    let expected: Vec<Value> = records.iter().map(|record| json!({"messageId": record["messageId"], "body": record["body"]})).collect();
    assert_eq!(input, Value::Array(expected), "the input is the batch as Dispatch reads it");
}

#[tokio::test]
async fn without_a_state_machine_every_invocation_is_a_configuration_error() {
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-starter"), &[], &sqs_event(&["m-1"])).await;
    assert_eq!(answer.kind, "error", "{answer:?}");
    assert_eq!(answer.body["errorType"], "Lakeship.Configuration", "{answer:?}");
    assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("LAKESHIP_STATE_MACHINE_ARN"), "{answer:?}");
}
