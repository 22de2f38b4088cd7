//! Conversion benchmark: one Parquet object to `_bulk` NDJSON written to
//! /dev/null, row groups spread over N threads (each opens the file itself).
//! Prints one JSON line: rows, seconds, rows/s, peak RSS. Run by
//! `scripts/bench.sh` (`make bench`), one process per configuration so peak
//! RSS is per configuration.
//!
//! Usage: cargo bench -p lakeship --bench convert -- FILE [--threads N] [--batch-size N] [--decode-only]

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use lakeship::convert::{BatchSource, ConvertOptions, Converter, EncodedDocs};
use lakeship::object::{ObjectRef, ObjectStore};
use lakeship::reader::{DEFAULT_FOOTER_HINT, ParquetFooter, RowGroupBytes, decode_row_group, read_footer, row_group_byte_range};

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

fn convert_row_group(
    footer: &ParquetFooter,
    path: &str,
    row_group: usize,
    batch_size: usize,
    decode_only: bool,
    sink: &mut std::fs::File,
) -> u64 {
    let range = row_group_byte_range(footer.metadata.row_group(row_group));
    let file = std::fs::File::open(path).expect("open the object");
    let mut buffer = vec![0u8; (range.end - range.start) as usize];
    file.read_exact_at(&mut buffer, range.start).expect("read the row group");
    let bytes = RowGroupBytes::new(range.start, Bytes::from(buffer), footer.object.size.unwrap_or(range.end));
    let reader = decode_row_group(footer, bytes, row_group, batch_size).expect("decode");
    let source = BatchSource::new(&footer.object, row_group);
    let mut converter = Converter::new(ConvertOptions::default());
    let mut docs = EncodedDocs::default();
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.expect("batch");
        if decode_only {
            rows += batch.num_rows() as u64;
            continue;
        }
        docs.clear();
        converter.encode_batch(&batch, &source, rows, &mut docs).expect("encode");
        sink.write_all(&docs.bytes).expect("write");
        rows += batch.num_rows() as u64;
    }
    rows
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|arg| arg != "--bench");
    let mut path = None;
    let mut threads = 1;
    let mut batch_size = lakeship::pipeline::doc_stream::DEFAULT_BATCH_SIZE;
    let mut decode_only = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|v| v.parse().ok()).expect("--threads N"),
            "--batch-size" => batch_size = args.next().and_then(|v| v.parse().ok()).expect("--batch-size N"),
            "--decode-only" => decode_only = true,
            other => path = Some(other.to_string()),
        }
    }
    let Some(path) = path else {
        eprintln!("usage: convert FILE [--threads N] [--batch-size N]");
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let footer = runtime.block_on(read_footer(&ObjectStore::local_only(), &ObjectRef::local(&path), DEFAULT_FOOTER_HINT)).expect("footer");
    let num_row_groups = footer.num_row_groups();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let rows: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut sink = std::fs::OpenOptions::new().write(true).open("/dev/null").expect("/dev/null");
                    let mut rows = 0;
                    loop {
                        let row_group = next.fetch_add(1, Ordering::Relaxed);
                        if row_group >= num_row_groups {
                            break rows;
                        }
                        rows += convert_row_group(&footer, &path, row_group, batch_size, decode_only, &mut sink);
                    }
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("worker")).sum()
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"tool\":\"{}\",\"threads\":{threads},\"rows\":{rows},\"seconds\":{seconds:.3},\"rows_per_sec\":{:.0},\"peak_rss_bytes\":{}}}",
        if decode_only { "lakeship-decode-only" } else { "lakeship" },
        rows as f64 / seconds,
        peak_rss_bytes()
    );
}
