//! Golden tests: every Parquet sample under `tests/fixtures/security-lake-samples`
//! converts to exactly the documents in the `*.expected.ndjson` file next to
//! it (compared as parsed JSON), one test per file.
//!
//! Each expected line is `{"index": <index name>, "document": <document>}`;
//! `lakeship.key` is relative to the fixtures folder. After an intended change
//! of the converter, rewrite the files with `LAKESHIP_BLESS=1 cargo test -p
//! lakeship-tests --test golden` and review the diff.

use std::path::{Path, PathBuf};

use lakeship::convert::ConvertOptions;
use lakeship::object::{ObjectRef, ObjectStore};
use lakeship::pipeline::doc_stream::{ScanOptions, spawn_scan};
use lakeship::reader::{DEFAULT_FOOTER_HINT, read_footer};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};

fn fixtures_root() -> PathBuf {
    lakeship_tests::repo_root().join("tests/fixtures/security-lake-samples")
}

/// Converts one file into `{"index", "document"}` records.
async fn convert(path: &Path) -> Result<Vec<Value>, Failed> {
    let store = ObjectStore::local_only();
    let footer = read_footer(&store, &ObjectRef::local(path), DEFAULT_FOOTER_HINT).await.map_err(|e| e.to_string())?;
    let row_groups = (0..footer.num_row_groups()).collect();
    let options = ScanOptions { convert: ConvertOptions::default(), ..ScanOptions::default() };
    let (mut batches, _task) = spawn_scan(store, footer, row_groups, options);
    let root = format!("{}/", fixtures_root().display());
    let mut records = Vec::new();
    while let Some(batch) = batches.recv().await {
        let batch = batch.map_err(|error| error.to_string())?;
        for index in 0..batch.docs.docs.len() {
            let lines = batch.docs.lines(index);
            let split = lines.iter().position(|&byte| byte == b'\n').ok_or("no action line")?;
            let action: Value = serde_json::from_slice(&lines[..split]).map_err(|e| e.to_string())?;
            let mut document: Value = serde_json::from_slice(batch.docs.source(index)).map_err(|e| e.to_string())?;
            let key = document["lakeship"]["key"].as_str().unwrap_or_default().trim_start_matches(&root).to_string();
            document["lakeship"]["key"] = json!(key);
            records.push(json!({"index": action["create"]["_index"], "document": document}));
        }
    }
    Ok(records)
}

fn check(path: &Path) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let actual = runtime.block_on(convert(path))?;
    let expected_path = path.with_extension("expected.ndjson");
    if std::env::var_os("LAKESHIP_BLESS").is_some() {
        let text: String = actual.iter().map(|record| format!("{record}\n")).collect();
        std::fs::write(&expected_path, text)?;
        return Ok(());
    }
    let text = std::fs::read_to_string(&expected_path)
        .map_err(|error| format!("{}: {error} (bless with LAKESHIP_BLESS=1)", expected_path.display()))?;
    let expected: Vec<Value> = text.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    if actual.len() != expected.len() {
        return Err(format!("{} documents, expected {}", actual.len(), expected.len()).into());
    }
    for (row, (actual, expected)) in actual.iter().zip(&expected).enumerate() {
        if actual != expected {
            return Err(format!("row {row} differs:\n actual:   {actual}\n expected: {expected}").into());
        }
    }
    Ok(())
}

fn main() {
    let arguments = Arguments::from_args();
    let root = fixtures_root();
    let files = lakeship_tests::parquet_files(&root);
    assert!(files.len() >= 51, "expected the 51 Security Lake samples, found {}", files.len());
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&root).map(|p| p.display().to_string()).unwrap_or_default();
            Trial::test(name, move || check(&path))
        })
        .collect();
    libtest_mimic::run(&arguments, trials).exit();
}
