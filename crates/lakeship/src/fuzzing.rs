//! The fuzzing target: one Parquet object's bytes through the same footer
//! decoding, planning and conversion the pipeline runs, in memory.
//!
//! Shared by the cargo-fuzz target (`fuzz/fuzz_targets/object.rs`, deep
//! runs on nightly) and the seeded mutation test that runs in `make test`
//! (`tests/tests/fuzz.rs`). Whatever the bytes, [`run_object`] must return:
//! a panic that a guard contained is reported in
//! [`ObjectOutcome::panics`] (a finding: the guard is a last resort), and a
//! panic or abort that escapes is the harness's finding.

use bytes::Bytes;

use crate::convert::ConvertOptions;
use crate::guard::PANIC_MARKER;
use crate::object::ObjectRef;
use crate::pipeline::doc_stream::{ScanOptions, convert_row_group};
use crate::plan::{PlanOptions, object_class, plan_shards};
use crate::reader::{ParquetFooter, ReadError, RowGroupBytes, check_ocsf_shape, decode_footer, footer_range, row_group_byte_range};

/// Panics inside the `parquet` crate that depend on decoded page data (no
/// header check predicts them): (source file, message, what it is). The
/// guard contains them to their row group; the harness counts them apart.
pub const KNOWN_UPSTREAM_PANICS: &[(&str, &str, &str)] = &[
    (
        "src/arrow/array_reader/byte_array.rs",
        "attempt to divide by zero",
        "parquet 60.1 ByteArrayDecoderPlain::read divides by the values left in a page, zero on some corrupt pages",
    ),
    (
        "src/util/bit_chunk_iterator.rs",
        "offset + len out of bounds",
        "parquet 60.1 DefinitionLevelBufferDecoder::read_def_levels appends a null bitmap range (arrow-buffer 60.1 \
         BooleanBufferBuilder::append_packed_range) longer than the levels a corrupt page decoded \
         (tests/fixtures/fuzz-findings/def-levels-out-of-bounds.parquet)",
    ),
];

thread_local! {
    /// Where the panics of this thread happened (file, message), recorded by
    /// the hook that [`run_object`] installs.
    static PANICS: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Installs (once) a panic hook that records each panic's place for
/// [`run_object`], then calls the previous hook.
fn record_panic_places() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map(|location| location.file().to_string()).unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|text| (*text).to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            PANICS.with(|panics| panics.borrow_mut().push((file, message)));
            previous(info);
        }));
    });
}

/// Rows converted per object at most, so that a tiny object claiming
/// billions of (run-length encoded) rows does not stall the harness.
pub const MAX_FUZZ_ROWS: u64 = 100_000;

/// What one object did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ObjectOutcome {
    /// The footer decoded.
    pub footer_ok: bool,
    /// Row groups whose documents all converted.
    pub num_row_groups_read: usize,
    /// Row groups that failed (a named error of that row group).
    pub num_row_groups_failed: usize,
    /// Documents written (each checked to be one JSON object).
    pub num_docs: u64,
    /// Rows that could not be routed (dead letters).
    pub num_unroutable: u64,
    /// The first error met, if any.
    pub first_error: Option<String>,
    /// Panics contained by a guard: each one is a bug to fix, unless it is
    /// one of [`KNOWN_UPSTREAM_PANICS`] (then it is in `upstream_panics`).
    pub panics: Vec<String>,
    /// Contained panics that are [`KNOWN_UPSTREAM_PANICS`].
    pub upstream_panics: Vec<String>,
    /// Documents that are not valid JSON objects: each one is a bug.
    pub invalid_docs: Vec<String>,
}

/// Runs one object's bytes through footer decoding, the OCSF shape check,
/// planning and the conversion of every row group (with action lines, so
/// routing runs too), checking that every document is a JSON object.
pub fn run_object(bytes: &[u8]) -> ObjectOutcome {
    record_panic_places();
    PANICS.with(|panics| panics.borrow_mut().clear());
    let mut outcome = convert_object(bytes);
    let places = PANICS.with(|panics| std::mem::take(&mut *panics.borrow_mut()));
    let known = |(file, message): &(String, String)| {
        KNOWN_UPSTREAM_PANICS.iter().any(|(known_file, known_message, _)| file.ends_with(known_file) && message.contains(known_message))
    };
    if !outcome.panics.is_empty() && places.iter().all(known) {
        outcome.upstream_panics = std::mem::take(&mut outcome.panics);
    }
    outcome
}

fn convert_object(bytes: &[u8]) -> ObjectOutcome {
    let mut outcome = ObjectOutcome::default();
    let bytes = Bytes::copy_from_slice(bytes);
    let object = ObjectRef::s3("fuzz", "object.parquet").with_etag(Some("fuzz"));
    let footer = match footer_of(&object, &bytes) {
        Ok(footer) => footer,
        Err(error) => {
            outcome.record_error(&error);
            return outcome;
        }
    };
    outcome.footer_ok = true;
    if let Err(error) = check_ocsf_shape(&footer) {
        outcome.record_error(&error);
    }
    let _ = object_class(&footer);
    let _ = plan_shards("fuzz", std::slice::from_ref(&footer), PlanOptions::default().with_target_shard_bytes(4096));
    let options = ScanOptions { convert: ConvertOptions::default(), batch_size: 1024, channel_depth: 1 };
    let mut num_rows = 0;
    for row_group in 0..footer.num_row_groups() {
        if num_rows >= MAX_FUZZ_ROWS {
            break;
        }
        let range = row_group_byte_range(footer.metadata.row_group(row_group));
        let row_group_bytes = RowGroupBytes::new(range.start, bytes.slice(range.start as usize..range.end as usize), bytes.len() as u64);
        let converted = convert_row_group(&footer, row_group_bytes, row_group, &options, |batch| {
            num_rows += batch.docs.num_rows();
            outcome.num_unroutable += batch.docs.num_unroutable;
            for index in 0..batch.docs.docs.len() {
                outcome.num_docs += 1;
                if !matches!(serde_json::from_slice::<serde_json::Value>(batch.docs.source(index)), Ok(serde_json::Value::Object(_))) {
                    outcome.invalid_docs.push(String::from_utf8_lossy(batch.docs.source(index)).chars().take(300).collect());
                }
            }
            num_rows < MAX_FUZZ_ROWS
        });
        match converted {
            Ok(()) => outcome.num_row_groups_read += 1,
            Err(error) => {
                outcome.num_row_groups_failed += 1;
                outcome.record_error(&error);
            }
        }
    }
    outcome
}

/// The footer of an object held in memory, decoded as `read_footer` does.
fn footer_of(object: &ObjectRef, bytes: &Bytes) -> Result<ParquetFooter, ReadError> {
    let size = bytes.len() as u64;
    let range = footer_range(object, size, &bytes[bytes.len().saturating_sub(8)..])?;
    let known = object.clone().with_size(Some(size));
    decode_footer(known, size, &bytes.slice(range.start as usize..range.end as usize))
}

impl ObjectOutcome {
    fn record_error(&mut self, error: &ReadError) {
        let text = error.to_string();
        if text.contains(PANIC_MARKER) {
            self.panics.push(text.clone());
        }
        if self.first_error.is_none() {
            self.first_error = Some(text);
        }
    }

    /// True when the object revealed a bug (a contained panic, or a document
    /// that is not JSON).
    pub fn is_finding(&self) -> bool {
        !self.panics.is_empty() || !self.invalid_docs.is_empty()
    }
}

/// What one queue message's bytes came to: the number of objects it named,
/// the kind it was ignored as, or the reason it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationOutcome {
    /// The message named this many objects.
    Objects(usize),
    /// The message named no work.
    Ignored(crate::notification::IgnoreKind),
    /// The message was refused with this reason.
    Refused(String),
}

/// The fuzzing target for queue messages: any bytes, read as the SQS body
/// they would be (lossy UTF-8), through the parser of one message and of a
/// batch. It must return, never panic.
pub fn run_notification(bytes: &[u8]) -> NotificationOutcome {
    let body = String::from_utf8_lossy(bytes).into_owned();
    let record = crate::notification::SqsRecord { message_id: "fuzz".to_string(), receipt_handle: None, body: body.clone() };
    let batch = crate::notification::parse_batch(&[record.clone(), record]);
    let outcome = match crate::notification::parse_message("fuzz", &body) {
        Ok(crate::notification::Parsed::Objects(objects)) => NotificationOutcome::Objects(objects.len()),
        Ok(crate::notification::Parsed::Ignored(kind, _)) => NotificationOutcome::Ignored(kind),
        Err(error) => NotificationOutcome::Refused(error.reason),
    };
    debug_assert_eq!(batch.errors.len(), if matches!(outcome, NotificationOutcome::Refused(_)) { 2 } else { 0 });
    outcome
}
