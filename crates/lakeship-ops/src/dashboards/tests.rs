use serde_json::json;

use super::import::{
    ImportOptions, ImportOutcome, Retry, import_request, object_keys, parse_import_response, resolve_request, retries_after_conflicts,
};
use super::query::{FieldUse, TimeRange, query_fields, vis_query};
use super::*;

fn repo_dashboards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(DASHBOARDS_DIR)
}

fn file_named(name: &str) -> SavedObjectFile {
    catalog::files().into_iter().find(|file| file.name == name).expect("file in the catalog")
}

#[test]
fn the_catalog_is_valid_and_every_file_imports_on_its_own() {
    let files = catalog::files();
    assert_eq!(files.len(), 5);
    validate(&files).expect("valid");
    for file in &files {
        let kinds: Vec<&str> = file.objects.iter().map(|object| object.kind.as_str()).collect();
        assert_eq!(kinds.first(), Some(&"index-pattern"), "{}", file.name);
        assert_eq!(kinds.last(), Some(&"dashboard"), "{}", file.name);
        assert_eq!(kinds.iter().filter(|kind| **kind == "dashboard").count(), 1, "{}", file.name);
    }
}

#[test]
fn the_committed_dashboards_are_the_generated_ones() {
    let committed = read_dir(&repo_dashboards()).expect("read dashboards/");
    let generated = catalog::files();
    let names = |files: &[SavedObjectFile]| files.iter().map(|file| file.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&generated), "run `lakeship dashboards generate`");
    for (committed, generated) in committed.iter().zip(&generated) {
        assert_eq!(committed.to_ndjson(), generated.to_ndjson(), "{} is stale: run `lakeship dashboards generate`", committed.name);
    }
    validate(&committed).expect("the committed files are valid");
}

#[test]
fn ndjson_round_trips() {
    let file = file_named("network-activity.ndjson");
    let parsed = SavedObjectFile::parse(&file.name, &file.to_ndjson()).expect("parse");
    assert_eq!(parsed, file);
    assert!(SavedObjectFile::parse("x.ndjson", "{\"type\": \"dashboard\"}\n").is_err(), "an object without id is rejected");
}

#[test]
fn validation_finds_dangling_references_and_undeclared_ref_names() {
    let mut file = file_named("dns-activity.ndjson");
    file.objects.remove(0); // the index pattern
    let error = validate(std::slice::from_ref(&file)).expect_err("dangling").to_string();
    assert!(error.contains("does not hold"), "{error}");

    let mut file = file_named("dns-activity.ndjson");
    let dashboard = file.objects.last_mut().expect("dashboard");
    dashboard.references.pop();
    let error = validate(std::slice::from_ref(&file)).expect_err("undeclared").to_string();
    assert!(error.contains("does not declare"), "{error}");

    let twice = vec![file_named("dns-activity.ndjson"), file_named("dns-activity.ndjson")];
    assert!(validate(&twice).expect_err("duplicate ids").to_string().contains("is also in"));
}

#[test]
fn index_patterns_link_ip_fields_to_project_honey_pot() {
    let file = file_named("network-activity.ndjson");
    let pattern = file.find("index-pattern", "lakeship-ocsf-network-activity").expect("pattern");
    assert_eq!(pattern.attributes["title"], "ocsf-*-4001-network_activity*");
    assert_eq!(pattern.attributes["timeFieldName"], "time");
    let formats = pattern.json_attribute("fieldFormatMap").expect("json").expect("formats");
    for field in ["src_endpoint.ip", "dst_endpoint.ip"] {
        assert_eq!(formats[field]["id"], "url");
        assert_eq!(formats[field]["params"]["urlTemplate"], "https://www.projecthoneypot.org/ip_{{value}}");
    }
}

#[test]
fn a_table_nests_its_rows_with_metrics_in_every_ordered_level() {
    let file = file_named("network-activity.ndjson");
    let object = file.find("visualization", "lakeship-network-egress").expect("egress");
    let query = vis_query(&file, object, Some(TimeRange { from: 1000, to: 2000 })).expect("query");
    assert_eq!(query.index, "ocsf-*-4001-network_activity*");
    let sums = json!({"1": {"sum": {"field": "traffic.bytes"}}, "2": {"sum": {"field": "traffic.packets"}}});
    let terms = |id: &str, field: &str, size: u64, aggs: serde_json::Value| json!({id: {"terms": {"field": field, "size": size, "order": {"1": "desc"}}, "aggs": aggs}});
    let mut innermost = terms("5", "dst_endpoint.ip", 10, sums.clone());
    let mut middle_aggs = innermost.take();
    middle_aggs["1"] = sums["1"].clone();
    let mut middle = terms("4", "src_endpoint.ip", 10, middle_aggs);
    let mut outer_aggs = middle.take();
    outer_aggs["1"] = sums["1"].clone();
    let expected = json!({
        "size": 0,
        "track_total_hits": true,
        "query": {"bool": {
            "filter": [
                {"range": {"time": {"gte": 1000, "lte": 2000, "format": "epoch_millis"}}},
                {"query_string": {"query": "connection_info.direction:Outbound", "analyze_wildcard": true}},
            ],
            "must_not": [],
        }},
        "aggs": terms("3", "cloud.account.uid", 10, outer_aggs),
    });
    assert_eq!(query.body, expected);
    assert_eq!(query.outer_bucket.as_deref(), Some("3"));
    let aggregated: Vec<&str> =
        query.fields.iter().filter(|(_, usage)| *usage == FieldUse::Aggregation).map(|(field, _)| field.as_str()).collect();
    assert_eq!(aggregated, ["cloud.account.uid", "dst_endpoint.ip", "src_endpoint.ip", "traffic.bytes", "traffic.packets"]);
    assert!(query.fields.contains(&("connection_info.direction".to_string(), FieldUse::Query)));
    assert!(query.fields.contains(&("time".to_string(), FieldUse::Time)));
}

#[test]
fn filters_buckets_become_lucene_queries_keyed_by_label() {
    let file = file_named("security-findings.ndjson");
    let object = file.find("visualization", "lakeship-findings-compliance").expect("compliance");
    let query = vis_query(&file, object, None).expect("query");
    let filters = &query.body["aggs"]["2"]["aggs"]["3"]["filters"]["filters"];
    assert_eq!(filters["Passed"]["query_string"]["query"], "compliance.status:PASSED OR unmapped.Compliance.Status:PASSED");
    assert_eq!(filters["Failed"]["query_string"]["query"], "compliance.status:FAILED OR unmapped.Compliance.Status:FAILED");
    assert_eq!(query.body["aggs"]["2"]["terms"]["order"], json!({"_count": "desc"}));
    assert!(query.fields.contains(&("unmapped.Compliance.Status".to_string(), FieldUse::Query)));
    assert_eq!(query.body["query"]["bool"]["filter"], json!([]), "no time range, no query");
}

#[test]
fn date_histograms_use_the_interval_dashboards_would() {
    let file = file_named("pipeline-health.ndjson");
    let throughput = file.find("visualization", "lakeship-health-throughput").expect("throughput");
    let query = vis_query(&file, throughput, None).expect("query");
    assert_eq!(
        query.body["aggs"]["3"],
        json!({"date_histogram": {"field": "ended_at", "calendar_interval": "1h", "min_doc_count": 1},
               "aggs": {"2": {"sum": {"field": "num_rows_read"}}}})
    );
    let file = file_named("api-activity.ndjson");
    let velocity = file.find("visualization", "lakeship-api-velocity").expect("velocity");
    let day = TimeRange { from: 0, to: 86_400_000 };
    let query = vis_query(&file, velocity, Some(day)).expect("query");
    assert_eq!(query.body["aggs"]["2"]["date_histogram"]["fixed_interval"], "30m", "a day in about 50 buckets");
    assert_eq!(query.body["aggs"]["2"]["aggs"]["3"]["terms"]["field"], "status");
}

#[test]
fn series_before_the_x_axis_are_the_outer_aggregation() {
    let file = file_named("dns-activity.ndjson");
    let object = file.find("visualization", "lakeship-dns-queries").expect("queries");
    let query = vis_query(&file, object, None).expect("query");
    assert_eq!(query.body["aggs"]["2"]["terms"]["size"], 5, "top 5 accounts over the whole range");
    assert!(query.body["aggs"]["2"]["aggs"]["3"]["date_histogram"].is_object());
}

#[test]
fn missing_buckets_and_metric_only_visualizations() {
    let file = file_named("dns-activity.ndjson");
    let object = file.find("visualization", "lakeship-dns-resolves").expect("resolves");
    let query = vis_query(&file, object, None).expect("query");
    assert_eq!(query.body["aggs"]["2"]["terms"]["missing"], "__missing__");
    let file = file_named("pipeline-health.ndjson");
    let totals = file.find("visualization", "lakeship-health-totals").expect("totals");
    let query = vis_query(&file, totals, None).expect("query");
    assert_eq!(query.outer_bucket, None);
    assert_eq!(query.body["aggs"]["4"], json!({"sum": {"field": "num_rejected"}}));
    let about = file.find("visualization", "lakeship-health-about").expect("markdown");
    assert!(!query::has_request(about));
    assert!(vis_query(&file, about, None).is_err());
}

#[test]
fn lucene_query_fields() {
    assert_eq!(query_fields("NOT status:complete"), ["status"]);
    assert_eq!(query_fields("_exists_:api.response.error AND a.b:\"x:y\""), ["api.response.error", "a.b"]);
    assert_eq!(query_fields("(x:1 OR unmapped.Compliance.Status:PASSED)"), ["x", "unmapped.Compliance.Status"]);
    assert!(query_fields("free text").is_empty());
}

#[test]
fn the_import_request_is_a_multipart_upload_with_the_xsrf_header_and_no_url_parameters() {
    let ndjson = b"{\"type\":\"index-pattern\",\"id\":\"a\",\"attributes\":{\"title\":\"x\"},\"references\":[]}\n";
    let request = import_request("a.ndjson", ndjson, &ImportOptions::default()).expect("request");
    assert_eq!(request.path, "api/saved_objects/_import", "signed POSTs lose their URL parameters on Amazon OpenSearch Service");
    let boundary = request.headers[0].1.strip_prefix("multipart/form-data; boundary=").expect("multipart").to_string();
    assert!(boundary.starts_with("lakeship-") && boundary.len() == 33, "{boundary}");
    assert_eq!(request.headers[1], ("osd-xsrf".to_string(), "true".to_string()));
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.ndjson\"\r\n\
         Content-Type: application/ndjson\r\n\r\n{}\r\n--{boundary}--\r\n",
        String::from_utf8_lossy(ndjson)
    );
    assert_eq!(String::from_utf8_lossy(&request.body), expected);
    let again = import_request("a.ndjson", ndjson, &ImportOptions::default()).expect("request");
    assert_eq!(again, request, "the same file gives the same bytes");

    let options = ImportOptions { overwrite: false, tenant: Some("global".to_string()) };
    let request = import_request("a.ndjson", ndjson, &options).expect("request");
    assert!(request.headers.contains(&("securitytenant".to_string(), "global".to_string())));
    assert!(import_request("a.json", ndjson, &options).is_err(), "Dashboards only takes .ndjson");
}

/// The body of `_resolve_import_errors`: the file and `retries` as a JSON
/// form field (the route's body schema in opensearch-project/OpenSearch-Dashboards
/// `src/core/server/saved_objects/routes/resolve_import_errors.ts`, commit 096681b).
#[test]
fn the_resolve_request_carries_the_retries_in_the_body() {
    let ndjson = b"{\"type\":\"index-pattern\",\"id\":\"a\",\"attributes\":{\"title\":\"x\"},\"references\":[]}\n";
    let retries = [Retry { kind: "index-pattern".into(), id: "a".into(), overwrite: true }];
    let request = resolve_request("a.ndjson", ndjson, &retries, &ImportOptions::default()).expect("request");
    assert_eq!(request.path, "api/saved_objects/_resolve_import_errors");
    let boundary = request.headers[0].1.strip_prefix("multipart/form-data; boundary=").expect("multipart").to_string();
    let expected = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.ndjson\"\r\n\
         Content-Type: application/ndjson\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"retries\"\r\n\r\n\
         [{{\"id\":\"a\",\"overwrite\":true,\"replaceReferences\":[],\"type\":\"index-pattern\"}}]\r\n--{boundary}--\r\n",
        String::from_utf8_lossy(ndjson)
    );
    assert_eq!(String::from_utf8_lossy(&request.body), expected);
    assert_eq!(object_keys(ndjson).expect("keys"), [("index-pattern".to_string(), "a".to_string())]);
}

/// `_import` without overwrite of the DNS file while its index pattern
/// exists: `checkConflicts` makes a `conflict` error of it, and
/// `createSavedObjects` then skips the bulk create but returns the other
/// objects as created, which `importSavedObjectsFromStream` counts and
/// lists (opensearch-project/OpenSearch-Dashboards
/// `src/core/server/saved_objects/import/import_saved_objects.ts` at commit
/// 03483e4, `create_saved_objects.ts` at 21e4273, `check_conflicts.ts` at
/// 0d47d87; `meta.icon` from the types' management icons).
const NO_OVERWRITE_CONFLICT: &[u8] = br#"{"successCount":2,"success":false,
 "successResults":[
  {"type":"visualization","id":"lakeship-dns-rcodes","meta":{"title":"DNS: response codes","icon":"visualizeApp"}},
  {"type":"dashboard","id":"lakeship-dashboard-dns","meta":{"title":"[Lakeship] DNS activity","icon":"dashboardApp"}}],
 "errors":[{"type":"index-pattern","id":"lakeship-dns","title":"ocsf-*-4003-*","meta":{"title":"ocsf-*-4003-*","icon":"indexPatternApp"},
  "error":{"type":"conflict"}}]}"#;

/// `_resolve_import_errors` of the two objects that do not conflict, not
/// replaced (`resolve_import_errors.ts` at commit 1eb37e6: `successCount`
/// and `successResults` of both batches, `overwrite` only on replaced ones).
const RESOLVED_OTHERS: &[u8] = br#"{"successCount":2,"success":true,
 "successResults":[
  {"type":"visualization","id":"lakeship-dns-rcodes","meta":{"title":"DNS: response codes","icon":"visualizeApp"}},
  {"type":"dashboard","id":"lakeship-dashboard-dns","meta":{"title":"[Lakeship] DNS activity","icon":"dashboardApp"}}]}"#;

fn dns_objects() -> Vec<(String, String)> {
    [("index-pattern", "lakeship-dns"), ("visualization", "lakeship-dns-rcodes"), ("dashboard", "lakeship-dashboard-dns")]
        .map(|(kind, id)| (kind.to_string(), id.to_string()))
        .to_vec()
}

#[test]
fn a_conflict_without_overwrite_means_nothing_was_written_and_the_others_are_retried() {
    let first = parse_import_response(200, NO_OVERWRITE_CONFLICT).expect("answer");
    assert_eq!((first.success_count, first.blocked()), (2, true), "successCount counts objects Dashboards did not write");
    let as_is = ImportOutcome::of_answer(first.clone(), Vec::new());
    assert!(as_is.written.is_empty() && as_is.withheld.len() == 2 && !as_is.success());

    let retries = retries_after_conflicts(&dns_objects(), &first).expect("only conflicts: retry the others");
    let retried: Vec<(&str, &str, bool)> = retries.iter().map(|retry| (retry.kind.as_str(), retry.id.as_str(), retry.overwrite)).collect();
    assert_eq!(retried, [("visualization", "lakeship-dns-rcodes", false), ("dashboard", "lakeship-dashboard-dns", false)]);

    let second = parse_import_response(200, RESOLVED_OTHERS).expect("answer");
    let outcome = ImportOutcome::of_answer(second, first.errors);
    assert_eq!(outcome.written, ["visualization lakeship-dns-rcodes", "dashboard lakeship-dashboard-dns"]);
    assert_eq!(outcome.kept.iter().map(|kept| kept.object.as_str()).collect::<Vec<_>>(), ["index-pattern lakeship-dns"]);
    assert_eq!(outcome.kept[0].title, "ocsf-*-4003-*");
    assert!(outcome.success(), "the kept object is what --no-overwrite asked for");
}

/// A missing reference also stops the bulk create (`resolvableErrors`); it
/// is not retried: the objects stay unwritten and are reported so
/// (`validate_references.ts` makes the `missing_references` error).
#[test]
fn a_missing_reference_is_a_failure_and_withholds_the_rest() {
    let answer = br#"{"successCount":1,"success":false,
     "successResults":[{"type":"dashboard","id":"lakeship-dashboard-dns","meta":{"title":"[Lakeship] DNS activity","icon":"dashboardApp"}}],
     "errors":[{"type":"visualization","id":"lakeship-dns-rcodes","title":"DNS: response codes","meta":{"title":"DNS: response codes","icon":"visualizeApp"},
      "error":{"type":"missing_references","references":[{"type":"index-pattern","id":"lakeship-dns"}]}}]}"#;
    let first = parse_import_response(200, answer).expect("answer");
    assert!(retries_after_conflicts(&dns_objects(), &first).is_none());
    let outcome = ImportOutcome::of_answer(first, Vec::new());
    assert_eq!((outcome.written.len(), outcome.withheld.len(), outcome.failures[0].error.as_str()), (0, 1, "missing_references"));
    assert!(!outcome.success());
}

/// Replacing: every object retried with `overwrite: true`; `successResults`
/// marks each `overwrite` (`resolve_import_errors.ts` at commit 1eb37e6). An
/// `unknown` error (a failed bulk item, `extract_errors.ts`) does not stop
/// the others from being written.
#[test]
fn an_overwriting_import_writes_what_it_lists() {
    let answer = br#"{"successCount":2,"success":false,
     "successResults":[
      {"type":"index-pattern","id":"lakeship-dns","meta":{"title":"ocsf-*-4003-*","icon":"indexPatternApp"},"overwrite":true},
      {"type":"dashboard","id":"lakeship-dashboard-dns","meta":{"title":"[Lakeship] DNS activity","icon":"dashboardApp"},"overwrite":true}],
     "errors":[{"type":"visualization","id":"lakeship-dns-rcodes","title":"DNS: response codes","meta":{"title":"DNS: response codes","icon":"visualizeApp"},
      "overwrite":true,"error":{"type":"unknown","message":"mapping failed","statusCode":400}}]}"#;
    let outcome = ImportOutcome::of_answer(parse_import_response(200, answer).expect("answer"), Vec::new());
    assert_eq!(outcome.written, ["index-pattern lakeship-dns", "dashboard lakeship-dashboard-dns"]);
    assert_eq!((outcome.failures[0].error.as_str(), outcome.withheld.len()), ("unknown", 0));
    let everything = br#"{"successCount":1,"success":true,"successResults":[{"type":"index-pattern","id":"lakeship-dns","meta":{"title":"t"},"overwrite":true}]}"#;
    assert!(ImportOutcome::of_answer(parse_import_response(200, everything).expect("answer"), Vec::new()).success());
}

#[test]
fn the_boundary_never_occurs_in_the_content() {
    let file = file_named("api-activity.ndjson");
    let ndjson = file.to_ndjson();
    let request = import_request(&file.name, ndjson.as_bytes(), &ImportOptions::default()).expect("request");
    let boundary = request.headers[0].1.split("boundary=").nth(1).expect("boundary").to_string();
    assert!(!ndjson.contains(&boundary));
    assert_eq!(String::from_utf8_lossy(&request.body).matches(&boundary).count(), 2);
}

#[test]
fn refused_imports_are_errors_with_a_hint() {
    let error = parse_import_response(404, b"{\"statusCode\":404}").expect_err("404").to_string();
    assert!(error.contains("/_dashboards"), "{error}");
    let error = parse_import_response(400, br#"{"message":"Request must contain a osd-xsrf header."}"#).expect_err("400").to_string();
    assert!(error.contains("osd-xsrf"), "{error}");
}
