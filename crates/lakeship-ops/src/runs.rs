//! The runs of a deployed Lakeship state machine, as Step Functions keeps
//! them: executions, their Map Runs (one per `Shards` state, with per-item
//! counts), and redriving a failed run (`RedriveExecution` re-runs only the
//! failed states, and in a failed Map Run only the failed items).
//!
//! `lakeship runs` and `lakeship redrive` are thin views over this module.

use aws_sdk_sfn::types::ExecutionStatus;
use lakeship::stepfunctions::{Result, StepFunctions, StepFunctionsError, request_error};

fn millis(date: &aws_smithy_types::DateTime) -> i64 {
    date.to_millis().unwrap_or_default()
}

/// Item counts of a Map Run (one item is one shard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ItemCounts {
    /// Items in the run.
    pub total: i64,
    /// Succeeded.
    pub succeeded: i64,
    /// Failed (retries exhausted or not retried).
    pub failed: i64,
    /// Timed out.
    pub timed_out: i64,
    /// Aborted.
    pub aborted: i64,
    /// Not started yet.
    pub pending: i64,
    /// Running.
    pub running: i64,
}

impl ItemCounts {
    /// Items that did not succeed and that a redrive runs again.
    pub fn num_unsuccessful(&self) -> i64 {
        self.failed + self.timed_out + self.aborted
    }
}

/// A Map Run: the child executions of one Distributed Map state.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRun {
    /// Its ARN (`arn:aws:states:…:mapRun:<machine>/<label>:<id>`).
    pub arn: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED` or `ABORTED`.
    pub status: String,
    /// Start (epoch ms).
    pub started_at: i64,
    /// End (epoch ms), when ended.
    pub stopped_at: Option<i64>,
    /// Item counts.
    pub items: ItemCounts,
    /// Items run at once.
    pub max_concurrency: i32,
    /// Percentage of items that may fail without failing the Map Run.
    pub tolerated_failure_percentage: f32,
    /// Times it was redriven.
    pub redrive_count: i32,
}

impl MapRun {
    /// The Map state's label: the part of the ARN between `/` and the last `:`.
    pub fn label(&self) -> &str {
        let tail = self.arn.rsplit_once('/').map_or(self.arn.as_str(), |(_, tail)| tail);
        tail.rsplit_once(':').map_or(tail, |(label, _)| label)
    }
}

/// One execution (a run) with its Map Runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// Its ARN.
    pub arn: String,
    /// Its name (the Lakeship run id).
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`, …
    pub status: String,
    /// Start (epoch ms).
    pub started_at: i64,
    /// End (epoch ms), when ended.
    pub stopped_at: Option<i64>,
    /// The error name it failed with (`Lakeship.ObjectsIncomplete`, …).
    pub error: Option<String>,
    /// The cause (for Lambda errors, `{"errorType","errorMessage"}`).
    pub cause: Option<String>,
    /// Times it was redriven.
    pub redrive_count: i32,
    /// `REDRIVABLE`, `NOT_REDRIVABLE`, … when the service says.
    pub redrive_status: Option<String>,
    /// Why it is not redrivable, when the service says.
    pub redrive_status_reason: Option<String>,
    /// Its Map Runs.
    pub map_runs: Vec<MapRun>,
}

impl Execution {
    /// The message inside a Lambda error's cause (`errorMessage`), else the
    /// cause as it is.
    pub fn reason(&self) -> Option<String> {
        let cause = self.cause.as_deref()?;
        let message = serde_json::from_str::<serde_json::Value>(cause)
            .ok()
            .and_then(|value| value.get("errorMessage").and_then(|message| message.as_str()).map(str::to_string));
        Some(message.unwrap_or_else(|| cause.to_string()))
    }
}

/// Reads and redrives the runs of a state machine through a Step Functions
/// client.
#[derive(Debug, Clone)]
pub struct Runs {
    step_functions: StepFunctions,
}

impl From<StepFunctions> for Runs {
    fn from(step_functions: StepFunctions) -> Self {
        Runs { step_functions }
    }
}

impl Runs {
    /// The SDK client.
    pub fn client(&self) -> &aws_sdk_sfn::Client {
        self.step_functions.client()
    }

    /// The most recent executions of a state machine (newest first), at most
    /// `limit`, only those with `status` if given; without their Map Runs.
    pub async fn recent_executions(&self, state_machine_arn: &str, status: Option<&str>, limit: usize) -> Result<Vec<Execution>> {
        let mut executions = Vec::new();
        let mut next_token = None;
        while executions.len() < limit {
            let page_size = (limit - executions.len()).min(1000) as i32;
            let mut request = self.client().list_executions().state_machine_arn(state_machine_arn).max_results(page_size);
            if let Some(status) = status {
                request = request.status_filter(ExecutionStatus::from(status.to_ascii_uppercase().as_str()));
            }
            let page = request
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| request_error("ListExecutions", state_machine_arn, &error))?;
            executions.extend(page.executions().iter().map(|item| Execution {
                arn: item.execution_arn().to_string(),
                name: item.name().to_string(),
                status: item.status().as_str().to_string(),
                started_at: millis(item.start_date()),
                stopped_at: item.stop_date().map(millis),
                error: None,
                cause: None,
                redrive_count: item.redrive_count().unwrap_or_default(),
                redrive_status: None,
                redrive_status_reason: None,
                map_runs: Vec::new(),
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        executions.truncate(limit);
        Ok(executions)
    }

    /// One execution with its error, redrive status and Map Runs.
    pub async fn execution(&self, execution_arn: &str) -> Result<Execution> {
        let described = self
            .client()
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|error| request_error("DescribeExecution", execution_arn, &error))?;
        Ok(Execution {
            arn: described.execution_arn().to_string(),
            name: described.name().unwrap_or_default().to_string(),
            status: described.status().as_str().to_string(),
            started_at: millis(described.start_date()),
            stopped_at: described.stop_date().map(millis),
            error: described.error().map(str::to_string),
            cause: described.cause().map(str::to_string),
            redrive_count: described.redrive_count().unwrap_or_default(),
            redrive_status: described.redrive_status().map(|status| status.as_str().to_string()),
            redrive_status_reason: described.redrive_status_reason().map(str::to_string),
            map_runs: self.map_runs(execution_arn).await?,
        })
    }

    /// The Map Runs of an execution, with their item counts.
    pub async fn map_runs(&self, execution_arn: &str) -> Result<Vec<MapRun>> {
        let listed = self
            .client()
            .list_map_runs()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|error| request_error("ListMapRuns", execution_arn, &error))?;
        let mut map_runs = Vec::new();
        for item in listed.map_runs() {
            map_runs.push(self.map_run(item.map_run_arn()).await?);
        }
        Ok(map_runs)
    }

    /// One Map Run.
    pub async fn map_run(&self, map_run_arn: &str) -> Result<MapRun> {
        let described = self
            .client()
            .describe_map_run()
            .map_run_arn(map_run_arn)
            .send()
            .await
            .map_err(|error| request_error("DescribeMapRun", map_run_arn, &error))?;
        let items = described.item_counts().map_or_else(ItemCounts::default, |counts| ItemCounts {
            total: counts.total(),
            succeeded: counts.succeeded(),
            failed: counts.failed(),
            timed_out: counts.timed_out(),
            aborted: counts.aborted(),
            pending: counts.pending(),
            running: counts.running(),
        });
        Ok(MapRun {
            arn: described.map_run_arn().to_string(),
            status: described.status().as_str().to_string(),
            started_at: millis(described.start_date()),
            stopped_at: described.stop_date().map(millis),
            items,
            max_concurrency: described.max_concurrency(),
            tolerated_failure_percentage: described.tolerated_failure_percentage(),
            redrive_count: described.redrive_count().unwrap_or_default(),
        })
    }

    /// The name of the last state the execution entered (where it failed).
    pub async fn last_state(&self, execution_arn: &str) -> Result<Option<String>> {
        let history = self
            .client()
            .get_execution_history()
            .execution_arn(execution_arn)
            .reverse_order(true)
            .max_results(100)
            .send()
            .await
            .map_err(|error| request_error("GetExecutionHistory", execution_arn, &error))?;
        Ok(history.events().iter().find_map(|event| event.state_entered_event_details().map(|details| details.name().to_string())))
    }

    /// Redrives a failed, timed-out or aborted execution; returns when the
    /// redrive started (epoch ms).
    pub async fn redrive(&self, execution: &Execution) -> Result<i64> {
        if !matches!(execution.status.as_str(), "FAILED" | "TIMED_OUT" | "ABORTED") {
            return Err(StepFunctionsError::NotRedrivable {
                arn: execution.arn.clone(),
                reason: format!("it is {}; only failed, timed-out or aborted executions can be redriven", execution.status),
            });
        }
        if execution.redrive_status.as_deref() == Some("NOT_REDRIVABLE") {
            let reason = execution.redrive_status_reason.clone().unwrap_or_else(|| "Step Functions says it is not redrivable".to_string());
            return Err(StepFunctionsError::NotRedrivable { arn: execution.arn.clone(), reason });
        }
        let output = self
            .client()
            .redrive_execution()
            .execution_arn(&execution.arn)
            .send()
            .await
            .map_err(|error| request_error("RedriveExecution", &execution.arn, &error))?;
        Ok(millis(output.redrive_date()))
    }
}

/// `2024-03-14 18:02:11Z` for epoch milliseconds.
pub fn format_utc(millis: i64) -> String {
    format!("{}Z", lakeship::time::format_utc(millis))
}

/// `1h02m`, `3m05s` or `12s` for a duration in milliseconds.
pub fn format_duration(millis: i64) -> String {
    let seconds = millis.max(0) / 1000;
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m{:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h{:02}m", seconds / 3600, seconds / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_run(arn: &str) -> MapRun {
        MapRun {
            arn: arn.to_string(),
            status: "FAILED".to_string(),
            started_at: 0,
            stopped_at: None,
            items: ItemCounts { total: 10, succeeded: 7, failed: 2, timed_out: 1, ..ItemCounts::default() },
            max_concurrency: 8,
            tolerated_failure_percentage: 0.0,
            redrive_count: 0,
        }
    }

    #[test]
    fn map_run_labels_and_counts() {
        let run = map_run("arn:aws:states:us-east-1:123456789012:mapRun:lakeship-ingest/Shards:0b5f8c1e-1111-2222-3333-444455556666");
        assert_eq!(run.label(), "Shards");
        assert_eq!(run.items.num_unsuccessful(), 3);
    }

    #[test]
    fn reasons_come_from_lambda_causes() {
        let mut execution = Execution {
            arn: "arn".into(),
            name: "run".into(),
            status: "FAILED".into(),
            started_at: 0,
            stopped_at: None,
            error: Some("Lakeship.Configuration".into()),
            cause: Some(r#"{"errorType":"Lakeship.Configuration","errorMessage":"OpenSearch answered 403"}"#.into()),
            redrive_count: 0,
            redrive_status: None,
            redrive_status_reason: None,
            map_runs: Vec::new(),
        };
        assert_eq!(execution.reason().as_deref(), Some("OpenSearch answered 403"));
        execution.cause = Some("States.ExceedToleratedFailureThreshold".into());
        assert_eq!(execution.reason().as_deref(), Some("States.ExceedToleratedFailureThreshold"));
    }

    #[test]
    fn formats_times() {
        assert_eq!(format_utc(1_710_439_331_000), "2024-03-14 18:02:11Z");
        assert_eq!(format_duration(12_400), "12s");
        assert_eq!(format_duration(185_000), "3m05s");
        assert_eq!(format_duration(3_720_000), "1h02m");
    }
}
