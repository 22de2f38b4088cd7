//! `lakeship index`: convert and deliver objects directly.

use clap::Args;
use lakeship::pipeline::local::{LocalRunOptions, run_local};
use lakeship::pipeline::payload::DispatchRequest;

use crate::common::{expand_inputs, human_count};
use crate::config_args::ConfigArgs;

/// Convert Parquet objects and index them into OpenSearch, without the state
/// machine.
///
/// Prints, per object, rows read, indexed, already present and
/// rejected. Objects are always sent (also if the ledger says complete);
/// documents that exist already are counted as "already present".
///
/// Example: lakeship index tests/fixtures/security-lake-samples --endpoint http://127.0.0.1:9200
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Parquet files, directories, or s3://bucket/key URLs (objects or prefixes).
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: IndexArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let mut context = config.pipeline_context().await?;
    let objects = expand_inputs(&context.source, &args.inputs).await?;
    if objects.is_empty() {
        anyhow::bail!("no Parquet objects found in {}", args.inputs.join(", "));
    }
    context.skip_complete = false;
    let options = LocalRunOptions { workers: config.workers, ..LocalRunOptions::default() };
    let request = DispatchRequest::Objects { objects, run_id: None };
    let outcome = run_local(&context, request, &options).await?;
    if let Some(report) = &outcome.report {
        println!("{:>12} {:>12} {:>16} {:>10}  object", "rows read", "indexed", "already present", "rejected");
        for entry in &report.objects {
            let name = if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) };
            println!(
                "{:>12} {:>12} {:>16} {:>10}  {name}{}",
                human_count(entry.num_rows_read),
                human_count(entry.num_indexed),
                human_count(entry.num_already_present),
                human_count(entry.num_rejected),
                entry.reason.as_deref().map(|reason| format!("  ({}: {reason})", entry.status)).unwrap_or_default()
            );
        }
    }
    outcome.check().map_err(anyhow::Error::from)
}
