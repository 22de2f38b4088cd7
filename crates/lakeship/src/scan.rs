//! Streams the documents of an object's row groups: fetch a row group's bytes
//! (the next one is fetched while the current one is decoded), decode it in
//! batches on a blocking thread, encode each batch and hand it over through
//! a bounded channel. Memory stays at about two row groups of compressed
//! bytes plus a few encoded batches.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::convert::{BatchSource, ConvertOptions, Converter, EncodedDocs};
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
}

/// Starts scanning `row_groups` of the object of `footer`. Batches arrive in
/// order; an error ends the stream.
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
        let decoded = decode.await.map_err(|error| join_error(footer, &error))?;
        let fetched = match prefetch {
            Some(task) => Some(task.await.map_err(|error| join_error(footer, &error))?),
            None => None,
        };
        if !decoded? {
            return Ok(()); // the consumer went away
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
    ReadError::InvalidObject { object: footer.object.to_string(), reason: format!("decoder task failed: {error}") }
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
    let reader = decode_row_group(footer, bytes, row_group, options.batch_size)?;
    let source = BatchSource::new(&footer.object, row_group);
    let mut converter = Converter::new(options.convert.clone());
    let mut first_row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|error| ReadError::InvalidObject {
            object: footer.object.to_string(),
            reason: format!("row group {row_group} at row {first_row}: {error}"),
        })?;
        let mut docs = EncodedDocs::default();
        converter
            .encode_batch(&batch, &source, first_row, &mut docs)
            .map_err(|error| ReadError::InvalidObject { object: footer.object.to_string(), reason: error.to_string() })?;
        let num_rows = batch.num_rows() as u64;
        if sender.blocking_send(Ok(DocBatch { row_group, first_row, docs })).is_err() {
            return Ok(false);
        }
        first_row += num_rows;
    }
    Ok(true)
}
