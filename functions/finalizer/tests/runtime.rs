//! What Lambda, and so Step Functions, receives from the finalizer binary.

#[path = "../../lambda/tests/common/mod.rs"]
mod common;

use serde_json::json;

#[tokio::test]
async fn input_without_a_run_id_is_invalid_input() {
    let answer = common::invoke_once(env!("CARGO_BIN_EXE_lakeship-finalizer"), &common::OFFLINE, &json!({"summary": {}})).await;
    assert_eq!(answer.kind, "error", "{answer:?}");
    assert_eq!(answer.body["errorType"], "Lakeship.InvalidInput", "{answer:?}");
    assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("run_id"), "{answer:?}");
}
