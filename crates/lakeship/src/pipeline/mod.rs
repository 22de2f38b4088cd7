//! The three handlers of a run — dispatch, work a shard, finalize — as
//! library functions. The Lambda functions, the local executor (`lakeship
//! run`) and `lakeship index` all call these.

pub mod backfill;
pub mod checkpoint;
mod dispatch;
mod finalize;
pub mod local;
pub mod payload;
pub mod quotas;
pub mod replay;
mod settle;
mod work;
mod worker;

use std::time::{SystemTime, UNIX_EPOCH};

pub use dispatch::{dispatch, list_prefix, resolve_request};
pub use finalize::{RunReport, check_complete, finalize, reconcile_object, reconcile_run, record_run};
pub use settle::settled_records;
pub use work::WorkArea;
pub use worker::{run_shard, run_shard_until};

use crate::delivery::{DeliveryOptions, OpenSearchClient};
use crate::ledger::Ledger;
use crate::object::ObjectStore;
use crate::plan::PlanOptions;
use crate::scan::ScanOptions;

/// Everything a handler needs, built once (per cold start, or per CLI run).
#[derive(Debug, Clone)]
pub struct PipelineContext {
    /// Reads the source objects (Security Lake; maybe through an assumed role).
    pub source: ObjectStore,
    /// The work area: manifests, shard results, dead letters.
    pub work: WorkArea,
    /// OpenSearch.
    pub client: OpenSearchClient,
    /// The ledger index.
    pub ledger: Ledger,
    /// Reading and conversion.
    pub scan: ScanOptions,
    /// Bulk delivery.
    pub delivery: DeliveryOptions,
    /// Shard planning.
    pub plan: PlanOptions,
    /// Footers read at once while dispatching.
    pub footer_concurrency: usize,
    /// Skip objects the ledger records as complete (true except when
    /// re-sending on purpose).
    pub skip_complete: bool,
    /// Live counters for progress displays.
    pub live: std::sync::Arc<LiveCounters>,
    /// How prefix backfills are paged.
    pub backfill: backfill::BackfillOptions,
}

impl PipelineContext {
    /// The context `config` describes: OpenSearch and the ledger through its
    /// client, the source objects through the subscriber role if set, the
    /// work area with the caller's own identity.
    pub async fn from_config(config: &crate::config::Config) -> Result<PipelineContext, crate::config::ConfigError> {
        let client = config.client().await?;
        let work_store = ObjectStore::from_options(config.aws.own_identity());
        let mut scan = ScanOptions::default();
        scan.convert = scan.convert.with_time_suffix(config.time_suffix);
        scan.convert.index_prefix = config.index_prefix.clone();
        Ok(PipelineContext {
            source: config.source_store(),
            work: WorkArea::new(work_store, config.work.clone()),
            ledger: Ledger::new(client.clone()).with_index(&config.ledger_index),
            client,
            scan,
            delivery: config.delivery.clone(),
            plan: PlanOptions::default().with_target_shard_bytes(config.target_shard_bytes),
            footer_concurrency: 16,
            skip_complete: true,
            live: Default::default(),
            backfill: backfill::BackfillOptions { max_objects_per_run: config.max_objects_per_run, ..Default::default() },
        })
    }
}

/// Counters updated while work happens, for progress displays.
#[derive(Debug, Default)]
pub struct LiveCounters {
    /// Rows read and converted.
    pub num_rows_read: std::sync::atomic::AtomicU64,
    /// Documents created.
    pub num_indexed: std::sync::atomic::AtomicU64,
    /// Documents already present.
    pub num_already_present: std::sync::atomic::AtomicU64,
    /// Documents rejected.
    pub num_rejected: std::sync::atomic::AtomicU64,
    /// Compressed bytes read.
    pub num_bytes_read: std::sync::atomic::AtomicU64,
}

impl crate::delivery::DeliveryObserver for LiveCounters {
    fn delivered(&self, counts: &crate::delivery::ItemCounts) {
        use std::sync::atomic::Ordering::Relaxed;
        self.num_indexed.fetch_add(counts.num_indexed, Relaxed);
        self.num_already_present.fetch_add(counts.num_already_present, Relaxed);
        self.num_rejected.fetch_add(counts.num_rejected, Relaxed);
    }
}

/// Milliseconds since the epoch.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or(0)
}

/// A new run id: `YYYYMMDDTHHMMSSZ-xxxxxx` (UTC time and 6 random hex digits).
pub fn new_run_id() -> String {
    let millis = now_millis();
    let (year, month, day) = crate::convert::timefmt::civil_from_millis(millis);
    let second = millis.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z-{:06x}",
        second / 3600,
        second / 60 % 60,
        second % 60,
        fastrand::u32(..0x100_0000)
    )
}

/// True if `text` is usable as a run id (safe in keys and paths).
pub fn valid_run_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 80 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c)) && !text.starts_with('.')
}
