//! `lakeship runs`. (Being written.)

use clap::Args;

use crate::config_args::ConfigArgs;

/// (Being written.)
#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: RunsArgs, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let _config = args.config.load(file)?;
    anyhow::bail!("not implemented yet")
}
