//! Reading Parquet objects by byte range: the footer with one suffix request
//! (two when the footer is larger than the first guess), a row group with one
//! request for exactly its column chunks. A whole object is never fetched.

use std::ops::Range;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader, RowGroupMetaData};
use parquet::file::reader::{ChunkReader, Length};
use sha2::{Digest, Sha256};

use crate::errors::{ErrorName, NamedError};
use crate::guard::{MAX_FOOTER_BYTES, MAX_SCHEMA_DEPTH, check_footer_numbers, check_schema_shapes, contain_panics, schema_depth};
use crate::object::{ObjectError, ObjectRef, ObjectStore};

/// How many bytes of an object's tail the first footer request asks for.
/// Security Lake footers are typically 10-60 KiB.
pub const DEFAULT_FOOTER_HINT: u64 = 64 * 1024;

/// Errors of reading Parquet objects.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The object could not be fetched.
    #[error(transparent)]
    Object(#[from] ObjectError),
    /// The object is not valid Parquet (truncated, corrupt, not Parquet).
    #[error("invalid Parquet object {object}: {reason}")]
    InvalidObject {
        /// The object.
        object: String,
        /// What is wrong with it.
        reason: String,
    },
    /// One row group cannot be read; the object's other row groups can.
    #[error("invalid Parquet object {object}: row group {row_group}: {reason}")]
    RowGroup {
        /// The object.
        object: String,
        /// The row group.
        row_group: usize,
        /// What is wrong with it.
        reason: String,
    },
}

impl ReadError {
    fn invalid(object: &ObjectRef, reason: impl Into<String>) -> Self {
        ReadError::InvalidObject { object: object.to_string(), reason: reason.into() }
    }
}

/// Result alias of this module.
pub type Result<T, E = ReadError> = std::result::Result<T, E>;

impl ReadError {
    /// The name Step Functions sees for this error.
    pub fn name(&self) -> ErrorName {
        match self {
            ReadError::Object(error) => error.name(),
            ReadError::InvalidObject { .. } | ReadError::RowGroup { .. } => ErrorName::InvalidObject,
        }
    }
}

impl From<ReadError> for NamedError {
    fn from(error: ReadError) -> Self {
        NamedError::new(error.name(), error.to_string())
    }
}

/// An object's Parquet footer, and the object with its size and etag filled in.
#[derive(Debug, Clone)]
pub struct ParquetFooter {
    /// The object, with `size` and `etag` known.
    pub object: ObjectRef,
    /// The decoded footer.
    pub metadata: Arc<ParquetMetaData>,
}

impl ParquetFooter {
    /// Number of rows in the object.
    pub fn num_rows(&self) -> u64 {
        self.metadata.file_metadata().num_rows().max(0) as u64
    }

    /// Number of row groups in the object.
    pub fn num_row_groups(&self) -> usize {
        self.metadata.num_row_groups()
    }
}

/// Reads and decodes an object's footer.
///
/// The read is pinned to the object the caller names: where `object` carries
/// an etag (a notification's, or a listing's) every request is conditional
/// on it (`If-Match`), and the etag is kept, never replaced by whatever S3
/// serves now; an object that moved on is `ObjectError::Changed`
/// (`Lakeship.ObjectChanged`).
pub async fn read_footer(store: &ObjectStore, object: &ObjectRef, hint: u64) -> Result<ParquetFooter> {
    let tail = store.get_tail(object, hint.max(8)).await?;
    let known = pinned_object(object, &tail)?;
    let range = footer_range(&known, tail.size, &tail.bytes)?;
    let tail_start = tail.size - tail.bytes.len() as u64;
    let footer_bytes = if range.start >= tail_start {
        tail.bytes.slice((range.start - tail_start) as usize..(range.end - tail_start) as usize)
    } else {
        store.get_range(&known, range).await?
    };
    let mut footer = decode_footer(known, tail.size, &footer_bytes)?;
    if footer.object.is_local() {
        pin_local_file(store, &mut footer.object, &footer_bytes).await?;
    }
    Ok(footer)
}

/// A local file's etag: `<footer fingerprint>.<content hash>`, the latter
/// a SHA-256 of the whole file read in chunks (its identity: two files with
/// equal footers but other bytes are two objects). Where the caller already
/// has the etag (a worker with its plan), only the cheap footer part is
/// compared, and a file rewritten since is `Lakeship.ObjectChanged`.
async fn pin_local_file(store: &ObjectStore, object: &mut ObjectRef, footer_bytes: &[u8]) -> Result<()> {
    let size = object.size.unwrap_or_default();
    let footer = footer_fingerprint(size, footer_bytes);
    match &object.etag {
        None => {
            let content = store.content_hash(object).await?;
            object.etag = Some(format!("{footer}.{content}"));
        }
        Some(etag) if etag.split('.').next() != Some(footer.as_str()) => {
            return Err(ReadError::Object(ObjectError::Changed { location: object.to_string(), expected_etag: etag.clone() }));
        }
        Some(_) => {}
    }
    Ok(())
}

/// The object as read: the caller's etag and version kept (S3's filled in
/// where the caller had none), the size known. A store that ignored the
/// condition and served another version is caught here.
fn pinned_object(object: &ObjectRef, tail: &crate::object::ObjectTail) -> Result<ObjectRef> {
    if let (Some(expected), Some(served)) = (&object.etag, &tail.etag)
        && object.version_id.is_none()
        && expected != served
    {
        return Err(ReadError::Object(ObjectError::Changed { location: object.to_string(), expected_etag: expected.clone() }));
    }
    let mut known = object.clone().with_size(Some(tail.size));
    known.etag = known.etag.or_else(|| tail.etag.clone());
    known.version_id = known.version_id.or_else(|| tail.version_id.clone());
    Ok(known)
}

/// Where the footer's metadata lies in an object of `size` bytes, from the
/// object's last bytes (`tail`, at least 8 of them unless the object is
/// smaller).
pub fn footer_range(object: &ObjectRef, size: u64, tail: &[u8]) -> Result<Range<u64>> {
    if size < 12 || tail.len() < 8 {
        return Err(ReadError::invalid(object, format!("only {size} bytes, too small for Parquet")));
    }
    let footer = &tail[tail.len() - 8..];
    if &footer[4..] != b"PAR1" {
        let reason = if &footer[4..] == b"PARE" {
            "encrypted Parquet footers are not supported".to_string()
        } else {
            "no Parquet magic at the end (not a Parquet file, or truncated)".to_string()
        };
        return Err(ReadError::invalid(object, reason));
    }
    let metadata_len = u64::from(u32::from_le_bytes([footer[0], footer[1], footer[2], footer[3]]));
    if metadata_len + 12 > size {
        return Err(ReadError::invalid(object, format!("footer length {metadata_len} exceeds the object size")));
    }
    if metadata_len > MAX_FOOTER_BYTES {
        return Err(ReadError::invalid(object, format!("footer of {metadata_len} bytes, more than the {MAX_FOOTER_BYTES} Lakeship reads")));
    }
    Ok(size - 8 - metadata_len..size - 8)
}

/// Decodes the footer metadata of `object` (of `size` bytes), checking
/// before the Parquet crate trusts them that its schema is not nested beyond
/// [`MAX_SCHEMA_DEPTH`] and that its offsets, sizes and counts make sense; a
/// panic in the crate becomes an error of this object.
/// Also converts the schema to Arrow once, so an object whose schema the
/// Arrow reader cannot take is refused here, when it is planned.
pub fn decode_footer(object: ObjectRef, size: u64, footer_bytes: &Bytes) -> Result<ParquetFooter> {
    let metadata = contain_panics("decoding the footer", || {
        if let Some(depth) = schema_depth(footer_bytes).filter(|depth| *depth > MAX_SCHEMA_DEPTH) {
            return Err(format!("schema nested {depth} levels deep; Lakeship reads at most {MAX_SCHEMA_DEPTH}"));
        }
        let metadata = ParquetMetaDataReader::decode_metadata(footer_bytes).map_err(|error| format!("corrupt footer: {error}"))?;
        check_footer_numbers(&metadata, size)?;
        check_schema_shapes(metadata.file_metadata().schema_descr().root_schema())?;
        let metadata = Arc::new(metadata);
        ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new())
            .map_err(|error| format!("schema not readable as Arrow: {error}"))?;
        Ok(metadata)
    })
    .map_err(|reason| ReadError::invalid(&object, reason))?;
    Ok(ParquetFooter { object, metadata })
}

/// The footer part of a local file's etag: size and footer hashed.
fn footer_fingerprint(size: u64, footer: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(size.to_le_bytes());
    hasher.update(footer);
    let digest = hasher.finalize();
    digest[..10].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The columns every OCSF event has, that routing needs.
const REQUIRED_OCSF_COLUMNS: [&str; 3] = ["class_uid", "time", "metadata.version"];

/// Checks that an object holds OCSF events (an object of another shape
/// would otherwise land in an `ocsf-unknown-…` index).
pub fn check_ocsf_shape(footer: &ParquetFooter) -> Result<()> {
    let (object, metadata) = (&footer.object, &footer.metadata);
    let schema = metadata.file_metadata().schema_descr();
    let missing: Vec<&str> = REQUIRED_OCSF_COLUMNS
        .iter()
        .copied()
        .filter(|required| !schema.columns().iter().any(|column| column.path().string() == *required))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ReadError::invalid(object, format!("not OCSF events: no column {}", missing.join(", "))))
}

/// The bytes a row group's column chunks occupy.
pub fn row_group_byte_range(row_group: &RowGroupMetaData) -> Range<u64> {
    let mut start = u64::MAX;
    let mut end = 0;
    for column in row_group.columns() {
        let (column_start, column_len) = column.byte_range();
        start = start.min(column_start);
        end = end.max(column_start + column_len);
    }
    if start > end { 0..0 } else { start..end }
}

/// A row group's bytes, fetched with one ranged request, served to the
/// Parquet decoder as if they were the file.
#[derive(Debug, Clone)]
pub struct RowGroupBytes {
    offset: u64,
    bytes: Bytes,
    file_len: u64,
}

impl Length for RowGroupBytes {
    fn len(&self) -> u64 {
        self.file_len
    }
}

impl ChunkReader for RowGroupBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        use bytes::Buf;
        let local = self.local(start, 0)?;
        Ok(self.bytes.slice(local.start..).reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(self.bytes.slice(self.local(start, length)?))
    }
}

impl RowGroupBytes {
    /// Bytes `offset..offset + bytes.len()` of an object of `file_len` bytes.
    pub fn new(offset: u64, bytes: Bytes, file_len: u64) -> Self {
        RowGroupBytes { offset, bytes, file_len }
    }

    fn local(&self, start: u64, length: usize) -> parquet::errors::Result<Range<usize>> {
        let end = start.saturating_add(length as u64);
        if start < self.offset || end > self.offset + self.bytes.len() as u64 {
            return Err(parquet::errors::ParquetError::General(format!(
                "read of bytes {start}..{end} outside the fetched row group ({}..{})",
                self.offset,
                self.offset + self.bytes.len() as u64
            )));
        }
        Ok((start - self.offset) as usize..(end - self.offset) as usize)
    }

    /// The bytes `range` of the object, if they were fetched.
    pub fn bytes_of(&self, range: Range<u64>) -> Option<&[u8]> {
        let local = self.local(range.start, usize::try_from(range.end.checked_sub(range.start)?).ok()?).ok()?;
        Some(&self.bytes[local])
    }

    /// Number of bytes held.
    pub fn num_bytes(&self) -> usize {
        self.bytes.len()
    }
}

/// Fetches the bytes of row group `row_group` of an object.
pub async fn fetch_row_group(store: &ObjectStore, footer: &ParquetFooter, row_group: usize) -> Result<RowGroupBytes> {
    let metadata = footer
        .metadata
        .row_groups()
        .get(row_group)
        .ok_or_else(|| ReadError::invalid(&footer.object, format!("row group {row_group} does not exist")))?;
    let range = row_group_byte_range(metadata);
    let bytes = store.get_range(&footer.object, range.clone()).await?;
    Ok(RowGroupBytes { offset: range.start, bytes, file_len: footer.object.size.unwrap_or(range.end) })
}

/// Decodes a fetched row group into record batches of `batch_size` rows.
/// String columns that are dictionary-encoded in the row group are decoded
/// as Arrow dictionaries, so each distinct value is converted only once.
pub fn decode_row_group(
    footer: &ParquetFooter,
    bytes: RowGroupBytes,
    row_group: usize,
    batch_size: usize,
) -> Result<ParquetRecordBatchReader> {
    let invalid = |error: parquet::errors::ParquetError| ReadError::invalid(&footer.object, format!("row group {row_group}: {error}"));
    let plain = ArrowReaderMetadata::try_new(footer.metadata.clone(), ArrowReaderOptions::new()).map_err(invalid)?;
    let hinted = dictionary_schema(plain.schema(), footer.metadata.row_group(row_group))
        .and_then(|schema| ArrowReaderMetadata::try_new(footer.metadata.clone(), ArrowReaderOptions::new().with_schema(schema)).ok());
    ParquetRecordBatchReaderBuilder::new_with_metadata(bytes, hinted.unwrap_or(plain))
        .with_row_groups(vec![row_group])
        .with_batch_size(batch_size)
        .build()
        .map_err(invalid)
}

/// The schema with dictionary types for string leaves (inside structs, not
/// lists or maps) whose column chunk in `row_group` has a dictionary page:
/// `Dictionary(Int32, T)` for a leaf of string type `T` (`Utf8`, `LargeUtf8`
/// — what pyarrow writes for `large_string` columns — or `Utf8View`), so the
/// decoder keeps each distinct value once and the encoder escapes it once.
/// `None` when no column qualifies.
fn dictionary_schema(schema: &SchemaRef, row_group: &RowGroupMetaData) -> Option<SchemaRef> {
    let mut next_leaf = 0;
    let mut changed = false;
    let fields = hint_fields(schema.fields(), row_group, &mut next_leaf, &mut changed);
    changed.then(|| Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

fn hint_fields(fields: &Fields, row_group: &RowGroupMetaData, next_leaf: &mut usize, changed: &mut bool) -> Fields {
    fields
        .iter()
        .map(|field| match field.data_type() {
            strings @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {
                let leaf = *next_leaf;
                *next_leaf += 1;
                let dictionary = row_group.columns().get(leaf).is_some_and(all_pages_dictionary_encoded);
                if !dictionary {
                    return field.clone();
                }
                *changed = true;
                let data_type = DataType::Dictionary(Box::new(DataType::Int32), Box::new(strings.clone()));
                Arc::new(Field::new(field.name(), data_type, field.is_nullable()).with_metadata(field.metadata().clone()))
            }
            DataType::Struct(children) => {
                let children = hint_fields(children, row_group, next_leaf, changed);
                Arc::new(field.as_ref().clone().with_data_type(DataType::Struct(children)))
            }
            other => {
                *next_leaf += count_leaves(other);
                field.clone()
            }
        })
        .collect()
}

/// True when every data page of the column chunk is dictionary-encoded.
/// Only then is decoding into an Arrow dictionary cheaper: a chunk whose
/// dictionary overflowed into plain pages would have every value hashed to
/// rebuild a dictionary.
fn all_pages_dictionary_encoded(column: &parquet::file::metadata::ColumnChunkMetaData) -> bool {
    use parquet::basic::{Encoding, PageType};
    if column.dictionary_page_offset().is_none() {
        return false;
    }
    // An all-null chunk never reaches the dictionary decoder; as a
    // dictionary it would cost a hash per (null) value to rebuild.
    let all_null = column.statistics().and_then(|stats| stats.null_count_opt()).is_some_and(|nulls| nulls as i64 >= column.num_values());
    if all_null {
        return false;
    }
    if let Some(mask) = column.page_encoding_stats_mask() {
        return mask.is_only(Encoding::PLAIN_DICTIONARY) || mask.is_only(Encoding::RLE_DICTIONARY);
    }
    if let Some(stats) = column.page_encoding_stats() {
        return stats
            .iter()
            .filter(|stat| matches!(stat.page_type, PageType::DATA_PAGE | PageType::DATA_PAGE_V2))
            .all(|stat| matches!(stat.encoding, Encoding::PLAIN_DICTIONARY | Encoding::RLE_DICTIONARY));
    }
    // No page statistics (older writers): parquet-mr marks dictionary pages
    // and dictionary-encoded data pages PLAIN_DICTIONARY and plain fallback
    // pages PLAIN.
    let encodings: Vec<Encoding> = column.encodings().collect();
    encodings.contains(&Encoding::PLAIN_DICTIONARY) && !encodings.contains(&Encoding::PLAIN)
}

fn count_leaves(data_type: &DataType) -> usize {
    match data_type {
        DataType::Struct(fields) => fields.iter().map(|field| count_leaves(field.data_type())).sum(),
        DataType::List(child)
        | DataType::LargeList(child)
        | DataType::FixedSizeList(child, _)
        | DataType::ListView(child)
        | DataType::LargeListView(child)
        | DataType::Map(child, _) => count_leaves(child.data_type()),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, StructArray};
    use arrow_schema::DataType;
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::errors::NamedError;

    #[tokio::test]
    async fn reads_dictionary_encoded_strings_as_dictionaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.parquet");
        let names: ArrayRef = Arc::new(StringArray::from_iter_values((0..1000).map(|i| ["a", "b", "c"][i % 3])));
        let nested = StructArray::try_from(vec![("name", names.clone())]).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let batch = RecordBatch::try_from_iter([("name", names), ("id", ids), ("nested", Arc::new(nested) as ArrayRef)]).unwrap();
        let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let store = ObjectStore::local_only();
        let footer = read_footer(&store, &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap();
        let bytes = fetch_row_group(&store, &footer, 0).await.unwrap();
        let batches: Vec<RecordBatch> = decode_row_group(&footer, bytes, 0, 4096).unwrap().map(|b| b.unwrap()).collect();
        let schema = batches[0].schema();
        assert!(matches!(schema.field(0).data_type(), DataType::Dictionary(_, _)), "{schema:?}");
        let DataType::Struct(children) = schema.field(2).data_type() else { panic!("{schema:?}") };
        assert!(matches!(children[0].data_type(), DataType::Dictionary(_, _)), "{schema:?}");
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 1000);
    }

    fn small_file(path: &std::path::Path) {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10));
        let batch = RecordBatch::try_from_iter([("id", ids)]).unwrap();
        let mut writer = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn keeps_the_callers_etag_and_names_a_changed_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        small_file(&path);
        let tail = crate::object::ObjectTail { bytes: Bytes::new(), size: 100, etag: Some("now".into()), version_id: None };
        let announced = ObjectRef::s3("b", "k").with_etag(Some("then"));
        let error = pinned_object(&announced, &tail).unwrap_err();
        assert!(matches!(error, ReadError::Object(ObjectError::Changed { .. })), "{error}");
        assert_eq!(NamedError::from(error).name, crate::errors::ErrorName::ObjectChanged);
        let pinned = pinned_object(&ObjectRef::s3("b", "k").with_etag(Some("now")), &tail).unwrap();
        assert_eq!((pinned.etag.as_deref(), pinned.size), (Some("now"), Some(100)));
        let learned = pinned_object(&ObjectRef::s3("b", "k"), &tail).unwrap();
        assert_eq!(learned.etag.as_deref(), Some("now"));
        // A local file's footer fingerprint is its etag.
        let footer = read_footer(&ObjectStore::local_only(), &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap();
        let etag = footer.object.etag.clone().unwrap();
        assert_eq!(etag.split('.').map(str::len).collect::<Vec<_>>(), [20, 32], "{etag}");
        // The worker's read with the planned etag compares the footer part.
        let again = read_footer(&ObjectStore::local_only(), &footer.object, DEFAULT_FOOTER_HINT).await.unwrap();
        assert_eq!(again.object.etag.as_deref(), Some(etag.as_str()));
        let stale = ObjectRef::local(&path).with_etag(Some("00000000000000000000.x"));
        let error = read_footer(&ObjectStore::local_only(), &stale, DEFAULT_FOOTER_HINT).await.unwrap_err();
        assert!(matches!(error, ReadError::Object(ObjectError::Changed { .. })), "{error}");
    }

    #[test]
    fn refuses_footers_with_negative_sizes_before_the_parquet_crate_asserts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.parquet");
        small_file(&path);
        let bytes = std::fs::read(&path).unwrap();
        let length = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
        let footer = &bytes[bytes.len() - 8 - length..bytes.len() - 8];
        let metadata = ParquetMetaDataReader::decode_metadata(footer).unwrap();
        let column = metadata.row_group(0).column(0).clone().into_builder().set_total_compressed_size(-7).build().unwrap();
        let row_group = metadata.row_group(0).clone().into_builder().set_column_metadata(vec![column]).build().unwrap();
        let metadata = metadata.into_builder().set_row_groups(vec![row_group]).build();
        let mut patched = Vec::new();
        parquet::file::metadata::ParquetMetaDataWriter::new(&mut patched, &metadata).finish().unwrap();
        let patched = Bytes::from(patched);
        let metadata_end = patched.len() - if patched.ends_with(b"PAR1") { 8 } else { 0 };
        let error = decode_footer(ObjectRef::s3("b", "k"), bytes.len() as u64, &patched.slice(..metadata_end)).unwrap_err();
        assert!(error.to_string().contains("negative compressed size (-7)"), "{error}");
    }

    #[tokio::test]
    async fn names_objects_that_are_not_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"this is not parquet at all").unwrap();
        let error = read_footer(&ObjectStore::local_only(), &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap_err();
        assert!(error.to_string().contains("x.parquet"), "{error}");
        assert!(error.to_string().contains("not a Parquet file"), "{error}");
        std::fs::write(&path, b"PAR1").unwrap();
        let error = read_footer(&ObjectStore::local_only(), &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap_err();
        assert!(error.to_string().contains("too small"), "{error}");
    }
}
