//! Streams the documents of an object's row groups: fetch a row group's bytes
//! (the next one is fetched while the current one is decoded), decode it in
//! batches on a blocking thread, encode each batch and hand it over through
//! a bounded channel. Memory stays at about two row groups of compressed
//! bytes plus a few encoded batches.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::convert::{BatchSource, ConvertOptions, Converter, EncodedDocs};
use crate::guard::{check_pages, contain_panics};
use crate::object::ObjectStore;
use crate::reader::{ParquetFooter, ReadError, RowGroupBytes, decode_row_group, fetch_row_group};

/// Default number of rows per decoded batch.
pub const DEFAULT_BATCH_SIZE: usize = 8192;

/// Options of a scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Conversion options.
    pub convert: ConvertOptions,
    /// Rows per decoded batch.
    pub batch_size: usize,
    /// Encoded batches buffered between the decoder and the consumer.
    pub channel_depth: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { convert: ConvertOptions::default(), batch_size: DEFAULT_BATCH_SIZE, channel_depth: 2 }
    }
}

/// The documents of one decoded batch.
#[derive(Debug)]
pub struct DocBatch {
    /// Row group the rows come from.
    pub row_group: usize,
    /// Index of the batch's first row within its row group.
    pub first_row: u64,
    /// The encoded documents.
    pub docs: EncodedDocs,
    /// Columns of a type with no JSON form, left out of the documents, named
    /// the first time they are met (a warning, counted in the ledger).
    pub dropped_columns: Vec<String>,
}

/// Starts scanning `row_groups` of the object of `footer`. Batches arrive in
/// order. A row group that cannot be read yields one
/// [`ReadError::RowGroup`] and the scan goes on with the next row group
/// (batches of it sent before the failure stand); any other error ends the
/// stream.
pub fn spawn_scan(
    store: ObjectStore,
    footer: ParquetFooter,
    row_groups: Vec<usize>,
    options: ScanOptions,
) -> (mpsc::Receiver<Result<DocBatch, ReadError>>, JoinHandle<()>) {
    let (sender, receiver) = mpsc::channel(options.channel_depth.max(1));
    let handle = tokio::spawn(async move {
        if let Err(error) = scan(&store, &footer, &row_groups, &options, &sender).await {
            let _ = sender.send(Err(error)).await;
        }
    });
    (receiver, handle)
}

async fn scan(
    store: &ObjectStore,
    footer: &ParquetFooter,
    row_groups: &[usize],
    options: &ScanOptions,
    sender: &mpsc::Sender<Result<DocBatch, ReadError>>,
) -> Result<(), ReadError> {
    let Some((&first, rest)) = row_groups.split_first() else { return Ok(()) };
    let mut current = fetch_row_group(store, footer, first).await?;
    let mut current_index = first;
    for next_index in rest.iter().copied().map(Some).chain(std::iter::once(None)) {
        let prefetch = next_index.map(|index| {
            let (store, footer) = (store.clone(), footer.clone());
            tokio::spawn(async move { fetch_row_group(&store, &footer, index).await })
        });
        let decode = {
            let (footer, options, sender) = (footer.clone(), options.clone(), sender.clone());
            tokio::task::spawn_blocking(move || encode_row_group(&footer, current, current_index, &options, &sender))
        };
        let decoded = decode.await.unwrap_or_else(|error| {
            Err(ReadError::RowGroup {
                object: footer.object.to_string(),
                row_group: current_index,
                reason: format!("decoder task failed: {error}"),
            })
        });
        let fetched = match prefetch {
            Some(task) => Some(task.await.map_err(|error| join_error(footer, &error))?),
            None => None,
        };
        match decoded {
            Ok(true) => {}
            Ok(false) => return Ok(()), // the consumer went away
            Err(error @ ReadError::RowGroup { .. }) => {
                tracing::warn!(object = %footer.object, row_group = current_index, error = %error, "row group cannot be read; going on with the next");
                if sender.send(Err(error)).await.is_err() {
                    return Ok(());
                }
            }
            Err(error) => return Err(error),
        }
        match (fetched, next_index) {
            (Some(bytes), Some(index)) => {
                current = bytes?;
                current_index = index;
            }
            _ => break,
        }
    }
    Ok(())
}

fn join_error(footer: &ParquetFooter, error: &tokio::task::JoinError) -> ReadError {
    ReadError::InvalidObject { object: footer.object.to_string(), reason: format!("fetch task failed: {error}") }
}

/// Decodes and encodes one row group, sending each batch. Returns false if
/// the receiver was dropped.
fn encode_row_group(
    footer: &ParquetFooter,
    bytes: RowGroupBytes,
    row_group: usize,
    options: &ScanOptions,
    sender: &mpsc::Sender<Result<DocBatch, ReadError>>,
) -> Result<bool, ReadError> {
    let mut open = true;
    convert_row_group(footer, bytes, row_group, options, |batch| {
        open = sender.blocking_send(Ok(batch)).is_ok();
        open
    })?;
    Ok(open)
}

/// Decodes and converts one fetched row group, handing each batch to
/// `deliver` (which answers false to stop). Any failure — a decode error, a
/// conversion error, or a panic in the Parquet crate or the converter — is a
/// [`ReadError::RowGroup`]: batches delivered before it stand, and the
/// object's other row groups can still be read.
pub fn convert_row_group(
    footer: &ParquetFooter,
    bytes: RowGroupBytes,
    row_group: usize,
    options: &ScanOptions,
    mut deliver: impl FnMut(DocBatch) -> bool,
) -> Result<(), ReadError> {
    let row_group_prefix = format!("row group {row_group}: ");
    contain_panics(&format!("reading row group {row_group}"), || {
        for column in footer.metadata.row_group(row_group).columns() {
            let (start, length) = column.byte_range();
            if let Some(chunk) = bytes.bytes_of(start..start + length) {
                check_pages(chunk).map_err(|reason| format!("column {}: {reason}", column.column_path().string()))?;
            }
        }
        let reader = decode_row_group(footer, bytes, row_group, options.batch_size).map_err(|error| match error {
            ReadError::InvalidObject { reason, .. } => reason.trim_start_matches(&row_group_prefix).to_string(),
            other => other.to_string(),
        })?;
        let source = BatchSource::new(&footer.object, row_group);
        let mut converter = Converter::new(options.convert.clone());
        let mut first_row = 0u64;
        for batch in reader {
            let batch = batch.map_err(|error| format!("at row {first_row}: {error}"))?;
            let mut docs = EncodedDocs::default();
            converter.encode_batch(&batch, &source, first_row, &mut docs).map_err(|error| format!("at row {first_row}: {error}"))?;
            let num_rows = batch.num_rows() as u64;
            let dropped_columns = converter.take_dropped_columns();
            if !deliver(DocBatch { row_group, first_row, docs, dropped_columns }) {
                return Ok(());
            }
            first_row += num_rows;
        }
        Ok(())
    })
    .map_err(|reason| ReadError::RowGroup { object: footer.object.to_string(), row_group, reason })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, Int64Array, RecordBatch};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;
    use crate::object::ObjectRef;
    use crate::reader::{DEFAULT_FOOTER_HINT, read_footer, row_group_byte_range};

    /// The scan reads each row group it is asked for with one ranged
    /// request of exactly that row group's bytes, and never the whole object.
    #[tokio::test]
    async fn one_ranged_request_per_row_group_never_the_whole_object() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("groups.parquet");
        let times: ArrayRef = Arc::new(Int64Array::from_iter_values((0..4_000).map(|i| 1_700_000_000_000 + i)));
        let classes: ArrayRef = Arc::new(Int32Array::from_iter_values((0..4_000).map(|_| 4001)));
        let batch = RecordBatch::try_from_iter([("time", times), ("class_uid", classes)]).unwrap();
        let properties = WriterProperties::builder().set_max_row_group_row_count(Some(1_000)).build();
        let mut writer = ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();

        let footer = read_footer(&ObjectStore::local_only(), &ObjectRef::local(&path), DEFAULT_FOOTER_HINT).await.unwrap();
        assert_eq!(footer.num_row_groups(), 4);
        let wanted = vec![1, 3];
        let expected_bytes: u64 =
            wanted.iter().map(|&index| row_group_byte_range(footer.metadata.row_group(index))).map(|range| range.end - range.start).sum();
        let store = ObjectStore::local_only();
        let (mut batches, task) = spawn_scan(store.clone(), footer.clone(), wanted.clone(), ScanOptions::default());
        while batches.recv().await.is_some() {}
        task.await.unwrap();

        assert_eq!(store.counters().num_range_requests(), wanted.len() as u64);
        assert_eq!(store.counters().num_bytes_read(), expected_bytes);
        assert!(expected_bytes < footer.object.size.unwrap(), "{expected_bytes} bytes of {:?}", footer.object.size);
    }
}
