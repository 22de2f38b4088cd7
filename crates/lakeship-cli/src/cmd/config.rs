//! `lakeship config`: show the effective configuration.

use clap::{Args, Subcommand};

use crate::config_args::ConfigArgs;

/// Inspect the configuration (file, environment and flags merged).
#[derive(Debug, Args)]
pub struct ConfigCommand {
    #[command(subcommand)]
    command: ConfigSubcommand,
}

#[derive(Debug, Subcommand)]
enum ConfigSubcommand {
    /// Print the effective configuration as TOML, secrets masked.
    ///
    /// Example: LAKESHIP_ENDPOINT=http://127.0.0.1:9200 lakeship config show
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(command: ConfigCommand, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match command.command {
        ConfigSubcommand::Show(args) => {
            let config = args.config.load(file)?;
            print!("{}", config.to_masked_toml());
            Ok(())
        }
    }
}
