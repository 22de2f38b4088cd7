//! `lakeship convert`: Parquet objects to OCSF documents or a `_bulk` body.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use lakeship::convert::ConvertOptions;
use lakeship::pipeline::doc_stream::{ScanOptions, spawn_scan};
use lakeship::reader::{DEFAULT_FOOTER_HINT, ReadError, check_ocsf_shape, read_footer};

use crate::common::{expand_inputs, named, open_output};
use crate::config_args::{AwsArgs, IndexNameArgs, RegionArgs, load};

const EXAMPLES: &str = "\
Examples:
  lakeship convert lake/ -o docs.ndjson
  lakeship convert sample.gz.parquet --bulk \\
      | curl -s -H 'content-type: application/x-ndjson' --data-binary @- localhost:9200/_bulk
  lakeship convert -o dns.ndjson \\
      s3://aws-security-data-lake-us-east-1-x/aws/ROUTE53/2.0/region=us-east-1/";

/// Convert Parquet objects to OCSF JSON documents (NDJSON).
///
/// Each object that cannot be read or converted is named on stderr with its
/// error name; the others are converted.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct ConvertArgs {
    /// Parquet files, directories or s3://bucket/key URLs.
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    /// Write a `_bulk` body (a `create` action line before each document).
    #[arg(long)]
    bulk: bool,
    /// Output file; `-` or nothing writes to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<String>,
    #[command(flatten)]
    region: RegionArgs,
    #[command(flatten)]
    aws: AwsArgs,
    #[command(flatten)]
    index_names: IndexNameArgs,
}

pub async fn run(args: ConvertArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.region, &args.aws, &args.index_names])?;
    let store = config.source_store();
    let objects = expand_inputs(&store, &args.inputs).await?;
    let mut output = open_output(args.output.as_deref())?;
    let options = ScanOptions {
        convert: ConvertOptions { index_prefix: config.index_prefix.clone(), ..ConvertOptions::default() }
            .with_action_lines(args.bulk)
            .with_time_suffix(config.time_suffix)
            .with_layout(config.index_layout.clone()),
        ..ScanOptions::default()
    };
    let mut num_failed = 0;
    for object in objects {
        let object = object.canonical();
        let footer = match read_footer(&store, &object, DEFAULT_FOOTER_HINT).await.and_then(|f| check_ocsf_shape(&f).map(|()| f)) {
            Ok(footer) => footer,
            Err(error) => {
                eprintln!("error: {}", named(error));
                num_failed += 1;
                continue;
            }
        };
        let row_groups = (0..footer.num_row_groups()).collect();
        let (mut batches, _task) = spawn_scan(store.clone(), footer, row_groups, options.clone());
        let (mut failed, mut num_unroutable) = (false, 0);
        while let Some(batch) = batches.recv().await {
            match batch {
                Ok(batch) => {
                    for column in &batch.dropped_columns {
                        eprintln!("warning: {object}: column {column} left out (its type has no JSON form)");
                    }
                    num_unroutable += batch.docs.num_unroutable;
                    output.write_all(&batch.docs.bytes).context("writing the output failed")?;
                }
                // One bad row group: the others are still converted.
                Err(error @ ReadError::RowGroup { .. }) => {
                    eprintln!("error: {}", named(error));
                    failed = true;
                }
                Err(error) => {
                    eprintln!("error: {}", named(error));
                    failed = true;
                    break;
                }
            }
        }
        if num_unroutable > 0 {
            eprintln!(
                "warning: {object}: {num_unroutable} row(s) left out: they cannot be routed to an index (no class_uid, metadata.version or time)"
            );
        }
        num_failed += usize::from(failed);
    }
    output.flush().context("writing the output failed")?;
    if num_failed > 0 {
        anyhow::bail!("{num_failed} object(s) could not be converted (see the errors above)");
    }
    Ok(())
}
