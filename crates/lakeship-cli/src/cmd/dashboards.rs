//! `lakeship dashboards`: write the OpenSearch Dashboards saved objects,
//! import them into Dashboards, or check their queries against a cluster.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use lakeship::dashboards::import::{DashboardsClient, ImportOptions, import_request};
use lakeship::dashboards::query::TimeRange;
use lakeship::dashboards::{self, SavedObjectFile, catalog};
use lakeship::sample::{parse_duration_millis, parse_rfc3339_millis};

use crate::common::human_count;
use crate::config_args::ConfigArgs;

/// OpenSearch Dashboards saved objects: security findings, network, DNS and
/// API activity, and the pipeline's health.
#[derive(Debug, Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    command: DashboardsCommand,
}

#[derive(Debug, Subcommand)]
enum DashboardsCommand {
    Import(ImportArgs),
    Verify(VerifyArgs),
    Generate(GenerateArgs),
}

/// Import the dashboards into OpenSearch Dashboards through its saved-objects
/// API (one request per file, replacing objects with the same ids).
///
/// Authentication is that of OpenSearch (--auth basic with LAKESHIP_PASSWORD,
/// or --auth sigv4, signed for service es). On Amazon OpenSearch Service the
/// URL is the domain endpoint followed by /_dashboards.
///
/// Example: lakeship dashboards import --url https://search-x.eu-west-1.es.amazonaws.com/_dashboards --auth sigv4
#[derive(Debug, Args)]
struct ImportArgs {
    /// OpenSearch Dashboards base URL, e.g. http://127.0.0.1:5601
    #[arg(long, value_name = "DASHBOARDS_URL")]
    url: String,
    /// Saved-objects files (.ndjson) or folders of them.
    #[arg(default_value = dashboards::DASHBOARDS_DIR, value_name = "FILE_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Keep objects that already exist (reported as conflicts) instead of replacing them.
    #[arg(long)]
    no_overwrite: bool,
    /// Security plugin tenant to import into, e.g. global (default: the user's current tenant).
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Run every visualization's query on an OpenSearch cluster and check the
/// fields it uses: prints buckets per visualization, fails on any problem.
///
/// Example: lakeship dashboards verify --endpoint http://127.0.0.1:9200 --last 24h
#[derive(Debug, Args)]
struct VerifyArgs {
    /// Saved-objects files (.ndjson) or folders of them.
    #[arg(default_value = dashboards::DASHBOARDS_DIR, value_name = "FILE_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Time range: this long up to now, e.g. 24h, 7d (default: all time).
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    last: Option<String>,
    /// Start of the time range (RFC 3339).
    #[arg(long, value_name = "TIME", requires = "to")]
    from: Option<String>,
    /// End of the time range (RFC 3339).
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Write the saved-objects files from the dashboards' definitions.
///
/// Example: lakeship dashboards generate --out dashboards
#[derive(Debug, Args)]
struct GenerateArgs {
    /// Output folder.
    #[arg(long, default_value = dashboards::DASHBOARDS_DIR, value_name = "DIR")]
    out: PathBuf,
    /// Write nothing; fail when the folder differs from a fresh generation.
    #[arg(long)]
    check: bool,
}

pub async fn run(args: DashboardsArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match args.command {
        DashboardsCommand::Import(args) => import(&args, file).await,
        DashboardsCommand::Verify(args) => verify(&args, file).await,
        DashboardsCommand::Generate(args) => generate(&args),
    }
}

/// The saved-objects files named by `inputs` (files or folders), validated.
fn load(inputs: &[PathBuf]) -> anyhow::Result<Vec<SavedObjectFile>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            files.extend(dashboards::read_dir(input)?);
        } else {
            files.push(dashboards::read_file(input)?);
        }
    }
    if files.is_empty() {
        anyhow::bail!("no .ndjson files in {}", inputs.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "));
    }
    dashboards::validate(&files)?;
    Ok(files)
}

async fn import(args: &ImportArgs, file: Option<&Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let files = load(&args.inputs)?;
    let client = DashboardsClient::from_config(&config, &args.url).await?;
    let options = ImportOptions { overwrite: !args.no_overwrite, tenant: args.tenant.clone() };
    let mut num_failed = 0;
    for saved in &files {
        let request = import_request(&saved.name, saved.to_ndjson().as_bytes(), &options)?;
        let outcome = client.import(&request).await.with_context(|| format!("importing {} into {} failed", saved.name, client.url()))?;
        println!("{}: {} of {} objects imported", saved.name, outcome.num_imported, saved.objects.len());
        for failure in &outcome.failures {
            println!("  not imported: {} {:?}: {} {}", failure.object, failure.title, failure.error, failure.detail);
        }
        num_failed += usize::from(!outcome.success);
    }
    if num_failed > 0 {
        let hint = if args.no_overwrite { " (objects that exist are kept with --no-overwrite)" } else { "" };
        anyhow::bail!("{num_failed} of {} files were not fully imported{hint}", files.len());
    }
    Ok(())
}

async fn verify(args: &VerifyArgs, file: Option<&Path>) -> anyhow::Result<()> {
    let config = args.config.load(file)?;
    let files = load(&args.inputs)?;
    let range = time_range(args)?;
    let client = config.client().await?;
    let reports = dashboards::verify::verify(&client, &files, range).await?;
    println!("{:>10} {:>8} {:>6}  visualization", "documents", "buckets", "rows");
    for report in &reports {
        println!(
            "{:>10} {:>8} {:>6}  {} ({})",
            human_count(report.num_hits),
            report.num_buckets,
            report.num_rows,
            report.query.title,
            report.query.index
        );
        for problem in &report.problems {
            println!("{:>27}problem: {problem}", "");
        }
    }
    let failing = reports.iter().filter(|report| !report.is_ok()).count();
    if failing > 0 {
        anyhow::bail!("{failing} of {} visualizations show no data or use fields they cannot", reports.len());
    }
    println!("{} visualizations show data", reports.len());
    Ok(())
}

fn time_range(args: &VerifyArgs) -> anyhow::Result<Option<TimeRange>> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or(0);
    if let Some(last) = &args.last {
        let millis = parse_duration_millis(last).map_err(anyhow::Error::msg)?;
        return Ok(Some(TimeRange { from: now - millis, to: now }));
    }
    match (&args.from, &args.to) {
        (Some(from), Some(to)) => Ok(Some(TimeRange {
            from: parse_rfc3339_millis(from).map_err(anyhow::Error::msg)?,
            to: parse_rfc3339_millis(to).map_err(anyhow::Error::msg)?,
        })),
        _ => Ok(None),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let files = catalog::files();
    dashboards::validate(&files)?;
    if args.check {
        let existing = dashboards::read_dir(&args.out)?;
        let same =
            existing.len() == files.len() && existing.iter().zip(&files).all(|(a, b)| a.name == b.name && a.to_ndjson() == b.to_ndjson());
        if !same {
            anyhow::bail!("{} is not up to date: run lakeship dashboards generate", args.out.display());
        }
        println!("{} is up to date", args.out.display());
        return Ok(());
    }
    let summary = dashboards::write_dir(&args.out, &files)?;
    for saved in &files {
        let count = |kind: &str| saved.objects.iter().filter(|object| object.kind == kind).count();
        println!("{}: {} visualizations, {} index pattern, 1 dashboard", saved.name, count("visualization"), count("index-pattern"));
    }
    println!("{}: {} files written, {} unchanged", args.out.display(), summary.num_written, summary.num_unchanged);
    Ok(())
}
