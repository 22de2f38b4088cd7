//! `lakeship templates`: generate OpenSearch templates from the OCSF schema,
//! print their install plan or install them, or import OCSF schema source
//! trees into `schema/`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use lakeship_ops::templates::{self, GenerateOptions, Generated, InstallKind, SchemaSource};

use crate::common::check_opensearch;
use crate::config_args::{IndexLayoutArgs, OpenSearchArgs, RegionArgs, load};

/// Generate OpenSearch index templates from the OCSF schema, or install them.
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    #[command(subcommand)]
    command: TemplatesCommand,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    Generate(GenerateArgs),
    Install(Box<InstallArgs>),
    Plan(PlanArgs),
    ImportSchema(ImportSchemaArgs),
}

/// Compile the OCSF schema into component templates, one index template per
/// event class and version, and an ISM policy; print fields per class.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lakeship templates generate --schema schema --out templates")]
struct GenerateArgs {
    /// Folder of compact schema files (ocsf-<version>.json) or OCSF source trees [default: the schema built into lakeship]
    #[arg(long, value_name = "DIR")]
    schema: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "templates", value_name = "DIR")]
    out: PathBuf,
    /// Object levels mapped below the document root (src_endpoint is 1, actor.process.file 3).
    #[arg(long, default_value_t = templates::DEFAULT_DEPTH, value_name = "N")]
    depth: usize,
    /// Bridge aliases file (default: <schema>/aliases.json when present, or the built-in aliases).
    #[arg(long, value_name = "FILE")]
    aliases: Option<PathBuf>,
    /// Write nothing; fail when the output folder differs from a fresh generation.
    #[arg(long)]
    check: bool,
    /// Also print every object attribute the depth limit left out.
    #[arg(long)]
    show_cuts: bool,
}

/// Install the OCSF index templates (and the ledger's) into OpenSearch,
/// idempotently: the templates built into lakeship, or those of a folder.
/// The primary shards of the index layout (`pipeline.index_layout`) replace
/// the templates' own, for indices created from then on.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lakeship templates install --endpoint http://127.0.0.1:9200 --index-layout '4001=hour/12, 4003=day/4'")]
struct InstallArgs {
    /// Templates folder (as `lakeship templates generate` writes it) [default: the templates built into lakeship]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// How soon an indexed row is searchable (index.refresh_interval of the OCSF index templates), e.g. 1s, 30s, or -1 for never on a timer [default: as generated, 1s]. Longer intervals index somewhat faster (BENCHMARKS.md); a change applies to indices created afterwards.
    #[arg(long, value_name = "INTERVAL")]
    refresh_interval: Option<String>,
    #[command(flatten)]
    layout: IndexLayoutArgs,
    #[command(flatten)]
    opensearch: OpenSearchArgs,
    #[command(flatten)]
    region: RegionArgs,
}

/// Print the install plan of a templates folder: one JSON request per line
/// (method, path, body, condition, kind), in install order, with the index
/// layout's primary shards applied.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lakeship templates plan --dir templates")]
struct PlanArgs {
    /// Templates folder [default: the templates built into lakeship]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    #[command(flatten)]
    layout: IndexLayoutArgs,
}

/// Reduce OCSF schema source trees to the compact files the generator reads.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  lakeship templates import-schema ~/ocsf-schema-1.1.0 --out schema")]
struct ImportSchemaArgs {
    /// OCSF schema source trees (folders holding version.json).
    #[arg(required = true, value_name = "DIR")]
    sources: Vec<PathBuf>,
    /// Folder to write ocsf-<version>.json into.
    #[arg(long, default_value = "schema", value_name = "DIR")]
    out: PathBuf,
}

pub async fn run(args: TemplatesArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match args.command {
        TemplatesCommand::Generate(args) => generate(&args),
        TemplatesCommand::Install(args) => install(&args, file).await,
        TemplatesCommand::Plan(args) => plan(&args, file),
        TemplatesCommand::ImportSchema(args) => import_schema(&args),
    }
}

fn generate(args: &GenerateArgs) -> anyhow::Result<()> {
    let options = GenerateOptions::default().with_depth(args.depth);
    let generated = match (&args.schema, &args.aliases) {
        (Some(schema), aliases) => templates::generate_from_dir(schema, aliases.as_deref(), &options)
            .with_context(|| format!("generating templates from {} failed", schema.display()))?,
        (None, None) => templates::generate_embedded(&options).context("generating templates from the built-in schema failed")?,
        (None, Some(_)) => anyhow::bail!("--aliases needs --schema"),
    };
    print_report(&generated, args.show_cuts);
    if args.check {
        let existing = templates::read_generated(&args.out)?;
        if existing != generated.files {
            anyhow::bail!("{} is not up to date: run lakeship templates generate", args.out.display());
        }
        println!("{} is up to date", args.out.display());
        return Ok(());
    }
    let summary = templates::write_generated(&args.out, &generated)?;
    println!(
        "{}: {} files written, {} unchanged, {} stale removed",
        args.out.display(),
        summary.num_written,
        summary.num_unchanged,
        summary.num_removed
    );
    Ok(())
}

fn print_report(generated: &Generated, show_cuts: bool) {
    println!("{:<11} {:>9}  {:<37} {:>6} {:>6} {:>5}  most cut objects", "OCSF", "class_uid", "class", "fields", "limit", "cuts");
    for class in &generated.classes {
        println!(
            "{:<11} {:>9}  {:<37} {:>6} {:>6} {:>5}  {}",
            class.version,
            class.class_uid,
            class.caption,
            class.num_fields,
            class.total_fields_limit,
            class.cuts.len(),
            class.most_cut(3, " x")
        );
        if show_cuts {
            for cut in &class.cuts {
                println!("    cut {} ({})", cut.path, cut.object);
            }
        }
    }
    let num_bytes: usize = generated.files.iter().map(|file| file.bytes.len()).sum();
    println!(
        "{} component templates, {} index templates, 1 ISM policy; {} files, {} KiB",
        generated.components.len(),
        generated.classes.len(),
        generated.files.len(),
        num_bytes / 1024
    );
}

/// The install plan of `dir`, or of the built-in templates.
fn install_plan(dir: Option<&Path>) -> anyhow::Result<Vec<templates::InstallRequest>> {
    match dir {
        Some(dir) => templates::install_plan(dir).with_context(|| format!("planning the install of {} failed", dir.display())),
        None => templates::embedded_install_plan().context("planning the install of the built-in templates failed"),
    }
}

fn plan(args: &PlanArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.layout])?;
    let mut plan = install_plan(args.dir.as_deref())?;
    templates::apply_layout(&mut plan, &config.index_layout);
    let mut stdout = std::io::stdout().lock();
    for request in &plan {
        serde_json::to_writer(&mut stdout, request)?;
        writeln!(stdout)?;
    }
    Ok(())
}

async fn install(args: &InstallArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = load(file, &[&args.layout, &args.opensearch, &args.region])?;
    let mut plan = install_plan(args.dir.as_deref())?;
    let num_sized = templates::apply_layout(&mut plan, &config.index_layout);
    if let Some(interval) = &args.refresh_interval {
        templates::set_refresh_interval(&mut plan, interval)?;
    }
    let client = config.client().await?;
    check_opensearch(&client).await?;
    let count = |kind: InstallKind| plan.iter().filter(|request| request.kind == kind).count();
    println!(
        "install plan for {}: {} requests ({} component templates, {} index templates, \
         {} ISM policies, conditional: {})",
        config.endpoint.as_deref().map(lakeship::config::mask_url).unwrap_or_default(),
        plan.len(),
        count(InstallKind::ComponentTemplate),
        count(InstallKind::IndexTemplate),
        count(InstallKind::IsmPolicy),
        plan.iter().filter(|request| request.condition.is_some()).count(),
    );
    if !config.index_layout.is_empty() {
        println!("index layout {}: {num_sized} index templates take their primary shards from it", config.index_layout);
    }
    let report = templates::apply_plan(&client, &plan).await?;
    println!(
        "{} requests acknowledged, {} already present, {} skipped (their plugin is not installed)",
        report.num_acknowledged, report.num_already_present, report.num_skipped
    );
    Ok(())
}

fn import_schema(args: &ImportSchemaArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for source in &args.sources {
        let schema =
            SchemaSource::from_source_tree(source).with_context(|| format!("reading the OCSF schema in {} failed", source.display()))?;
        let path = schema.write_into(&args.out)?;
        println!(
            "OCSF {}: {} classes and bases, {} objects, {} dictionary attributes -> {}",
            schema.version,
            schema.events.len(),
            schema.objects.len(),
            schema.dictionary.len(),
            display(&path)
        );
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
