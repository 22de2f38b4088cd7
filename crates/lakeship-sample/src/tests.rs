//! Tests of the generator as a whole: schemas against Security Lake's own
//! samples, determinism, row-group cutting, value consistency, keys.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/security-lake-samples");

/// The Security Lake sample each generated (class, version) mirrors.
fn fixture(class: SampleClass, version: OcsfVersion) -> PathBuf {
    let relative = match (class, version) {
        (SampleClass::NetworkActivity, OcsfVersion::V1_0_0Rc2) => "1.0.0-rc.2/VPC_FLOW/example0.gz.parquet",
        (SampleClass::NetworkActivity, OcsfVersion::V1_1_0) => "1.1.0/VPC_FLOW/tests_vpc_flow-input0.test.parquet",
        (SampleClass::DnsActivity, OcsfVersion::V1_0_0Rc2) => "1.0.0-rc.2/ROUTE53/example0.json.gz.parquet",
        (SampleClass::DnsActivity, OcsfVersion::V1_1_0) => "1.1.0/ROUTE53/tests_example0.test.parquet",
        (SampleClass::ApiActivity, OcsfVersion::V1_0_0Rc2) => "1.0.0-rc.2/CLOUD_TRAIL/api_activity/CreateLoadBalancer.test.gz.parquet",
        (SampleClass::ApiActivity, OcsfVersion::V1_1_0) => "1.1.0/CLOUD_TRAIL/api_activity/tests_CreateLoadBalancer.test.parquet",
        (SampleClass::Findings, OcsfVersion::V1_0_0Rc2) => "1.0.0-rc.2/SH_FINDINGS/example0.json.gz.parquet",
        (SampleClass::Findings, OcsfVersion::V1_1_0) => "1.1.0/SH_FINDINGS/detection_findings/tests_macie_discovery.test.parquet",
    };
    Path::new(FIXTURES).join(relative)
}

fn small_options() -> SampleOptions {
    SampleOptions::default().with_rows_per_object(300).with_row_group_rows(128).with_batch_rows(100)
}

fn write_to_bytes(class: SampleClass, version: OcsfVersion, options: &SampleOptions) -> (Bytes, WrittenObject) {
    let mut buffer = Vec::new();
    let written = write_object(&mut buffer, class, version, options, 0).expect("object written");
    (Bytes::from(buffer), written)
}

fn read_all(bytes: Bytes) -> (Schema, Vec<RecordBatch>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).expect("valid Parquet");
    let schema = builder.schema().as_ref().clone();
    let batches = builder.build().expect("reader").collect::<Result<Vec<_>, _>>().expect("batches decode");
    (schema, batches)
}

/// A field as `name: type`, with `!` for non-null; list items and map
/// entries are rendered without their names, which are encoding details
/// (legacy `array` vs standard `element`, `map`/`key_value`).
fn render(field: &Field) -> String {
    format!("{}: {}", field.name(), render_type(field.data_type(), field.is_nullable()))
}

fn render_type(data_type: &DataType, nullable: bool) -> String {
    let mark = if nullable { "" } else { "!" };
    let body = match data_type {
        DataType::Struct(fields) => {
            format!("{{{}}}", fields.iter().map(|f| render(f)).collect::<Vec<_>>().join(", "))
        }
        DataType::List(item) => format!("[{}]", render_type(item.data_type(), item.is_nullable())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) => format!(
                "map<{}, {}>",
                render_type(kv[0].data_type(), kv[0].is_nullable()),
                render_type(kv[1].data_type(), kv[1].is_nullable())
            ),
            other => format!("map<{other}>"),
        },
        other => other.to_string(),
    };
    format!("{body}{mark}")
}

fn fixture_schema(class: SampleClass, version: OcsfVersion) -> Schema {
    let bytes = Bytes::from(std::fs::read(fixture(class, version)).expect("fixture readable"));
    read_all(bytes).0
}

#[test]
fn every_class_and_version_matches_the_security_lake_sample_schema() {
    let options = small_options().with_rows_per_object(50);
    for version in OcsfVersion::ALL {
        for class in SampleClass::ALL {
            let (bytes, written) = write_to_bytes(class, version, &options);
            assert_eq!(written.num_rows, 50);
            let (schema, batches) = read_all(bytes);
            assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 50);
            let expected = fixture_schema(class, version);
            let ours: Vec<String> = schema.fields().iter().map(|f| render(f)).collect();
            let theirs: Vec<String> = expected.fields().iter().map(|f| render(f)).collect();
            for (ours, theirs) in ours.iter().zip(&theirs) {
                assert_eq!(ours, theirs, "{class} {version}");
            }
            assert_eq!(ours, theirs, "{class} {version}: different top-level fields");
        }
    }
}

#[test]
fn same_options_give_identical_bytes_and_another_seed_does_not() {
    let options = small_options();
    for class in SampleClass::ALL {
        let (first, _) = write_to_bytes(class, OcsfVersion::V1_1_0, &options);
        let (second, _) = write_to_bytes(class, OcsfVersion::V1_1_0, &options);
        assert!(first == second, "{class}: two runs differ");
        let (other, _) = write_to_bytes(class, OcsfVersion::V1_1_0, &options.clone().with_seed(7));
        assert!(first != other, "{class}: the seed changes nothing");
    }
}

#[test]
fn batch_size_does_not_change_the_bytes() {
    let options = small_options();
    for version in OcsfVersion::ALL {
        for class in SampleClass::ALL {
            let (first, _) = write_to_bytes(class, version, &options);
            let (second, _) = write_to_bytes(class, version, &options.clone().with_batch_rows(37));
            assert!(first == second, "{class} {version}: the batch size changes the bytes");
        }
    }
}

#[test]
fn row_groups_are_cut_at_row_group_rows() {
    let options = small_options();
    let (bytes, written) = write_to_bytes(SampleClass::DnsActivity, OcsfVersion::V1_0_0Rc2, &options);
    assert_eq!(written, WrittenObject { num_rows: 300, num_row_groups: 3 });
    let reader = SerializedFileReader::new(bytes).expect("valid Parquet");
    let rows: Vec<i64> = reader.metadata().row_groups().iter().map(|rg| rg.num_rows()).collect();
    assert_eq!(rows, [128, 128, 44]);
    let column = reader.metadata().row_group(0).column(0);
    assert_eq!(column.compression(), parquet::basic::Compression::ZSTD(Default::default()));
}

fn column<'a>(batch: &'a RecordBatch, path: &str) -> &'a dyn Array {
    let mut parts = path.split('.');
    let mut array: &dyn Array = batch.column_by_name(parts.next().expect("a name")).expect("column exists").as_ref();
    for part in parts {
        let structure: &StructArray = array.as_struct();
        array = structure.column_by_name(part).expect("child exists").as_ref();
    }
    array
}

fn strings(batch: &RecordBatch, path: &str) -> Vec<Option<String>> {
    let array = column(batch, path).as_string::<i32>();
    (0..array.len()).map(|i| array.is_valid(i).then(|| array.value(i).to_string())).collect()
}

fn ints(batch: &RecordBatch, path: &str) -> Vec<i64> {
    let array = column(batch, path);
    match array.data_type() {
        DataType::Int32 => array.as_primitive::<Int32Type>().values().iter().map(|&v| i64::from(v)).collect(),
        _ => array.as_primitive::<Int64Type>().values().to_vec(),
    }
}

#[test]
fn rows_are_consistent_ocsf() {
    let options = small_options().with_rows_per_object(2000).with_batch_rows(2000);
    for version in OcsfVersion::ALL {
        for class in SampleClass::ALL {
            let mut batches = record_batches(class, version, &options, 0).expect("valid options");
            let batch = batches.next().expect("one batch");
            let class_uid = ints(&batch, "class_uid");
            assert!(class_uid.iter().all(|&uid| uid == i64::from(class.class_uid(version))));
            let activity = ints(&batch, "activity_id");
            let type_uid = ints(&batch, "type_uid");
            for (row, (&activity, &type_uid)) in activity.iter().zip(&type_uid).enumerate() {
                assert_eq!(type_uid, i64::from(class.class_uid(version)) * 100 + activity, "{class} {version} row {row}");
            }
            let severity_id = ints(&batch, "severity_id");
            let severity = strings(&batch, "severity");
            for (id, name) in severity_id.iter().zip(&severity) {
                assert_eq!(name.as_deref(), Some(common::severity_name(*id as i32)), "{class} {version}");
            }
            assert!(strings(&batch, "metadata.version").iter().all(|v| v.as_deref() == Some(version.as_str())));
            let time = ints(&batch, "time");
            assert!(time.windows(2).all(|pair| pair[0] <= pair[1]), "{class} {version}: time not sorted");
            assert!(*time.first().expect("rows") >= options.end_time_millis - options.window_millis);
            assert!(*time.last().expect("rows") < options.end_time_millis);
            if version == OcsfVersion::V1_1_0 {
                let time_dt = column(&batch, "time_dt").as_primitive::<arrow_array::types::TimestampMillisecondType>();
                assert_eq!(time_dt.values().to_vec(), time, "{class}: time_dt differs from time");
            }
        }
    }
}

#[test]
fn addresses_are_valid_ip_strings() {
    let options = small_options().with_rows_per_object(3000).with_batch_rows(3000);
    let paths: &[(SampleClass, &[&str])] = &[
        (SampleClass::NetworkActivity, &["src_endpoint.ip", "dst_endpoint.ip"]),
        (SampleClass::DnsActivity, &["src_endpoint.ip"]),
        (SampleClass::ApiActivity, &["src_endpoint.ip"]),
    ];
    for version in OcsfVersion::ALL {
        for (class, columns) in paths {
            let batch = record_batches(*class, version, &options, 0).expect("options").next().expect("batch");
            for path in *columns {
                let values = strings(&batch, path);
                assert!(values.iter().flatten().count() > 2000, "{class} {path}: mostly null");
                for value in values.iter().flatten() {
                    assert!(value.parse::<std::net::IpAddr>().is_ok(), "{class} {path}: {value:?} is not an IP");
                }
            }
        }
    }
}

#[test]
fn network_activity_mixes_actions_directions_and_accounts_keys() {
    let options = small_options().with_rows_per_object(5000).with_batch_rows(5000);
    let batch = record_batches(SampleClass::NetworkActivity, OcsfVersion::V1_1_0, &options, 0).expect("options").next().expect("batch");
    let actions = strings(&batch, "action");
    let denied = actions.iter().filter(|a| a.as_deref() == Some("Denied")).count();
    assert!((500..2500).contains(&denied), "{denied} denied of 5000");
    let directions = strings(&batch, "connection_info.direction");
    assert!(directions.iter().any(|d| d.as_deref() == Some("Inbound")));
    assert!(directions.iter().any(|d| d.as_deref() == Some("Outbound")));
    let account = strings(&batch, "cloud.account.uid");
    assert!(account.iter().all(|a| a == &account[0] && a.as_ref().is_some_and(|a| a.len() == 12)));
    assert_eq!(strings(&batch, "accountid")[0], account[0]);
    let bytes = ints(&batch, "traffic.bytes");
    let mut sorted = bytes.clone();
    sorted.sort_unstable();
    assert!(sorted[sorted.len() - 1] > 20 * sorted[sorted.len() / 2], "bytes are not skewed");
}

#[test]
fn keys_follow_the_layouts() {
    let options = SampleOptions::default();
    let key = object_key(SampleClass::NetworkActivity, OcsfVersion::V1_1_0, &options, 0);
    let key = key.to_str().expect("utf-8").to_string();
    let account = &values::account_ids(options.seed, options.accounts)[0];
    let prefix = format!("aws/VPC_FLOW/2.0/region=us-east-1/accountId={account}/eventDay=20241231/");
    assert!(key.starts_with(&prefix), "{key}");
    assert!(key.ends_with(".zstd.parquet"));
    assert_eq!(key.len(), prefix.len() + 32 + ".zstd.parquet".len());
    assert_eq!(key, object_key(SampleClass::NetworkActivity, OcsfVersion::V1_1_0, &options, 0).to_str().unwrap_or(""));
    let old = object_key(SampleClass::ApiActivity, OcsfVersion::V1_0_0Rc2, &options, 1);
    assert!(old.starts_with("aws/CLOUD_TRAIL_MGMT/1.0/region=us-east-1/"), "{old:?}");
    let flat = object_key(SampleClass::Findings, OcsfVersion::V1_1_0, &options.with_layout(SampleLayout::Flat), 2);
    assert_eq!(flat, PathBuf::from("1.1.0/detection_finding-2.parquet"));
}

#[test]
fn generate_writes_every_object_under_the_directory() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let options = small_options().with_rows_per_object(20).with_objects_per_class(2);
    let mut reported = 0;
    let objects = generate_with_progress(&options, directory.path(), |_| reported += 1).expect("generated");
    assert_eq!(objects.len(), 16);
    assert_eq!(reported, 16);
    for object in &objects {
        let path = directory.path().join(&object.path);
        assert_eq!(std::fs::metadata(&path).expect("file exists").len(), object.bytes);
        assert_eq!(object.num_rows, 20);
        assert_eq!(object.class_uid, object.class.class_uid(object.version));
    }
    let api_old = objects.iter().find(|o| o.class_uid == 3005).expect("rc.2 API activity");
    assert_eq!(api_old.version, OcsfVersion::V1_0_0Rc2);
    assert_ne!(objects[0].path, objects[1].path);
}

#[test]
fn options_are_validated() {
    let bad = [
        SampleOptions::default().with_row_group_rows(0),
        SampleOptions::default().with_batch_rows(0),
        SampleOptions::default().with_accounts(0),
        SampleOptions::default().with_window_millis(-1),
    ];
    for options in bad {
        assert!(matches!(options.validate(), Err(SampleError::InvalidOptions(_))), "{options:?}");
    }
    let directory = tempfile::tempdir().expect("temporary directory");
    let nothing = SampleOptions::default().with_classes(vec![]);
    assert!(matches!(generate(&nothing, directory.path()), Err(SampleError::InvalidOptions(_))));
}

#[test]
fn names_parse_and_display() {
    for class in SampleClass::ALL {
        assert_eq!(class.to_string().parse::<SampleClass>(), Ok(class));
    }
    for version in OcsfVersion::ALL {
        assert_eq!(version.to_string().parse::<OcsfVersion>(), Ok(version));
    }
    assert_eq!("security-lake".parse::<SampleLayout>(), Ok(SampleLayout::SecurityLake));
    assert_eq!("flat".parse::<SampleLayout>(), Ok(SampleLayout::Flat));
    assert!("4001".parse::<SampleClass>().is_err());
    assert!("1.2.0".parse::<OcsfVersion>().is_err());
}

/// One of the payload limits of `lakeship::pipeline::quotas`, kept here
/// because its input is the generator (the core cannot depend on it).
#[tokio::test]
async fn a_page_of_footers_fits_the_dispatchers_memory() {
    // The dispatcher reads 16 footers at a time and keeps of each only what
    // planning needs (`PlannedObject`). Footers of OCSF objects as the sample
    // generator writes them (Security Lake's columns), every class in both
    // versions, with 8 row groups: the largest decoded footer, and the
    // planning facts of the worst object (longest names), times a page.
    use lakeship::object::ObjectRef;
    use lakeship::pipeline::backfill::DEFAULT_MAX_OBJECTS_PER_RUN;
    use lakeship::plan::{PlannedObject, json_len};
    use lakeship::reader::ParquetFooter;
    const ROW_GROUPS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let options = SampleOptions::default()
        .with_classes(SampleClass::ALL.to_vec())
        .with_versions(vec![OcsfVersion::V1_0_0Rc2, OcsfVersion::V1_1_0])
        .with_rows_per_object(100 * ROW_GROUPS)
        .with_row_group_rows(100);
    let generated = generate(&options, dir.path()).unwrap();
    let store = lakeship::object::ObjectStore::local_only();
    let mut largest: Option<ParquetFooter> = None;
    for object in &generated {
        let object = ObjectRef::local(dir.path().join(&object.path));
        let footer = lakeship::reader::read_footer(&store, &object, lakeship::reader::DEFAULT_FOOTER_HINT).await.unwrap();
        assert_eq!(footer.num_row_groups(), ROW_GROUPS);
        if largest.as_ref().is_none_or(|largest| footer.metadata.memory_size() > largest.metadata.memory_size()) {
            largest = Some(footer);
        }
    }
    let mut footer = largest.unwrap();
    let footer_bytes = footer.metadata.memory_size();
    // The worst object: the longest bucket name, a key of 1,024 control
    // characters (6 bytes each in JSON), the longest etag and version id.
    let mut worst = ObjectRef::s3(format!("aws-security-data-lake-ap-southeast-2-{}", "q".repeat(25)), "\u{1}".repeat(1024))
        .with_etag(Some(&format!("{}-10000", "f".repeat(32))))
        .with_size(Some(u64::MAX));
    worst.version_id = Some("v".repeat(1024));
    footer.object = worst;
    let facts_bytes = json_len(&PlannedObject::from_footer(&footer));
    let in_flight = 16 * footer_bytes;
    let page = DEFAULT_MAX_OBJECTS_PER_RUN * facts_bytes;
    println!(
        "largest footer: {} columns x {ROW_GROUPS} row groups = {footer_bytes} bytes decoded; planning facts {facts_bytes} bytes; \
         16 footers in flight {:.1} MiB + a page of {DEFAULT_MAX_OBJECTS_PER_RUN} objects {:.1} MiB (kept whole: {:.0} MiB)",
        footer.metadata.file_metadata().schema_descr().num_columns(),
        in_flight as f64 / 1048576.0,
        page as f64 / 1048576.0,
        (DEFAULT_MAX_OBJECTS_PER_RUN * footer_bytes) as f64 / 1048576.0
    );
    // A tenth of the dispatcher's 512 MB.
    let limit = 512 * 1024 * 1024 / 10;
    assert!(in_flight + page <= limit, "footers of a page (dispatcher memory): {} bytes > {limit}", in_flight + page);
}
