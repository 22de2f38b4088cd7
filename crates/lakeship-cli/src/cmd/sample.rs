//! `lakeship sample`: generate sample Security Lake data. (Being written.)

use clap::Args;

/// Generate realistic OCSF Parquet objects shaped like Security Lake's.
#[derive(Debug, Args)]
pub struct SampleArgs {}

pub async fn run(_args: SampleArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
