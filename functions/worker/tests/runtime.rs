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

#[tokio::test]
async fn a_worker_past_its_deadline_stops_with_out_of_time_and_keeps_a_checkpoint() {
    // The invocation's deadline (Lambda-Runtime-Deadline-Ms) has passed: the
    // worker stops before touching OpenSearch, stores its (empty) checkpoint
    // in the work area and fails with the name the state machine retries.
    let work = std::env::temp_dir().join(format!("lakeship-worker-deadline-{}", std::process::id()));
    let work_setting = work.display().to_string();
    let environment = [common::OFFLINE[0], ("LAKESHIP_WORK", work_setting.as_str())];
    let piece = json!({"object": {"key": "/nowhere/x.parquet"}, "first_row_group": 0, "num_row_groups": 1, "num_rows": 1, "num_bytes": 1});
    let task = json!({"run_id": "r1", "shard_id": "0123456789abcdef", "pieces": [piece]});
    let answer = common::invoke_once_until(env!("CARGO_BIN_EXE_lakeship-worker"), &environment, &task, -1_000).await;
    let checkpoint = std::fs::read_to_string(work.join("runs/r1/results/0123456789abcdef.partial.json"));
    let _ = std::fs::remove_dir_all(&work);
    assert_eq!((answer.kind.as_str(), answer.body["errorType"].as_str()), ("error", Some("Lakeship.OutOfTime")), "{answer:?}");
    assert!(answer.body["errorMessage"].as_str().unwrap_or_default().contains("the retry resumes from"), "{answer:?}");
    let checkpoint: serde_json::Value = serde_json::from_str(&checkpoint.expect("checkpoint written")).expect("JSON");
    assert_eq!(checkpoint["num_stops"], 1, "{checkpoint}");
}
