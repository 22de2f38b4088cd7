//! `lakeship sample`: generate sample Security Lake data.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use lakeship_sample::{
    GeneratedObject, OcsfVersion, SampleClass, SampleLayout, SampleOptions, generate_with_progress, parse_duration_millis,
    parse_rfc3339_millis,
};

/// Generate realistic OCSF Parquet objects shaped like Security Lake's.
///
/// Writes Network Activity (VPC Flow), DNS Activity (Route 53), API Activity
/// (CloudTrail) and findings (Security Hub) in OCSF 1.0.0-rc.2 and 1.1.0,
/// with the column shapes of Security Lake's own objects, zstd-compressed,
/// in row groups of --row-group-rows rows. The same options and an explicit
/// --end-time give byte-identical files.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  lakeship sample --out /tmp/lake --classes network,dns --rows 1000000 \\\n      --end-time 2025-01-01T00:00:00Z"
)]
pub struct SampleArgs {
    /// Directory to write the objects under (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Classes to generate: network, dns, api, findings.
    #[arg(long, value_delimiter = ',', default_value = "network,dns,api,findings", value_name = "LIST")]
    classes: Vec<SampleClass>,
    /// OCSF versions to generate: 1.0.0-rc.2, 1.1.0.
    #[arg(long, value_delimiter = ',', default_value = "1.0.0-rc.2,1.1.0", value_name = "LIST")]
    versions: Vec<OcsfVersion>,
    /// Rows per object.
    #[arg(long, default_value_t = 200_000, value_name = "N")]
    rows: usize,
    /// Objects per class and version (spread over accounts, regions and
    /// consecutive slices of the time window).
    #[arg(long, default_value_t = 1, value_name = "N")]
    objects: usize,
    /// Maximum rows per row group.
    #[arg(long, default_value_t = 131_072, value_name = "N")]
    row_group_rows: usize,
    /// Number of AWS accounts objects are spread over.
    #[arg(long, default_value_t = 3, value_name = "N")]
    accounts: usize,
    /// Seed of the random values.
    #[arg(long, default_value_t = 42, value_name = "N")]
    seed: u64,
    /// End of the time window: an RFC 3339 instant or `now`.
    #[arg(long, default_value = "now", value_name = "RFC3339|now")]
    end_time: String,
    /// Length of the time window, e.g. 24h, 90m, 7d.
    #[arg(long, default_value = "24h", value_name = "DURATION")]
    window: String,
    /// Key layout: security-lake (aws/<SOURCE>/<version>/region=…/accountId=…/eventDay=…/) or flat.
    #[arg(long, default_value = "security-lake", value_name = "LAYOUT")]
    layout: SampleLayout,
}

impl SampleArgs {
    fn options(&self) -> anyhow::Result<SampleOptions> {
        let end_time_millis = if self.end_time.eq_ignore_ascii_case("now") {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).context("the system clock is before 1970")?;
            now.as_millis() as i64
        } else {
            parse_rfc3339_millis(&self.end_time).map_err(anyhow::Error::msg)?
        };
        let window_millis = parse_duration_millis(&self.window).map_err(anyhow::Error::msg)?;
        Ok(SampleOptions::default()
            .with_classes(self.classes.clone())
            .with_versions(self.versions.clone())
            .with_rows_per_object(self.rows)
            .with_objects_per_class(self.objects)
            .with_row_group_rows(self.row_group_rows)
            .with_accounts(self.accounts)
            .with_seed(self.seed)
            .with_end_time_millis(end_time_millis)
            .with_window_millis(window_millis)
            .with_layout(self.layout))
    }
}

fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn report(object: &GeneratedObject) {
    eprintln!(
        "wrote {}  {} rows, {} row groups, {:.1} MB",
        object.path.display(),
        object.num_rows,
        object.num_row_groups,
        megabytes(object.bytes)
    );
}

pub async fn run(args: SampleArgs) -> anyhow::Result<()> {
    let options = args.options()?;
    let out = args.out.clone();
    let started = Instant::now();
    let objects = tokio::task::spawn_blocking(move || generate_with_progress(&options, &out, report))
        .await
        .context("the generator stopped unexpectedly")??;
    let num_rows: u64 = objects.iter().map(|object| object.num_rows).sum();
    let num_row_groups: usize = objects.iter().map(|object| object.num_row_groups).sum();
    let bytes: u64 = objects.iter().map(|object| object.bytes).sum();
    eprintln!(
        "generated {} objects, {num_rows} rows, {num_row_groups} row groups, {:.1} MB in {:.1} s under {}",
        objects.len(),
        megabytes(bytes),
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
