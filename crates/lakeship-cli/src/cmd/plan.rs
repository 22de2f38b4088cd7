//! `lakeship plan`: show how objects split into row groups and shards.

use clap::Args;
use lakeship::plan::{PlanOptions, PlannedObject, ShardTask, plan_shards};
use lakeship::reader::{DEFAULT_FOOTER_HINT, check_ocsf_shape, read_footer};

use crate::common::{expand_inputs, human_bytes, human_count, named};
use crate::config_args::{AwsArgs, RegionArgs, ShardArgs, load};

const EXAMPLES: &str = "\
Examples:
  lakeship plan lake/
  lakeship plan sample.gz.parquet --target-shard-mb 16
  lakeship plan s3://aws-security-data-lake-us-east-1-x/aws/VPC_FLOW/2.0/ --json > plan.json";

/// Show the row groups of Parquet objects and the shards a run would make.
///
/// Reads only each object's footer (one ranged request for most objects).
/// One object: its row groups and shards. Several: one line per object and
/// the shard totals; --json has every row group and shard.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PlanArgs {
    /// Parquet files, directories, or s3://bucket/key URLs (objects or prefixes).
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    /// Print the plan as JSON (objects and the shard manifest).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    shards: ShardArgs,
    #[command(flatten)]
    region: RegionArgs,
    #[command(flatten)]
    aws: AwsArgs,
}

pub async fn run(args: PlanArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.shards, &args.region, &args.aws])?;
    let store = config.source_store();
    let objects = expand_inputs(&store, &args.inputs).await?;
    let mut footers = Vec::with_capacity(objects.len());
    let mut num_failed = 0;
    for object in &objects {
        match read_footer(&store, object, DEFAULT_FOOTER_HINT).await.and_then(|f| check_ocsf_shape(&f).map(|()| f)) {
            Ok(footer) => footers.push(footer),
            Err(error) => {
                eprintln!("error: {}", named(error));
                num_failed += 1;
            }
        }
    }
    let options = PlanOptions::default().with_target_shard_bytes(config.target_shard_bytes);
    let (shards, planned) = plan_shards("plan", &footers, options);
    if args.json {
        let plan = serde_json::json!({ "objects": planned, "shards": shards });
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else if planned.len() == 1 {
        print_details(&planned, &shards, config.target_shard_bytes);
    } else {
        print_table(&planned, &shards, config.target_shard_bytes);
    }
    if num_failed > 0 {
        anyhow::bail!("{num_failed} object(s) could not be planned (see the errors above)");
    }
    Ok(())
}

/// One object: its row groups, then each shard.
fn print_details(planned: &[PlannedObject], shards: &[ShardTask], target: u64) {
    for object in planned {
        let bytes: u64 = object.row_groups.iter().map(|group| group.num_bytes).sum();
        println!(
            "{}  {} rows, {} row groups, {} in row groups",
            object.object,
            human_count(object.num_rows),
            object.row_groups.len(),
            human_bytes(bytes)
        );
        println!("  {:>9}  {:>12}  {:>10}", "row group", "rows", "bytes");
        for group in &object.row_groups {
            println!("  {:>9}  {:>12}  {:>10}", group.index, human_count(group.num_rows), human_bytes(group.num_bytes));
        }
    }
    println!("{} shard(s), target {}:", shards.len(), human_bytes(target));
    for shard in shards {
        let groups: Vec<String> = shard
            .pieces
            .iter()
            .map(|piece| {
                let groups = piece.row_groups();
                format!("row groups {}..{}", groups.start, groups.end - 1)
            })
            .collect();
        println!(
            "  {}  {:>12} rows  {:>10}  {}",
            shard.shard_id,
            human_count(shard.num_rows()),
            human_bytes(shard.num_bytes()),
            groups.join(", ")
        );
    }
}

/// Several objects: one line each (the object last, so long names do not
/// push the columns), then the totals.
fn print_table(planned: &[PlannedObject], shards: &[ShardTask], target: u64) {
    println!("{:>12} {:>6} {:>10} {:>6}  object", "rows", "groups", "bytes", "shards");
    for object in planned {
        let bytes: u64 = object.row_groups.iter().map(|group| group.num_bytes).sum();
        let name = object.object.to_string();
        let num_shards = shards.iter().filter(|shard| shard.pieces.iter().any(|piece| piece.object.to_string() == name)).count();
        println!(
            "{:>12} {:>6} {:>10} {:>6}  {name}",
            human_count(object.num_rows),
            object.row_groups.len(),
            human_bytes(bytes),
            num_shards
        );
    }
    let rows: u64 = planned.iter().map(|object| object.num_rows).sum();
    let groups: usize = planned.iter().map(|object| object.row_groups.len()).sum();
    let largest = shards.iter().map(ShardTask::num_bytes).max().unwrap_or(0);
    println!(
        "{} objects, {} rows, {} row groups; {} shard(s) of target {} (largest {}); every row group and shard: --json",
        planned.len(),
        human_count(rows),
        groups,
        shards.len(),
        human_bytes(target),
        human_bytes(largest)
    );
}
