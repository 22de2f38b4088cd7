//! The named peer of the end-to-end benchmark: a plain `_bulk` replay of a
//! bulk body written by `lakeship convert --bulk`. It cuts the body into
//! requests the way Lakeship's sink does (at most `--max-docs` documents and
//! `--max-bytes` bytes, whole action + source pairs), posts them to the same
//! path with the same `filter_path`, `--concurrency` requests in flight, and
//! counts the items the answers report created. No conversion, no retries:
//! what a node can take from a client that only sends bytes.
//!
//! Prints one JSON line: docs, bytes, seconds, docs/s, MB/s, requests,
//! created, errors. Run by `scripts/bench-e2e.sh` and `scripts/bench-index.sh`.
//!
//! Usage: bulk_replay FILE --endpoint URL [--concurrency N] [--max-docs N] [--max-bytes N]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use lakeship::delivery::bulk::BULK_PATH;

/// One request: a slice of the body holding whole action + source pairs.
#[derive(Debug, Clone)]
struct Request {
    body: Bytes,
    num_docs: usize,
}

/// Cuts a bulk body into requests of at most `max_docs` documents and
/// `max_bytes` bytes (a single larger document is a request of its own).
fn cut(body: &Bytes, max_docs: usize, max_bytes: usize) -> Vec<Request> {
    let mut requests = Vec::new();
    let (mut start, mut position, mut num_docs) = (0, 0, 0);
    while position < body.len() {
        // A document is two lines: the action and the source.
        let mut end = position;
        for _ in 0..2 {
            end = match body[end..].iter().position(|&byte| byte == b'\n') {
                Some(offset) => end + offset + 1,
                None => body.len(),
            };
        }
        if num_docs > 0 && (num_docs == max_docs || end - start > max_bytes) {
            requests.push(Request { body: body.slice(start..position), num_docs });
            start = position;
            num_docs = 0;
        }
        num_docs += 1;
        position = end;
    }
    if num_docs > 0 {
        requests.push(Request { body: body.slice(start..), num_docs });
    }
    requests
}

/// Counts `"status":201` items and whether the answer says `"errors":true`.
fn tally(answer: &[u8]) -> (usize, bool) {
    let created = answer.windows(12).filter(|window| window == b"\"status\":201").count();
    let errors = answer.windows(13).any(|window| window == b"\"errors\":true");
    (created, errors)
}

#[derive(Debug, Default)]
struct Totals {
    created: AtomicUsize,
    error_answers: AtomicUsize,
}

async fn send_all(endpoint: &str, requests: Arc<Vec<Request>>, concurrency: usize) -> Arc<Totals> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("HTTP client");
    let url = format!("{}/{BULK_PATH}", endpoint.trim_end_matches('/'));
    let next = Arc::new(AtomicUsize::new(0));
    let totals = Arc::new(Totals::default());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, requests, next, totals) = (client.clone(), url.clone(), requests.clone(), next.clone(), totals.clone());
        tasks.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else { break };
                let answer = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(request.body.clone())
                    .send()
                    .await
                    .expect("bulk request");
                let status = answer.status();
                let body = answer.bytes().await.expect("bulk answer");
                assert!(status.is_success(), "bulk request answered {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
                let (created, errors) = tally(&body);
                totals.created.fetch_add(created, Ordering::Relaxed);
                if errors {
                    totals.error_answers.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("sender task");
    }
    totals
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let (mut path, mut endpoint) = (None, None);
    let (mut concurrency, mut max_docs, mut max_bytes) = (2usize, 5_000usize, 5 * 1024 * 1024usize);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().unwrap_or_else(|| panic!("{name} needs a value"));
        match arg.as_str() {
            "--endpoint" => endpoint = Some(value("--endpoint")),
            "--concurrency" => concurrency = value("--concurrency").parse().expect("--concurrency N"),
            "--max-docs" => max_docs = value("--max-docs").parse().expect("--max-docs N"),
            "--max-bytes" => max_bytes = value("--max-bytes").parse().expect("--max-bytes N"),
            other => path = Some(other.to_string()),
        }
    }
    let (Some(path), Some(endpoint)) = (path, endpoint) else {
        eprintln!("usage: bulk_replay FILE --endpoint URL [--concurrency N] [--max-docs N] [--max-bytes N]");
        std::process::exit(2);
    };
    let started = Instant::now();
    let body = Bytes::from(std::fs::read(&path).expect("read the bulk file"));
    let requests = Arc::new(cut(&body, max_docs.max(1), max_bytes));
    let num_docs: usize = requests.iter().map(|request| request.num_docs).sum();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let totals = runtime.block_on(send_all(&endpoint, requests.clone(), concurrency));
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"tool\":\"bulk_replay\",\"concurrency\":{concurrency},\"docs\":{num_docs},\"bytes\":{},\"requests\":{},\"created\":{},\"error_answers\":{},\"seconds\":{seconds:.3},\"docs_per_sec\":{:.0},\"mb_per_sec\":{:.2}}}",
        body.len(),
        requests.len(),
        totals.created.load(Ordering::Relaxed),
        totals.error_answers.load(Ordering::Relaxed),
        num_docs as f64 / seconds,
        body.len() as f64 / 1e6 / seconds,
    );
}
