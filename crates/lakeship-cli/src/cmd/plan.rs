//! `lakeship plan`: show how objects split into row groups and shards.

use clap::Args;
use lakeship::plan::{PlanOptions, plan_shards};
use lakeship::reader::{DEFAULT_FOOTER_HINT, check_ocsf_shape, read_footer};

use crate::common::{expand_inputs, human_bytes, human_count};
use crate::config_args::ConfigArgs;

/// Show the row groups of Parquet objects and the shards a run would make.
///
/// Reads only each object's footer (one ranged request for most objects).
///
/// Example: lakeship plan s3://aws-security-data-lake-us-east-1-x/aws/VPC_FLOW/2.0/ --target-shard-mb 32
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Parquet files, directories, or s3://bucket/key URLs (objects or prefixes).
    #[arg(required = true, value_name = "PATH_OR_S3_URL")]
    inputs: Vec<String>,
    /// Print the plan as JSON (objects and the shard manifest).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: PlanArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let store = config.source_store();
    let objects = expand_inputs(&store, &args.inputs).await?;
    let mut footers = Vec::with_capacity(objects.len());
    let mut num_failed = 0;
    for object in &objects {
        match read_footer(&store, object, DEFAULT_FOOTER_HINT).await.and_then(|f| check_ocsf_shape(&f).map(|()| f)) {
            Ok(footer) => footers.push(footer),
            Err(error) => {
                eprintln!("error: {error}");
                num_failed += 1;
            }
        }
    }
    let options = PlanOptions::default().with_target_shard_bytes(config.target_shard_bytes);
    let (shards, planned) = plan_shards("plan", &footers, options);
    if args.json {
        let plan = serde_json::json!({ "objects": planned, "shards": shards });
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        for object in &planned {
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
        println!("{} shard(s), target {}:", shards.len(), human_bytes(config.target_shard_bytes));
        for shard in &shards {
            let pieces: Vec<String> = shard
                .pieces
                .iter()
                .map(|piece| {
                    let groups = piece.row_groups();
                    format!("{} [row groups {}..{}]", piece.object, groups.start, groups.end - 1)
                })
                .collect();
            println!(
                "  {}  {:>12} rows  {:>10}  {}",
                shard.shard_id,
                human_count(shard.num_rows()),
                human_bytes(shard.num_bytes()),
                pieces.join(", ")
            );
        }
    }
    if num_failed > 0 {
        anyhow::bail!("{num_failed} object(s) could not be planned (see the errors above)");
    }
    Ok(())
}
