//! The configuration flags every command shares, merged with the file and
//! the environment by `lakeship::config`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use lakeship::config::{Config, RawAws, RawConfig, RawOpenSearch, RawPipeline};

/// Flags for every configuration key (each also settable in `lakeship.toml`
/// and through its environment variable; flags win, then the environment,
/// then the file).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// OpenSearch endpoint, e.g. https://search-x.us-east-1.es.amazonaws.com [env: LAKESHIP_ENDPOINT]
    #[arg(long, value_name = "URL", help_heading = "OpenSearch")]
    pub endpoint: Option<String>,
    /// Authentication: none, basic or sigv4 [env: LAKESHIP_AUTH] [default: none]
    #[arg(long, value_name = "MODE", help_heading = "OpenSearch")]
    pub auth: Option<String>,
    /// User for basic authentication [env: LAKESHIP_USERNAME]; the password comes from LAKESHIP_PASSWORD or the file
    #[arg(long, value_name = "USER", help_heading = "OpenSearch")]
    pub username: Option<String>,
    /// SigV4 service: es (managed domains) or aoss (Serverless) [env: LAKESHIP_SIGV4_SERVICE] [default: es]
    #[arg(long, value_name = "SERVICE", help_heading = "OpenSearch")]
    pub sigv4_service: Option<String>,
    /// Role to assume for signing requests to OpenSearch [env: LAKESHIP_OPENSEARCH_ROLE_ARN]
    #[arg(long, value_name = "ARN", help_heading = "OpenSearch")]
    pub opensearch_role_arn: Option<String>,
    /// PEM file of extra CA certificates to trust [env: LAKESHIP_CA_BUNDLE]
    #[arg(long, value_name = "FILE", help_heading = "OpenSearch")]
    pub ca_bundle: Option<PathBuf>,
    /// Do not verify TLS certificates (development only) [env: LAKESHIP_INSECURE]
    #[arg(long, help_heading = "OpenSearch")]
    pub insecure: bool,
    /// Compress bulk request bodies with gzip [env: LAKESHIP_GZIP]
    #[arg(long, help_heading = "OpenSearch")]
    pub gzip: bool,

    /// AWS region [env: AWS_REGION]
    #[arg(long, value_name = "REGION", help_heading = "AWS")]
    pub region: Option<String>,
    /// Endpoint override for S3, SQS and Step Functions, e.g. http://127.0.0.1:5000 [env: LAKESHIP_AWS_ENDPOINT]
    #[arg(long, value_name = "URL", help_heading = "AWS")]
    pub aws_endpoint: Option<String>,
    /// Security Lake subscriber role to assume for reading objects [env: LAKESHIP_SOURCE_ROLE_ARN]
    #[arg(long, value_name = "ARN", help_heading = "AWS")]
    pub source_role_arn: Option<String>,
    /// External id of the subscriber role [env: LAKESHIP_SOURCE_EXTERNAL_ID]
    #[arg(long, value_name = "ID", help_heading = "AWS")]
    pub source_external_id: Option<String>,

    /// Work area for manifests, shard results and dead letters: a directory or s3://bucket/prefix [env: LAKESHIP_WORK] [default: lakeship-work]
    #[arg(long, value_name = "DIR_OR_S3_URL", help_heading = "Pipeline")]
    pub work: Option<String>,
    /// Shards worked at once [env: LAKESHIP_WORKERS] [default: number of cores]
    #[arg(long, value_name = "N", help_heading = "Pipeline")]
    pub workers: Option<usize>,
    /// Target compressed size of a shard in MiB [env: LAKESHIP_TARGET_SHARD_MB] [default: 64]
    #[arg(long, value_name = "MIB", help_heading = "Pipeline")]
    pub target_shard_mb: Option<u64>,
    /// Time suffix of index names: none, year, month or day [env: LAKESHIP_TIME_SUFFIX] [default: month]
    #[arg(long, value_name = "GRANULARITY", help_heading = "Pipeline")]
    pub time_suffix: Option<String>,
    /// Prefix of index names [env: LAKESHIP_INDEX_PREFIX] [default: ocsf]
    #[arg(long, value_name = "PREFIX", help_heading = "Pipeline")]
    pub index_prefix: Option<String>,
    /// Upper bound of a bulk request body in MiB [env: LAKESHIP_MAX_REQUEST_MB] [default: 5]
    #[arg(long, value_name = "MIB", help_heading = "Pipeline")]
    pub max_request_mb: Option<usize>,
    /// Upper bound of documents per bulk request [env: LAKESHIP_MAX_REQUEST_DOCS] [default: 5000]
    #[arg(long, value_name = "N", help_heading = "Pipeline")]
    pub max_request_docs: Option<usize>,
    /// Bulk requests in flight per worker [env: LAKESHIP_REQUESTS_IN_FLIGHT] [default: 2]
    #[arg(long, value_name = "N", help_heading = "Pipeline")]
    pub requests_in_flight: Option<usize>,
    /// Retry time budget of a shard in seconds [env: LAKESHIP_RETRY_BUDGET_SECS] [default: 180]
    #[arg(long, value_name = "SECONDS", help_heading = "Pipeline")]
    pub retry_budget_secs: Option<u64>,
    /// Ledger index [env: LAKESHIP_LEDGER_INDEX] [default: lakeship-ledger]
    #[arg(long, value_name = "INDEX", help_heading = "Pipeline")]
    pub ledger_index: Option<String>,
    /// Objects per run of a prefix backfill; the rest follows in further runs [env: LAKESHIP_MAX_OBJECTS_PER_RUN] [default: 2000]
    #[arg(long, value_name = "N", help_heading = "Pipeline")]
    pub max_objects_per_run: Option<usize>,
}

impl ConfigArgs {
    /// The keys the flags set.
    fn raw(&self) -> RawConfig {
        RawConfig {
            opensearch: RawOpenSearch {
                endpoint: self.endpoint.clone(),
                auth: self.auth.clone(),
                username: self.username.clone(),
                password: None,
                sigv4_service: self.sigv4_service.clone(),
                role_arn: self.opensearch_role_arn.clone(),
                ca_bundle: self.ca_bundle.clone(),
                insecure: self.insecure.then_some(true),
                gzip: self.gzip.then_some(true),
            },
            aws: RawAws {
                region: self.region.clone(),
                endpoint: self.aws_endpoint.clone(),
                source_role_arn: self.source_role_arn.clone(),
                source_external_id: self.source_external_id.clone(),
            },
            pipeline: RawPipeline {
                work: self.work.clone(),
                workers: self.workers,
                target_shard_mb: self.target_shard_mb,
                time_suffix: self.time_suffix.clone(),
                index_prefix: self.index_prefix.clone(),
                max_request_mb: self.max_request_mb,
                max_request_docs: self.max_request_docs,
                requests_in_flight: self.requests_in_flight,
                retry_budget_secs: self.retry_budget_secs,
                ledger_index: self.ledger_index.clone(),
                max_objects_per_run: self.max_objects_per_run,
            },
        }
    }

    /// The effective configuration: `file` (or `./lakeship.toml` when it
    /// exists), then the environment, then these flags; validated.
    pub fn load(&self, file: Option<&Path>) -> anyhow::Result<Config> {
        let from_file = match file {
            Some(path) => RawConfig::from_file(path)?,
            None if Path::new("lakeship.toml").is_file() => RawConfig::from_file(Path::new("lakeship.toml"))?,
            None => RawConfig::default(),
        };
        let from_env = RawConfig::from_env(|name| std::env::var(name).ok())?;
        let raw = from_file.merged_with(from_env).merged_with(self.raw());
        Config::try_from(raw).context("the configuration is not valid (see `lakeship config show`)")
    }
}
