//! The configuration flags, in groups: each command takes only the groups
//! it uses, so its `--help` lists only the options that change what it does.
//! Flags are merged with the file and the environment by `lakeship::config`
//! (flags win, then the environment, then the file).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use lakeship::config::{Config, ConfigLayers, RawConfig};

/// A group of flags that sets some configuration keys.
pub trait Flags {
    /// Writes the keys these flags set into `raw`.
    fn apply(&self, raw: &mut RawConfig);
}

/// Where OpenSearch is and how to authenticate.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "OpenSearch")]
pub struct OpenSearchArgs {
    /// OpenSearch endpoint, e.g. https://search-x.us-east-1.es.amazonaws.com [env: LAKESHIP_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Authentication: none, basic or sigv4 [env: LAKESHIP_AUTH] [default: none]
    #[arg(long, value_name = "MODE")]
    pub auth: Option<String>,
    /// User for basic authentication [env: LAKESHIP_USERNAME]; the password comes from LAKESHIP_PASSWORD or the file
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// SigV4 service: es (managed domains) or aoss (Serverless) [env: LAKESHIP_SIGV4_SERVICE] [default: es]
    #[arg(long, value_name = "SERVICE")]
    pub sigv4_service: Option<String>,
    /// Role to assume for signing requests to OpenSearch [env: LAKESHIP_OPENSEARCH_ROLE_ARN]
    #[arg(long, value_name = "ARN")]
    pub opensearch_role_arn: Option<String>,
    /// PEM file of extra CA certificates to trust [env: LAKESHIP_CA_BUNDLE]
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Do not verify TLS certificates (development only) [env: LAKESHIP_INSECURE]
    #[arg(long)]
    pub insecure: bool,
}

impl Flags for OpenSearchArgs {
    fn apply(&self, raw: &mut RawConfig) {
        let opensearch = &mut raw.opensearch;
        opensearch.endpoint = self.endpoint.clone();
        opensearch.auth = self.auth.clone();
        opensearch.username = self.username.clone();
        opensearch.sigv4_service = self.sigv4_service.clone();
        opensearch.role_arn = self.opensearch_role_arn.clone();
        opensearch.ca_bundle = self.ca_bundle.clone();
        opensearch.insecure = self.insecure.then_some(true);
    }
}

/// The AWS region (S3, SQS, STS, Step Functions, and SigV4 signing).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS")]
pub struct RegionArgs {
    /// AWS region [env: AWS_REGION]
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

impl Flags for RegionArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.aws.region = self.region.clone();
    }
}

/// How S3, SQS and Step Functions are reached, and whose objects are read.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// Endpoint override for S3, SQS and Step Functions, e.g. http://127.0.0.1:5000 [env: LAKESHIP_AWS_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub aws_endpoint: Option<String>,
    /// Security Lake subscriber role to assume for reading objects [env: LAKESHIP_SOURCE_ROLE_ARN]
    #[arg(long, value_name = "ARN")]
    pub source_role_arn: Option<String>,
    /// External id of the subscriber role [env: LAKESHIP_SOURCE_EXTERNAL_ID]
    #[arg(long, value_name = "ID")]
    pub source_external_id: Option<String>,
}

impl Flags for AwsArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.aws.endpoint = self.aws_endpoint.clone();
        raw.aws.source_role_arn = self.source_role_arn.clone();
        raw.aws.source_external_id = self.source_external_id.clone();
    }
}

/// The work area.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pipeline")]
pub struct WorkArgs {
    /// Work area for manifests, shard results and dead letters: a directory or s3://bucket/prefix [env: LAKESHIP_WORK] [default: ~/.local/state/lakeship/work]
    #[arg(long, value_name = "DIR_OR_S3_URL")]
    pub work: Option<String>,
}

impl Flags for WorkArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.pipeline.work = self.work.clone();
    }
}

/// The work area and how AWS is reached for it: the groups of the commands
/// that read a run's files.
#[derive(Debug, Clone, Default, Args)]
pub struct WorkPlaceArgs {
    #[command(flatten)]
    pub work: WorkArgs,
    #[command(flatten)]
    pub region: RegionArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl Flags for WorkPlaceArgs {
    fn apply(&self, raw: &mut RawConfig) {
        self.work.apply(raw);
        self.region.apply(raw);
        self.aws.apply(raw);
    }
}

/// How index names are made.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Index names")]
pub struct IndexNameArgs {
    /// Time suffix of index names: none, year, month, week, day or hour (classes the layout names none for) [env: LAKESHIP_TIME_SUFFIX] [default: month]
    #[arg(long, value_name = "GRANULARITY")]
    pub time_suffix: Option<String>,
    /// Time suffix and primary shards per class, e.g. "4001=hour/12, 4003=day/4@2026-12-09" (docs/templates.md) [env: LAKESHIP_INDEX_LAYOUT]
    #[arg(long, value_name = "LAYOUT")]
    pub index_layout: Option<String>,
    /// Prefix of index names [env: LAKESHIP_INDEX_PREFIX] [default: ocsf]
    #[arg(long, value_name = "PREFIX")]
    pub index_prefix: Option<String>,
}

impl Flags for IndexNameArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.pipeline.time_suffix = self.time_suffix.clone();
        raw.pipeline.index_layout = self.index_layout.clone();
        raw.pipeline.index_prefix = self.index_prefix.clone();
    }
}

/// The index layout alone (`templates install` sets shard counts from it).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Index names")]
pub struct IndexLayoutArgs {
    /// Time suffix and primary shards per class, e.g. "4001=hour/12, 4003=day/4@2026-12-09" (docs/templates.md) [env: LAKESHIP_INDEX_LAYOUT]
    #[arg(long, value_name = "LAYOUT")]
    pub index_layout: Option<String>,
}

impl Flags for IndexLayoutArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.pipeline.index_layout = self.index_layout.clone();
    }
}

/// The ledger index.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pipeline")]
pub struct LedgerArgs {
    /// Ledger index [env: LAKESHIP_LEDGER_INDEX] [default: lakeship-ledger]
    #[arg(long, value_name = "INDEX")]
    pub ledger_index: Option<String>,
}

impl Flags for LedgerArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.pipeline.ledger_index = self.ledger_index.clone();
    }
}

/// How work is cut: shards, and runs of a prefix backfill.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Pipeline")]
pub struct ShardArgs {
    /// Target compressed size of a shard in MiB [env: LAKESHIP_TARGET_SHARD_MB] [default: 64]
    #[arg(long, value_name = "MIB")]
    pub target_shard_mb: Option<u64>,
    /// Objects per run of a prefix backfill; the rest follows in further runs [env: LAKESHIP_MAX_OBJECTS_PER_RUN] [default: 2000]
    #[arg(long, value_name = "N")]
    pub max_objects_per_run: Option<usize>,
}

impl Flags for ShardArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.pipeline.target_shard_mb = self.target_shard_mb;
        raw.pipeline.max_objects_per_run = self.max_objects_per_run;
    }
}

/// How documents are sent.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Delivery")]
pub struct DeliveryArgs {
    /// Shards worked at once [env: LAKESHIP_WORKERS] [default: number of cores]
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Compress bulk request bodies with gzip [env: LAKESHIP_GZIP]
    #[arg(long)]
    pub gzip: bool,
    /// Upper bound of a bulk request body in MiB [env: LAKESHIP_MAX_REQUEST_MB] [default: 5]
    #[arg(long, value_name = "MIB")]
    pub max_request_mb: Option<usize>,
    /// Upper bound of documents per bulk request [env: LAKESHIP_MAX_REQUEST_DOCS] [default: 5000]
    #[arg(long, value_name = "N")]
    pub max_request_docs: Option<usize>,
    /// Bulk requests in flight per worker: the most it grows to while the domain keeps up, or always with
    /// --fixed-concurrency [env: LAKESHIP_REQUESTS_IN_FLIGHT] [default: 8]
    #[arg(long, value_name = "N")]
    pub requests_in_flight: Option<usize>,
    /// Keep --requests-in-flight bulk requests in flight always instead of adapting to the domain
    /// [env: LAKESHIP_FIXED_CONCURRENCY]
    #[arg(long)]
    pub fixed_concurrency: bool,
    /// Retry time budget of a shard in seconds [env: LAKESHIP_RETRY_BUDGET_SECS] [default: 180]
    #[arg(long, value_name = "SECONDS")]
    pub retry_budget_secs: Option<u64>,
}

impl Flags for DeliveryArgs {
    fn apply(&self, raw: &mut RawConfig) {
        raw.opensearch.gzip = self.gzip.then_some(true);
        let pipeline = &mut raw.pipeline;
        pipeline.workers = self.workers;
        pipeline.max_request_mb = self.max_request_mb;
        pipeline.max_request_docs = self.max_request_docs;
        pipeline.requests_in_flight = self.requests_in_flight;
        pipeline.fixed_concurrency = self.fixed_concurrency.then_some(true);
        pipeline.retry_budget_secs = self.retry_budget_secs;
    }
}

/// Every configuration flag (for `run`, `index` and `config show`).
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub opensearch: OpenSearchArgs,
    #[command(flatten)]
    pub region: RegionArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub work: WorkArgs,
    #[command(flatten)]
    pub shards: ShardArgs,
    #[command(flatten)]
    pub index_names: IndexNameArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

impl Flags for ConfigArgs {
    fn apply(&self, raw: &mut RawConfig) {
        self.opensearch.apply(raw);
        self.region.apply(raw);
        self.aws.apply(raw);
        self.work.apply(raw);
        self.shards.apply(raw);
        self.index_names.apply(raw);
        self.ledger.apply(raw);
        self.delivery.apply(raw);
    }
}

impl ConfigArgs {
    /// The effective configuration (see [`load`]).
    pub fn load(&self, file: Option<&Path>) -> anyhow::Result<Config> {
        load(file, &[self])
    }
}

/// The layers of the configuration: `file` (or `./lakeship.toml` when it
/// exists), the environment, and the keys `flags` set.
pub fn layers(file: Option<&Path>, flags: &[&dyn Flags]) -> anyhow::Result<ConfigLayers> {
    let default_file = Path::new("lakeship.toml");
    let file = match file {
        Some(path) => Some(path),
        None if default_file.is_file() => Some(default_file),
        None => None,
    };
    let file = match file {
        Some(path) => Some((path.display().to_string(), RawConfig::from_file(path)?)),
        None => None,
    };
    let environment = RawConfig::from_env(|name| std::env::var(name).ok())?;
    let mut raw_flags = RawConfig::default();
    for group in flags {
        group.apply(&mut raw_flags);
    }
    Ok(ConfigLayers { file, environment, flags: raw_flags })
}

/// The effective configuration: the file, then the environment, then the
/// flags of `flags`; validated.
pub fn load(file: Option<&Path>, flags: &[&dyn Flags]) -> anyhow::Result<Config> {
    let raw = layers(file, flags)?.merged();
    Config::try_from(raw).context("the configuration is not valid (see `lakeship config show`)")
}
