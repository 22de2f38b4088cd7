//! What Lambda, and so Step Functions, receives from the worker binary.

#[path = "../../lambda/tests/common/mod.rs"]
mod common;

use serde_json::json;

#[tokio::test]
async fn input_that_is_not_a_shard_task_is_invalid_input() {
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-worker"), &common::OFFLINE, &json!({"hello": "world"})).await;
    assert_eq!(answer.kind, "error", "{answer:?}");
    assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
    assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("missing field `run_id`"), "{answer:?}");
}

#[tokio::test]
async fn a_configuration_that_cannot_be_built_is_reported_by_every_invocation() {
    let environment = [common::OFFLINE[0], common::OFFLINE[1], ("LAKESHIP_AUTH", "basic")];
    let task = json!({"run_id": "r", "shard_id": "s", "pieces": []});
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-worker"), &environment, &task).await;
    assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.Configuration")), "{answer:?}");
    assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("needs a username"), "{answer:?}");
}
