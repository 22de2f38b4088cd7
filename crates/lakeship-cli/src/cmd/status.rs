//! `lakeship status`: what the ledger says.

use clap::Args;
use lakeship::ledger::{LedgerEntry, Status};
use lakeship::pipeline::RunReport;

use crate::common::human_count;
use crate::config_args::{LedgerArgs, OpenSearchArgs, WorkPlaceArgs, load};
use crate::progress::print_summary;

/// Show recent objects from the ledger, and the incomplete ones with why;
/// or, with --run, the report of one local run.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  lakeship status --endpoint http://127.0.0.1:9200\n  lakeship status --run 20241127T101500Z-3fa2c1")]
pub struct StatusArgs {
    /// Objects to show.
    #[arg(long, default_value_t = 20, value_name = "N")]
    limit: usize,
    /// Show the report of this run (from the work area) instead.
    #[arg(long, value_name = "RUN_ID")]
    run: Option<String>,
    #[command(flatten)]
    opensearch: OpenSearchArgs,
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    place: WorkPlaceArgs,
}

fn location(entry: &LedgerEntry) -> String {
    if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) }
}

fn print_entries(entries: &[LedgerEntry]) {
    println!(
        "{:<19} {:<10} {:>11} {:>11} {:>11} {:>9} {:>8}  object",
        "ended (UTC)", "status", "rows", "indexed", "present", "rejected", "seconds"
    );
    for entry in entries {
        println!(
            "{:<19} {:<10} {:>11} {:>11} {:>11} {:>9} {:>8.1}  {}",
            lakeship::time::format_utc(entry.ended_at),
            entry.status.to_string(),
            human_count(entry.num_rows),
            human_count(entry.num_indexed),
            human_count(entry.num_already_present),
            human_count(entry.num_rejected),
            entry.duration_ms as f64 / 1000.0,
            location(entry)
        );
    }
}

pub async fn run(args: StatusArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.opensearch, &args.ledger, &args.place])?;
    let context = lakeship::pipeline::PipelineContext::from_config(&config).await?;
    crate::common::check_opensearch(&context.client).await?;
    if let Some(run_id) = &args.run {
        let report: Option<RunReport> = context.work.get_json(&context.work.run_file(run_id, "report.json")).await?;
        match report {
            Some(report) => print_summary(
                &report,
                std::time::Duration::from_millis(report.objects.iter().map(|e| e.duration_ms).max().unwrap_or(0).max(1) as u64),
            ),
            None => anyhow::bail!(
                "run {run_id} has no report in {} (not finalized yet? try `lakeship run --resume {run_id}`)",
                context.work.root()
            ),
        }
        return Ok(());
    }
    let recent = context.ledger.recent(args.limit, false).await?;
    if recent.is_empty() {
        println!("the ledger ({}) has no objects yet", context.ledger.index());
        return Ok(());
    }
    println!("recent objects ({}):", context.ledger.index());
    print_entries(&recent);
    let incomplete = context.ledger.recent(args.limit, true).await?;
    if incomplete.is_empty() {
        println!("\nno incomplete or failed objects");
    } else {
        println!("\nnot complete:");
        for entry in &incomplete {
            let name = entry.error_name.map(|name| name.to_string()).unwrap_or_default();
            println!("  {} {} (run {}): {} {}", entry.status, location(entry), entry.run_id, name, entry.reason.as_deref().unwrap_or(""));
        }
        let retry = incomplete.iter().filter(|entry| entry.status == Status::Incomplete).count();
        if retry > 0 {
            println!(
                "  re-run incomplete local runs with `lakeship run --resume RUN_ID`; objects that failed need the object fixed and sent again"
            );
        }
    }
    Ok(())
}
