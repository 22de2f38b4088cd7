//! `lakeship dashboards`: write the OpenSearch Dashboards saved objects,
//! import them into Dashboards, or check their queries against a cluster.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use lakeship::config::Config;
use lakeship::time::{format_utc_minutes, now_millis};
use lakeship_ops::dashboards::import::{DashboardsClient, ImportOptions};
use lakeship_ops::dashboards::query::TimeRange;
use lakeship_ops::dashboards::render::{RenderContext, render_dashboard, render_index};
use lakeship_ops::dashboards::verify::{IndexedClass, Verdict, VisReport, indexed_classes};
use lakeship_ops::dashboards::{self, SavedObjectFile, catalog};
use lakeship_sample::{parse_duration_millis, parse_rfc3339_millis};

use crate::common::{check_opensearch, human_count};
use crate::config_args::{IndexNameArgs, LedgerArgs, OpenSearchArgs, RegionArgs, load};

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
    Render(RenderArgs),
    Generate(GenerateArgs),
}

/// Import the dashboards into OpenSearch Dashboards through its saved-objects
/// API (per file, replacing objects with the same ids), after checking that
/// the security plugin puts them in the tenant asked for; prints what was
/// really written.
///
/// Authentication is that of OpenSearch (--auth basic with LAKESHIP_PASSWORD,
/// or --auth sigv4, signed for service es). On Amazon OpenSearch Service the
/// URL is the domain endpoint followed by /_dashboards.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  lakeship dashboards import --auth sigv4 \\\n      --url https://search-x.eu-west-1.es.amazonaws.com/_dashboards"
)]
struct ImportArgs {
    /// OpenSearch Dashboards base URL, e.g. http://127.0.0.1:5601
    #[arg(long, value_name = "DASHBOARDS_URL")]
    url: String,
    /// Saved-objects files (.ndjson) or folders of them [default: the dashboards built into lakeship]
    #[arg(value_name = "FILE_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// Keep objects that already exist instead of replacing them (the others are written).
    #[arg(long)]
    no_overwrite: bool,
    /// Security plugin tenant to import into, e.g. global or private (default: the user's default tenant);
    /// nothing is written when the security plugin would use another one.
    #[arg(long, value_name = "TENANT")]
    tenant: Option<String>,
    #[command(flatten)]
    opensearch: OpenSearchArgs,
    #[command(flatten)]
    region: RegionArgs,
}

/// The time range of the panels' queries.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Time range")]
struct RangeArgs {
    /// This long up to now, e.g. 24h, 7d
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["from", "to"])]
    last: Option<String>,
    /// Start of the time range (RFC 3339)
    #[arg(long, value_name = "TIME", requires = "to")]
    from: Option<String>,
    /// End of the time range (RFC 3339)
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,
}

/// Run every visualization's query on an OpenSearch cluster and check the
/// fields it uses; prints documents and buckets per panel.
///
/// The indices are refreshed first. Fails when a panel uses a field it
/// cannot, or shows no data although its index pattern holds documents in
/// the time range (or the ledger records rows indexed for its class). A
/// panel whose own query selects nothing (e.g. failed objects on a healthy
/// run) is empty by design, not a failure.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lakeship dashboards verify --endpoint http://127.0.0.1:9200 --last 24h\n  lakeship dashboards verify dashboards/network-activity.ndjson"
)]
struct VerifyArgs {
    #[command(flatten)]
    check: CheckArgs,
}

/// Draw the dashboards from the cluster's data: one self-contained HTML
/// page per dashboard and an index page, every panel drawn from the answer
/// of its real query (time series, bars, donuts, heat maps, tables, numbers
/// as the saved objects define them). Open DIR/index.html in a browser; the
/// pages load nothing from the network. Default time range: the last 24 hours.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  lakeship dashboards render --out ./dashboards-html\n  lakeship dashboards render --out /tmp/d --last 7d --auth sigv4 \\\n      --endpoint https://search-x.eu-west-1.es.amazonaws.com"
)]
struct RenderArgs {
    /// Folder to write the pages into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    check: CheckArgs,
}

/// What `verify` and `render` check: the saved objects, and the cluster,
/// time range and index names to run their queries against.
#[derive(Debug, Args)]
struct CheckArgs {
    /// Saved-objects files (.ndjson) or folders of them [default: the dashboards built into lakeship]
    #[arg(value_name = "FILE_OR_DIR")]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    range: RangeArgs,
    #[command(flatten)]
    opensearch: OpenSearchArgs,
    #[command(flatten)]
    region: RegionArgs,
    #[command(flatten)]
    index_names: IndexNameArgs,
    #[command(flatten)]
    ledger: LedgerArgs,
}

impl CheckArgs {
    fn load(&self, file: Option<&Path>) -> anyhow::Result<Config> {
        load(file, &[&self.opensearch, &self.region, &self.index_names, &self.ledger])
    }
}

/// Write the saved-objects files from the dashboards' definitions.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lakeship dashboards generate --out dashboards")]
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
        DashboardsCommand::Render(args) => render(&args, file).await,
        DashboardsCommand::Generate(args) => generate(&args),
    }
}

/// The saved-objects files named by `inputs` (files or folders), or the
/// built-in dashboards when none is named; validated.
fn load_files(inputs: &[PathBuf]) -> anyhow::Result<Vec<SavedObjectFile>> {
    if inputs.is_empty() {
        return Ok(catalog::files());
    }
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
    let config = load(file, &[&args.opensearch, &args.region])?;
    let files = load_files(&args.inputs)?;
    let client = DashboardsClient::from_config(&config, &args.url).await?;
    let options = ImportOptions { overwrite: !args.no_overwrite, tenant: args.tenant.clone() };
    let mut num_failed = 0;
    for saved in &files {
        let outcome = client
            .import_file(&saved.name, saved.to_ndjson().as_bytes(), &options)
            .await
            .with_context(|| format!("importing {} into {} failed", saved.name, client.url()))?;
        let tenant = outcome.tenant.as_deref().map(|tenant| format!(" into tenant {tenant}")).unwrap_or_default();
        println!("{}: wrote {} of {} objects{tenant}", saved.name, outcome.written.len(), saved.objects.len());
        for kept in &outcome.kept {
            println!("  kept as it is (exists): {} {:?}", kept.object, kept.title);
        }
        for failure in &outcome.failures {
            println!("  not written: {} {:?}: {} {}", failure.object, failure.title, failure.error, failure.detail);
        }
        if !outcome.withheld.is_empty() {
            println!(
                "  not written either ({} object(s)): Dashboards writes nothing of a file while an object conflicts or misses a reference",
                outcome.withheld.len()
            );
        }
        num_failed += usize::from(!outcome.success());
    }
    if num_failed > 0 {
        anyhow::bail!("{num_failed} of {} files were not fully written", files.len());
    }
    Ok(())
}

/// What verify and render share: the files (pointed at the configured index
/// names), the reports of every panel and their verdicts.
struct Checked {
    files: Vec<SavedObjectFile>,
    reports: Vec<VisReport>,
    verdicts: HashMap<String, Verdict>,
}

async fn check(config: &Config, inputs: &[PathBuf], range: Option<TimeRange>) -> anyhow::Result<Checked> {
    let files = dashboards::for_index_names(&load_files(inputs)?, &config.index_prefix, &config.ledger_index);
    let client = config.client().await?;
    check_opensearch(&client).await?;
    let reports = dashboards::verify::verify(&client, &files, range).await?;
    let indexed: Vec<IndexedClass> = indexed_classes(&client, &config.ledger_index).await?;
    let verdicts = reports.iter().map(|report| (report.query.id.clone(), report.verdict(&indexed, &config.index_prefix))).collect();
    Ok(Checked { files, reports, verdicts })
}

async fn verify(args: &VerifyArgs, file: Option<&Path>) -> anyhow::Result<()> {
    let config = args.check.load(file)?;
    let range = time_range(&args.check.range)?;
    let checked = check(&config, &args.check.inputs, range).await?;
    let mut current_file = "";
    for report in &checked.reports {
        if report.file != current_file {
            current_file = &report.file;
            println!("{} ({}: {} documents in the time range)", report.file, report.query.index, human_count(report.pattern.in_range));
            println!("{:>10} {:>8} {:>6}  panel", "documents", "buckets", "rows");
        }
        println!("{:>10} {:>8} {:>6}  {}", human_count(report.num_hits), report.num_buckets, report.num_rows, report.query.title);
        match &checked.verdicts[&report.query.id] {
            Verdict::Data => {}
            Verdict::Failed(reason) => println!("{:>28}FAILED: {reason}", ""),
            Verdict::EmptyByDesign(reason) => println!("{:>28}empty by design: {reason}", ""),
            Verdict::OutOfRange => println!("{:>28}no documents in the time range", ""),
            Verdict::NothingIndexed => println!("{:>28}nothing indexed for this dashboard yet", ""),
        }
    }
    let count = |wanted: fn(&Verdict) -> bool| checked.verdicts.values().filter(|verdict| wanted(verdict)).count();
    println!(
        "{} panels: {} show data, {} empty by design, {} without data in the time range or indexed, {} failing",
        checked.reports.len(),
        count(|verdict| matches!(verdict, Verdict::Data)),
        count(|verdict| matches!(verdict, Verdict::EmptyByDesign(_))),
        count(|verdict| matches!(verdict, Verdict::OutOfRange | Verdict::NothingIndexed)),
        count(Verdict::is_failure),
    );
    let failing: Vec<&str> = checked
        .reports
        .iter()
        .filter(|report| checked.verdicts[&report.query.id].is_failure())
        .map(|report| report.query.title.as_str())
        .collect();
    if !failing.is_empty() {
        anyhow::bail!("{} panel(s) show no data or use fields they cannot: {}", failing.len(), failing.join("; "));
    }
    Ok(())
}

async fn render(args: &RenderArgs, file: Option<&Path>) -> anyhow::Result<()> {
    let config = args.check.load(file)?;
    let range = match time_range(&args.check.range)? {
        Some(range) => range,
        None => last(parse_duration_millis("24h").map_err(anyhow::Error::msg)?),
    };
    let checked = check(&config, &args.check.inputs, Some(range)).await?;
    let context = RenderContext {
        source: config.endpoint.as_deref().map(lakeship::config::mask_url).unwrap_or_default(),
        range: format!("{} to {} UTC", format_utc_minutes(range.from), format_utc_minutes(range.to)),
        generated_at: format!("{} UTC", format_utc_minutes(now_millis())),
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut pages = Vec::new();
    for saved in &checked.files {
        if !saved.objects.iter().any(|object| object.kind == "dashboard") {
            continue;
        }
        let reports: Vec<VisReport> = checked.reports.iter().filter(|report| report.file == saved.name).cloned().collect();
        let page = render_dashboard(saved, &reports, &checked.verdicts, &context)?;
        let path = args.out.join(&page.file_name);
        std::fs::write(&path, &page.html).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{:>3} of {:>2} panels with data  {}", page.num_with_data, page.num_queried, path.display());
        pages.push(page);
    }
    let index = args.out.join("index.html");
    std::fs::write(&index, render_index(&pages, &context)).with_context(|| format!("cannot write {}", index.display()))?;
    let failing = pages.iter().map(|page| page.num_failed).sum::<usize>();
    if failing > 0 {
        eprintln!("warning: {failing} panel(s) have no data although they should (run `lakeship dashboards verify` for why)");
    }
    println!("{} dashboards drawn: open {}", pages.len(), index.display());
    Ok(())
}

fn last(millis: i64) -> TimeRange {
    let now = now_millis();
    TimeRange { from: now - millis, to: now }
}

fn time_range(args: &RangeArgs) -> anyhow::Result<Option<TimeRange>> {
    if let Some(duration) = &args.last {
        return Ok(Some(last(parse_duration_millis(duration).map_err(anyhow::Error::msg)?)));
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
