//! Pieces shared by the commands.

use std::io::Write;

use anyhow::Context;
use clap::Args;
use lakeship::object::{Location, ObjectRef, ObjectStore, S3Options};

/// Options to reach S3 (or a local S3-compatible endpoint).
#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// S3 endpoint override, e.g. http://127.0.0.1:5000 for a local endpoint.
    #[arg(long, env = "LAKESHIP_S3_ENDPOINT", value_name = "URL", global = true)]
    pub s3_endpoint: Option<String>,
    /// AWS region (default: the standard AWS chain).
    #[arg(long, env = "AWS_REGION", value_name = "REGION", global = true)]
    pub region: Option<String>,
    /// Role to assume for reading Security Lake objects (the subscriber role).
    #[arg(long, env = "LAKESHIP_SOURCE_ROLE_ARN", value_name = "ARN", global = true)]
    pub source_role_arn: Option<String>,
    /// External id of the subscriber role.
    #[arg(long, env = "LAKESHIP_SOURCE_EXTERNAL_ID", value_name = "ID", global = true)]
    pub source_external_id: Option<String>,
}

impl S3Args {
    /// The S3 options these arguments describe.
    pub fn options(&self) -> S3Options {
        S3Options {
            endpoint_url: self.s3_endpoint.clone(),
            region: self.region.clone(),
            assume_role_arn: self.source_role_arn.clone(),
            external_id: self.source_external_id.clone(),
        }
    }

    /// A store for local files and S3.
    pub fn store(&self) -> ObjectStore {
        ObjectStore::from_options(self.options())
    }
}

/// Turns paths, directories and S3 URLs (objects or prefixes) into objects.
pub async fn expand_inputs(store: &ObjectStore, inputs: &[String]) -> anyhow::Result<Vec<ObjectRef>> {
    let mut objects = Vec::new();
    for input in inputs {
        let location = Location::parse(input)?;
        match &location {
            Location::Local { path } if path.is_file() => objects.push(ObjectRef::local(path)),
            Location::Local { path } if !path.exists() => anyhow::bail!("no such file or directory: {input}"),
            Location::S3 { key, .. } if !key.is_empty() && !key.ends_with('/') => {
                objects.push(ObjectRef::from_location(&location))
            }
            _ => {
                let listed = store.list(&location).await.with_context(|| format!("listing {input} failed"))?;
                objects.extend(listed.into_iter().filter(|object| looks_like_parquet(&object.key)));
            }
        }
    }
    Ok(objects)
}

/// True for keys that name Parquet objects (Security Lake writes
/// `*.gz.parquet` and `*.zstd.parquet`).
pub fn looks_like_parquet(key: &str) -> bool {
    key.ends_with(".parquet")
}

/// Opens a file for writing, or stdout for `-` or no path.
pub fn open_output(path: Option<&str>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        None | Some("-") => Box::new(std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock())),
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(path).with_context(|| format!("cannot create {path}"))?,
        )),
    })
}

/// `1234567` as `1,234,567`.
pub fn human_count(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A byte count with a binary unit: `48.1 MiB`.
pub fn human_bytes(value: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= 1024.0 && unit < UNITS.len() - 1 {
        scaled /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{scaled:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_counts_and_bytes() {
        assert_eq!(human_count(0), "0");
        assert_eq!(human_count(1_234_567), "1,234,567");
        assert_eq!(human_count(123), "123");
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(50_440_000), "48.1 MiB");
    }
}

/// How to reach OpenSearch.
#[derive(Debug, Clone, Args)]
pub struct OpenSearchArgs {
    /// OpenSearch endpoint, e.g. https://search-x.us-east-1.es.amazonaws.com or http://127.0.0.1:9200.
    #[arg(long, env = "LAKESHIP_ENDPOINT", value_name = "URL")]
    pub endpoint: String,
    /// Authentication: none, basic (fine-grained access control user) or sigv4 (IAM).
    #[arg(long, env = "LAKESHIP_AUTH", default_value = "none", value_parser = ["none", "basic", "sigv4"])]
    pub auth: String,
    /// User name for basic authentication.
    #[arg(long, env = "LAKESHIP_USERNAME", value_name = "USER")]
    pub username: Option<String>,
    /// Password for basic authentication (prefer the environment variable).
    #[arg(long, env = "LAKESHIP_PASSWORD", value_name = "PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// SigV4 service: es (managed domains) or aoss (OpenSearch Serverless).
    #[arg(long, env = "LAKESHIP_SIGV4_SERVICE", default_value = "es", value_parser = ["es", "aoss"])]
    pub sigv4_service: String,
    /// Role to assume for signing requests to OpenSearch.
    #[arg(long, env = "LAKESHIP_OPENSEARCH_ROLE_ARN", value_name = "ARN")]
    pub opensearch_role_arn: Option<String>,
    /// PEM file of extra CA certificates to trust.
    #[arg(long, env = "LAKESHIP_CA_BUNDLE", value_name = "FILE")]
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Do not verify TLS certificates (development only).
    #[arg(long)]
    pub insecure: bool,
    /// Compress bulk request bodies with gzip.
    #[arg(long, env = "LAKESHIP_GZIP")]
    pub gzip: bool,
}

impl OpenSearchArgs {
    /// Builds the client these arguments describe.
    pub async fn client(&self, region: Option<&str>) -> anyhow::Result<lakeship::delivery::OpenSearchClient> {
        use lakeship::delivery::{Auth, ClientOptions, OpenSearchClient};
        let auth = match self.auth.as_str() {
            "basic" => Auth::Basic {
                username: self.username.clone().context("--auth basic needs --username (or LAKESHIP_USERNAME)")?,
                password: self.password.clone().context("--auth basic needs LAKESHIP_PASSWORD (or --password)")?,
            },
            "sigv4" => {
                let options = S3Options {
                    region: region.map(str::to_string),
                    assume_role_arn: self.opensearch_role_arn.clone(),
                    ..S3Options::default()
                };
                let config = lakeship::object::aws_sdk_config(&options).await;
                let region = config.region().map(|r| r.to_string()).context("--auth sigv4 needs a region: --region or AWS_REGION")?;
                let credentials = config.credentials_provider().context("--auth sigv4 found no AWS credentials")?;
                Auth::SigV4 { service: self.sigv4_service.parse().map_err(anyhow::Error::msg)?, region, credentials }
            }
            _ => Auth::None,
        };
        let mut options = ClientOptions::new(&self.endpoint).with_auth(auth).with_gzip(self.gzip);
        options.insecure = self.insecure;
        if let Some(path) = &self.ca_bundle {
            options.ca_bundle = Some(std::fs::read(path).with_context(|| format!("cannot read CA bundle {}", path.display()))?);
        }
        Ok(OpenSearchClient::new(options)?)
    }
}

/// How runs are shaped: work area, parallelism, shard and request sizes.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Work area for manifests, shard results and dead letters: a directory or s3://bucket/prefix.
    #[arg(long, env = "LAKESHIP_WORK", default_value = "lakeship-work", value_name = "DIR_OR_S3_URL")]
    pub work: String,
    /// Shards worked at once (default: the number of cores).
    #[arg(long, env = "LAKESHIP_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Target compressed size of a shard, in MiB.
    #[arg(long, env = "LAKESHIP_TARGET_SHARD_MB", default_value_t = 64, value_name = "MIB")]
    pub target_shard_mb: u64,
    /// Time suffix of index names: none, year, month or day.
    #[arg(long, env = "LAKESHIP_TIME_SUFFIX", default_value_t = lakeship::convert::TimeSuffix::Month, value_name = "GRANULARITY")]
    pub time_suffix: lakeship::convert::TimeSuffix,
    /// Upper bound of a bulk request body, in MiB.
    #[arg(long, env = "LAKESHIP_MAX_REQUEST_MB", default_value_t = 5, value_name = "MIB")]
    pub max_request_mb: usize,
    /// Upper bound of documents per bulk request.
    #[arg(long, env = "LAKESHIP_MAX_REQUEST_DOCS", default_value_t = 5000, value_name = "N")]
    pub max_request_docs: usize,
    /// Bulk requests in flight per worker.
    #[arg(long, env = "LAKESHIP_REQUESTS_IN_FLIGHT", default_value_t = 2, value_name = "N")]
    pub requests_in_flight: usize,
    /// Time budget for retrying throttled or failed requests of one shard, in seconds.
    #[arg(long, env = "LAKESHIP_RETRY_BUDGET_SECS", default_value_t = 180, value_name = "SECONDS")]
    pub retry_budget_secs: u64,
    /// Ledger index.
    #[arg(long, env = "LAKESHIP_LEDGER_INDEX", default_value = lakeship::ledger::LEDGER_INDEX, value_name = "INDEX")]
    pub ledger_index: String,
}

impl PipelineArgs {
    /// Shards worked at once.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)).max(1)
    }

    /// The pipeline context these arguments describe.
    pub fn context(
        &self,
        source: ObjectStore,
        client: lakeship::delivery::OpenSearchClient,
        s3: &S3Args,
    ) -> anyhow::Result<lakeship::pipeline::PipelineContext> {
        use lakeship::delivery::{DeliveryOptions, RetryPolicy};
        let work_location = Location::parse(&self.work)?;
        // The work area is the caller's own: no subscriber role for it.
        let work_store = ObjectStore::from_options(S3Options { assume_role_arn: None, external_id: None, ..s3.options() });
        let mut scan = lakeship::scan::ScanOptions::default();
        scan.convert = scan.convert.with_time_suffix(self.time_suffix);
        let delivery = DeliveryOptions {
            max_chunk_bytes: self.max_request_mb.max(1) * 1024 * 1024,
            max_chunk_docs: self.max_request_docs.max(1),
            max_in_flight: self.requests_in_flight.max(1),
            retry: RetryPolicy { time_budget: std::time::Duration::from_secs(self.retry_budget_secs), ..RetryPolicy::default() },
        };
        Ok(lakeship::pipeline::PipelineContext {
            source,
            work: lakeship::pipeline::WorkArea::new(work_store, work_location),
            ledger: lakeship::ledger::Ledger::new(client.clone()).with_index(&self.ledger_index),
            client,
            scan,
            delivery,
            plan: lakeship::plan::PlanOptions { target_shard_bytes: self.target_shard_mb.max(1) * 1024 * 1024 },
            footer_concurrency: 16,
            skip_complete: true,
        })
    }
}
