use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::*;
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use serde_json::{Value, json};

use super::*;
use crate::ids::object_id;

fn documents(batch: &RecordBatch, options: ConvertOptions) -> (Vec<Value>, String) {
    let mut converter = Converter::new(options);
    let mut out = EncodedDocs::default();
    let source = BatchSource::new(&ObjectRef::s3("lake", "a/b.parquet").with_etag(Some("e")), 3);
    converter.encode_batch(batch, &source, 100, &mut out).unwrap();
    let text = String::from_utf8(out.bytes.clone()).unwrap();
    let docs = (0..out.docs.len()).map(|i| serde_json::from_slice(out.source(i)).unwrap()).collect();
    (docs, text)
}

fn ocsf_batch() -> RecordBatch {
    let version = Arc::new(StringArray::from(vec!["1.1.0", "1.1.0"])) as ArrayRef;
    let metadata = StructArray::from(vec![(Arc::new(Field::new("version", DataType::Utf8, false)), version)]);
    let class_uid = Int32Array::from(vec![4001, 4001]);
    let class_name = StringArray::from(vec!["Network Activity", "Network Activity"]);
    let time = Int64Array::from(vec![1_649_721_732_000, 1_651_363_200_000]);
    let time_dt = TimestampMillisecondArray::from(vec![Some(1_649_721_732_000), None]).with_timezone("UTC");
    let schema = Schema::new(vec![
        Field::new("metadata", metadata.data_type().clone(), false),
        Field::new("class_uid", DataType::Int32, false),
        Field::new("class_name", DataType::Utf8, false),
        Field::new("time", DataType::Int64, false),
        Field::new("time_dt", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(metadata), Arc::new(class_uid), Arc::new(class_name), Arc::new(time), Arc::new(time_dt)],
    )
    .unwrap()
}

#[test]
fn writes_action_lines_with_routing_and_ids() {
    let (docs, text) = documents(&ocsf_batch(), ConvertOptions::default());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    let id = object_id(&ObjectRef::s3("lake", "a/b.parquet").with_etag(Some("e")));
    assert_eq!(lines[0], format!(r#"{{"create":{{"_index":"ocsf-1.1.0-4001-network_activity-2022.04","_id":"{id}-3-100"}}}}"#));
    assert_eq!(lines[2], format!(r#"{{"create":{{"_index":"ocsf-1.1.0-4001-network_activity-2022.05","_id":"{id}-3-101"}}}}"#));
    assert_eq!(
        docs[0],
        json!({
            "metadata": {"version": "1.1.0"}, "class_uid": 4001, "class_name": "Network Activity",
            "time": 1_649_721_732_000i64, "time_dt": "2022-04-12T00:02:12.000Z",
            "lakeship": {"bucket": "lake", "key": "a/b.parquet", "row_group": 3, "row": 100}
        })
    );
    assert!(docs[1].get("time_dt").is_none(), "nulls are left out");
}

#[test]
fn routes_by_the_layout_of_the_class_at_the_row_time_with_the_same_ids() {
    let layout = "4001=day, 4001=hour/2@2022-05-01, *=year".parse().unwrap();
    let (_, text) = documents(&ocsf_batch(), ConvertOptions::default().with_layout(layout));
    let lines: Vec<&str> = text.lines().collect();
    let id = object_id(&ObjectRef::s3("lake", "a/b.parquet").with_etag(Some("e")));
    assert_eq!(lines[0], format!(r#"{{"create":{{"_index":"ocsf-1.1.0-4001-network_activity-2022.04.12","_id":"{id}-3-100"}}}}"#));
    assert_eq!(lines[2], format!(r#"{{"create":{{"_index":"ocsf-1.1.0-4001-network_activity-2022.05.01.00","_id":"{id}-3-101"}}}}"#));
}

#[test]
fn writes_documents_only_without_action_lines() {
    let (docs, text) = documents(&ocsf_batch(), ConvertOptions::default().with_action_lines(false));
    assert_eq!(text.lines().count(), 2);
    assert_eq!(docs[1]["lakeship"]["row"], 101);
}

#[test]
fn writes_every_type() {
    let strings = StringArray::from(vec![Some("a\"b"), None, Some("ü\n")]);
    let dictionary: DictionaryArray<arrow_array::types::Int32Type> = vec![Some("x"), Some("y"), None].into_iter().collect();
    let list = ListArray::new(
        Arc::new(Field::new("item", DataType::Utf8, true)),
        OffsetBuffer::from_lengths([2, 0, 1]),
        Arc::new(StringArray::from(vec![Some("p"), None, Some("q")])),
        Some(NullBuffer::from(vec![true, false, true])),
    );
    let mut map = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    map.keys().append_value("k1");
    map.values().append_value("v1");
    map.keys().append_value("k.2");
    map.values().append_value("v2");
    map.append(true).unwrap();
    map.append(false).unwrap();
    map.append(true).unwrap();
    let map = map.finish();
    let inner = StructArray::new(
        Fields::from(vec![Field::new("port", DataType::Int32, true), Field::new("ok", DataType::Boolean, true)]),
        vec![Arc::new(Int32Array::from(vec![Some(443), Some(1), None])), Arc::new(BooleanArray::from(vec![Some(true), Some(false), None]))],
        Some(NullBuffer::from(vec![true, false, true])),
    );
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("s", Arc::new(strings)),
        ("d", Arc::new(dictionary)),
        ("l", Arc::new(list)),
        ("m", Arc::new(map)),
        ("st", Arc::new(inner)),
        ("f32", Arc::new(Float32Array::from(vec![Some(0.5), Some(f32::NAN), None]))),
        ("f64", Arc::new(Float64Array::from(vec![1.25, -2.0, 3e10]))),
        ("u64", Arc::new(UInt64Array::from(vec![u64::MAX, 0, 1]))),
        ("date", Arc::new(Date32Array::from(vec![Some(19_723), None, Some(0)]))),
        ("dec", Arc::new(Decimal128Array::from(vec![Some(12345), Some(-1), None]).with_precision_and_scale(10, 2).unwrap())),
        ("bin", Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None, Some(&b"hi"[..])]))),
        ("ts_us", Arc::new(TimestampMicrosecondArray::from(vec![Some(1), None, None]))),
        ("null", Arc::new(NullArray::new(3))),
        ("view", Arc::new(StringViewArray::from(vec![Some("v"), None, Some("a longer string than twelve")]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let (docs, _) = documents(&batch, ConvertOptions::default().with_action_lines(false));
    let strip = |mut doc: Value| {
        doc.as_object_mut().unwrap().remove("lakeship");
        doc
    };
    assert_eq!(
        strip(docs[0].clone()),
        json!({"s": "a\"b", "d": "x", "l": ["p"], "m": {"k1": "v1", "k.2": "v2"},
               "st": {"port": 443, "ok": true}, "f32": 0.5, "f64": 1.25, "u64": u64::MAX,
               "date": "2024-01-01", "dec": 123.45, "bin": "AP8=", "ts_us": "1970-01-01T00:00:00.000001Z",
               "view": "v"})
    );
    assert_eq!(strip(docs[1].clone()), json!({"d": "y", "f32": null, "f64": -2.0, "u64": 0, "dec": -0.01}));
    assert_eq!(
        strip(docs[2].clone()),
        json!({"s": "ü\n", "l": ["q"], "m": {}, "st": {}, "f64": 3e10, "u64": 1, "date": "1970-01-01",
               "bin": "aGk=", "view": "a longer string than twelve"})
    );
}

#[test]
fn reuses_dictionary_tables_across_batches_of_one_dictionary() {
    let values: ArrayRef = Arc::new(StringArray::from(vec!["alpha", "beta"]));
    let first = DictionaryArray::new(Int32Array::from(vec![0, 1]), values.clone());
    let second = DictionaryArray::new(Int32Array::from(vec![1, 1]), values);
    let other = DictionaryArray::new(Int32Array::from(vec![0]), Arc::new(StringArray::from(vec!["gamma"])) as ArrayRef);
    let mut converter = Converter::new(ConvertOptions::default().with_action_lines(false));
    let source = BatchSource::new(&ObjectRef::local("/x.parquet"), 0);
    let mut out = EncodedDocs::default();
    for array in [first, second, other] {
        let batch = RecordBatch::try_from_iter([("name", Arc::new(array) as ArrayRef)]).unwrap();
        converter.encode_batch(&batch, &source, 0, &mut out).unwrap();
    }
    let names: Vec<String> = (0..out.docs.len())
        .map(|i| serde_json::from_slice::<Value>(out.source(i)).unwrap()["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha", "beta", "beta", "beta", "gamma"]);
}

#[test]
fn rows_that_cannot_be_routed_become_dead_letters() {
    let versions: ArrayRef = Arc::new(StringArray::from(vec![Some("1.1.0"), Some("1.1.0"), None, Some("bad version!"), Some("1.1.0")]));
    let metadata = StructArray::try_from(vec![("version", versions)]).unwrap();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("metadata", Arc::new(metadata)),
        ("class_uid", Arc::new(Int32Array::from(vec![Some(4001), None, Some(4001), Some(4001), Some(4001)]))),
        ("time", Arc::new(Int64Array::from(vec![Some(1_649_721_732_000), Some(0), Some(0), Some(0), None]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut converter = Converter::new(ConvertOptions::default());
    let source = BatchSource::new(&ObjectRef::s3("lake", "k.parquet").with_etag(Some("e")), 0);
    let mut out = EncodedDocs::default();
    converter.encode_batch(&batch, &source, 0, &mut out).unwrap();
    assert_eq!((out.docs.len(), out.num_unroutable, out.num_rows()), (1, 4, 5));
    let letters: Vec<crate::dlq::DeadLetter> =
        std::str::from_utf8(&out.unroutable).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let reasons: Vec<&str> = letters.iter().map(|letter| letter.reason.as_str()).collect();
    assert!(reasons[0].contains("class_uid is null"), "{reasons:?}");
    assert!(reasons[1].contains("metadata.version is null"), "{reasons:?}");
    assert!(reasons[2].contains("not an OCSF version"), "{reasons:?}");
    assert!(reasons[3].contains("time is null"), "{reasons:?}");
    let id = object_id(&ObjectRef::s3("lake", "k.parquet").with_etag(Some("e")));
    assert_eq!(letters[0].id, format!("{id}-0-1"));
    assert_eq!((letters[0].index.as_str(), letters[0].status), ("", 0));
    assert_eq!(letters[0].document["lakeship"]["row"], 1, "the whole document is kept");
    // Without action lines nothing is routed, so every row is a document.
    let mut plain = EncodedDocs::default();
    Converter::new(ConvertOptions::default().with_action_lines(false)).encode_batch(&batch, &source, 0, &mut plain).unwrap();
    assert_eq!((plain.docs.len(), plain.num_unroutable), (5, 0));
}

#[test]
fn null_typed_children_convert_and_types_without_json_form_are_left_out() {
    let nulls = ListArray::new(
        Arc::new(Field::new("item", DataType::Null, true)),
        OffsetBuffer::from_lengths([2, 1]),
        Arc::new(NullArray::new(3)),
        None,
    );
    let run_ends = Int32Array::from(vec![2]);
    let runs = RunArray::<arrow_array::types::Int32Type>::try_new(&run_ends, &StringArray::from(vec!["r"])).unwrap();
    let interval = IntervalMonthDayNanoArray::from(vec![
        arrow_array::types::IntervalMonthDayNano::new(1, 2, 3),
        arrow_array::types::IntervalMonthDayNano::new(0, 0, 0),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("nulls", Arc::new(nulls)),
        ("runs", Arc::new(runs)),
        ("interval", Arc::new(interval)),
        ("n", Arc::new(Int32Array::from(vec![1, 2]))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut converter = Converter::new(ConvertOptions::default().with_action_lines(false));
    let mut out = EncodedDocs::default();
    let source = BatchSource::new(&ObjectRef::local("/x.parquet"), 0);
    converter.encode_batch(&batch, &source, 0, &mut out).unwrap();
    let doc: Value = serde_json::from_slice(out.source(0)).unwrap();
    assert_eq!(doc["nulls"], json!([]));
    assert_eq!(doc["interval"], json!({"months": 1, "days": 2, "nanoseconds": 3}));
    assert_eq!(doc["n"], 1);
    assert!(doc.get("runs").is_none());
    let dropped = converter.take_dropped_columns();
    assert!(dropped.len() == 1 && dropped[0].starts_with("runs (RunEndEncoded"), "{dropped:?}");
    converter.encode_batch(&batch, &source, 2, &mut out).unwrap();
    assert!(converter.take_dropped_columns().is_empty(), "each column is named once");
}

/// The same rows written to Parquet with dictionary-encoded string columns
/// (decoded as Arrow dictionaries: pre-encoded tables, cached across batches,
/// or lazy when the dictionary outgrows the batch) and with plain ones
/// (decoded as string arrays, escaped per value) convert to the same bytes,
/// for `Utf8`, `LargeUtf8` and `Utf8View` columns, top-level, in structs and
/// in lists.
#[tokio::test]
async fn dictionary_and_plain_string_columns_give_the_same_documents() {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use crate::object::ObjectStore;
    use crate::reader::{DEFAULT_FOOTER_HINT, decode_row_group, fetch_row_group, read_footer};

    const ROWS: usize = 3000;
    let low = |i: usize| ["allow", "deny \"quoted\"", "tab\there", "ünïcødé ☃", "back\\slash"][i % 5];
    let name = StringArray::from_iter((0..ROWS).map(|i| (i % 7 != 0).then(|| low(i))));
    // More distinct values than twice the batch: the lazy dictionary path.
    let uid = LargeStringArray::from_iter_values((0..ROWS).map(|i| format!("uid-{i}\n")));
    let view = StringViewArray::from_iter((0..ROWS).map(|i| (i % 3 != 0).then(|| format!("a view string longer than twelve {}", i % 4))));
    let version: ArrayRef = Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| ["1.1.0", "1.0.0"][i % 2])));
    let zone: ArrayRef = Arc::new(StringArray::from_iter((0..ROWS).map(|i| (i % 5 != 0).then(|| ["a", "b"][i % 2]))));
    let metadata = StructArray::try_from(vec![("version", version), ("zone", zone)]).unwrap();
    let tag_values: ArrayRef = Arc::new(StringArray::from_iter_values((0..ROWS).map(|i| ["x", "y\"", "z"][i % 3])));
    let tag_field = Arc::new(Field::new("element", DataType::Utf8, false));
    let tags = ListArray::new(tag_field, OffsetBuffer::from_lengths(std::iter::repeat_n(1, ROWS)), tag_values, None);
    let batch = RecordBatch::try_from_iter([
        ("metadata", Arc::new(metadata) as ArrayRef),
        ("class_uid", Arc::new(Int32Array::from(vec![4001; ROWS])) as ArrayRef),
        ("time", Arc::new(Int64Array::from_iter_values((0..ROWS as i64).map(|i| 1_700_000_000_000 + i)))),
        ("name", Arc::new(name)),
        ("uid", Arc::new(uid)),
        ("view", Arc::new(view)),
        ("tags", Arc::new(tags)),
    ])
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = ObjectStore::local_only();
    let mut outputs = Vec::new();
    for dictionary in [true, false] {
        let path = dir.path().join(format!("{dictionary}.parquet"));
        let properties = WriterProperties::builder().set_dictionary_enabled(dictionary).build();
        let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let footer = read_footer(&store, &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap();
        let bytes = fetch_row_group(&store, &footer, 0).await.unwrap();
        let mut converter = Converter::new(ConvertOptions::default());
        // One source for both files, so ids and provenance are equal too.
        let source = BatchSource::new(&ObjectRef::s3("lake", "a/b.parquet").with_etag(Some("e")), 0);
        let mut out = EncodedDocs::default();
        let mut row = 0;
        for decoded in decode_row_group(&footer, bytes, 0, 1024).unwrap() {
            let decoded = decoded.unwrap();
            let dictionaries =
                decoded.schema().fields().iter().filter(|field| matches!(field.data_type(), DataType::Dictionary(..))).count();
            assert_eq!(dictionaries, if dictionary { 3 } else { 0 }, "{:?}", decoded.schema());
            converter.encode_batch(&decoded, &source, row, &mut out).unwrap();
            row += decoded.num_rows() as u64;
        }
        assert_eq!(out.docs.len(), ROWS);
        outputs.push(out.bytes);
    }
    assert!(outputs[0] == outputs[1], "dictionary and plain columns differ");
}
