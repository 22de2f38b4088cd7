//! The `lakeship` command line.

mod cmd;
mod common;
mod config_args;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Lakeship moves Amazon Security Lake data (OCSF in Parquet) into OpenSearch.
///
/// Configuration comes from flags, environment variables (LAKESHIP_*) and a
/// TOML file (--config, or ./lakeship.toml when present), in that order.
/// `lakeship config show` prints the result.
#[derive(Debug, Parser)]
#[command(name = "lakeship", version, about, long_about, propagate_version = true)]
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
    Sample(cmd::sample::SampleArgs),
    Templates(cmd::templates::TemplatesArgs),
    Config(cmd::config::ConfigCommand),
    Dashboards(cmd::dashboards::DashboardsArgs),
    Redrive(cmd::redrive::RedriveArgs),
    Runs(cmd::runs::RunsArgs),
}

fn init_tracing(verbose: u8, format: LogFormat) {
    let default = match verbose {
        0 => "warn",
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
        Command::Sample(args) => cmd::sample::run(args).await,
        Command::Templates(args) => cmd::templates::run(args, file).await,
        Command::Config(command) => cmd::config::run(command, file),
        Command::Dashboards(args) => cmd::dashboards::run(args, file).await,
        Command::Redrive(args) => cmd::redrive::run(args, file).await,
        Command::Runs(args) => cmd::runs::run(args, file).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if cli.verbose > 0 {
                eprintln!("error: {error:?}");
            } else {
                eprintln!("error: {error:#}");
            }
            ExitCode::FAILURE
        }
    }
}
