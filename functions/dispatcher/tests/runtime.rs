//! What Lambda, and so Step Functions, receives from the dispatcher binary.

#[path = "../../lambda/tests/common/mod.rs"]
mod common;

use serde_json::json;

#[tokio::test]
async fn input_of_another_shape_is_invalid_input() {
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-dispatcher"), &common::OFFLINE, &json!({"not": "a request"})).await;
    assert_eq!(answer.kind, "error", "{answer:?}");
    assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
}

#[tokio::test]
async fn a_run_id_that_cannot_name_keys_is_invalid_input() {
    let request = json!({"run_id": "../escape", "request": {"objects": []}});
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-dispatcher"), &common::OFFLINE, &request).await;
    assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.InvalidInput")), "{answer:?}");
}
