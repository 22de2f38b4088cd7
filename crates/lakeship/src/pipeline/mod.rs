//! The three handlers of a run — dispatch, work a shard, finalize — as
//! library functions. The Lambda functions, the local executor (`lakeship
//! run`) and `lakeship index` all call these.

pub mod backfill;
pub mod checkpoint;
pub mod consumer;
pub(crate) mod dispatch;
pub mod doc_stream;
mod finalize;
pub mod listing;
pub mod local;
pub mod messages;
pub mod payload;
pub mod quotas;
pub mod replay;
mod settle;
mod shard;
mod supersede;
mod work_area;

pub use dispatch::dispatch;
pub use finalize::{check_complete, finalize, reconcile_object, reconcile_run, record_run};
pub use listing::list_prefix;
pub use payload::RunReport;
pub use settle::settled_records;
pub use shard::{run_shard, run_shard_until};
pub use work_area::WorkArea;

use crate::delivery::{DeliveryOptions, OpenSearchClient};
use crate::ledger::Ledger;
use crate::object::ObjectStore;
use crate::plan::PlanOptions;
use doc_stream::ScanOptions;

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
    /// Keep unreadable messages in the dead-letter store of the work area
    /// (deployed: the pipe has deleted them already). Off where the queue
    /// still holds them (`lakeship run --source <queue>`).
    pub keep_unreadable_messages: bool,
}

impl PipelineContext {
    /// The context `config` describes: OpenSearch and the ledger through its
    /// client, the source objects through the subscriber role if set, the
    /// work area with the caller's own identity.
    pub async fn from_config(config: &crate::config::Config) -> Result<PipelineContext, crate::config::ConfigError> {
        let client = config.client().await?;
        let work_store = ObjectStore::from_options(config.aws.own_identity());
        let mut scan = ScanOptions::default();
        scan.convert = scan.convert.with_time_suffix(config.time_suffix).with_layout(config.index_layout.clone());
        scan.convert.index_prefix = config.index_prefix.clone();
        Ok(PipelineContext {
            source: config.source_store(),
            work: WorkArea::new(work_store, config.work.clone()),
            ledger: Ledger::new(client.clone()).with_index(&config.ledger_index),
            client,
            scan,
            delivery: config.delivery.clone(),
            plan: PlanOptions::default().with_target_shard_bytes(config.target_shard_bytes).with_spread(config.workers),
            footer_concurrency: 16,
            skip_complete: true,
            live: Default::default(),
            backfill: backfill::BackfillOptions { max_objects_per_run: config.max_objects_per_run, ..Default::default() },
            keep_unreadable_messages: true,
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
    /// Shards run again after `Lakeship.Throttled` (locally).
    pub num_throttled_retries: std::sync::atomic::AtomicU64,
}

impl LiveCounters {
    /// The document outcomes so far.
    pub fn counts(&self) -> crate::delivery::ItemCounts {
        use std::sync::atomic::Ordering::Relaxed;
        crate::delivery::ItemCounts {
            num_indexed: self.num_indexed.load(Relaxed),
            num_already_present: self.num_already_present.load(Relaxed),
            num_rejected: self.num_rejected.load(Relaxed),
        }
    }
}

impl crate::delivery::DeliveryObserver for LiveCounters {
    fn delivered(&self, counts: &crate::delivery::ItemCounts) {
        use std::sync::atomic::Ordering::Relaxed;
        self.num_indexed.fetch_add(counts.num_indexed, Relaxed);
        self.num_already_present.fetch_add(counts.num_already_present, Relaxed);
        self.num_rejected.fetch_add(counts.num_rejected, Relaxed);
    }
}
