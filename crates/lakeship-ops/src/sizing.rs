//! An index layout proposed from the data: per OCSF class, the coarsest time
//! suffix (month, week, day, hour) whose indices need at most
//! [`SizingTargets::max_shards_per_index`] primary shards for no shard to
//! pass [`SizingTargets::max_shard_bytes`] or
//! [`SizingTargets::max_shard_docs`], and that number of shards.
//!
//! The volumes come from Parquet footers alone: each object's class from
//! its `class_uid` statistics, its rows from the footer, the window the
//! sample covers from the `time` statistics (or the days the caller names).
//! Rows per day are the class's rows over that window, times a scale factor
//! (a sample of 10 of 1,000 accounts: 100). OpenSearch bytes per day are
//! rows per day times the store bytes a document of the class takes
//! ([`store_bytes_per_doc`], measured by `make bench-index`).
//!
//! An index holds one period of its suffix; the sizing takes the longest
//! (a month as 31 days) and spreads its rows evenly over the shards (the
//! `_id` routing hash does). A busier hour than the average is what the
//! targets' distance from the hard limits is for: 200 M documents against
//! Lucene's 2,147,483,519 per shard, 30 GB against the 50 GB the AWS
//! guidance names for log analytics shards (docs/scale.md cites both).

use std::collections::BTreeMap;

use serde::Serialize;

use lakeship::convert::{IndexLayout, LayoutEntry, TimeSuffix};
use lakeship::plan::PlannedObject;
use lakeship::reader::ParquetFooter;

const MILLIS_PER_HOUR: i64 = 3_600_000;
const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// What no shard may pass, and how many shards an index may have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SizingTargets {
    /// Store bytes of one primary shard. Default 30 GB (10^9 bytes).
    pub max_shard_bytes: u64,
    /// Documents of one primary shard. Default 200 M.
    pub max_shard_docs: u64,
    /// Primary shards of one index before a finer suffix is chosen. Default 8.
    pub max_shards_per_index: u32,
}

impl Default for SizingTargets {
    fn default() -> Self {
        SizingTargets { max_shard_bytes: 30_000_000_000, max_shard_docs: 200_000_000, max_shards_per_index: 8 }
    }
}

/// Store bytes per document of a class, primaries after a force-merge, from
/// `make bench-index` (BENCHMARKS.md, "Index cost", the `after` mapping):
/// Network Activity 215, DNS Activity 152, API Activity 354, Detection
/// Finding 423. Other classes take the largest, 423.
pub fn store_bytes_per_doc(class_uid: i64) -> f64 {
    match class_uid {
        4001 => 215.4,
        4003 => 151.9,
        6003 | 3005 => 354.1,
        _ => 422.9,
    }
}

/// The rows of one class in the sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassVolume {
    /// `class_uid`.
    pub class_uid: i64,
    /// Objects.
    pub num_objects: u64,
    /// Rows.
    pub num_rows: u64,
    /// Compressed Parquet bytes.
    pub num_bytes: u64,
}

/// The sample: rows per class, and the window its `time` statistics span.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SampleVolumes {
    /// One entry per class, by `class_uid`.
    pub classes: Vec<ClassVolume>,
    /// Objects whose footer statistics name no single class (not counted).
    pub num_unclassified: u64,
    /// Earliest `time` in the footers' statistics (epoch ms).
    pub first_millis: Option<i64>,
    /// Latest `time` in the footers' statistics (epoch ms).
    pub last_millis: Option<i64>,
}

impl SampleVolumes {
    /// The volumes of `footers`.
    pub fn from_footers(footers: &[ParquetFooter]) -> SampleVolumes {
        let mut classes: BTreeMap<i64, ClassVolume> = BTreeMap::new();
        let mut volumes = SampleVolumes::default();
        for footer in footers {
            let Some(class_uid) = PlannedObject::from_footer(footer).class_uid else {
                volumes.num_unclassified += 1;
                continue;
            };
            let class = classes.entry(class_uid).or_insert_with(|| ClassVolume { class_uid, ..ClassVolume::default() });
            class.num_objects += 1;
            class.num_rows += footer.num_rows();
            class.num_bytes += footer.object.size.unwrap_or_default();
            if let Some((first, last)) = time_range(footer) {
                volumes.first_millis = Some(volumes.first_millis.map_or(first, |known| known.min(first)));
                volumes.last_millis = Some(volumes.last_millis.map_or(last, |known| known.max(last)));
            }
        }
        volumes.classes = classes.into_values().collect();
        volumes
    }

    /// The days the `time` statistics span, at least an hour.
    pub fn window_days(&self) -> Option<f64> {
        let (first, last) = (self.first_millis?, self.last_millis?);
        Some((last - first).max(MILLIS_PER_HOUR) as f64 / MILLIS_PER_DAY)
    }
}

/// The least and greatest `time` of an object, from its row groups'
/// statistics (an int64 column of epoch milliseconds).
fn time_range(footer: &ParquetFooter) -> Option<(i64, i64)> {
    let mut range: Option<(i64, i64)> = None;
    for row_group in footer.metadata.row_groups() {
        let column = row_group.columns().iter().find(|column| column.column_path().string() == "time")?;
        let statistics = column.statistics()?;
        let as_i64 = |bytes: &[u8]| -> Option<i64> { Some(i64::from_le_bytes(bytes.try_into().ok()?)) };
        let (min, max) = (as_i64(statistics.min_bytes_opt()?)?, as_i64(statistics.max_bytes_opt()?)?);
        range = Some(range.map_or((min, max), |(first, last)| (first.min(min), last.max(max))));
    }
    range
}

/// The sizing of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSizing {
    /// `class_uid`.
    pub class_uid: i64,
    /// Rows per day (scaled).
    pub rows_per_day: f64,
    /// Store bytes per document assumed.
    pub store_bytes_per_doc: f64,
    /// Store bytes per day (primaries).
    pub store_bytes_per_day: f64,
    /// The suffix chosen.
    pub time_suffix: TimeSuffix,
    /// Primary shards per index.
    pub num_shards: u32,
    /// Documents per shard in the longest period.
    pub docs_per_shard: f64,
    /// Store bytes per shard in the longest period.
    pub bytes_per_shard: f64,
    /// True when even hourly indices need more than the shard cap.
    pub over_cap: bool,
}

/// The sizing of a class of `rows_per_day` rows of `bytes_per_doc` bytes.
pub fn size_class(class_uid: i64, rows_per_day: f64, bytes_per_doc: f64, targets: &SizingTargets) -> ClassSizing {
    let store_bytes_per_day = rows_per_day * bytes_per_doc;
    let shards_for = |suffix: TimeSuffix| {
        let days = suffix.max_period_millis().unwrap_or(i64::MAX) as f64 / MILLIS_PER_DAY;
        let by_docs = (rows_per_day * days / targets.max_shard_docs.max(1) as f64).ceil();
        let by_bytes = (store_bytes_per_day * days / targets.max_shard_bytes.max(1) as f64).ceil();
        (by_docs.max(by_bytes).max(1.0).min(f64::from(u32::MAX)) as u32, days)
    };
    let candidates = [TimeSuffix::Month, TimeSuffix::Week, TimeSuffix::Day, TimeSuffix::Hour];
    let chosen =
        candidates.iter().map(|&suffix| (suffix, shards_for(suffix))).find(|(_, (shards, _))| *shards <= targets.max_shards_per_index);
    let (time_suffix, (num_shards, days), over_cap) = match chosen {
        Some((suffix, sized)) => (suffix, sized, false),
        None => (TimeSuffix::Hour, shards_for(TimeSuffix::Hour), true),
    };
    ClassSizing {
        class_uid,
        rows_per_day,
        store_bytes_per_doc: bytes_per_doc,
        store_bytes_per_day,
        time_suffix,
        num_shards,
        docs_per_shard: rows_per_day * days / f64::from(num_shards),
        bytes_per_shard: store_bytes_per_day * days / f64::from(num_shards),
        over_cap,
    }
}

/// The sizing of every class of the sample over `window_days`, rows
/// multiplied by `scale`; `bytes_per_doc` overrides [`store_bytes_per_doc`].
pub fn size_classes(
    volumes: &SampleVolumes,
    window_days: f64,
    scale: f64,
    bytes_per_doc: Option<f64>,
    targets: &SizingTargets,
) -> Vec<ClassSizing> {
    volumes
        .classes
        .iter()
        .map(|class| {
            let rows_per_day = class.num_rows as f64 * scale / window_days.max(f64::MIN_POSITIVE);
            let bytes_per_doc = bytes_per_doc.unwrap_or_else(|| store_bytes_per_doc(class.class_uid));
            size_class(class.class_uid, rows_per_day, bytes_per_doc, targets)
        })
        .collect()
}

/// The layout of these sizings: one entry per class, applying always.
pub fn layout_of(sizings: &[ClassSizing]) -> IndexLayout {
    let entries =
        sizings.iter().map(|sizing| LayoutEntry::new(Some(sizing.class_uid), sizing.time_suffix).with_shards(sizing.num_shards)).collect();
    IndexLayout::new(entries).expect("one entry per class")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_coarsest_suffix_within_the_shard_cap() {
        let targets = SizingTargets::default();
        // 1 M rows/day of 200 B: 31 M docs and 6.2 GB a month: one monthly shard.
        let small = size_class(1, 1e6, 200.0, &targets);
        assert_eq!((small.time_suffix, small.num_shards, small.over_cap), (TimeSuffix::Month, 1, false));
        // 100 M rows/day: a month is 3.1 G docs (16 shards > 8), a week 700 M (4 shards by docs; 140 GB, 5 by bytes).
        let medium = size_class(2, 1e8, 200.0, &targets);
        assert_eq!((medium.time_suffix, medium.num_shards), (TimeSuffix::Week, 5));
        assert!(medium.bytes_per_shard <= 30e9 && medium.docs_per_shard <= 200e6);
        // 10 G rows/day of 215 B: a day is 50 shards, an hour 2.15 TB / 24 = 90 GB: 3 shards.
        let vpc = size_class(4001, 1e10, 215.0, &targets);
        assert_eq!((vpc.time_suffix, vpc.num_shards), (TimeSuffix::Hour, 3));
        // Beyond the cap even hourly: hourly, over the cap.
        let huge = size_class(3, 1e12, 215.0, &targets);
        assert!(huge.over_cap && huge.time_suffix == TimeSuffix::Hour && huge.num_shards > 8);
        assert_eq!(layout_of(&[small, vpc]).to_string(), "1=month/1, 4001=hour/3");
    }

    #[tokio::test]
    async fn reads_classes_rows_and_window_from_footers() {
        use lakeship_sample::{SampleClass, SampleOptions};

        let dir = tempfile::tempdir().expect("tempdir");
        let options = SampleOptions::default()
            .with_classes(vec![SampleClass::NetworkActivity, SampleClass::DnsActivity])
            .with_rows_per_object(300)
            .with_objects_per_class(2)
            .with_end_time_millis(1_710_460_800_000);
        let (objects, footers) = crate::estimate::test_lake::sample_footers(&options, dir.path()).await;
        let volumes = SampleVolumes::from_footers(&footers);
        let by_class: Vec<(i64, u64)> = volumes.classes.iter().map(|class| (class.class_uid, class.num_rows)).collect();
        assert_eq!(volumes.num_unclassified, 0);
        assert_eq!(by_class.iter().map(|(_, rows)| rows).sum::<u64>(), 300 * objects.len() as u64);
        assert!(by_class.iter().any(|(uid, _)| *uid == 4001) && by_class.iter().any(|(uid, _)| *uid == 4003), "{by_class:?}");
        let (first, last) = (volumes.first_millis.expect("time statistics"), volumes.last_millis.expect("time statistics"));
        assert!(first < last && last <= 1_710_460_800_000, "{first}..{last}");
        assert!(volumes.window_days().expect("window") > 0.0);
    }
}
