//! `lakeship runs`: recent runs of the deployed state machine.

use clap::Args;
use lakeship::stepfunctions::StepFunctions;
use lakeship_ops::runs::{Execution, Runs, format_duration, format_utc};
use serde_json::json;

use crate::config_args::{AwsArgs, RegionArgs, load};

const STATUSES: [&str; 6] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];

/// Recent runs of the deployed state machine (its Step Functions executions).
///
/// Newest first: status, duration, shards of the Map Run (succeeded / did
/// not succeed / total) and the error a failed run ended with. Redrive a
/// failed run with `lakeship redrive EXECUTION_ARN`.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  lakeship runs --status failed \\\n      --state-machine-arn arn:aws:states:us-east-1:123456789012:stateMachine:lakeship-ingest"
)]
pub struct RunsArgs {
    /// The state machine: the stack output StateMachineArn
    #[arg(long, env = "LAKESHIP_STATE_MACHINE_ARN", value_name = "ARN")]
    state_machine_arn: String,
    /// Only runs with this status: running, succeeded, failed, timed_out, aborted or pending_redrive
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
    /// Number of runs to show
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// One JSON object per line instead of a table (with the execution ARNs)
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    region: RegionArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: RunsArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.region, &args.aws])?;
    let status = args.status.as_deref().map(|status| status.to_ascii_uppercase());
    if let Some(status) = &status
        && !STATUSES.contains(&status.as_str())
    {
        anyhow::bail!("--status {status:?}: expected one of {}", STATUSES.join(", ").to_ascii_lowercase());
    }
    let sfn = Runs::from(StepFunctions::new(&config.aws).await);
    let listed = sfn.recent_executions(&args.state_machine_arn, status.as_deref(), args.limit).await?;
    let mut executions = Vec::with_capacity(listed.len());
    for execution in &listed {
        executions.push(sfn.execution(&execution.arn).await?);
    }
    if args.json {
        for execution in &executions {
            println!("{}", execution_json(execution));
        }
    } else if executions.is_empty() {
        println!("no runs of {}", args.state_machine_arn);
    } else {
        print!("{}", render_table(&executions));
    }
    Ok(())
}

/// Shards of the execution's Map Runs: (succeeded, did not succeed, total);
/// None when it has no Map Run (nothing to index, or not there yet).
fn shard_counts(execution: &Execution) -> Option<(i64, i64, i64)> {
    if execution.map_runs.is_empty() {
        return None;
    }
    Some(
        execution.map_runs.iter().fold((0, 0, 0), |(ok, bad, total), run| {
            (ok + run.items.succeeded, bad + run.items.num_unsuccessful(), total + run.items.total)
        }),
    )
}

fn execution_json(execution: &Execution) -> serde_json::Value {
    json!({
        "name": execution.name,
        "arn": execution.arn,
        "status": execution.status,
        "started_at": format_utc(execution.started_at),
        "stopped_at": execution.stopped_at.map(format_utc),
        "error": execution.error,
        "reason": execution.reason(),
        "redrive_count": execution.redrive_count,
        "map_runs": execution.map_runs.iter().map(|run| json!({
            "arn": run.arn,
            "status": run.status,
            "succeeded": run.items.succeeded,
            "failed": run.items.failed,
            "timed_out": run.items.timed_out,
            "aborted": run.items.aborted,
            "pending": run.items.pending,
            "running": run.items.running,
            "total": run.items.total,
        })).collect::<Vec<_>>(),
    })
}

/// The table of runs, one line each.
fn render_table(executions: &[Execution]) -> String {
    let now = lakeship::time::now_millis();
    let mut out = format!("{:<21} {:<15} {:>8}  {:>17}  {:<36} {}\n", "STARTED", "STATUS", "DURATION", "SHARDS OK/BAD/ALL", "RUN", "ERROR");
    for execution in executions {
        let duration = format_duration(execution.stopped_at.unwrap_or(now) - execution.started_at);
        let shards = shard_counts(execution).map_or_else(|| "-".to_string(), |(ok, bad, total)| format!("{ok}/{bad}/{total}"));
        let status = if execution.redrive_count > 0 {
            format!("{} (r{})", execution.status, execution.redrive_count)
        } else {
            execution.status.clone()
        };
        let error = match (&execution.error, execution.reason()) {
            (Some(error), Some(reason)) => format!("{error}: {}", shorten(&reason, 100)),
            (Some(error), None) => error.clone(),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:<21} {status:<15} {duration:>8}  {shards:>17}  {:<36} {error}\n",
            format_utc(execution.started_at),
            execution.name
        ));
    }
    out
}

fn shorten(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use lakeship_ops::runs::{ItemCounts, MapRun};

    use super::*;

    fn execution(name: &str, status: &str, map_runs: Vec<MapRun>) -> Execution {
        Execution {
            arn: format!("arn:aws:states:us-east-1:123456789012:execution:lakeship-ingest:{name}"),
            name: name.to_string(),
            status: status.to_string(),
            started_at: 1_710_439_331_000,
            stopped_at: Some(1_710_439_516_000),
            error: None,
            cause: None,
            redrive_count: 0,
            redrive_status: None,
            redrive_status_reason: None,
            map_runs,
        }
    }

    fn map_run(succeeded: i64, failed: i64, total: i64) -> MapRun {
        MapRun {
            arn: "arn:aws:states:us-east-1:123456789012:mapRun:lakeship-ingest/Shards:1".to_string(),
            status: if failed > 0 { "FAILED" } else { "SUCCEEDED" }.to_string(),
            started_at: 0,
            stopped_at: None,
            items: ItemCounts { total, succeeded, failed, ..ItemCounts::default() },
            max_concurrency: 40,
            tolerated_failure_percentage: 0.0,
            redrive_count: 0,
        }
    }

    #[test]
    fn shows_status_duration_shards_and_errors() {
        let mut failed = execution("run-b", "FAILED", vec![map_run(118, 2, 120)]);
        failed.error = Some("States.ExceedToleratedFailureThreshold".to_string());
        failed.cause = Some("The specified tolerated failure threshold was exceeded".to_string());
        failed.redrive_count = 1;
        let table = render_table(&[execution("run-a", "SUCCEEDED", Vec::new()), failed]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("STARTED"), "{table}");
        assert!(
            lines[1].starts_with("2024-03-14 18:02:11Z  SUCCEEDED") && lines[1].contains("3m05s") && lines[1].contains("  -  "),
            "{table}"
        );
        assert!(lines[2].contains("FAILED (r1)") && lines[2].contains("118/2/120"), "{table}");
        assert!(
            lines[2].ends_with("States.ExceedToleratedFailureThreshold: The specified tolerated failure threshold was exceeded"),
            "{table}"
        );
    }

    #[test]
    fn json_lines_carry_the_arns_and_counts() {
        let value = execution_json(&execution("run-a", "SUCCEEDED", vec![map_run(3, 0, 3)]));
        assert_eq!(value["arn"], "arn:aws:states:us-east-1:123456789012:execution:lakeship-ingest:run-a");
        assert_eq!(value["map_runs"][0]["succeeded"], 3);
        assert_eq!(value["started_at"], "2024-03-14 18:02:11Z");
    }
}
