//! The `lakeship` command line.

mod cmd;
mod common;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Lakeship moves Amazon Security Lake data (OCSF in Parquet) into OpenSearch.
#[derive(Debug, Parser)]
#[command(name = "lakeship", version, about, propagate_version = true)]
struct Cli {
    /// More detail in logs and errors (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Convert(cmd::convert::ConvertArgs),
    Plan(cmd::plan::PlanArgs),
    Index(cmd::index::IndexArgs),
    #[command(name = "replay-dlq")]
    ReplayDlq(cmd::replay::ReplayArgs),
    Sample(cmd::sample::SampleArgs),
    Templates(cmd::templates::TemplatesArgs),
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info,lakeship=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LAKESHIP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Convert(args) => cmd::convert::run(args).await,
        Command::Plan(args) => cmd::plan::run(args).await,
        Command::Index(args) => cmd::index::run(args).await,
        Command::ReplayDlq(args) => cmd::replay::run(args).await,
        Command::Sample(args) => cmd::sample::run(args).await,
        Command::Templates(args) => cmd::templates::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if cli.verbose > 0 => {
            eprintln!("error: {error:?}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
