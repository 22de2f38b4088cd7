//! The configuration keys as data: one table, [`KEYS`], names every key once
//! (its TOML path, environment variable, CLI flag, value type, default,
//! whether it is secret, and a line of help). Reading the environment,
//! typing its values, merging layers, masking and `lakeship config show`
//! all go through it; the serde structs of `super` are the typed form.

use super::{ConfigError, invalid};

/// The type of a key's value (how an environment variable is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Text.
    Text,
    /// A URL; a password in its user info is masked when shown.
    Url,
    /// A file path.
    Path,
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Bool,
    /// A whole number, 0 or more.
    Count,
}

/// A key's value when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// No value (the key is optional, or required only in some cases).
    Unset,
    /// This text.
    Text(&'static str),
    /// This number.
    Count(u64),
    /// This truth value.
    Bool(bool),
    /// Worked out when the configuration is validated (described).
    Computed(&'static str),
}

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// `section.name` in the TOML file.
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The command-line flag (without `--`), if the key has one.
    pub flag: Option<&'static str>,
    /// The type of the value.
    pub value_type: ValueType,
    /// The value when it is not set.
    pub default: DefaultValue,
    /// Never shown (masked in `lakeship config show`).
    pub secret: bool,
    /// One line of help.
    pub help: &'static str,
}

impl Key {
    /// The TOML section (`opensearch`, `aws`, `pipeline`).
    pub fn section(&self) -> &'static str {
        self.name.split_once('.').map_or("", |(section, _)| section)
    }

    /// The name within the section (the serde field).
    pub fn field(&self) -> &'static str {
        self.name.split_once('.').map_or(self.name, |(_, field)| field)
    }

    /// The value of environment variable text `value` as TOML; the error
    /// names the variable.
    pub fn typed(&self, value: &str) -> Result<toml::Value, ConfigError> {
        match self.value_type {
            ValueType::Text | ValueType::Url | ValueType::Path => Ok(toml::Value::String(value.to_string())),
            ValueType::Count => value
                .trim()
                .parse::<u64>()
                .ok()
                .and_then(|number| i64::try_from(number).ok())
                .map(toml::Value::Integer)
                .ok_or_else(|| invalid(self.env, format!("{value:?} is not a number (0 or more)"))),
            ValueType::Bool => match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
                "0" | "false" | "no" | "off" => Ok(toml::Value::Boolean(false)),
                _ => Err(invalid(self.env, format!("{value:?} is not true or false"))),
            },
        }
    }

    /// The value of this key in `table` (a configuration as TOML).
    pub fn get<'a>(&self, table: &'a toml::Table) -> Option<&'a toml::Value> {
        table.get(self.section())?.get(self.field())
    }

    /// Sets this key in `table` (a configuration as TOML).
    pub fn set(&self, table: &mut toml::Table, value: toml::Value) {
        let section = table.entry(self.section()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(section) = section {
            section.insert(self.field().to_string(), value);
        }
    }
}

const fn key(
    name: &'static str,
    env: &'static str,
    flag: Option<&'static str>,
    value_type: ValueType,
    default: DefaultValue,
    help: &'static str,
) -> Key {
    Key { name, env, flag, value_type, default, secret: false, help }
}

const fn secret(key: Key) -> Key {
    Key { secret: true, ..key }
}

use DefaultValue::{Bool, Computed, Count, Text, Unset};
use ValueType as T;

/// Every key, in the order of the file's sections.
pub const KEYS: &[Key] = &[
    key(
        "opensearch.endpoint",
        "LAKESHIP_ENDPOINT",
        Some("endpoint"),
        T::Url,
        Unset,
        "OpenSearch endpoint, e.g. https://search-x.us-east-1.es.amazonaws.com",
    ),
    key("opensearch.auth", "LAKESHIP_AUTH", Some("auth"), T::Text, Text("none"), "authentication: none, basic or sigv4"),
    key("opensearch.username", "LAKESHIP_USERNAME", Some("username"), T::Text, Unset, "user for basic authentication"),
    secret(key("opensearch.password", "LAKESHIP_PASSWORD", None, T::Text, Unset, "password for basic authentication")),
    key(
        "opensearch.sigv4_service",
        "LAKESHIP_SIGV4_SERVICE",
        Some("sigv4-service"),
        T::Text,
        Text("es"),
        "SigV4 service: es (managed domains) or aoss (Serverless)",
    ),
    key(
        "opensearch.role_arn",
        "LAKESHIP_OPENSEARCH_ROLE_ARN",
        Some("opensearch-role-arn"),
        T::Text,
        Unset,
        "role to assume for signing requests to OpenSearch",
    ),
    key("opensearch.ca_bundle", "LAKESHIP_CA_BUNDLE", Some("ca-bundle"), T::Path, Unset, "PEM file of extra CA certificates to trust"),
    key(
        "opensearch.insecure",
        "LAKESHIP_INSECURE",
        Some("insecure"),
        T::Bool,
        Bool(false),
        "do not verify TLS certificates (development only)",
    ),
    key("opensearch.gzip", "LAKESHIP_GZIP", Some("gzip"), T::Bool, Bool(false), "compress bulk request bodies with gzip"),
    key("aws.region", "AWS_REGION", Some("region"), T::Text, Computed("the standard AWS chain"), "AWS region"),
    key(
        "aws.endpoint",
        "LAKESHIP_AWS_ENDPOINT",
        Some("aws-endpoint"),
        T::Url,
        Unset,
        "endpoint override for S3, SQS and Step Functions (a local endpoint such as moto)",
    ),
    key(
        "aws.source_role_arn",
        "LAKESHIP_SOURCE_ROLE_ARN",
        Some("source-role-arn"),
        T::Text,
        Unset,
        "Security Lake subscriber role to assume for reading objects",
    ),
    secret(key(
        "aws.source_external_id",
        "LAKESHIP_SOURCE_EXTERNAL_ID",
        Some("source-external-id"),
        T::Text,
        Unset,
        "external id of the subscriber role",
    )),
    key(
        "pipeline.work",
        "LAKESHIP_WORK",
        Some("work"),
        T::Text,
        Computed("a per-user state directory"),
        "work area: a directory or s3://bucket/prefix",
    ),
    key(
        "pipeline.workers",
        "LAKESHIP_WORKERS",
        Some("workers"),
        T::Count,
        Computed("the number of cores"),
        "shards worked at once locally (deployed: the Map's concurrency); a small run is cut into about this many shards",
    ),
    key(
        "pipeline.target_shard_mb",
        "LAKESHIP_TARGET_SHARD_MB",
        Some("target-shard-mb"),
        T::Count,
        Count(64),
        "target compressed size of a shard in MiB",
    ),
    key(
        "pipeline.time_suffix",
        "LAKESHIP_TIME_SUFFIX",
        Some("time-suffix"),
        T::Text,
        Text("month"),
        "time suffix of index names: none, year, month, week, day or hour (classes the layout names none for)",
    ),
    key(
        "pipeline.index_layout",
        "LAKESHIP_INDEX_LAYOUT",
        Some("index-layout"),
        T::Text,
        Unset,
        "time suffix and primary shards per class, e.g. \"4001=hour/12, 4003=day/4@2026-12-09\" (lakeship estimate --layout proposes one)",
    ),
    key("pipeline.index_prefix", "LAKESHIP_INDEX_PREFIX", Some("index-prefix"), T::Text, Text("ocsf"), "prefix of index names"),
    key(
        "pipeline.max_request_mb",
        "LAKESHIP_MAX_REQUEST_MB",
        Some("max-request-mb"),
        T::Count,
        Count(5),
        "upper bound of a bulk request body in MiB",
    ),
    key(
        "pipeline.max_request_docs",
        "LAKESHIP_MAX_REQUEST_DOCS",
        Some("max-request-docs"),
        T::Count,
        Count(5000),
        "upper bound of documents per bulk request",
    ),
    key(
        "pipeline.requests_in_flight",
        "LAKESHIP_REQUESTS_IN_FLIGHT",
        Some("requests-in-flight"),
        T::Count,
        Count(8),
        "bulk requests in flight per worker: the most it grows to (adaptive), or always (fixed)",
    ),
    key(
        "pipeline.fixed_concurrency",
        "LAKESHIP_FIXED_CONCURRENCY",
        Some("fixed-concurrency"),
        T::Bool,
        Bool(false),
        "keep requests_in_flight bulk requests in flight always instead of adapting to the domain",
    ),
    key(
        "pipeline.retry_budget_secs",
        "LAKESHIP_RETRY_BUDGET_SECS",
        Some("retry-budget-secs"),
        T::Count,
        Count(180),
        "retry time budget of a shard in seconds",
    ),
    key(
        "pipeline.ledger_index",
        "LAKESHIP_LEDGER_INDEX",
        Some("ledger-index"),
        T::Text,
        Text(crate::ledger::LEDGER_INDEX),
        "the ledger index",
    ),
    key(
        "pipeline.max_objects_per_run",
        "LAKESHIP_MAX_OBJECTS_PER_RUN",
        Some("max-objects-per-run"),
        T::Count,
        Count(crate::pipeline::backfill::DEFAULT_MAX_OBJECTS_PER_RUN as u64),
        "objects per run of a prefix backfill",
    ),
];

/// The key `name` (`section.name`).
pub fn find(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|key| key.name == name)
}

/// The text default of `name` (empty if it has none).
pub(crate) fn default_text(name: &str) -> &'static str {
    match find(name).map(|key| key.default) {
        Some(Text(text)) => text,
        _ => "",
    }
}

/// The number default of `name` (0 if it has none).
pub(crate) fn default_count(name: &str) -> usize {
    match find(name).map(|key| key.default) {
        Some(Count(count)) => count as usize,
        _ => 0,
    }
}

/// The truth-value default of `name` (false if it has none).
pub(crate) fn default_bool(name: &str) -> bool {
    matches!(find(name).map(|key| key.default), Some(Bool(true)))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::config::{Config, RawAws, RawConfig, RawOpenSearch, RawPipeline};

    /// Every field set (no `..Default::default()`: a new field fails to
    /// compile here until it is added, and then must have a key).
    fn every_field_set() -> RawConfig {
        let text = || Some("x".to_string());
        RawConfig {
            opensearch: RawOpenSearch {
                endpoint: text(),
                auth: text(),
                username: text(),
                password: text(),
                sigv4_service: text(),
                role_arn: text(),
                ca_bundle: Some(PathBuf::from("x")),
                insecure: Some(true),
                gzip: Some(true),
            },
            aws: RawAws { region: text(), endpoint: text(), source_role_arn: text(), source_external_id: text() },
            pipeline: RawPipeline {
                work: text(),
                workers: Some(1),
                target_shard_mb: Some(1),
                time_suffix: text(),
                index_layout: text(),
                index_prefix: text(),
                max_request_mb: Some(1),
                max_request_docs: Some(1),
                requests_in_flight: Some(1),
                fixed_concurrency: Some(true),
                retry_budget_secs: Some(1),
                ledger_index: text(),
                max_objects_per_run: Some(1),
            },
        }
    }

    /// A valid value for every variable, secrets recognisable.
    fn environment(variable: &str) -> Option<String> {
        let key = KEYS.iter().find(|key| key.env == variable)?;
        Some(match (key.name, key.value_type) {
            ("opensearch.auth", _) => "basic".into(),
            ("opensearch.sigv4_service", _) => "aoss".into(),
            ("pipeline.time_suffix", _) => "day".into(),
            ("pipeline.index_layout", _) => "4001=hour/2".into(),
            ("pipeline.work", _) => "s3://work/prefix".into(),
            (_, ValueType::Url) => "https://user:url-secret@example.com:9200/".into(),
            (_, ValueType::Count) => "7".into(),
            (_, ValueType::Bool) => "yes".into(),
            (name, _) if key.secret => format!("secret-of-{name}"),
            (name, _) => name.replace(['.', '_'], "-"),
        })
    }

    #[test]
    fn every_field_has_exactly_one_key_and_every_key_one_field() {
        let table = every_field_set().to_table();
        let fields: BTreeSet<String> = table
            .iter()
            .flat_map(|(section, fields)| {
                fields.as_table().into_iter().flat_map(|fields| fields.keys()).map(move |field| format!("{section}.{field}"))
            })
            .collect();
        let names: Vec<&str> = KEYS.iter().map(|key| key.name).collect();
        assert_eq!(names.iter().copied().collect::<BTreeSet<_>>().len(), KEYS.len(), "a key twice in the table");
        assert_eq!(fields, names.iter().map(|name| name.to_string()).collect::<BTreeSet<_>>());
        for key in KEYS {
            assert!(key.get(&table).is_some(), "{} has no field", key.name);
        }
    }

    #[test]
    fn variables_and_flags_are_unique_and_variables_prefixed() {
        let variables: BTreeSet<&str> = KEYS.iter().map(|key| key.env).collect();
        assert_eq!(variables.len(), KEYS.len());
        let flags: Vec<&str> = KEYS.iter().filter_map(|key| key.flag).collect();
        assert_eq!(flags.iter().collect::<BTreeSet<_>>().len(), flags.len());
        for key in KEYS {
            // AWS_REGION is the AWS SDK's own variable, kept so that one setting serves both.
            assert!(key.env.starts_with("LAKESHIP_") || key.env == "AWS_REGION", "{}", key.env);
            assert!(!key.help.is_empty() && !key.help.contains('\n'), "{}", key.name);
        }
    }

    #[test]
    fn every_variable_is_read_with_its_type() {
        let raw = RawConfig::from_env(environment).unwrap();
        let table = raw.to_table();
        for key in KEYS {
            let value = key.get(&table).unwrap_or_else(|| panic!("{} not read from {}", key.name, key.env));
            let expected = match key.value_type {
                ValueType::Count => "integer",
                ValueType::Bool => "boolean",
                ValueType::Text | ValueType::Url | ValueType::Path => "string",
            };
            assert_eq!(value.type_str(), expected, "{}", key.name);
        }
    }

    #[test]
    fn typing_errors_name_the_variable() {
        for key in KEYS.iter().filter(|key| matches!(key.value_type, ValueType::Count | ValueType::Bool)) {
            for bad in ["many", "-1", "1.5"] {
                let error = RawConfig::from_env(|name| (name == key.env).then(|| bad.to_string())).unwrap_err().to_string();
                assert!(error.contains(key.env) && error.contains(bad), "{error}");
            }
        }
        let huge = u64::MAX.to_string();
        let error = RawConfig::from_env(|name| (name == "LAKESHIP_WORKERS").then(|| huge.clone())).unwrap_err();
        assert!(error.to_string().contains("LAKESHIP_WORKERS"), "{error}");
        assert_eq!(RawConfig::from_env(|name| (name == "LAKESHIP_GZIP").then(|| " Off ".into())).unwrap().opensearch.gzip, Some(false));
    }

    #[test]
    fn every_secret_is_masked_in_show() {
        let config = Config::try_from(RawConfig::from_env(environment).unwrap()).unwrap();
        let shown = config.to_masked_toml();
        let table: toml::Table = toml::from_str(&shown).unwrap();
        assert!(KEYS.iter().any(|key| key.secret));
        for key in KEYS.iter().filter(|key| key.secret) {
            let secret = environment(key.env).unwrap();
            assert!(!shown.contains(&secret), "{} shown:\n{shown}", key.name);
            assert_eq!(key.get(&table).and_then(toml::Value::as_str), Some("********"), "{}", key.name);
            assert!(crate::config::is_secret(key.name));
        }
        assert!(!shown.contains("url-secret"), "{shown}");
        assert!(!crate::config::is_secret("opensearch.username") && !crate::config::is_secret("nope"));
    }

    #[test]
    fn defaults_in_the_table_are_the_defaults_shown() {
        let shown: toml::Table = toml::from_str(&Config::try_from(RawConfig::default()).unwrap().to_masked_toml()).unwrap();
        for key in KEYS {
            let value = key.get(&shown);
            if value.is_none() && key.name == "opensearch.sigv4_service" {
                // Shown only with auth = sigv4.
                let raw = RawConfig::from_toml("f", "[opensearch]\nauth = \"sigv4\"\n").unwrap();
                let sigv4: toml::Table = toml::from_str(&Config::try_from(raw).unwrap().to_masked_toml()).unwrap();
                assert_eq!(key.get(&sigv4).and_then(toml::Value::as_str), Some(default_text(key.name)));
                continue;
            }
            match key.default {
                DefaultValue::Text(text) => assert_eq!(value.and_then(toml::Value::as_str), Some(text), "{}", key.name),
                DefaultValue::Count(count) => assert_eq!(value.and_then(toml::Value::as_integer), Some(count as i64), "{}", key.name),
                DefaultValue::Bool(truth) => assert_eq!(value.and_then(toml::Value::as_bool), Some(truth), "{}", key.name),
                DefaultValue::Computed(_) | DefaultValue::Unset => {}
            }
        }
    }
}
