//! `lakeship index`: convert and deliver objects directly.

use clap::Args;
use lakeship::ledger::LedgerEntry;
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::DispatchRequest;

use crate::common::{check_rejected, expand_inputs, human_count};
use crate::config_args::ConfigArgs;

const EXAMPLES: &str = "\
Examples:
  lakeship index lake/ --endpoint http://127.0.0.1:9200
  lakeship index --auth sigv4 \\
      s3://aws-security-data-lake-us-east-1-x/aws/VPC_FLOW/2.0/region=us-east-1/";

/// Convert Parquet objects and index them into OpenSearch, without the state
/// machine.
///
/// Prints, per object, rows read, indexed, already present and rejected, and
/// the totals. Objects are always sent (also if the ledger says complete);
/// documents that exist already are counted as "already present". Exits 3
/// when rows were rejected (they are in the dead-letter store).
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct IndexArgs {
    /// Parquet files, directories, or s3://bucket/key URLs (objects or prefixes).
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: IndexArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let mut context = lakeship::pipeline::PipelineContext::from_config(&config).await?;
    crate::common::check_opensearch(&context.client).await?;
    let objects = expand_inputs(&context.source, &args.inputs).await?;
    if objects.is_empty() {
        anyhow::bail!("no Parquet objects found in {}", args.inputs.join(", "));
    }
    context.skip_complete = false;
    let options = LocalRunOptions { workers: config.workers, ..LocalRunOptions::default() };
    let request = DispatchRequest::Objects { objects, run_id: None };
    let outcome = run_local(&context, request, &options).await?;
    if let Some(report) = &outcome.report {
        print_table(&report.objects);
    }
    outcome.check()?;
    match &outcome.report {
        Some(report) => check_rejected(report, &context.work),
        None => Ok(()),
    }
}

fn print_table(entries: &[LedgerEntry]) {
    println!("{:>12} {:>12} {:>12} {:>10}  object", "rows read", "indexed", "present", "rejected");
    let line = |rows: u64, indexed: u64, present: u64, rejected: u64, name: &str| {
        println!(
            "{:>12} {:>12} {:>12} {:>10}  {name}",
            human_count(rows),
            human_count(indexed),
            human_count(present),
            human_count(rejected)
        )
    };
    for entry in entries {
        let name = if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) };
        let why = match (&entry.reason, entry.error_name) {
            (Some(reason), Some(error)) => format!("  ({}: {error}: {reason})", entry.status),
            (Some(reason), None) => format!("  ({}: {reason})", entry.status),
            _ => String::new(),
        };
        line(entry.num_rows_read, entry.num_indexed, entry.num_already_present, entry.num_rejected, &format!("{name}{why}"));
    }
    let counts = lakeship::ledger::total_counts(entries);
    let num_rows_read = entries.iter().map(|entry| entry.num_rows_read).sum::<u64>();
    let total = format!("total: {} object(s)", entries.len());
    line(num_rows_read, counts.num_indexed, counts.num_already_present, counts.num_rejected, &total);
}
