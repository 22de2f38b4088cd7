//! The `lakeship` command line.

mod cmd;
mod common;
mod config_args;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  lakeship templates install --endpoint http://127.0.0.1:9200
  lakeship run --source ./lake --endpoint http://127.0.0.1:9200
  lakeship dashboards render --out ./dashboards-html
  lakeship config show

Exit status: 0 done; 1 failed (the error says why and what to do); 2 wrong usage;
3 done, but rows were rejected into the dead-letter store (see `lakeship replay-dlq`).";

/// Lakeship moves Amazon Security Lake data (OCSF in Parquet) into OpenSearch.
///
/// Configuration comes from flags, environment variables (LAKESHIP_*) and a
/// TOML file (--config, or ./lakeship.toml when present), in that order.
/// `lakeship config show` prints the result and where each value came from.
#[derive(Debug, Parser)]
#[command(name = "lakeship", version, about, long_about, propagate_version = true, after_help = AFTER_HELP)]
struct Cli {
    /// Configuration file [env: LAKESHIP_CONFIG] [default: ./lakeship.toml if it exists]
    #[arg(long, global = true, env = "LAKESHIP_CONFIG", hide_env = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// More detail in logs and errors (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "LAKESHIP_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    Convert(cmd::convert::ConvertArgs),
    Plan(cmd::plan::PlanArgs),
    Estimate(cmd::estimate::EstimateArgs),
    Run(cmd::run::RunArgs),
    Status(cmd::status::StatusArgs),
    Index(cmd::index::IndexArgs),
    #[command(name = "replay-dlq")]
    ReplayDlq(cmd::replay::ReplayArgs),
    Messages(cmd::messages::MessagesArgs),
    Sample(cmd::sample::SampleArgs),
    Templates(cmd::templates::TemplatesArgs),
    Config(cmd::config::ConfigCommand),
    Dashboards(cmd::dashboards::DashboardsArgs),
    Redrive(cmd::redrive::RedriveArgs),
    Runs(cmd::runs::RunsArgs),
}

fn init_tracing(verbose: u8, format: LogFormat) {
    // The AWS SDK logs its credential and region chain at warn level (IMDS
    // timeouts, struct dumps) and the TLS verifier logs every refused
    // certificate; the error that follows says what to do, so those lines
    // are shown only with -v.
    let default = match verbose {
        0 => "warn,aws_config=error,aws_runtime=error,aws_smithy_runtime=error,aws_smithy_runtime_api=error,rustls_platform_verifier=off",
        1 => "info,lakeship=debug",
        _ => "debug",
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("LAKESHIP_LOG").unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose, cli.log_format);
    let file = cli.config.as_deref();
    let result = match cli.command {
        Command::Convert(args) => cmd::convert::run(args, file).await,
        Command::Plan(args) => cmd::plan::run(args, file).await,
        Command::Estimate(args) => cmd::estimate::run(args, file).await,
        Command::Run(args) => Box::pin(cmd::run::run(args, file)).await,
        Command::Status(args) => cmd::status::run(args, file).await,
        Command::Index(args) => Box::pin(cmd::index::run(args, file)).await,
        Command::ReplayDlq(args) => Box::pin(cmd::replay::run(args, file)).await,
        Command::Messages(args) => cmd::messages::run(args, file).await,
        Command::Sample(args) => cmd::sample::run(args).await,
        Command::Templates(args) => cmd::templates::run(args, file).await,
        Command::Config(command) => cmd::config::run(command, file),
        Command::Dashboards(args) => cmd::dashboards::run(args, file).await,
        Command::Redrive(args) => cmd::redrive::run(args, file).await,
        Command::Runs(args) => cmd::runs::run(args, file).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.downcast_ref::<common::RowsRejected>().is_some() => {
            eprintln!("warning: {error}");
            ExitCode::from(common::EXIT_ROWS_REJECTED)
        }
        Err(error) if common::is_unreadable_messages(&error) => {
            eprintln!("error: {error}");
            ExitCode::from(common::EXIT_UNREADABLE_MESSAGES)
        }
        Err(error) => {
            let name = error_name(&error).map(|name| format!("{name}: ")).unwrap_or_default();
            if cli.verbose > 0 {
                eprintln!("error: {name}{error:?}");
            } else {
                eprintln!("error: {name}{error:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The error name of a failure whose message does not carry one already (a
/// [`NamedError`](lakeship::errors::NamedError) prints its name itself).
fn error_name(error: &anyhow::Error) -> Option<lakeship::errors::ErrorName> {
    use lakeship::errors::ErrorName;
    if error.chain().any(|cause| cause.is::<lakeship::errors::NamedError>()) {
        return None;
    }
    error.chain().find_map(|cause| {
        if let Some(object) = cause.downcast_ref::<lakeship::object::ObjectError>() {
            return Some(object.name());
        }
        if let Some(delivery) = cause.downcast_ref::<lakeship::delivery::DeliveryError>() {
            return Some(delivery.name());
        }
        if let Some(lakeship_ops::dashboards::DashboardError::Delivery(delivery)) =
            cause.downcast_ref::<lakeship_ops::dashboards::DashboardError>()
        {
            return Some(delivery.name());
        }
        cause.downcast_ref::<lakeship::config::ConfigError>().map(|_| ErrorName::Configuration)
    })
}
