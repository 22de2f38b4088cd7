//! `lakeship config`: show the effective configuration and where each value
//! came from.

use clap::{Args, Subcommand};
use lakeship::config::{Config, ConfigLayers, ValueSource};

use crate::config_args::{ConfigArgs, layers};

/// Inspect the configuration (file, environment and flags merged).
#[derive(Debug, Args)]
pub struct ConfigCommand {
    #[command(subcommand)]
    command: ConfigSubcommand,
}

#[derive(Debug, Subcommand)]
enum ConfigSubcommand {
    Show(ShowArgs),
}

/// Print the effective configuration as TOML, secrets masked, each value with
/// where it came from (a flag, an environment variable, the file, or the
/// default).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  lakeship config show\n  LAKESHIP_ENDPOINT=http://127.0.0.1:9200 lakeship config show --workers 4")]
struct ShowArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

pub fn run(command: ConfigCommand, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    match command.command {
        ConfigSubcommand::Show(args) => {
            let layers = layers(file, &[&args.config])?;
            let config = args.config.load(file)?;
            print!("{}", annotated(&config, &layers));
            Ok(())
        }
    }
}

/// The masked TOML with a `# source` comment after every value.
fn annotated(config: &Config, layers: &ConfigLayers) -> String {
    let toml = config.to_masked_toml();
    let width = toml.lines().map(|line| line.chars().count()).max().unwrap_or(0).min(60);
    let mut section = String::new();
    let mut out = String::new();
    for line in toml.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            section = name.to_string();
        }
        let Some((key, _)) = line.split_once(" = ") else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let key = format!("{section}.{}", key.trim());
        let source = match layers.source_of(&key) {
            ValueSource::Flag => format!("flag --{}", flag_name(&key)),
            ValueSource::Environment(variable) => format!("env {variable}"),
            ValueSource::File(path) => format!("file {path}"),
            ValueSource::Default => "default".to_string(),
        };
        out.push_str(&format!("{line:<width$}  # {source}\n"));
    }
    out
}

/// The flag that sets `key` (from the key table).
fn flag_name(key: &str) -> &'static str {
    lakeship::config::keys::find(key).and_then(|key| key.flag).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use lakeship::config::RawConfig;

    use super::*;

    #[test]
    fn every_value_says_where_it_came_from() {
        let layers = ConfigLayers {
            file: Some(("lakeship.toml".to_string(), RawConfig::from_toml("f", "[pipeline]\nworkers = 3\n").unwrap())),
            environment: RawConfig::from_env(|name| {
                (name == "LAKESHIP_ENDPOINT").then(|| "https://admin:hunter2@search.example".to_string())
            })
            .unwrap(),
            flags: RawConfig::from_toml("f", "[aws]\nendpoint = \"http://127.0.0.1:5000\"\n").unwrap(),
        };
        let config = Config::try_from(layers.merged()).unwrap();
        let shown = annotated(&config, &layers);
        let line = |key: &str| shown.lines().find(|line| line.starts_with(&format!("{key} = "))).unwrap_or_default().to_string();
        assert!(line("endpoint").ends_with("# env LAKESHIP_ENDPOINT") && !shown.contains("hunter2"), "{shown}");
        assert!(line("workers").ends_with("# file lakeship.toml"), "{shown}");
        assert!(shown.contains("# flag --aws-endpoint"), "{shown}");
        assert!(line("time_suffix").ends_with("# default"), "{shown}");
    }

    /// The flags and their help agree with the key table: each key's flag
    /// exists and names the key's variable, and each flag is a key's.
    #[test]
    fn flags_match_the_key_table() {
        use clap::Args;
        let command = ConfigArgs::augment_args(clap::Command::new("t"));
        let flags: Vec<(String, String)> = command
            .get_arguments()
            .filter_map(|arg| Some((arg.get_long()?.to_string(), arg.get_help().map(ToString::to_string).unwrap_or_default())))
            .collect();
        for key in lakeship::config::KEYS {
            let Some(flag) = key.flag else { continue };
            let help = flags.iter().find(|(long, _)| long == flag).map(|(_, help)| help.as_str());
            let help = help.unwrap_or_else(|| panic!("{}: no flag --{flag}", key.name));
            assert!(help.contains(&format!("[env: {}]", key.env)), "--{flag}: {help}");
        }
        for (long, _) in &flags {
            assert!(lakeship::config::KEYS.iter().any(|key| key.flag == Some(long.as_str())), "--{long} sets no key");
        }
    }
}
