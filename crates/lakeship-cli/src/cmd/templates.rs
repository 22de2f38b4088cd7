//! `lakeship templates`: generate and install index templates. (Being written.)

use clap::Args;

/// Generate OpenSearch index templates from the OCSF schema, or install them.
#[derive(Debug, Args)]
pub struct TemplatesArgs {}

pub async fn run(_args: TemplatesArgs) -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
