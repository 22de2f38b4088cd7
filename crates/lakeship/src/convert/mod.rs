//! Record batches to OCSF JSON documents and `_bulk` NDJSON.
//!
//! A document keeps OCSF's field names and nesting; nulls are left out; time
//! values of Arrow timestamp and date types become ISO-8601 strings, and the
//! OCSF `time` fields (int64 epoch milliseconds) stay numbers, both of which
//! the index templates map as `date`. `unmapped` (a string map) becomes an
//! object that the templates map as `flat_object`. Every document ends with
//! its provenance: `"lakeship":{"bucket","key","row_group","row"}`.

mod encoder;
pub mod json;
pub mod layout;
pub mod routing;

use arrow_array::RecordBatch;

use crate::object::ObjectRef;
use encoder::{Compiler, DictionaryCache, StructEnc};
pub use layout::{IndexLayout, LayoutEntry};
pub use routing::{TimeSuffix, index_name};

/// Errors of conversion.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A column of a type that has no JSON form here.
    #[error("unsupported Arrow type {data_type} in field {field:?}")]
    UnsupportedType {
        /// Dotted path of the field.
        field: String,
        /// The Arrow type.
        data_type: String,
    },
}

/// Result alias of this module.
pub type Result<T, E = ConvertError> = std::result::Result<T, E>;

/// Options of conversion.
#[derive(Debug, Clone)]
pub struct ConvertOptions {
    /// Prefix of index names (default `ocsf`).
    pub index_prefix: String,
    /// Granularity of the time suffix of index names (default month), where
    /// the layout names none.
    pub time_suffix: TimeSuffix,
    /// Time suffix per class (default empty: `time_suffix` for every class).
    pub layout: IndexLayout,
    /// Write a `_bulk` action line (`create` with `_index` and `_id`) before
    /// each document (default true).
    pub action_lines: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        ConvertOptions {
            index_prefix: "ocsf".to_string(),
            time_suffix: TimeSuffix::Month,
            layout: IndexLayout::default(),
            action_lines: true,
        }
    }
}

impl ConvertOptions {
    /// Sets the time suffix granularity.
    pub fn with_time_suffix(mut self, time_suffix: TimeSuffix) -> Self {
        self.time_suffix = time_suffix;
        self
    }

    /// Sets the index layout.
    pub fn with_layout(mut self, layout: IndexLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Sets whether action lines are written.
    pub fn with_action_lines(mut self, action_lines: bool) -> Self {
        self.action_lines = action_lines;
        self
    }
}

/// Where one document sits in an [`EncodedDocs`] buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocSpan {
    /// Start of the action line (or of the source when there is none).
    pub start: u32,
    /// Start of the document source.
    pub source_start: u32,
    /// End of the document, after its newline.
    pub end: u32,
}

/// Documents encoded as NDJSON, with the position of each.
#[derive(Debug, Default)]
pub struct EncodedDocs {
    /// The NDJSON bytes.
    pub bytes: Vec<u8>,
    /// One span per document, in order.
    pub docs: Vec<DocSpan>,
    /// Rows that cannot be routed to an index (no `class_uid`, no valid
    /// `metadata.version`, …), as reject lines ([`write_reject`]) ready for
    /// the dead-letter store.
    /// They have no entry in `docs` and are never sent.
    pub unroutable: Vec<u8>,
    /// Number of rows in `unroutable`.
    pub num_unroutable: u64,
}

impl EncodedDocs {
    /// Appends one document from its action line and its source (each
    /// without its newline).
    pub fn push(&mut self, action: &[u8], source: &[u8]) {
        let start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(action);
        self.bytes.push(b'\n');
        let source_start = self.bytes.len() as u32;
        self.bytes.extend_from_slice(source);
        self.bytes.push(b'\n');
        self.docs.push(DocSpan { start, source_start, end: self.bytes.len() as u32 });
    }
}

/// Appends one reject line — `{"index","id","status","reason","document"}`,
/// the record `crate::dlq::DeadLetter` reads back — from raw parts (the
/// document is copied verbatim, not re-encoded). Status 0 and an empty index
/// mark a row that could not be routed, so was never sent.
pub(crate) fn write_reject(out: &mut Vec<u8>, index: &str, id: &str, status: u16, reason: &str, document: &[u8]) {
    out.extend_from_slice(b"{\"index\":");
    json::write_str(out, index.as_bytes());
    out.extend_from_slice(b",\"id\":");
    json::write_str(out, id.as_bytes());
    out.extend_from_slice(b",\"status\":");
    json::write_int(out, status);
    out.extend_from_slice(b",\"reason\":");
    json::write_str(out, reason.as_bytes());
    out.extend_from_slice(b",\"document\":");
    out.extend_from_slice(document);
    out.extend_from_slice(b"}\n");
}

impl EncodedDocs {
    /// Empties the buffer, keeping its capacity.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.docs.clear();
        self.unroutable.clear();
        self.num_unroutable = 0;
    }

    /// Rows encoded: documents plus unroutable rows.
    pub fn num_rows(&self) -> u64 {
        self.docs.len() as u64 + self.num_unroutable
    }

    /// The source line (JSON document without newline) of document `index`.
    pub fn source(&self, index: usize) -> &[u8] {
        let span = self.docs[index];
        &self.bytes[span.source_start as usize..span.end as usize - 1]
    }

    /// The whole NDJSON (action + source lines) of document `index`.
    pub fn lines(&self, index: usize) -> &[u8] {
        let span = self.docs[index];
        &self.bytes[span.start as usize..span.end as usize]
    }
}

/// Where the rows of a batch come from.
#[derive(Debug, Clone)]
pub struct BatchSource {
    provenance_prefix: Vec<u8>,
    id_prefix: String,
    /// Row group of the batch.
    pub row_group: usize,
}

impl BatchSource {
    /// The source of batches of row group `row_group` of `object`.
    pub fn new(object: &ObjectRef, row_group: usize) -> Self {
        let mut provenance_prefix = Vec::with_capacity(object.key.len() + 64);
        provenance_prefix.extend_from_slice(b",\"lakeship\":{\"bucket\":");
        json::write_str(&mut provenance_prefix, object.bucket.as_bytes());
        provenance_prefix.extend_from_slice(b",\"key\":");
        json::write_str(&mut provenance_prefix, object.key.as_bytes());
        provenance_prefix.extend_from_slice(b",\"row_group\":");
        json::write_int(&mut provenance_prefix, row_group);
        provenance_prefix.extend_from_slice(b",\"row\":");
        let id_prefix = format!("{}-{row_group}-", crate::ids::object_id(object));
        BatchSource { provenance_prefix, id_prefix, row_group }
    }
}

/// Converts record batches to documents. Holds per-column caches, so keep
/// one converter per stream of batches (per thread).
#[derive(Debug, Default)]
pub struct Converter {
    options: ConvertOptions,
    dictionaries: DictionaryCache,
    dropped_columns: std::collections::BTreeSet<String>,
    newly_dropped: Vec<String>,
}

impl Converter {
    /// A converter with `options`.
    pub fn new(options: ConvertOptions) -> Self {
        Converter { options, dictionaries: DictionaryCache::default(), ..Converter::default() }
    }

    /// Columns left out of the documents since the last call because their
    /// Arrow type has no JSON form here (each column is named once per
    /// converter); the rest of each row converts.
    pub(crate) fn take_dropped_columns(&mut self) -> Vec<String> {
        std::mem::take(&mut self.newly_dropped)
    }

    /// The options of this converter.
    pub fn options(&self) -> &ConvertOptions {
        &self.options
    }

    /// Appends one document per row of `batch` to `out`; `first_row` is the
    /// index, within its row group, of the batch's first row. With action
    /// lines, a row that cannot be routed goes to `out.unroutable` with its
    /// reason instead. Columns of a type with no JSON form are left out (see
    /// [`Converter::take_dropped_columns`]).
    pub fn encode_batch(&mut self, batch: &RecordBatch, source: &BatchSource, first_row: u64, out: &mut EncodedDocs) -> Result<()> {
        let num_rows = batch.num_rows();
        let mut compiler = Compiler::new(&mut self.dictionaries, num_rows);
        let fields = StructEnc::compile(&mut compiler, batch.schema().fields(), batch.columns())?;
        for column in compiler.take_dropped() {
            if self.dropped_columns.insert(column.clone()) {
                tracing::warn!(column = %column, "column left out: its Arrow type has no JSON form");
                self.newly_dropped.push(column);
            }
        }
        let mut router = routing::Router::new(batch, &self.options.index_prefix, self.options.time_suffix, &self.options.layout);
        let average = out.bytes.len().checked_div(out.docs.len()).unwrap_or(1024);
        out.bytes.reserve(average * num_rows);
        out.docs.reserve(num_rows);
        let bytes = &mut out.bytes;
        for index in 0..num_rows {
            let start = bytes.len() as u32;
            let row = first_row + index as u64;
            if self.options.action_lines {
                match router.route(index) {
                    Ok(index_name) => {
                        bytes.extend_from_slice(b"{\"create\":{\"_index\":\"");
                        bytes.extend_from_slice(index_name.as_bytes());
                        bytes.extend_from_slice(b"\",\"_id\":\"");
                        bytes.extend_from_slice(source.id_prefix.as_bytes());
                        json::write_int(bytes, row);
                        bytes.extend_from_slice(b"\"}}\n");
                    }
                    Err(reason) => {
                        write_document(&fields, source, row, index, bytes);
                        let id = format!("{}{row}", source.id_prefix);
                        let reason = format!("unroutable row: {reason}");
                        let document = &bytes[start as usize..bytes.len() - 1];
                        write_reject(&mut out.unroutable, "", &id, 0, &reason, document);
                        out.num_unroutable += 1;
                        bytes.truncate(start as usize);
                        continue;
                    }
                }
            }
            let source_start = bytes.len() as u32;
            write_document(&fields, source, row, index, bytes);
            out.docs.push(DocSpan { start, source_start, end: bytes.len() as u32 });
        }
        Ok(())
    }
}

/// Writes the document of row `index` (`row` within its row group) and its
/// newline.
#[inline]
fn write_document(fields: &StructEnc<'_>, source: &BatchSource, row: u64, index: usize, bytes: &mut Vec<u8>) {
    bytes.push(b'{');
    let wrote_fields = fields.write_fields(index, bytes);
    bytes.extend_from_slice(&source.provenance_prefix[usize::from(!wrote_fields)..]);
    json::write_int(bytes, row);
    bytes.extend_from_slice(b"}}\n");
}

#[cfg(test)]
mod tests;
