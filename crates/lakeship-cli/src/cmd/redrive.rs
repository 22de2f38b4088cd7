//! `lakeship redrive`: re-run the failed part of a run.

use clap::Args;
use lakeship::stepfunctions::StepFunctions;
use lakeship_ops::runs::{Execution, Runs, format_utc};

use crate::config_args::{AwsArgs, RegionArgs, load};

/// Redrive a failed run of the deployed state machine.
///
/// Step Functions re-runs only what failed: the failed state, and in a failed Map Run only the
/// shards that did not succeed; shards that succeeded are not sent again.
/// The run keeps its id (the execution name), so Finalize then reconciles
/// the same objects. Fix the cause first (settings, permissions, OpenSearch
/// capacity): `lakeship runs` shows the error.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  lakeship redrive --dry-run \\\n      arn:aws:states:us-east-1:123456789012:execution:lakeship-ingest:2f9c0d1e"
)]
pub struct RedriveArgs {
    /// The execution to redrive (`lakeship runs --json` shows the ARNs)
    #[arg(value_name = "EXECUTION_ARN")]
    execution_arn: String,
    /// Only show what would re-run
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    region: RegionArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: RedriveArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.region, &args.aws])?;
    let sfn = Runs::from(StepFunctions::new(&config.aws).await);
    let execution = sfn.execution(&args.execution_arn).await?;
    let failed_state = sfn.last_state(&execution.arn).await?;
    print!("{}", describe_plan(&execution, failed_state.as_deref()));
    if args.dry_run {
        return Ok(());
    }
    let redriven_at = sfn.redrive(&execution).await?;
    println!("redrive started at {}; follow it with `lakeship runs`", format_utc(redriven_at));
    Ok(())
}

/// What a redrive of `execution` re-runs, in words.
fn describe_plan(execution: &Execution, failed_state: Option<&str>) -> String {
    let mut out = format!("run {} is {}", execution.name, execution.status);
    if let Some(state) = failed_state {
        out.push_str(&format!(" (last state: {state})"));
    }
    match (&execution.error, execution.reason()) {
        (Some(error), Some(reason)) => out.push_str(&format!(": {error}: {reason}")),
        (Some(error), None) => out.push_str(&format!(": {error}")),
        _ => {}
    }
    out.push('\n');
    if execution.redrive_count > 0 {
        out.push_str(&format!("redriven {} time(s) before\n", execution.redrive_count));
    }
    let mut reruns_shards = false;
    for map_run in &execution.map_runs {
        let items = map_run.items;
        let unsuccessful = items.num_unsuccessful();
        if unsuccessful == 0 {
            out.push_str(&format!("Map Run {}: all {} shard(s) succeeded; none re-run\n", map_run.label(), items.total));
            continue;
        }
        reruns_shards = true;
        out.push_str(&format!(
            "Map Run {}: {unsuccessful} of {} shard(s) did not succeed ({} failed, {} timed out, {} aborted); these re-run, the {} that succeeded do not\n",
            map_run.label(),
            items.total,
            items.failed,
            items.timed_out,
            items.aborted,
            items.succeeded
        ));
    }
    match (reruns_shards, failed_state) {
        (true, _) => out.push_str("then: Finalize\n"),
        (false, Some(state)) => out.push_str(&format!("re-runs: {state}, and what follows it\n")),
        (false, None) => out.push_str("re-runs: the failed state, and what follows it\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use lakeship_ops::runs::{ItemCounts, MapRun};

    use super::*;

    fn failed_execution(map_runs: Vec<MapRun>) -> Execution {
        Execution {
            arn: "arn:aws:states:us-east-1:123456789012:execution:lakeship-ingest:run-a".to_string(),
            name: "run-a".to_string(),
            status: "FAILED".to_string(),
            started_at: 0,
            stopped_at: Some(1),
            error: Some("States.ExceedToleratedFailureThreshold".to_string()),
            cause: None,
            redrive_count: 0,
            redrive_status: Some("REDRIVABLE".to_string()),
            redrive_status_reason: None,
            map_runs,
        }
    }

    #[test]
    fn names_the_failed_shards_that_re_run() {
        let map_run = MapRun {
            arn: "arn:aws:states:us-east-1:123456789012:mapRun:lakeship-ingest/Shards:5f0e".to_string(),
            status: "FAILED".to_string(),
            started_at: 0,
            stopped_at: Some(1),
            items: ItemCounts { total: 120, succeeded: 117, failed: 2, timed_out: 1, ..ItemCounts::default() },
            max_concurrency: 40,
            tolerated_failure_percentage: 0.0,
            redrive_count: 0,
        };
        let plan = describe_plan(&failed_execution(vec![map_run]), Some("Shards"));
        assert_eq!(
            plan,
            "run run-a is FAILED (last state: Shards): States.ExceedToleratedFailureThreshold\n\
             Map Run Shards: 3 of 120 shard(s) did not succeed (2 failed, 1 timed out, 0 aborted); these re-run, the 117 that succeeded do not\n\
             then: Finalize\n"
        );
    }

    #[test]
    fn without_failed_shards_the_failed_state_re_runs() {
        let mut execution = failed_execution(Vec::new());
        execution.error = Some("Lakeship.Configuration".to_string());
        execution.cause =
            Some(r#"{"errorType":"Lakeship.Configuration","errorMessage":"OpenSearch answered 403 to POST /_bulk"}"#.to_string());
        let plan = describe_plan(&execution, Some("Finalize"));
        assert!(
            plan.starts_with(
                "run run-a is FAILED (last state: Finalize): Lakeship.Configuration: OpenSearch answered 403 to POST /_bulk\n"
            ),
            "{plan}"
        );
        assert!(plan.ends_with("re-runs: Finalize, and what follows it\n"), "{plan}");
    }
}
