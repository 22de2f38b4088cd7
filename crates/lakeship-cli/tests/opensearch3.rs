//! Compatibility with OpenSearch 3.x, which Amazon OpenSearch Service offers
//! beside 2.x: on a real 3.x node, the `lakeship` binary installs every
//! template, indexes the Security Lake samples and generated objects of every
//! class without a rejected row, and `lakeship dashboards verify` finds every
//! panel's fields and data.
//!
//! The node is `LAKESHIP_TEST_OPENSEARCH3` (`scripts/test.sh` starts a 3.x node
//! for it, see docs/templates.md "OpenSearch 3.x"); the test owns the `ocsf-*`
//! indices and the ledger there. Without the variable the test prints that it
//! was skipped and passes, so that `cargo test` works without a 3.x node.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use lakeship_tests::*;

/// Rows of each generated object (one object per class and OCSF version).
const ROWS_PER_OBJECT: u64 = 1_000;
/// Classes and OCSF versions `lakeship sample` writes by default.
const NUM_GENERATED_OBJECTS: u64 = 8;

fn lakeship(endpoint: &str, work: &Path, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_lakeship"))
        .env_remove("LAKESHIP_CONFIG")
        .env_remove("LAKESHIP_INDEX_PREFIX")
        .env_remove("LAKESHIP_LEDGER_INDEX")
        .env("LAKESHIP_ENDPOINT", endpoint)
        .env("LAKESHIP_WORK", work.join("work"))
        .current_dir(work)
        .args(args)
        .output()
        .expect("run lakeship");
    println!(
        "$ lakeship {} ({:.1} s)\n{}{}",
        args.join(" "),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "lakeship {} failed: {}", args.join(" "), output.status);
    output
}

#[tokio::test]
async fn templates_install_samples_index_and_dashboards_verify_on_opensearch_3() {
    let Ok(endpoint) = std::env::var("LAKESHIP_TEST_OPENSEARCH3") else {
        println!("skipped: LAKESHIP_TEST_OPENSEARCH3 is not set (scripts/test.sh sets it to a 3.x node it starts)");
        return;
    };
    let client = http();
    let banner: serde_json::Value = client.get(&endpoint).send().await.expect("GET /").json().await.expect("GET / answers JSON");
    let version = banner["version"]["number"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "LAKESHIP_TEST_OPENSEARCH3={endpoint} is OpenSearch {version}, not 3.x");
    println!("OpenSearch {version} at {endpoint}");
    let cleared = client
        .delete(format!("{endpoint}/ocsf-*,lakeship-ledger?expand_wildcards=all&ignore_unavailable=true&allow_no_indices=true"))
        .send()
        .await
        .expect("delete earlier indices");
    assert!(cleared.status().is_success(), "deleting earlier indices: {}", cleared.status());

    let work = tempfile::tempdir().expect("tempdir");
    let lake = work.path().join("lake");
    let num_fixture_objects = copy_fixtures(&lake.join("samples"));
    let rows = ROWS_PER_OBJECT.to_string();
    let generated = lake.join("generated");
    lakeship(&endpoint, work.path(), &["sample", "--out", generated.to_str().expect("path"), "--rows", &rows]);

    lakeship(&endpoint, work.path(), &["templates", "install"]);

    let run = lakeship(&endpoint, work.path(), &["run", "--source", lake.to_str().expect("path")]);
    let summary = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.code() == Some(0), "rows were rejected: {summary}");
    // Each Security Lake sample object holds one row.
    let expected = num_fixture_objects + NUM_GENERATED_OBJECTS * ROWS_PER_OBJECT;
    assert_eq!(count_at(&endpoint, "ocsf-*").await, expected, "{summary}");

    let verify = lakeship(&endpoint, work.path(), &["dashboards", "verify", "--last", "7d"]);
    let verify = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.contains(", 0 failing"), "{verify}");
}
