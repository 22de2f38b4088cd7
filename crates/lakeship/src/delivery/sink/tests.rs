//! Every delivery outcome, driven through a scripted transport (no node):
//! what is counted, what is sent again, what is rejected with which reason,
//! what fails and under which name. The sink against a real node is tested
//! in tests/tests/delivery.rs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::delivery::client::Response;
use crate::delivery::transport::BoxFuture;
use crate::errors::ErrorName;

/// Answers bulk requests from a script, and records what it was sent and
/// how many requests were in flight at once.
#[derive(Clone, Default)]
struct Scripted {
    answers: Arc<Mutex<VecDeque<Result<Response, DeliveryError>>>>,
    bodies: Arc<Mutex<Vec<Bytes>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Scripted {
    fn new(answers: impl IntoIterator<Item = Result<Response, DeliveryError>>) -> Self {
        Scripted { answers: Arc::new(Mutex::new(answers.into_iter().collect())), ..Scripted::default() }
    }

    /// The documents of each request, by their `_id`.
    fn requests(&self) -> Vec<Vec<String>> {
        let bodies = self.bodies.lock().unwrap();
        bodies
            .iter()
            .map(|body| {
                let text = std::str::from_utf8(body).unwrap();
                text.lines()
                    .step_by(2)
                    .map(|action| serde_json::from_str::<serde_json::Value>(action).unwrap()["create"]["_id"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    }
}

impl BulkTransport for Scripted {
    fn bulk(&self, body: Bytes) -> BoxFuture<'_, Result<Response, DeliveryError>> {
        Box::pin(async move {
            self.bodies.lock().unwrap().push(body);
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let next = self.answers.lock().unwrap().pop_front();
            next.unwrap_or_else(|| Err(DeliveryError::Protocol("the script has no answer left".to_string())))
        })
    }
}

/// Keeps reject lines in memory.
#[derive(Clone, Default)]
struct Kept {
    lines: Arc<Mutex<Vec<u8>>>,
    count: Arc<AtomicUsize>,
}

impl Kept {
    fn letters(&self) -> Vec<serde_json::Value> {
        let lines = self.lines.lock().unwrap();
        std::str::from_utf8(&lines).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }
}

impl RejectSink for Kept {
    fn append<'a>(&'a mut self, lines: &'a [u8], num_rejects: u64) -> BoxFuture<'a, Result<(), String>> {
        self.lines.lock().unwrap().extend_from_slice(lines);
        self.count.fetch_add(num_rejects as usize, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }

    fn finish(&mut self) -> BoxFuture<'_, Result<(u64, Vec<String>), String>> {
        let count = self.count.load(Ordering::SeqCst) as u64;
        Box::pin(async move { Ok((count, if count > 0 { vec!["memory".to_string()] } else { Vec::new() })) })
    }
}

/// Counts outcomes it is told about.
#[derive(Default)]
struct Heard(Mutex<ItemCounts>);

impl DeliveryObserver for Heard {
    fn delivered(&self, counts: &ItemCounts) {
        self.0.lock().unwrap().add(counts);
    }
}

fn answer(status: u16, body: &str) -> Result<Response, DeliveryError> {
    Ok(Response { status, retry_after: None, body: Bytes::from(body.to_string()) })
}

/// A bulk answer with one item per status (errors for 4xx items). Shape
/// (`errors`, `items[].create.{status,error{type,reason,caused_by}}`): the
/// response of https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
/// and the real answer in `delivery::bulk`'s tests; reasons made up.
fn items(statuses: &[u16]) -> Result<Response, DeliveryError> {
    let items: Vec<serde_json::Value> = statuses
        .iter()
        .map(|&status| match status {
            200..=299 => serde_json::json!({"create": {"status": status}}),
            409 => {
                serde_json::json!({"create": {"status": 409, "error": {"type": "version_conflict_engine_exception", "reason": "exists"}}})
            }
            _ => serde_json::json!({"create": {"status": status, "error": {
                "type": "mapper_parsing_exception", "reason": "failed to parse field [time]",
                "caused_by": {"type": "illegal_argument_exception", "reason": "not a date"}}}}),
        })
        .collect();
    let errors = statuses.iter().any(|&status| status >= 300);
    answer(200, &serde_json::json!({"errors": errors, "items": items}).to_string())
}

fn created(n: usize) -> Result<Response, DeliveryError> {
    items(&vec![201; n])
}

/// `n` documents `d0`, `d1`, … for index `ocsf-test`.
fn docs(n: usize) -> EncodedDocs {
    let mut docs = EncodedDocs::default();
    for i in 0..n {
        docs.push(format!("{{\"create\":{{\"_index\":\"ocsf-test\",\"_id\":\"d{i}\"}}}}").as_bytes(), format!("{{\"n\":{i}}}").as_bytes());
    }
    docs
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("d{i}")).collect()
}

fn options() -> DeliveryOptions {
    DeliveryOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(20),
            time_budget: Duration::from_secs(600),
        },
        ..DeliveryOptions::default()
    }
}

/// A sink over `transport` whose sleeps are recorded, not slept.
fn sink(transport: &Scripted, rejects: &Kept, options: DeliveryOptions) -> (BulkSink, Arc<Mutex<Vec<Duration>>>) {
    let slept = Arc::new(Mutex::new(Vec::new()));
    let record = slept.clone();
    let sleeper: Sleeper = Arc::new(move |duration| {
        record.lock().unwrap().push(duration);
        Box::pin(async {})
    });
    (BulkSink::new(transport.clone(), options, rejects.clone()).with_sleeper(sleeper), slept)
}

async fn deliver(transport: &Scripted, rejects: &Kept, options: DeliveryOptions, n: usize) -> Result<SinkReport, DeliveryError> {
    let (mut sink, _) = sink(transport, rejects, options);
    sink.send(0, docs(n)).await?;
    sink.finish().await
}

fn counts(indexed: u64, present: u64, rejected: u64) -> ItemCounts {
    ItemCounts { num_indexed: indexed, num_already_present: present, num_rejected: rejected }
}

#[tokio::test]
async fn created_items_are_indexed_in_one_request() {
    let transport = Scripted::new([created(3)]);
    let report = deliver(&transport, &Kept::default(), options(), 3).await.unwrap();
    assert_eq!(report.counts[&0], counts(3, 0, 0));
    assert_eq!(transport.requests(), vec![ids(0..3)]);
    assert_eq!((report.stats.num_requests, report.stats.num_retried_docs, report.num_dead_letters), (1, 0, 0));
}

#[tokio::test]
async fn conflicts_are_already_present_not_errors() {
    let transport = Scripted::new([items(&[201, 409, 409])]);
    let report = deliver(&transport, &Kept::default(), options(), 3).await.unwrap();
    assert_eq!(report.counts[&0], counts(1, 2, 0));
    assert_eq!(report.stats.num_requests, 1);
}

#[tokio::test]
async fn refused_items_are_rejected_with_index_id_status_reason_and_document() {
    let (transport, rejects) = (Scripted::new([items(&[201, 400, 201])]), Kept::default());
    let report = deliver(&transport, &rejects, options(), 3).await.unwrap();
    assert_eq!(report.counts[&0], counts(2, 0, 1));
    assert_eq!((report.num_dead_letters, report.dead_letter_parts.len()), (1, 1));
    let letters = rejects.letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["index"], "ocsf-test");
    assert_eq!(letters[0]["id"], "d1");
    assert_eq!(letters[0]["status"], 400);
    assert_eq!(
        letters[0]["reason"],
        "mapper_parsing_exception: failed to parse field [time] (caused by illegal_argument_exception: not a date)"
    );
    assert_eq!(letters[0]["document"], serde_json::json!({"n": 1}));
    assert_eq!(transport.requests().len(), 1, "a rejected item is not sent again");
}

#[tokio::test]
async fn throttled_and_failed_items_alone_are_sent_again() {
    let transport = Scripted::new([items(&[201, 429, 201, 503]), created(2)]);
    let report = deliver(&transport, &Kept::default(), options(), 4).await.unwrap();
    assert_eq!(report.counts[&0], counts(4, 0, 0));
    assert_eq!(transport.requests(), vec![ids(0..4), vec!["d1".to_string(), "d3".to_string()]]);
    let stats = report.stats;
    assert_eq!((stats.num_requests, stats.num_retried_docs, stats.num_throttled_items, stats.num_throttled_requests), (2, 2, 1, 0));
}

#[tokio::test]
async fn a_throttled_request_waits_at_least_its_retry_after() {
    let throttled = Ok(Response { status: 429, retry_after: Some("3".to_string()), body: Bytes::from_static(b"{}") });
    let transport = Scripted::new([throttled, created(2)]);
    let (mut sink, slept) = sink(&transport, &Kept::default(), options());
    sink.send(0, docs(2)).await.unwrap();
    let report = sink.finish().await.unwrap();
    assert_eq!(report.counts[&0], counts(2, 0, 0));
    assert_eq!((report.stats.num_throttled_requests, report.stats.num_retried_docs), (1, 2));
    let slept = slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 1);
    assert!(slept[0] >= Duration::from_secs(3), "slept {:?}, the node asked for 3 s", slept[0]);
}

#[tokio::test]
async fn server_errors_broken_connections_and_garbled_answers_are_retried() {
    let transport = Scripted::new([
        answer(503, "{\"error\":\"busy\"}"),
        Err(DeliveryError::Connection("connection reset by peer".to_string())),
        answer(200, "<html>a proxy page</html>"),
        answer(200, "{\"errors\":false,\"items\":[{\"create\":{\"status\":201}}]}"),
        created(2),
    ]);
    let report = deliver(&transport, &Kept::default(), options(), 2).await.unwrap();
    assert_eq!(report.counts[&0], counts(2, 0, 0));
    assert_eq!(report.stats.num_requests, 5);
    assert_eq!(report.stats.num_failed_requests, 4, "503, reset, not JSON, 1 item for 2 documents");
}

#[tokio::test]
async fn retries_run_out_with_a_named_error_and_backoffs_that_grow() {
    let transport = Scripted::new((0..5).map(|_| answer(503, "busy")));
    let (mut sink, slept) = sink(&transport, &Kept::default(), options());
    sink.send(0, docs(3)).await.unwrap();
    let error = sink.finish().await.unwrap_err();
    match &error {
        DeliveryError::RetriesExhausted { throttled, attempts, num_pending, last_error } => {
            assert_eq!((*throttled, *attempts, *num_pending), (false, 5, 3));
            assert!(last_error.contains("503"), "{last_error}");
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert_eq!(error.name(), ErrorName::Transient);
    let slept = slept.lock().unwrap().clone();
    assert_eq!(slept.len(), 4, "a backoff between attempts, none after the last");
    for (attempt, backoff) in slept.iter().enumerate() {
        assert!(*backoff <= Duration::from_millis(100) * (1 << attempt), "attempt {}: {backoff:?} beyond its ceiling", attempt + 1);
    }

    let transport = Scripted::new((0..5).map(|_| answer(429, "")));
    let error = deliver(&transport, &Kept::default(), options(), 1).await.unwrap_err();
    assert_eq!(error.name(), ErrorName::Throttled, "{error}");
}

#[tokio::test]
async fn a_request_too_large_is_halved_until_it_fits() {
    let transport = Scripted::new([answer(413, ""), answer(413, ""), created(1), created(1), created(2)]);
    let report = deliver(&transport, &Kept::default(), options(), 4).await.unwrap();
    assert_eq!(report.counts[&0], counts(4, 0, 0));
    let requests = transport.requests();
    assert_eq!(requests, vec![ids(0..4), ids(0..2), ids(0..1), ids(1..2), ids(2..4)]);
}

#[tokio::test]
async fn a_single_document_too_large_is_rejected() {
    let (transport, rejects) = (Scripted::new([answer(413, "")]), Kept::default());
    let report = deliver(&transport, &rejects, options(), 1).await.unwrap();
    assert_eq!(report.counts[&0], counts(0, 0, 1));
    let letters = rejects.letters();
    assert_eq!((letters[0]["id"].as_str(), letters[0]["status"].as_u64()), (Some("d0"), Some(413)));
}

#[tokio::test]
async fn a_refused_request_fails_at_once_under_its_name() {
    let transport = Scripted::new([answer(403, "{\"message\":\"no permissions for [indices:data/write/bulk]\"}")]);
    let error = deliver(&transport, &Kept::default(), options(), 2).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Http { status: 403, .. }), "{error:?}");
    assert_eq!(error.name(), ErrorName::Configuration);
    assert_eq!(transport.requests().len(), 1, "not retried");

    let transport = Scripted::new([Err(DeliveryError::Configuration("bad certificate".to_string()))]);
    let error = deliver(&transport, &Kept::default(), options(), 2).await.unwrap_err();
    assert_eq!(error.name(), ErrorName::Configuration);
}

#[tokio::test]
async fn an_endpoint_that_refuses_ids_is_a_configuration_error() {
    let refused = answer(
        200,
        &serde_json::json!({"errors": true, "items": [{"create": {"status": 400, "error": {
            "type": "illegal_argument_exception", "reason": crate::delivery::bulk::IDS_REFUSED_REASON}}}]})
        .to_string(),
    );
    let error = deliver(&Scripted::new([refused]), &Kept::default(), options(), 1).await.unwrap_err();
    assert_eq!(error.name(), ErrorName::Configuration);
    assert!(error.to_string().contains("SEARCH collection"), "{error}");
}

#[tokio::test]
async fn unroutable_rows_are_rejected_unsent() {
    let (transport, rejects) = (Scripted::new([created(2)]), Kept::default());
    let (mut sink, _) = sink(&transport, &rejects, options());
    let mut batch = docs(2);
    crate::convert::write_reject(&mut batch.unroutable, "", "row-7", 0, "unroutable row: class_uid is null", b"{\"n\":7}");
    batch.num_unroutable = 1;
    sink.send(5, batch).await.unwrap();
    let report = sink.finish().await.unwrap();
    assert_eq!(report.counts[&5], counts(2, 0, 1));
    assert_eq!(transport.requests(), vec![ids(0..2)]);
    let letters = rejects.letters();
    assert_eq!(
        (letters[0]["id"].as_str(), letters[0]["status"].as_u64(), letters[0]["index"].as_str()),
        (Some("row-7"), Some(0), Some(""))
    );
}

#[tokio::test]
async fn requests_in_flight_are_bounded_and_outcomes_kept_per_piece_and_heard() {
    let transport = Scripted::new((0..6).map(|_| created(1)));
    let heard = Arc::new(Heard::default());
    let options = DeliveryOptions { max_chunk_docs: 1, max_in_flight: 2, ..options() };
    let (sink, _) = sink(&transport, &Kept::default(), options);
    let mut sink = sink.with_observer(heard.clone());
    sink.send(0, docs(4)).await.unwrap();
    sink.send(1, docs(2)).await.unwrap();
    let report = sink.finish().await.unwrap();
    assert_eq!((report.counts[&0], report.counts[&1]), (counts(4, 0, 0), counts(2, 0, 0)));
    assert_eq!(transport.requests().len(), 6);
    assert_eq!(transport.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(*heard.0.lock().unwrap(), counts(6, 0, 0));
}

#[tokio::test]
async fn chunks_are_cut_by_documents_and_bytes() {
    let in_order = DeliveryOptions { max_in_flight: 1, ..options() };
    let transport = Scripted::new([created(2), created(2), created(1)]);
    let report = deliver(&transport, &Kept::default(), DeliveryOptions { max_chunk_docs: 2, ..in_order.clone() }, 5).await.unwrap();
    assert_eq!(report.counts[&0], counts(5, 0, 0));
    assert_eq!(transport.requests(), vec![ids(0..2), ids(2..4), ids(4..5)]);

    let one_doc = docs(1).bytes.len();
    let transport = Scripted::new((0..3).map(|_| created(2)));
    let report = deliver(&transport, &Kept::default(), DeliveryOptions { max_chunk_bytes: 2 * one_doc + 1, ..in_order }, 6).await.unwrap();
    assert_eq!(report.counts[&0], counts(6, 0, 0));
    assert_eq!(transport.requests(), vec![ids(0..2), ids(2..4), ids(4..6)]);
}

#[tokio::test]
async fn stop_abandons_requests_still_in_flight_at_the_deadline() {
    /// Never answers.
    struct Silent;
    impl BulkTransport for Silent {
        fn bulk(&self, _: Bytes) -> BoxFuture<'_, Result<Response, DeliveryError>> {
            Box::pin(std::future::pending())
        }
    }
    let mut sink = BulkSink::new(Silent, options(), Kept::default());
    sink.send(0, docs(2)).await.unwrap();
    let report = sink.stop(Instant::now() + Duration::from_millis(20)).await.unwrap();
    assert!(report.counts.is_empty(), "no outcome for documents abandoned in flight: {:?}", report.counts);
}

#[test]
fn answers_tell_the_concurrency_controller_whether_the_domain_pushed_back() {
    let retry_all = |throttled| BulkRound::RetryAll { throttled, retry_after: None, reason: String::new() };
    assert_eq!(concurrency_outcome(&retry_all(true)), RequestOutcome::BackPressure, "429 for the request");
    assert_eq!(concurrency_outcome(&retry_all(false)), RequestOutcome::BackPressure, "5xx or a broken connection");
    let items = |outcomes: Vec<ItemOutcome>| BulkRound::Items(outcomes);
    assert_eq!(
        concurrency_outcome(&items(vec![ItemOutcome::Indexed, ItemOutcome::Retry { status: 429 }])),
        RequestOutcome::BackPressure,
        "one item answered 429"
    );
    let answered = items(vec![
        ItemOutcome::Indexed,
        ItemOutcome::AlreadyPresent,
        ItemOutcome::Rejected { status: 400, reason: "mapper_parsing_exception".to_string() },
    ]);
    assert_eq!(concurrency_outcome(&answered), RequestOutcome::Answered, "rejections are the documents' doing");
    assert_eq!(concurrency_outcome(&BulkRound::Split), RequestOutcome::Ignored);
    assert_eq!(concurrency_outcome(&BulkRound::Fail(DeliveryError::Configuration(String::new()))), RequestOutcome::Ignored);
}

#[tokio::test]
async fn an_adaptive_sink_starts_with_one_request_in_flight_and_a_fixed_one_with_all() {
    let transport = Scripted::new([]);
    let adaptive = DeliveryOptions { max_in_flight: 8, adaptive: true, ..options() };
    assert_eq!(adaptive.concurrency(), Concurrency::Adaptive(8));
    assert_eq!(sink(&transport, &Kept::default(), adaptive).0.limit(), 1);
    let fixed = DeliveryOptions { max_in_flight: 8, adaptive: false, ..options() };
    assert_eq!(sink(&transport, &Kept::default(), fixed).0.limit(), 8);
}
