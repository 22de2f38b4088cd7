//! `lakeship estimate`: what a backfill or a day of live traffic will cost.

use anyhow::Context;
use clap::Args;
use futures::StreamExt;
use lakeship::object::{Location, ObjectRef, ObjectStore};
use lakeship::pipeline::list_prefix;
use lakeship::reader::{DEFAULT_FOOTER_HINT, ParquetFooter, check_ocsf_shape, read_footer};
use lakeship_ops::estimate::{Bound, CostModel, Estimate, Prices, Rates, Workload, estimate};
use lakeship_ops::sizing::{ClassSizing, SampleVolumes, SizingTargets, layout_of, size_classes};

use crate::common::{expand_inputs, human_bytes, human_count};
use crate::config_args::ConfigArgs;

const EXAMPLES: &str = "\
Examples:
  lakeship estimate s3://aws-security-data-lake-us-east-1-x/aws/VPC_FLOW/2.0/ --since 20240301 --until 20240331
  lakeship estimate s3://aws-security-data-lake-us-east-1-x/aws/ --since 20240314 --until 20240314 --live
  lakeship estimate ./lake --concurrency 100 --domain-docs-per-sec 60000 --json
  lakeship estimate s3://aws-security-data-lake-us-east-1-x/aws/ --since 20240314 --until 20240314 --live --scale 100   # 10 of 1,000 accounts";

/// Estimate what a backfill (or a day of live traffic) will cost and how
/// long it takes, from the objects' Parquet footers alone.
///
/// Prints objects, bytes, rows and the shards the dispatcher would plan;
/// Step Functions state transitions, Lambda requests and GB-seconds, S3
/// requests, and their price; and the wall time at the worker concurrency
/// and the domain's ingest rate. Throughput defaults are the figures
/// `make bench-e2e` measured (BENCHMARKS.md); prices default to the
/// published us-east-1 prices (docs: README, "Estimating a backfill").
///
/// Then proposes an index layout (`pipeline.index_layout`): per class, rows
/// and store bytes per day, and the coarsest time suffix whose indices stay
/// within the shard targets with at most --max-shards primary shards
/// (docs/templates.md, "Index layout").
#[derive(Debug, Args)]
#[command(after_long_help = EXAMPLES)]
pub struct EstimateArgs {
    /// Parquet files, directories, or s3://bucket/key URLs (objects or prefixes).
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    /// Only Security Lake partitions (eventDay=/eventHour=) on or after this day, YYYYMMDD or YYYY-MM-DD (prefixes and directories).
    #[arg(long, value_name = "DAY")]
    since: Option<String>,
    /// Only partitions on or before this day, YYYYMMDD or YYYY-MM-DD.
    #[arg(long, value_name = "DAY")]
    until: Option<String>,
    /// Live traffic rather than a backfill: one execution per batch of --pipe-batch-size notifications.
    #[arg(long)]
    live: bool,
    /// Notifications per execution in live traffic (the stack's PipeBatchSize).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pipe_batch_size: u64,
    /// Objects per execution of a backfill (executions are chained).
    #[arg(long, env = "LAKESHIP_MAX_OBJECTS_PER_RUN", default_value_t = lakeship::pipeline::backfill::DEFAULT_MAX_OBJECTS_PER_RUN as u64, value_name = "N")]
    objects_per_execution: u64,
    /// Workers at once over all runs (the stack's MaxConcurrentRuns × MapMaxConcurrency).
    #[arg(long, default_value_t = Rates::default().worker_concurrency, value_name = "N", help_heading = "Throughput")]
    concurrency: u64,
    /// Worker memory in MB (the stack's WorkerMemoryMB).
    #[arg(long, default_value_t = Rates::default().worker_memory_mb, value_name = "MB", help_heading = "Throughput")]
    worker_memory_mb: u64,
    /// Documents per second the OpenSearch domain indexes.
    #[arg(long, default_value_t = Rates::default().domain_docs_per_sec, value_name = "N", help_heading = "Throughput")]
    domain_docs_per_sec: f64,
    /// Worker CPU microseconds per row (measured by make bench-e2e).
    #[arg(long, default_value_t = Rates::default().worker_cpu_us_per_row, value_name = "US", help_heading = "Throughput")]
    cpu_us_per_row: f64,
    /// USD per Step Functions state transition.
    #[arg(long, default_value_t = Prices::default().state_transition, value_name = "USD", help_heading = "Prices")]
    price_state_transition: f64,
    /// USD per Lambda GB-second (arm64).
    #[arg(long, default_value_t = Prices::default().lambda_gb_second, value_name = "USD", help_heading = "Prices")]
    price_lambda_gb_second: f64,
    /// USD per Lambda request.
    #[arg(long, default_value_t = Prices::default().lambda_request, value_name = "USD", help_heading = "Prices")]
    price_lambda_request: f64,
    /// USD per S3 GET request.
    #[arg(long, default_value_t = Prices::default().s3_get, value_name = "USD", help_heading = "Prices")]
    price_s3_get: f64,
    /// USD per S3 PUT request.
    #[arg(long, default_value_t = Prices::default().s3_put, value_name = "USD", help_heading = "Prices")]
    price_s3_put: f64,
    /// Multiply the sample by this (a sample of 10 of 1,000 accounts: 100); costs and the layout are for the whole.
    #[arg(long, default_value_t = 1, value_name = "N")]
    scale: u64,
    /// Days the sample covers [default: the span of the objects' time statistics, at least an hour].
    #[arg(long, value_name = "DAYS", help_heading = "Index layout")]
    days: Option<f64>,
    /// Most store GB (10^9 bytes) of one primary shard.
    #[arg(long, default_value_t = SizingTargets::default().max_shard_bytes as f64 / 1e9, value_name = "GB", help_heading = "Index layout")]
    shard_gb: f64,
    /// Most documents of one primary shard.
    #[arg(long, default_value_t = SizingTargets::default().max_shard_docs, value_name = "N", help_heading = "Index layout")]
    shard_docs: u64,
    /// Most primary shards of one index before a finer time suffix is chosen.
    #[arg(long, default_value_t = SizingTargets::default().max_shards_per_index, value_name = "N", help_heading = "Index layout")]
    max_shards: u32,
    /// Store bytes per document for every class [default: per class, measured by make bench-index].
    #[arg(long, value_name = "BYTES", help_heading = "Index layout")]
    store_bytes_per_doc: Option<f64>,
    /// Print the estimate, the workload and the model as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

impl EstimateArgs {
    fn model(&self, target_shard_bytes: u64) -> CostModel {
        CostModel {
            prices: Prices {
                state_transition: self.price_state_transition,
                lambda_gb_second: self.price_lambda_gb_second,
                lambda_request: self.price_lambda_request,
                s3_get: self.price_s3_get,
                s3_put: self.price_s3_put,
            },
            rates: Rates {
                worker_cpu_us_per_row: self.cpu_us_per_row,
                domain_docs_per_sec: self.domain_docs_per_sec,
                worker_concurrency: self.concurrency.max(1),
                worker_memory_mb: self.worker_memory_mb,
                ..Rates::default()
            },
            objects_per_execution: if self.live { self.pipe_batch_size } else { self.objects_per_execution }.max(1),
            target_shard_bytes,
        }
    }
}

pub async fn run(args: EstimateArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let store = config.source_store();
    let objects = list_inputs(&store, &args).await?;
    if objects.is_empty() {
        anyhow::bail!("no Parquet objects found in {}", args.inputs.join(", "));
    }
    let (footers, num_failed) = read_footers(&store, objects).await;
    let model = args.model(config.target_shard_bytes);
    let workload = Workload::plan_scaled(&footers, &model, args.scale);
    let estimate = estimate(&workload, &model);
    let volumes = SampleVolumes::from_footers(&footers);
    let targets = SizingTargets {
        max_shard_bytes: (args.shard_gb * 1e9) as u64,
        max_shard_docs: args.shard_docs,
        max_shards_per_index: args.max_shards.max(1),
    };
    let window_days = args.days.or_else(|| volumes.window_days()).unwrap_or(1.0);
    let sizings = size_classes(&volumes, window_days, args.scale as f64, args.store_bytes_per_doc, &targets);
    let layout = layout_of(&sizings).to_string();
    if args.json {
        let value = serde_json::json!({
            "estimate": estimate, "workload": workload, "model": model, "unreadable_objects": num_failed,
            "layout": {"index_layout": layout, "window_days": window_days, "scale": args.scale, "targets": targets,
                       "classes": sizings, "unclassified_objects": volumes.num_unclassified},
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        print_estimate(&estimate, &model, args.live, num_failed);
        print_layout(&sizings, &layout, &targets, window_days, args.scale);
    }
    Ok(())
}

/// Decimal gigabytes (megabytes below one), as the shard targets are given.
fn gigabytes(bytes: f64) -> String {
    if bytes < 1e9 { format!("{:.1} MB", bytes / 1e6) } else { format!("{:.1} GB", bytes / 1e9) }
}

fn print_layout(sizings: &[ClassSizing], layout: &str, targets: &SizingTargets, window_days: f64, scale: u64) {
    println!();
    println!(
        "index layout: the sample's {:.2} days x {scale}; at most {} GB and {} docs per primary shard, {} shards per index",
        window_days,
        targets.max_shard_bytes as f64 / 1e9,
        human_count(targets.max_shard_docs),
        targets.max_shards_per_index
    );
    println!(
        "{:>9} {:>14} {:>12}  {:<6} {:>6} {:>12} {:>12}",
        "class_uid", "rows/day", "store/day", "suffix", "shards", "docs/shard", "store/shard"
    );
    for sizing in sizings {
        println!(
            "{:>9} {:>14} {:>12}  {:<6} {:>6} {:>12} {:>12}{}",
            sizing.class_uid,
            human_count(sizing.rows_per_day.round() as u64),
            gigabytes(sizing.store_bytes_per_day),
            sizing.time_suffix.to_string(),
            sizing.num_shards,
            human_count(sizing.docs_per_shard.round() as u64),
            gigabytes(sizing.bytes_per_shard),
            if sizing.over_cap { "  (over --max-shards even hourly)" } else { "" }
        );
    }
    println!(
        "[pipeline]\nindex_layout = \"{layout}\"   # or LAKESHIP_INDEX_LAYOUT, the stack's IndexLayout; then lakeship templates install"
    );
}

async fn list_inputs(store: &ObjectStore, args: &EstimateArgs) -> anyhow::Result<Vec<ObjectRef>> {
    let day = |day: &Option<String>| day.as_ref().map(|day| day.replace('-', ""));
    let (since, until) = (day(&args.since), day(&args.until));
    if since.is_none() && until.is_none() {
        return expand_inputs(store, &args.inputs).await;
    }
    let mut objects = Vec::new();
    for input in &args.inputs {
        let location = Location::parse(input)?;
        let listed =
            list_prefix(store, &location, since.as_deref(), until.as_deref()).await.with_context(|| format!("listing {input} failed"))?;
        objects.extend(listed);
    }
    Ok(objects)
}

/// Reads the footers, 32 at a time, with a progress bar on a terminal.
/// Objects that are not readable OCSF Parquet are reported and counted.
async fn read_footers(store: &ObjectStore, objects: Vec<ObjectRef>) -> (Vec<ParquetFooter>, usize) {
    let progress = indicatif::ProgressBar::new(objects.len() as u64).with_message("footers");
    let results: Vec<_> = futures::stream::iter(objects)
        .map(|object| {
            let progress = progress.clone();
            async move {
                let footer = read_footer(store, &object, DEFAULT_FOOTER_HINT).await.and_then(|f| check_ocsf_shape(&f).map(|()| f));
                progress.inc(1);
                footer
            }
        })
        .buffered(32)
        .collect()
        .await;
    progress.finish_and_clear();
    let mut footers = Vec::with_capacity(results.len());
    let mut num_failed = 0;
    for result in results {
        match result {
            Ok(footer) => footers.push(footer),
            Err(error) => {
                eprintln!("error: {error} (not counted)");
                num_failed += 1;
            }
        }
    }
    (footers, num_failed)
}

fn usd(value: f64) -> String {
    if value < 0.01 { format!("${value:.4}") } else { format!("${value:.2}") }
}

fn duration(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

fn print_estimate(e: &Estimate, model: &CostModel, live: bool, num_failed: usize) {
    let t = &e.total;
    let what = if live { "live traffic" } else { "backfill" };
    println!(
        "{} objects, {}, {} rows in {} row groups{}",
        human_count(t.num_objects),
        human_bytes(e.num_bytes),
        human_count(t.num_rows),
        human_count(t.num_row_groups),
        if num_failed > 0 { format!(" ({num_failed} unreadable objects not counted)") } else { String::new() }
    );
    println!(
        "{what}: {} executions of at most {} objects, {} shards (target {})",
        human_count(e.num_executions),
        human_count(model.objects_per_execution),
        human_count(t.num_shards),
        human_bytes(model.target_shard_bytes)
    );
    println!();
    println!("{:<16} {:>34} {:>12}", "", "usage", "USD");
    println!(
        "{:<16} {:>34} {:>12}",
        "Step Functions",
        format!("{} state transitions", human_count(e.num_state_transitions)),
        usd(e.state_transitions_cost)
    );
    let lambda = format!("{} requests, {} GB-s", human_count(e.num_lambda_requests), human_count(e.lambda_gb_seconds.round() as u64));
    println!("{:<16} {:>34} {:>12}", "Lambda", lambda, usd(e.lambda_cost));
    println!(
        "{:<16} {:>34} {:>12}",
        "S3 requests",
        format!("{} GET, {} PUT", human_count(e.num_s3_gets), human_count(e.num_s3_puts)),
        usd(e.s3_cost)
    );
    println!("{:<16} {:>34} {:>12}", "total", "", usd(e.total_cost));
    println!();
    let rates = &model.rates;
    let bound = match e.bound {
        Bound::Domain => "bound by the domain: more workers would only wait longer",
        Bound::Workers => "bound by the workers",
        Bound::Nothing => "nothing to do",
    };
    println!(
        "wall time {} ({} rows/s), {bound}; at {} workers of {} MB, {} CPU us per row, the domain indexing {} docs/s",
        duration(e.wall_seconds),
        human_count(e.rows_per_sec.round() as u64),
        rates.worker_concurrency,
        rates.worker_memory_mb,
        rates.worker_cpu_us_per_row,
        human_count(rates.domain_docs_per_sec.round() as u64)
    );
    println!("OpenSearch itself (instances, storage) is not included; see BENCHMARKS.md for store bytes per document.");
}
