//! Live progress of a local run (bars on a terminal, nothing otherwise) and
//! the summary table printed at the end.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use lakeship::errors::NamedError;
use lakeship::ledger::{LedgerEntry, Status};
use lakeship::pipeline::LiveCounters;
use lakeship::pipeline::RunReport;
use lakeship::pipeline::local::Progress;
use lakeship::pipeline::payload::{RunSummary, ShardResult};
use lakeship::plan::ShardTask;

use crate::common::human_count;

/// Progress bars fed by the executor's callbacks and the live counters.
pub struct Bars {
    multi: MultiProgress,
    objects: ProgressBar,
    shards: ProgressBar,
    rows: ProgressBar,
    live: Arc<LiveCounters>,
    pending_by_object: Mutex<HashMap<String, usize>>,
    started: Instant,
    _ticker: tokio::task::JoinHandle<()>,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("█▉▊▋▌▍▎▏ ")
}

impl Bars {
    /// Bars on stderr when it is a terminal; hidden otherwise (`quiet`).
    pub fn new(live: Arc<LiveCounters>, quiet: bool) -> Arc<Bars> {
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let multi = MultiProgress::with_draw_target(target);
        let objects = multi.add(ProgressBar::new(0).with_style(style("{prefix:>8} {bar:30.cyan/blue} {pos}/{len} {msg}")));
        objects.set_prefix("objects");
        let shards = multi.add(ProgressBar::new(0).with_style(style("{prefix:>8} {bar:30.cyan/blue} {pos}/{len} {msg}")));
        shards.set_prefix("shards");
        let rows = multi.add(ProgressBar::new(0).with_style(style("{prefix:>8} {bar:30.green/blue} {msg} [{elapsed_precise}, eta {eta}]")));
        rows.set_prefix("rows");
        let ticker = {
            let (rows, live) = (rows.clone(), live.clone());
            let started = Instant::now();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    update_rows(&rows, &live, started);
                }
            })
        };
        Arc::new(Bars { multi, objects, shards, rows, live, pending_by_object: Mutex::default(), started: Instant::now(), _ticker: ticker })
    }

    /// A line above the bars on a terminal, plain on stderr otherwise.
    fn say(&self, line: &str) {
        if self.multi.is_hidden() || self.multi.println(line).is_err() {
            eprintln!("{line}");
        }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        update_rows(&self.rows, &self.live, self.started);
        self.objects.finish_and_clear();
        self.shards.finish_and_clear();
        self.rows.finish_and_clear();
        self._ticker.abort();
    }
}

fn update_rows(bar: &ProgressBar, live: &LiveCounters, started: Instant) {
    let rows = live.num_rows_read.load(Relaxed);
    let counts = live.counts();
    let seconds = started.elapsed().as_secs_f64().max(0.001);
    bar.set_position(rows);
    bar.set_message(format!(
        "{} read ({}/s) · docs {}/s · indexed {} · present {} · rejected {}",
        human_count(rows),
        human_count((rows as f64 / seconds) as u64),
        human_count((counts.total() as f64 / seconds) as u64),
        human_count(counts.num_indexed),
        human_count(counts.num_already_present),
        human_count(counts.num_rejected)
    ));
}

fn object_key(object: &lakeship::object::ObjectRef) -> String {
    object.to_string()
}

impl Progress for Bars {
    fn planned(&self, summary: &RunSummary, shards: &[ShardTask]) {
        let mut pending = HashMap::new();
        for shard in shards {
            for piece in &shard.pieces {
                *pending.entry(object_key(&piece.object)).or_insert(0) += 1;
            }
        }
        // The run id, always (also when stderr is not a terminal): after a
        // kill it is what `--resume` needs.
        let line = format!(
            "run {}: {} object(s) in {} shard(s) (if it stops: lakeship run --resume {})",
            summary.run_id,
            pending.len(),
            shards.len(),
            summary.run_id
        );
        self.say(&line);
        // Added, not set: a backfill in pages plans once per page.
        self.objects.inc_length(pending.len() as u64);
        self.objects.set_message(format!("run {}", summary.run_id));
        self.shards.inc_length(shards.len() as u64);
        self.rows.inc_length(shards.iter().map(ShardTask::num_rows).sum());
        if let Ok(mut map) = self.pending_by_object.lock() {
            map.extend(pending);
        }
    }

    fn shard_done(&self, result: &ShardResult) {
        self.shards.inc(1);
        if let Ok(mut pending) = self.pending_by_object.lock() {
            for piece in &result.pieces {
                if let Some(count) = pending.get_mut(&object_key(&piece.object)) {
                    *count -= 1;
                    if *count == 0 {
                        self.objects.inc(1);
                    }
                }
            }
        }
    }

    fn shard_failed(&self, shard: &ShardTask, error: &NamedError) {
        self.shards.inc(1);
        self.say(&format!("shard {} failed: {error}", shard.shard_id));
    }
}

/// Totals of one group of the summary.
#[derive(Debug, Default)]
struct Totals {
    objects: u64,
    not_complete: u64,
    rows: u64,
    indexed: u64,
    present: u64,
    rejected: u64,
}

/// The group of an object: its Security Lake source (or folder), class and
/// OCSF version.
fn group_of(entry: &LedgerEntry) -> (String, String, String) {
    let source = entry.source.clone().unwrap_or_else(|| {
        std::path::Path::new(&entry.key)
            .parent()
            .and_then(|parent| parent.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "-".to_string())
    });
    let class = match (entry.class_uid, &entry.ocsf_version) {
        (Some(uid), Some(version)) => format!("{uid} {}", lakeship::ocsf::class_name(version, uid).unwrap_or("?")),
        (Some(uid), None) => uid.to_string(),
        _ => "-".to_string(),
    };
    (source, class, entry.ocsf_version.clone().unwrap_or_else(|| "-".to_string()))
}

/// `text` cut to `width` characters (the last one an ellipsis when cut).
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// One line of the summary table: 100 columns at most (up to 99,999,999 rows
/// and 9,999,999 present or rejected per cell; the class and source are cut
/// to fit).
fn summary_line(source: &str, class: &str, version: &str, objects: &str, totals: &Totals) -> String {
    format!(
        "{:<16} {:<22} {:<10} {:>7} {:>10} {:>10} {:>9} {:>9}",
        fit(source, 16),
        fit(class, 22),
        fit(version, 10),
        objects,
        human_count(totals.rows),
        human_count(totals.indexed),
        human_count(totals.present),
        human_count(totals.rejected)
    )
}

/// Prints the summary table of a run report.
pub fn print_summary(report: &RunReport, elapsed: Duration) {
    let mut groups: BTreeMap<(String, String, String), Totals> = BTreeMap::new();
    for entry in &report.objects {
        let totals = groups.entry(group_of(entry)).or_default();
        totals.objects += 1;
        totals.not_complete += u64::from(!entry.status.is_settled());
        totals.rows += entry.num_rows_read;
        totals.indexed += entry.num_indexed;
        totals.present += entry.num_already_present;
        totals.rejected += entry.num_rejected;
    }
    let seconds = elapsed.as_secs_f64().max(0.001);
    println!(
        "{:<16} {:<22} {:<10} {:>7} {:>10} {:>10} {:>9} {:>9}",
        "source", "class", "OCSF", "objects", "rows", "indexed", "present", "rejected"
    );
    let mut total = Totals::default();
    for ((source, class, version), totals) in &groups {
        println!("{}", summary_line(source, class, version, &totals.objects.to_string(), totals));
        total.objects += totals.objects;
        total.not_complete += totals.not_complete;
        total.rows += totals.rows;
        total.indexed += totals.indexed;
        total.present += totals.present;
        total.rejected += totals.rejected;
    }
    println!("{}", summary_line("total", "", "", &total.objects.to_string(), &total));
    if total.not_complete > 0 {
        println!("{} object(s) not complete:", total.not_complete);
    }
    let superseded: Vec<&LedgerEntry> = report.objects.iter().filter(|entry| entry.status == Status::Superseded).collect();
    if !superseded.is_empty() {
        println!(
            "{} object version(s) superseded while read (their rows removed; the newer version comes with its own message):",
            superseded.len()
        );
        for entry in superseded {
            println!("  {}", if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) });
        }
    }
    println!(
        "run {}: {} object(s) skipped as already complete; {:.1} s, {} rows/s",
        report.run_id,
        report.skipped.len(),
        seconds,
        human_count((total.rows as f64 / seconds) as u64)
    );
    for entry in report.incomplete() {
        let location = if entry.bucket.is_empty() { entry.key.clone() } else { format!("s3://{}/{}", entry.bucket, entry.key) };
        let name = entry.error_name.map(|name| format!("{name}: ")).unwrap_or_default();
        println!("  {} {location}: {name}{}", entry.status, entry.reason.as_deref().unwrap_or("no reason recorded"));
    }
    if !report.ignored_messages.is_empty() {
        let kinds = lakeship::pipeline::messages::ignored_by_kind(&report.ignored_messages);
        let kinds: Vec<String> = kinds.iter().map(|(kind, count)| format!("{count} {}", kind.as_str())).collect();
        println!("{} message(s) named no work and were ignored: {}", report.ignored_messages.len(), kinds.join(", "));
    }
    for message in &report.bad_messages {
        println!("  unreadable message {}: {}: {}", message.message_id, lakeship::errors::ErrorName::BadMessage, message.reason);
    }
    let dead_letters: usize = report.objects.iter().map(|entry| entry.dead_letters.len()).sum();
    if dead_letters > 0 {
        println!("  rejected documents are in {dead_letters} dead-letter file(s); resend them with `lakeship replay-dlq`");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines_fit_100_columns() {
        let totals = Totals { objects: 3, not_complete: 0, rows: 12_345_678, indexed: 12_345_678, present: 9_999_999, rejected: 9_999_999 };
        let line = summary_line("CLOUD_TRAIL_MGMT", "5001 device_inventory_info", "1.0.0-rc.2", "3", &totals);
        assert!(line.chars().count() <= 100, "{} columns: {line}", line.chars().count());
        assert!(line.starts_with("CLOUD_TRAIL_MGMT 5001 device_inventory…"), "{line}");
    }
}
