//! `lakeship replay-dlq`: send dead letters again.

use clap::Args;
use lakeship::dlq::find_parts;
use lakeship::object::Location;
use lakeship::pipeline::replay::replay;

use crate::common::human_count;
use crate::config_args::{DeliveryArgs, OpenSearchArgs, WorkPlaceArgs, load};

/// Send dead letters again (for example after fixing a template), with their
/// original index and id, and report what still fails.
///
/// SOURCE is a dead-letter part file, or a directory or s3:// prefix holding
/// part files (a shard's `dead-letters/<shard_id>/`, as a run's error names
/// it, or all of `dead-letters/`). Letters that still fail are written
/// under `<work>/dead-letters/replay-<time>/`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  lakeship replay-dlq --endpoint http://127.0.0.1:9200 \\\n      ~/.local/state/lakeship/work/dead-letters/3fa2c19e0b7d4a51/"
)]
pub struct ReplayArgs {
    /// A part file, or a directory / s3:// prefix of part files.
    #[arg(value_name = "SOURCE")]
    source: String,
    #[command(flatten)]
    opensearch: OpenSearchArgs,
    #[command(flatten)]
    delivery: DeliveryArgs,
    #[command(flatten)]
    place: WorkPlaceArgs,
}

pub async fn run(args: ReplayArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.opensearch, &args.delivery, &args.place])?;
    let context = lakeship::pipeline::PipelineContext::from_config(&config).await?;
    crate::common::check_opensearch(&context.client).await?;
    let store = context.work.store().clone();
    let source = Location::parse(&args.source)?;
    let parts = find_parts(&store, &source).await?;
    if parts.is_empty() {
        anyhow::bail!("no dead-letter files (*.ndjson) at {source}");
    }
    let client = context.client.clone();
    let retry_prefix = context.work.root().join(&format!("dead-letters/replay-{}", lakeship::ids::new_run_id()));
    let report = replay(&client, &store, &parts, &context.delivery, retry_prefix).await?;
    println!(
        "{} dead letter(s) from {} file(s): {} indexed, {} already present, {} still rejected",
        human_count(report.num_letters),
        parts.len(),
        human_count(report.counts.num_indexed),
        human_count(report.counts.num_already_present),
        human_count(report.counts.num_rejected)
    );
    for part in &report.still_failing {
        println!("still failing, with the new reasons: {part}");
    }
    if report.counts.num_rejected > 0 {
        anyhow::bail!("{} document(s) are still rejected", report.counts.num_rejected);
    }
    Ok(())
}
