//! What a backfill or a day of live traffic will cost, before it runs: from
//! Parquet footers alone, the objects, rows and shards the dispatcher would
//! plan, the Step Functions state transitions, Lambda requests and
//! GB-seconds, S3 requests, their price, and the wall time at a worker
//! concurrency and a domain ingest rate.
//!
//! The arithmetic (all of it in [`estimate`]):
//!
//! * **Executions.** Objects are taken in order in groups of
//!   [`CostModel::objects_per_execution`] (a backfill's chained executions,
//!   or the notification batches of live traffic); each group is planned on
//!   its own, because small objects are packed into shards only within one
//!   execution.
//! * **State transitions.** Per execution the parent workflow enters
//!   Dispatch, HasShards, Shards and Finalize (4); per shard the Distributed
//!   Map is charged one transition for starting the child workflow execution
//!   and the child enters Work (2). Retries add transitions, not counted here.
//! * **Throughput.** A worker converts on one thread: it has
//!   `min(1, memory / 1769 MB)` of a vCPU (Lambda gives one vCPU at
//!   1,769 MB) and spends [`Rates::worker_cpu_us_per_row`] on a row, so it
//!   delivers `vcpu / cpu_per_row` rows/s. An execution runs
//!   `min(concurrency, its shards)` workers at once, and together they can
//!   go no faster than the domain indexes ([`Rates::domain_docs_per_sec`]).
//! * **Lambda time.** Workers are billed while they run, also while they
//!   wait for a saturated domain: an execution's worker-seconds are its
//!   rows divided by the rate of one worker in that execution, plus a fixed
//!   overhead per shard. Dispatcher and finalizer are billed per execution
//!   and per object.
//! * **Wall time.** Executions run one after another (a backfill chains
//!   them); each takes its rows over its rate plus a fixed overhead.
//!
//! The default rates are the figures `make bench-e2e` measured (see
//! BENCHMARKS.md); the default prices are the published us-east-1 prices.
//! Every figure is a parameter.

use serde::Serialize;

use lakeship::plan::{PlanOptions, plan_shards};
use lakeship::reader::ParquetFooter;

/// Prices in US dollars, us-east-1, looked up on 2026-11-30.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prices {
    /// Per Standard workflow state transition: $0.025 per 1,000
    /// (<https://aws.amazon.com/step-functions/pricing/>).
    pub state_transition: f64,
    /// Per GB-second of Lambda duration on Arm (the stack's functions are
    /// arm64): $0.0000133334, first tier
    /// (<https://aws.amazon.com/lambda/pricing/>).
    pub lambda_gb_second: f64,
    /// Per Lambda request: $0.20 per million
    /// (<https://aws.amazon.com/lambda/pricing/>).
    pub lambda_request: f64,
    /// Per S3 Standard GET: $0.0004 per 1,000
    /// (<https://aws.amazon.com/s3/pricing/>).
    pub s3_get: f64,
    /// Per S3 Standard PUT: $0.005 per 1,000
    /// (<https://aws.amazon.com/s3/pricing/>).
    pub s3_put: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            state_transition: 0.025 / 1_000.0,
            lambda_gb_second: 0.000_013_333_4,
            lambda_request: 0.20 / 1_000_000.0,
            s3_get: 0.0004 / 1_000.0,
            s3_put: 0.005 / 1_000.0,
        }
    }
}

/// Throughput and duration figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    /// CPU time Lakeship spends per row, read to delivered, in
    /// microseconds: `make bench-e2e`'s CPU seconds of `lakeship index`
    /// divided by its documents (OCSF 1.1.0 Network Activity, x86-64).
    pub worker_cpu_us_per_row: f64,
    /// Documents per second the OpenSearch domain indexes: `make bench-e2e`
    /// measured ~20,000 on one 2-vCPU node; scale with the domain's data
    /// nodes and their vCPUs.
    pub domain_docs_per_sec: f64,
    /// Workers at once over all runs (the stack's `MaxConcurrentRuns` × `MapMaxConcurrency`, default 2 × 20 = 40).
    pub worker_concurrency: u64,
    /// Worker memory in MB (the stack's `WorkerMemoryMB`, default 2048).
    pub worker_memory_mb: u64,
    /// Dispatcher and finalizer memory in MB (512 in the stack).
    pub function_memory_mb: u64,
    /// Worker seconds per shard beyond converting rows (start, footer,
    /// result).
    pub worker_seconds_per_shard: f64,
    /// Dispatcher + finalizer seconds per execution (start, manifest, ledger).
    pub function_seconds_per_execution: f64,
    /// Dispatcher + finalizer seconds per object (footer, ledger entry).
    pub function_seconds_per_object: f64,
    /// Wall seconds per execution beyond its workers (Dispatch, Finalize,
    /// the Map Run starting).
    pub wall_seconds_per_execution: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            worker_cpu_us_per_row: 7.0,
            domain_docs_per_sec: 20_000.0,
            worker_concurrency: 40,
            worker_memory_mb: 2048,
            function_memory_mb: 512,
            worker_seconds_per_shard: 0.5,
            function_seconds_per_execution: 2.0,
            function_seconds_per_object: 0.02,
            wall_seconds_per_execution: 10.0,
        }
    }
}

/// Lambda gives a function one vCPU at this much memory, and CPU in
/// proportion below it
/// (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html>).
pub const MB_PER_VCPU: f64 = 1769.0;

/// Everything an estimate depends on besides the objects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CostModel {
    /// Prices.
    pub prices: Prices,
    /// Throughput figures.
    pub rates: Rates,
    /// Objects per execution: a backfill's per-run cap, or the pipe's batch
    /// of notifications for live traffic.
    pub objects_per_execution: u64,
    /// Target compressed size of a shard in bytes (the stack's `TargetShardMB`).
    pub target_shard_bytes: u64,
}

impl Default for CostModel {
    fn default() -> Self {
        CostModel {
            prices: Prices::default(),
            rates: Rates::default(),
            objects_per_execution: lakeship::pipeline::backfill::DEFAULT_MAX_OBJECTS_PER_RUN as u64,
            target_shard_bytes: PlanOptions::default().target_shard_bytes,
        }
    }
}

/// The planned work of one execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExecutionLoad {
    /// Objects.
    pub num_objects: u64,
    /// Row groups.
    pub num_row_groups: u64,
    /// Rows.
    pub num_rows: u64,
    /// Shards (worker invocations).
    pub num_shards: u64,
    /// Shard pieces (a worker reads one footer per piece).
    pub num_pieces: u64,
}

/// The planned work: one entry per execution.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// Bytes of the objects.
    pub num_bytes: u64,
    /// The executions, in order.
    pub executions: Vec<ExecutionLoad>,
}

impl Workload {
    /// Plans `footers` in groups of `model.objects_per_execution`, as the
    /// dispatcher would.
    pub fn plan(footers: &[ParquetFooter], model: &CostModel) -> Workload {
        Self::plan_scaled(footers, model, 1)
    }

    /// Plans `factor` copies of `footers` one after another (a sample of
    /// some accounts standing for an estate of `factor` times as many), in
    /// groups of `model.objects_per_execution` as the dispatcher would.
    pub fn plan_scaled(footers: &[ParquetFooter], model: &CostModel, factor: u64) -> Workload {
        let group = usize::try_from(model.objects_per_execution.max(1)).unwrap_or(usize::MAX);
        let options = PlanOptions { target_shard_bytes: model.target_shard_bytes, ..PlanOptions::default() };
        let num_objects = footers.len().saturating_mul(usize::try_from(factor).unwrap_or(usize::MAX));
        let mut executions = Vec::with_capacity(num_objects.div_ceil(group));
        let mut chunk = Vec::with_capacity(group.min(num_objects));
        for index in 0..num_objects {
            chunk.push(footers[index % footers.len()].clone());
            if chunk.len() == group || index + 1 == num_objects {
                executions.push(Self::execution(&chunk, options));
                chunk.clear();
            }
        }
        let num_bytes = footers.iter().filter_map(|footer| footer.object.size).sum::<u64>() * factor;
        Workload { num_bytes, executions }
    }

    fn execution(footers: &[ParquetFooter], options: PlanOptions) -> ExecutionLoad {
        let (shards, _) = plan_shards("estimate", footers, options);
        ExecutionLoad {
            num_objects: footers.len() as u64,
            num_row_groups: footers.iter().map(|footer| footer.num_row_groups() as u64).sum(),
            num_rows: footers.iter().map(ParquetFooter::num_rows).sum(),
            num_shards: shards.len() as u64,
            num_pieces: shards.iter().map(|shard| shard.pieces.len() as u64).sum(),
        }
    }

    /// The sums over all executions.
    pub fn total(&self) -> ExecutionLoad {
        self.executions.iter().fold(ExecutionLoad::default(), |sum, e| ExecutionLoad {
            num_objects: sum.num_objects + e.num_objects,
            num_row_groups: sum.num_row_groups + e.num_row_groups,
            num_rows: sum.num_rows + e.num_rows,
            num_shards: sum.num_shards + e.num_shards,
            num_pieces: sum.num_pieces + e.num_pieces,
        })
    }
}

/// What limits the rate of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The domain's ingest rate: more workers only wait longer.
    Domain,
    /// The workers (their number, or the shards to run).
    Workers,
    /// Nothing to do.
    Nothing,
}

/// The estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The planned work, summed.
    pub total: ExecutionLoad,
    /// Bytes of the objects.
    pub num_bytes: u64,
    /// Executions.
    pub num_executions: u64,
    /// Step Functions state transitions.
    pub num_state_transitions: u64,
    /// Their price.
    pub state_transitions_cost: f64,
    /// Lambda invocations (dispatcher, workers, finalizer).
    pub num_lambda_requests: u64,
    /// Lambda GB-seconds (dispatcher, workers, finalizer).
    pub lambda_gb_seconds: f64,
    /// Of which workers.
    pub worker_gb_seconds: f64,
    /// Lambda price (requests and duration).
    pub lambda_cost: f64,
    /// S3 GET requests (footers, row groups, results).
    pub num_s3_gets: u64,
    /// S3 PUT requests (manifests, shard lists, results).
    pub num_s3_puts: u64,
    /// Their price.
    pub s3_cost: f64,
    /// Everything above.
    pub total_cost: f64,
    /// Wall time, executions one after another.
    pub wall_seconds: f64,
    /// Rows per second over the wall time.
    pub rows_per_sec: f64,
    /// What limits the rate (of the execution with the most rows).
    pub bound: Bound,
}

/// One worker's rows per second at its memory setting.
pub fn worker_rows_per_sec(rates: &Rates) -> f64 {
    let vcpu = (rates.worker_memory_mb as f64 / MB_PER_VCPU).min(1.0);
    vcpu / (rates.worker_cpu_us_per_row.max(f64::MIN_POSITIVE) / 1e6)
}

/// The estimate of `workload` under `model`.
pub fn estimate(workload: &Workload, model: &CostModel) -> Estimate {
    let (rates, prices) = (&model.rates, &model.prices);
    let total = workload.total();
    let num_executions = workload.executions.len() as u64;
    let per_worker = worker_rows_per_sec(rates);
    let (mut worker_seconds, mut wall_seconds, mut bound, mut largest) = (0.0, 0.0, Bound::Nothing, 0);
    for execution in &workload.executions {
        let workers = rates.worker_concurrency.min(execution.num_shards).max(1) as f64;
        let by_workers = workers * per_worker;
        let rate = by_workers.min(rates.domain_docs_per_sec.max(f64::MIN_POSITIVE));
        let seconds = execution.num_rows as f64 / rate;
        // Every running worker is billed for the whole time its execution delivers.
        worker_seconds += seconds * workers + execution.num_shards as f64 * rates.worker_seconds_per_shard;
        wall_seconds += seconds + rates.wall_seconds_per_execution;
        if execution.num_rows >= largest && execution.num_rows > 0 {
            largest = execution.num_rows;
            bound = if by_workers > rates.domain_docs_per_sec { Bound::Domain } else { Bound::Workers };
        }
    }
    let gb = |mb: u64| mb as f64 / 1024.0;
    let worker_gb_seconds = worker_seconds * gb(rates.worker_memory_mb);
    let function_seconds =
        num_executions as f64 * rates.function_seconds_per_execution + total.num_objects as f64 * rates.function_seconds_per_object;
    let lambda_gb_seconds = worker_gb_seconds + function_seconds * gb(rates.function_memory_mb);
    let num_lambda_requests = 2 * num_executions + total.num_shards;
    let lambda_cost = lambda_gb_seconds * prices.lambda_gb_second + num_lambda_requests as f64 * prices.lambda_request;
    let num_state_transitions = 4 * num_executions + 2 * total.num_shards;
    let state_transitions_cost = num_state_transitions as f64 * prices.state_transition;
    // Dispatcher: a footer per object. Workers: a footer per piece, a range per
    // row group. Map: the shard list; finalizer: the manifest and every result.
    let num_s3_gets = total.num_objects + total.num_pieces + total.num_row_groups + 2 * num_executions + total.num_shards;
    // Dispatcher: manifest and shard list; workers: a result each.
    let num_s3_puts = 2 * num_executions + total.num_shards;
    let s3_cost = num_s3_gets as f64 * prices.s3_get + num_s3_puts as f64 * prices.s3_put;
    Estimate {
        total,
        num_bytes: workload.num_bytes,
        num_executions,
        num_state_transitions,
        state_transitions_cost,
        num_lambda_requests,
        lambda_gb_seconds,
        worker_gb_seconds,
        lambda_cost,
        num_s3_gets,
        num_s3_puts,
        s3_cost,
        total_cost: state_transitions_cost + lambda_cost + s3_cost,
        wall_seconds,
        rows_per_sec: if wall_seconds > 0.0 { total.num_rows as f64 / wall_seconds } else { 0.0 },
        bound,
    }
}

#[cfg(test)]
pub(crate) mod test_lake {
    use lakeship::object::{ObjectRef, ObjectStore};
    use lakeship::reader::{DEFAULT_FOOTER_HINT, ParquetFooter, read_footer};
    use lakeship_sample::{SampleOptions, generate};

    /// The objects `options` generates into `dir`, and their footers.
    pub(crate) async fn sample_footers(
        options: &SampleOptions,
        dir: &std::path::Path,
    ) -> (Vec<lakeship_sample::GeneratedObject>, Vec<ParquetFooter>) {
        let objects = generate(options, dir).expect("sample objects");
        let mut footers = Vec::new();
        for object in &objects {
            let object = ObjectRef::local(dir.join(&object.path));
            footers.push(read_footer(&ObjectStore::local_only(), &object, DEFAULT_FOOTER_HINT).await.expect("footer"));
        }
        (objects, footers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() <= expected.abs() * 1e-9 + 1e-12, "{actual} != {expected}");
    }

    /// A known plan: two executions, the first bound by the domain, the
    /// second (one shard) by its single worker.
    #[test]
    fn the_arithmetic_of_a_known_plan() {
        let workload = Workload {
            num_bytes: 3_000_000_000,
            executions: vec![
                ExecutionLoad { num_objects: 100, num_row_groups: 300, num_rows: 10_000_000, num_shards: 50, num_pieces: 120 },
                ExecutionLoad { num_objects: 2, num_row_groups: 2, num_rows: 100_000, num_shards: 1, num_pieces: 2 },
            ],
        };
        let rates = Rates {
            worker_cpu_us_per_row: 10.0, // 100,000 rows/s per vCPU
            domain_docs_per_sec: 1_000_000.0,
            worker_concurrency: 20,
            worker_memory_mb: 1769, // exactly one vCPU
            function_memory_mb: 512,
            worker_seconds_per_shard: 1.0,
            function_seconds_per_execution: 2.0,
            function_seconds_per_object: 0.01,
            wall_seconds_per_execution: 10.0,
        };
        let model = CostModel { rates, ..CostModel::default() };
        let e = estimate(&workload, &model);
        assert_eq!(e.total.num_rows, 10_100_000);
        assert_eq!(e.num_executions, 2);
        // 4 per execution, 2 per shard.
        assert_eq!(e.num_state_transitions, 4 * 2 + 2 * 51);
        close(e.state_transitions_cost, 110.0 * 0.025 / 1000.0);
        // Execution 1: 20 workers x 100k = 2M rows/s > 1M domain: 10 s at the
        // domain's rate, 20 workers billed 10 s each, + 50 shards x 1 s.
        // Execution 2: one worker, 100k rows/s: 1 s, + 1 s for its shard.
        let worker_seconds = 10.0 * 20.0 + 50.0 + 1.0 + 1.0;
        close(e.worker_gb_seconds, worker_seconds * 1769.0 / 1024.0);
        let function_seconds = 2.0 * 2.0 + 102.0 * 0.01;
        close(e.lambda_gb_seconds, e.worker_gb_seconds + function_seconds * 0.5);
        assert_eq!(e.num_lambda_requests, 2 * 2 + 51);
        close(e.lambda_cost, e.lambda_gb_seconds * 0.000_013_333_4 + 55.0 * 0.20 / 1e6);
        // GETs: 102 footers (dispatcher) + 122 piece footers + 302 row groups + 2x2 lists/manifests + 51 results.
        assert_eq!(e.num_s3_gets, 102 + 122 + 302 + 4 + 51);
        assert_eq!(e.num_s3_puts, 4 + 51);
        close(e.s3_cost, 581.0 * 0.0004 / 1000.0 + 55.0 * 0.005 / 1000.0);
        close(e.total_cost, e.state_transitions_cost + e.lambda_cost + e.s3_cost);
        close(e.wall_seconds, 10.0 + 10.0 + 1.0 + 10.0);
        close(e.rows_per_sec, 10_100_000.0 / 31.0);
        assert_eq!(e.bound, Bound::Domain, "the largest execution waits for the domain");
    }

    #[test]
    fn a_worker_below_one_vcpu_converts_proportionally_slower() {
        let rates = Rates { worker_cpu_us_per_row: 5.0, worker_memory_mb: 1769 / 2, ..Rates::default() };
        close(worker_rows_per_sec(&rates), (884.0 / 1769.0) * 200_000.0);
        let rates = Rates { worker_memory_mb: 10_240, ..rates };
        close(worker_rows_per_sec(&rates), 200_000.0);
    }

    /// Ten small objects (two row groups each) in executions of two: five
    /// executions, the objects of each packed into one shard.
    #[tokio::test]
    async fn plans_footers_in_executions_as_the_dispatcher_would() {
        use lakeship_sample::{SampleClass, SampleOptions};

        let dir = tempfile::tempdir().expect("tempdir");
        let options = SampleOptions::default()
            .with_classes(vec![SampleClass::NetworkActivity])
            .with_rows_per_object(200)
            .with_row_group_rows(100)
            .with_objects_per_class(5)
            .with_end_time_millis(1_710_460_800_000);
        let (objects, footers) = test_lake::sample_footers(&options, dir.path()).await;
        let model = CostModel { objects_per_execution: 2, ..CostModel::default() };
        let workload = Workload::plan(&footers, &model);
        let counts: Vec<(u64, u64, u64)> = workload.executions.iter().map(|e| (e.num_objects, e.num_row_groups, e.num_shards)).collect();
        assert_eq!(objects.len(), 10, "5 objects in each of the 2 OCSF versions");
        assert_eq!(counts, [(2, 4, 1), (2, 4, 1), (2, 4, 1), (2, 4, 1), (2, 4, 1)]);
        assert_eq!(workload.total().num_rows, 2_000);
        assert_eq!(
            workload.num_bytes,
            objects.iter().map(|o| std::fs::metadata(dir.path().join(&o.path)).expect("size").len()).sum::<u64>()
        );
        let one_shard_each = CostModel { target_shard_bytes: 1, ..model };
        assert_eq!(Workload::plan(&footers, &one_shard_each).total().num_shards, 20, "a shard per row group");
        // Ten objects three times over, in executions of four: 30 objects in 8 executions, the last of two.
        let model = CostModel { objects_per_execution: 4, ..model };
        let scaled = Workload::plan_scaled(&footers, &model, 3);
        assert_eq!(scaled.executions.len(), 8);
        assert_eq!(scaled.executions.last().map(|e| e.num_objects), Some(2));
        assert_eq!(scaled.total().num_rows, 6_000);
        assert_eq!(scaled.num_bytes, 3 * workload.num_bytes);
    }

    #[test]
    fn nothing_to_do_costs_nothing() {
        let e = estimate(&Workload::default(), &CostModel::default());
        assert_eq!((e.num_executions, e.num_state_transitions, e.num_lambda_requests, e.bound), (0, 0, 0, Bound::Nothing));
        close(e.total_cost, 0.0);
    }
}
