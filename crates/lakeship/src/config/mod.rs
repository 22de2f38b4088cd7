//! Configuration: a TOML file (`lakeship.toml`), environment variables and
//! command-line flags, merged in that order (flags win), then validated into
//! a typed [`Config`] before anything is built. Unknown keys are errors.
//!
//! Every key has an environment variable; the Lambda functions are
//! configured through the same variables. The keys are data: [`keys::KEYS`]
//! names each once, and drives the environment, merging and masking.

pub mod keys;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use self::keys::{KEYS, Key};
use crate::aws::AwsOptions;
use crate::convert::{IndexLayout, TimeSuffix};
pub use crate::delivery::AuthConfig;
use crate::delivery::{ClientOptions, DeliveryOptions, OpenSearchClient, RetryPolicy};
use crate::object::{Location, ObjectStore};

/// Errors of configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read configuration file {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("invalid configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A value is invalid.
    #[error("invalid configuration: {key}: {message}")]
    Invalid {
        /// The key (TOML path or variable).
        key: String,
        /// Why.
        message: String,
    },
}

pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), message: message.into() }
}

/// `[opensearch]`: where documents go. Each field's variable, default and
/// help are in [`keys::KEYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOpenSearch {
    /// The endpoint, e.g. `https://search-x.us-east-1.es.amazonaws.com`.
    pub endpoint: Option<String>,
    /// `none`, `basic` or `sigv4`.
    pub auth: Option<String>,
    /// Basic auth user.
    pub username: Option<String>,
    /// Basic auth password (secret).
    pub password: Option<String>,
    /// `es` or `aoss`.
    pub sigv4_service: Option<String>,
    /// Role to assume for signing.
    pub role_arn: Option<String>,
    /// PEM file of extra CA certificates.
    pub ca_bundle: Option<PathBuf>,
    /// Skip TLS verification (development only).
    pub insecure: Option<bool>,
    /// Gzip request bodies.
    pub gzip: Option<bool>,
}

/// `[aws]`: how S3, SQS and STS are reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAws {
    /// The region.
    pub region: Option<String>,
    /// Endpoint override for S3/SQS/Step Functions
    /// (a local endpoint such as moto).
    pub endpoint: Option<String>,
    /// The Security Lake subscriber role.
    pub source_role_arn: Option<String>,
    /// Its external id (secret).
    pub source_external_id: Option<String>,
}

/// `[pipeline]`: how runs are shaped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    /// Work area, a directory or `s3://bucket/prefix`.
    pub work: Option<String>,
    /// Shards worked at once locally.
    pub workers: Option<usize>,
    /// Target compressed size of a shard.
    pub target_shard_mb: Option<u64>,
    /// `none`, `year`, `month`, `week`, `day` or `hour`.
    pub time_suffix: Option<String>,
    /// Time suffix and primary shards per class (`crate::convert::layout`).
    pub index_layout: Option<String>,
    /// Prefix of index names.
    pub index_prefix: Option<String>,
    /// Upper bound of a bulk request body.
    pub max_request_mb: Option<usize>,
    /// Upper bound of documents per request.
    pub max_request_docs: Option<usize>,
    /// Bulk requests in flight per worker (the most, when adaptive).
    pub requests_in_flight: Option<usize>,
    /// Keep `requests_in_flight` always rather than adapt to the domain.
    pub fixed_concurrency: Option<bool>,
    /// Retry time budget of a shard.
    pub retry_budget_secs: Option<u64>,
    /// The ledger index.
    pub ledger_index: Option<String>,
    /// Objects per run of a prefix backfill.
    pub max_objects_per_run: Option<usize>,
}

/// The configuration as written: every key optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[opensearch]`.
    #[serde(default)]
    pub opensearch: RawOpenSearch,
    /// `[aws]`.
    #[serde(default)]
    pub aws: RawAws,
    /// `[pipeline]`.
    #[serde(default)]
    pub pipeline: RawPipeline,
}

impl RawConfig {
    /// Parses a TOML file's text.
    pub fn from_toml(path: &str, text: &str) -> Result<RawConfig, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::Parse { path: path.to_string(), message: error.to_string() })
    }

    /// Reads a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<RawConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: shown.clone(), message: error.to_string() })?;
        Self::from_toml(&shown, &text)
    }

    /// The keys set in the environment (`lookup` reads a variable).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<RawConfig, ConfigError> {
        let mut table = toml::Table::new();
        for key in KEYS {
            let Some(value) = lookup(key.env).filter(|value| !value.is_empty()) else { continue };
            key.set(&mut table, key.typed(&value)?);
        }
        toml::Value::Table(table).try_into().map_err(|error: toml::de::Error| invalid("environment", error.to_string()))
    }

    /// The keys as a TOML table (unset keys absent).
    pub fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).unwrap_or_default()
    }

    /// `self` with every key that `other` sets replaced by `other`'s value.
    pub fn merged_with(self, other: RawConfig) -> RawConfig {
        let (mut table, over) = (self.to_table(), toml::Table::try_from(other).unwrap_or_default());
        for key in KEYS {
            if let Some(value) = key.get(&over) {
                key.set(&mut table, value.clone());
            }
        }
        toml::Value::Table(table).try_into().expect("the keys of two valid configurations make a valid configuration")
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// OpenSearch endpoint (None when a command does not need it).
    pub endpoint: Option<String>,
    /// Authentication.
    pub auth: AuthConfig,
    /// Extra CA certificates.
    pub ca_bundle: Option<PathBuf>,
    /// Skip TLS verification.
    pub insecure: bool,
    /// gzip request bodies.
    pub gzip: bool,
    /// AWS access.
    pub aws: AwsOptions,
    /// Work area.
    pub work: Location,
    /// Local workers.
    pub workers: usize,
    /// Target shard size in bytes.
    pub target_shard_bytes: u64,
    /// Time suffix of index names (of classes the layout names none for).
    pub time_suffix: TimeSuffix,
    /// Time suffix and primary shards per class.
    pub index_layout: IndexLayout,
    /// Index name prefix.
    pub index_prefix: String,
    /// Delivery.
    pub delivery: DeliveryOptions,
    /// Ledger index.
    pub ledger_index: String,
    /// Objects per run of a prefix backfill.
    pub max_objects_per_run: usize,
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Self, Self::Error> {
        let RawConfig { opensearch, aws, pipeline } = raw;
        let text = keys::default_text;
        let auth = match opensearch.auth.as_deref().unwrap_or(text("opensearch.auth")) {
            "none" => AuthConfig::None,
            "basic" => AuthConfig::Basic {
                username: opensearch
                    .username
                    .ok_or_else(|| invalid("opensearch.username", "auth = basic needs a username (LAKESHIP_USERNAME)"))?,
                password: opensearch
                    .password
                    .ok_or_else(|| invalid("opensearch.password", "auth = basic needs a password (LAKESHIP_PASSWORD)"))?,
            },
            "sigv4" => AuthConfig::SigV4 {
                service: opensearch
                    .sigv4_service
                    .as_deref()
                    .unwrap_or(text("opensearch.sigv4_service"))
                    .parse()
                    .map_err(|message: String| invalid("opensearch.sigv4_service", message))?,
                role_arn: opensearch.role_arn,
            },
            other => return Err(invalid("opensearch.auth", format!("{other:?}: expected none, basic or sigv4"))),
        };
        if let Some(endpoint) = &opensearch.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(invalid("opensearch.endpoint", format!("{endpoint:?} must start with http:// or https://")));
        }
        let work = match pipeline.work.as_deref() {
            Some(work) => Location::parse(work),
            None => Ok(Location::Local { path: default_work_dir() }),
        }
        .map_err(|error| invalid("pipeline.work", error.to_string()))?;
        let time_suffix = pipeline
            .time_suffix
            .as_deref()
            .unwrap_or(text("pipeline.time_suffix"))
            .parse()
            .map_err(|message: String| invalid("pipeline.time_suffix", message))?;
        let index_layout = pipeline
            .index_layout
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|message: String| invalid("pipeline.index_layout", message))?;
        let index_prefix = pipeline.index_prefix.unwrap_or_else(|| text("pipeline.index_prefix").to_string());
        if index_prefix.is_empty() || index_prefix != index_prefix.to_lowercase() || index_prefix.starts_with(['_', '-', '+']) {
            return Err(invalid("pipeline.index_prefix", "must be lower case and not start with _, - or +"));
        }
        let positive = |key: &str, value: Option<usize>| -> Result<usize, ConfigError> {
            match value.unwrap_or_else(|| keys::default_count(key)) {
                0 => Err(invalid(key, "must be at least 1")),
                value => Ok(value),
            }
        };
        let max_request_mb = positive("pipeline.max_request_mb", pipeline.max_request_mb)?;
        if max_request_mb > 100 {
            return Err(invalid("pipeline.max_request_mb", "above the HTTP payload limit of any OpenSearch domain (100 MiB)"));
        }
        let delivery = DeliveryOptions {
            max_chunk_bytes: max_request_mb * 1024 * 1024,
            max_chunk_docs: positive("pipeline.max_request_docs", pipeline.max_request_docs)?,
            max_in_flight: positive("pipeline.requests_in_flight", pipeline.requests_in_flight)?,
            adaptive: !pipeline.fixed_concurrency.unwrap_or_else(|| keys::default_bool("pipeline.fixed_concurrency")),
            retry: RetryPolicy {
                time_budget: Duration::from_secs(
                    pipeline.retry_budget_secs.unwrap_or_else(|| keys::default_count("pipeline.retry_budget_secs") as u64),
                ),
                ..RetryPolicy::default()
            },
        };
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Ok(Config {
            endpoint: opensearch.endpoint,
            auth,
            ca_bundle: opensearch.ca_bundle,
            insecure: opensearch.insecure.unwrap_or_else(|| keys::default_bool("opensearch.insecure")),
            gzip: opensearch.gzip.unwrap_or_else(|| keys::default_bool("opensearch.gzip")),
            aws: AwsOptions {
                endpoint_url: aws.endpoint,
                region: aws.region,
                assume_role_arn: aws.source_role_arn,
                external_id: aws.source_external_id,
            },
            work,
            workers: positive("pipeline.workers", Some(pipeline.workers.unwrap_or(cores)))?,
            target_shard_bytes: positive("pipeline.target_shard_mb", pipeline.target_shard_mb.map(|v| v as usize))? as u64 * 1024 * 1024,
            time_suffix,
            index_layout,
            index_prefix,
            delivery,
            ledger_index: pipeline.ledger_index.unwrap_or_else(|| text("pipeline.ledger_index").to_string()),
            max_objects_per_run: positive("pipeline.max_objects_per_run", pipeline.max_objects_per_run)?,
        })
    }
}

impl Config {
    /// The effective configuration as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> String {
        let (auth, username, password, service, role) = match &self.auth {
            AuthConfig::None => ("none", None, None, None, None),
            AuthConfig::Basic { username, password } => ("basic", Some(username.clone()), Some(password.clone()), None, None),
            AuthConfig::SigV4 { service, role_arn } => ("sigv4", None, None, Some(service.as_str().to_string()), role_arn.clone()),
        };
        let raw = RawConfig {
            opensearch: RawOpenSearch {
                endpoint: self.endpoint.clone(),
                auth: Some(auth.to_string()),
                username,
                password,
                sigv4_service: service,
                role_arn: role,
                ca_bundle: self.ca_bundle.clone(),
                insecure: Some(self.insecure),
                gzip: Some(self.gzip),
            },
            aws: RawAws {
                region: self.aws.region.clone(),
                endpoint: self.aws.endpoint_url.clone(),
                source_role_arn: self.aws.assume_role_arn.clone(),
                source_external_id: self.aws.external_id.clone(),
            },
            pipeline: RawPipeline {
                work: Some(self.work.to_string()),
                workers: Some(self.workers),
                target_shard_mb: Some(self.target_shard_bytes / (1024 * 1024)),
                time_suffix: Some(self.time_suffix.to_string()),
                index_layout: (!self.index_layout.is_empty()).then(|| self.index_layout.to_string()),
                index_prefix: Some(self.index_prefix.clone()),
                max_request_mb: Some(self.delivery.max_chunk_bytes / (1024 * 1024)),
                max_request_docs: Some(self.delivery.max_chunk_docs),
                requests_in_flight: Some(self.delivery.max_in_flight),
                fixed_concurrency: Some(!self.delivery.adaptive),
                retry_budget_secs: Some(self.delivery.retry.time_budget.as_secs()),
                ledger_index: Some(self.ledger_index.clone()),
                max_objects_per_run: Some(self.max_objects_per_run),
            },
        };
        let mut table = raw.to_table();
        for key in KEYS {
            let shown = match key.get(&table) {
                Some(toml::Value::String(value)) if key.secret => mask(value),
                Some(toml::Value::String(value)) if key.value_type == keys::ValueType::Url => mask_url(value),
                _ => continue,
            };
            key.set(&mut table, toml::Value::String(shown));
        }
        // Back through the struct, so the file keeps its section and key order.
        let masked: RawConfig = toml::Value::Table(table).try_into().unwrap_or_default();
        toml::to_string(&masked).unwrap_or_default()
    }

    /// The OpenSearch client; fails if no endpoint is configured.
    pub async fn client(&self) -> Result<OpenSearchClient, ConfigError> {
        let endpoint = self
            .endpoint
            .clone()
            .ok_or_else(|| invalid("opensearch.endpoint", "no OpenSearch endpoint: set --endpoint or LAKESHIP_ENDPOINT"))?;
        let auth = crate::delivery::auth::resolve(&self.auth, self.aws.region.as_deref()).await.map_err(|error| match error {
            crate::delivery::auth::ResolveError::NoRegion => invalid("aws.region", error.to_string()),
            crate::delivery::auth::ResolveError::NoCredentials => invalid("opensearch.auth", error.to_string()),
        })?;
        let mut options = ClientOptions::new(endpoint).with_auth(auth).with_gzip(self.gzip);
        options.insecure = self.insecure;
        if let Some(path) = &self.ca_bundle {
            options.ca_bundle =
                Some(std::fs::read(path).map_err(|error| invalid("opensearch.ca_bundle", format!("{}: {error}", path.display())))?);
        }
        OpenSearchClient::new(options).map_err(|error| invalid("opensearch.endpoint", error.to_string()))
    }

    /// The store for source objects (through the subscriber role if set).
    pub fn source_store(&self) -> ObjectStore {
        ObjectStore::from_options(self.aws.clone())
    }
}

fn mask(secret: &str) -> String {
    if secret.is_empty() { String::new() } else { "********".to_string() }
}

/// `url` with the password of its user info (`https://user:secret@host`)
/// masked; unchanged when it has none or does not parse.
pub fn mask_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("********"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The work area when none is configured: a per-user state directory,
/// `$XDG_STATE_HOME/lakeship/work` (by default `~/.local/state/lakeship/work`)
/// on Linux and other Unix systems, `~/Library/Application Support/lakeship/work`
/// on macOS, `%LOCALAPPDATA%\lakeship\work` on Windows; `lakeship-work` in
/// the current directory only when no home directory is known.
pub fn default_work_dir() -> PathBuf {
    default_work_dir_from(|name| std::env::var_os(name).map(PathBuf::from).filter(|path| !path.as_os_str().is_empty()))
}

fn default_work_dir_from(lookup: impl Fn(&str) -> Option<PathBuf>) -> PathBuf {
    let base = if cfg!(windows) {
        lookup("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        lookup("HOME").map(|home| home.join("Library/Application Support"))
    } else {
        lookup("XDG_STATE_HOME").filter(|path| path.is_absolute()).or_else(|| lookup("HOME").map(|home| home.join(".local/state")))
    };
    base.map(|base| base.join("lakeship").join("work")).unwrap_or_else(|| PathBuf::from("lakeship-work"))
}

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Environment(&'static str),
    /// The configuration file.
    File(String),
    /// Not set anywhere: the default.
    Default,
}

/// The three layers of the configuration, kept apart so that `lakeship
/// config show` can say where each value came from.
#[derive(Debug, Clone, Default)]
pub struct ConfigLayers {
    /// The file (its path as shown, and its keys), if one was read.
    pub file: Option<(String, RawConfig)>,
    /// The keys set in the environment.
    pub environment: RawConfig,
    /// The keys set by flags.
    pub flags: RawConfig,
}

impl ConfigLayers {
    /// The file, then the environment, then the flags.
    pub fn merged(&self) -> RawConfig {
        let file = self.file.as_ref().map(|(_, raw)| raw.clone()).unwrap_or_default();
        file.merged_with(self.environment.clone()).merged_with(self.flags.clone())
    }

    /// Where the value of `key` (`section.name`) comes from.
    pub fn source_of(&self, key: &str) -> ValueSource {
        if is_set(&self.flags, key) {
            return ValueSource::Flag;
        }
        if is_set(&self.environment, key) {
            return ValueSource::Environment(keys::find(key).map_or("?", |key| key.env));
        }
        match &self.file {
            Some((path, raw)) if is_set(raw, key) => ValueSource::File(path.clone()),
            _ => ValueSource::Default,
        }
    }
}

fn is_set(raw: &RawConfig, key: &str) -> bool {
    keys::find(key).is_some_and(|key| key.get(&raw.to_table()).is_some())
}

/// True if `key` holds a secret.
pub fn is_secret(key: &str) -> bool {
    keys::find(key).is_some_and(|key| key.secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors() {
        let error = RawConfig::from_toml("x.toml", "[opensearch]\nendpont = \"http://x\"\n").unwrap_err();
        assert!(error.to_string().contains("unknown field `endpont`"), "{error}");
        assert!(RawConfig::from_toml("x.toml", "[nope]\n").is_err());
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let file =
            RawConfig::from_toml("f", "[opensearch]\nendpoint = \"http://file:9200\"\n[pipeline]\nworkers = 3\ntime_suffix = \"day\"\n")
                .unwrap();
        let env = RawConfig::from_env(|name| match name {
            "LAKESHIP_ENDPOINT" => Some("http://env:9200".into()),
            "LAKESHIP_WORKERS" => Some("5".into()),
            "LAKESHIP_GZIP" => Some("true".into()),
            _ => None,
        })
        .unwrap();
        let mut flags = RawConfig::default();
        flags.pipeline.workers = Some(7);
        let config = Config::try_from(file.merged_with(env).merged_with(flags)).unwrap();
        assert_eq!(config.endpoint.as_deref(), Some("http://env:9200"));
        assert_eq!(config.workers, 7);
        assert_eq!(config.time_suffix, TimeSuffix::Day);
        assert!(config.gzip);
    }

    #[test]
    fn validates_values() {
        let bad = |toml: &str| Config::try_from(RawConfig::from_toml("f", toml).unwrap()).unwrap_err().to_string();
        assert!(bad("[opensearch]\nauth = \"kerberos\"\n").contains("opensearch.auth"));
        assert!(bad("[opensearch]\nauth = \"basic\"\nusername = \"u\"\n").contains("needs a password"));
        assert!(bad("[opensearch]\nendpoint = \"search.example\"\n").contains("http://"));
        assert!(bad("[pipeline]\ntime_suffix = \"fortnight\"\n").contains("time_suffix"));
        assert!(bad("[pipeline]\nindex_layout = \"4001=hour/0\"\n").contains("pipeline.index_layout"));
        assert!(bad("[pipeline]\nworkers = 0\n").contains("at least 1"));
        assert!(RawConfig::from_env(|name| (name == "LAKESHIP_WORKERS").then(|| "many".to_string())).is_err());
    }

    #[test]
    fn masks_passwords_in_urls() {
        let raw = RawConfig::from_toml("f", "[opensearch]\nendpoint = \"https://admin:hunter2@search.example:9200\"\n").unwrap();
        let shown = Config::try_from(raw).unwrap().to_masked_toml();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("https://admin:********@search.example:9200"), "{shown}");
        assert_eq!(mask_url("http://127.0.0.1:9200"), "http://127.0.0.1:9200");
    }

    #[test]
    fn the_work_area_defaults_to_a_per_user_state_directory() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(key, _)| *key == name).map(|(_, value)| PathBuf::from(value))
        };
        if cfg!(all(unix, not(target_os = "macos"))) {
            assert_eq!(default_work_dir_from(env(&[("HOME", "/home/a")])), PathBuf::from("/home/a/.local/state/lakeship/work"));
            assert_eq!(
                default_work_dir_from(env(&[("HOME", "/home/a"), ("XDG_STATE_HOME", "/state")])),
                PathBuf::from("/state/lakeship/work")
            );
        }
        assert_eq!(default_work_dir_from(env(&[])), PathBuf::from("lakeship-work"));
    }

    #[test]
    fn layers_say_where_each_value_comes_from() {
        let layers = ConfigLayers {
            file: Some(("lakeship.toml".to_string(), RawConfig::from_toml("f", "[pipeline]\nworkers = 3\n").unwrap())),
            environment: RawConfig::from_env(|name| (name == "LAKESHIP_ENDPOINT").then(|| "http://env:9200".to_string())).unwrap(),
            flags: RawConfig {
                pipeline: RawPipeline { time_suffix: Some("day".into()), ..RawPipeline::default() },
                ..RawConfig::default()
            },
        };
        assert_eq!(layers.source_of("pipeline.workers"), ValueSource::File("lakeship.toml".into()));
        assert_eq!(layers.source_of("opensearch.endpoint"), ValueSource::Environment("LAKESHIP_ENDPOINT"));
        assert_eq!(layers.source_of("pipeline.time_suffix"), ValueSource::Flag);
        assert_eq!(layers.source_of("pipeline.ledger_index"), ValueSource::Default);
        assert_eq!(layers.merged().pipeline.workers, Some(3));
    }

    #[test]
    fn shows_the_effective_configuration_with_secrets_masked() {
        let raw = RawConfig::from_toml("f", "[opensearch]\nendpoint = \"https://x\"\nauth = \"basic\"\nusername = \"admin\"\npassword = \"hunter2\"\n[aws]\nsource_external_id = \"ext-123\"\n").unwrap();
        let shown = Config::try_from(raw).unwrap().to_masked_toml();
        assert!(!shown.contains("hunter2") && !shown.contains("ext-123"), "{shown}");
        assert!(shown.contains("password = \"********\""), "{shown}");
        let again = RawConfig::from_toml("shown", &shown).unwrap();
        assert_eq!(again.opensearch.username.as_deref(), Some("admin"));
        assert!(is_secret("opensearch.password"));
    }
}
