//! Where a row goes (its index) and who it is (its document id).
//!
//! # Why both are stable
//!
//! * The **index name** is `ocsf-<metadata.version>-<class_uid>-<class_name>`
//!   plus an optional time suffix computed from the row's own `time` field
//!   (OCSF's required event time, epoch milliseconds). Nothing about the
//!   moment of ingestion, the shard or the run enters it, so a row lands in
//!   the same index on every attempt, redrive and replay — also after the
//!   calendar moves on.
//! * The **document id** (`crate::ids`) is `<object id>-<row group>-<row>`: the object id is
//!   a hash of the object's identity (bucket, key, and version id or etag),
//!   the row group and row index locate the row inside that immutable object
//!   version. Documents are sent with the bulk `create` action, so a second
//!   delivery of the same row is answered `409 version_conflict` and counted
//!   as "already present" instead of creating a duplicate.

use std::fmt;
use std::str::FromStr;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch, StructArray};
use arrow_schema::{DataType, TimeUnit};
use serde::{Deserialize, Serialize};

use super::layout::IndexLayout;
use crate::time::civil_from_millis;

/// The granularity of the time suffix of index names, coarsest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeSuffix {
    /// No suffix: one index per version and class.
    None,
    /// `-YYYY`.
    Year,
    /// `-YYYY.MM` (the default).
    #[default]
    Month,
    /// `-GGGG.wWW`: the ISO 8601 week (Monday to Sunday, UTC) and its
    /// week-numbering year, e.g. `-2026.w01` for 2025-12-29 … 2026-01-04.
    Week,
    /// `-YYYY.MM.DD`.
    Day,
    /// `-YYYY.MM.DD.HH` (UTC).
    Hour,
}

impl FromStr for TimeSuffix {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Ok(TimeSuffix::None),
            "year" => Ok(TimeSuffix::Year),
            "month" => Ok(TimeSuffix::Month),
            "week" => Ok(TimeSuffix::Week),
            "day" => Ok(TimeSuffix::Day),
            "hour" => Ok(TimeSuffix::Hour),
            _ => Err(format!("unknown time suffix {text:?}: expected none, year, month, week, day or hour")),
        }
    }
}

impl fmt::Display for TimeSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeSuffix::None => "none",
            TimeSuffix::Year => "year",
            TimeSuffix::Month => "month",
            TimeSuffix::Week => "week",
            TimeSuffix::Day => "day",
            TimeSuffix::Hour => "hour",
        })
    }
}

const MILLIS_PER_HOUR: i64 = 3_600_000;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// The Monday (days since 1970-01-01, a Thursday) of the ISO week of `day`.
fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

/// The ISO 8601 week-numbering year and week of `day` (days since the epoch):
/// the week belongs to the year of its Thursday.
fn iso_week(day: i64) -> (i64, i64) {
    let thursday = monday_of(day) + 3;
    let (year, _, _) = crate::time::civil_from_days(thursday);
    (year, (thursday - crate::time::days_from_civil(year, 1, 1)) / 7 + 1)
}

impl TimeSuffix {
    /// Every suffix, coarsest first.
    pub const ALL: [TimeSuffix; 6] =
        [TimeSuffix::None, TimeSuffix::Year, TimeSuffix::Month, TimeSuffix::Week, TimeSuffix::Day, TimeSuffix::Hour];

    /// The period a time falls in, as a number that changes exactly when the
    /// suffix changes (0 for no suffix).
    fn period(self, millis: i64) -> i64 {
        match self {
            TimeSuffix::None => 0,
            TimeSuffix::Hour => millis.div_euclid(MILLIS_PER_HOUR),
            TimeSuffix::Week => monday_of(millis.div_euclid(MILLIS_PER_DAY)),
            TimeSuffix::Year | TimeSuffix::Month | TimeSuffix::Day => {
                let (year, month, day) = civil_from_millis(millis);
                match self {
                    TimeSuffix::Year => year,
                    TimeSuffix::Month => year * 100 + i64::from(month),
                    _ => (year * 100 + i64::from(month)) * 100 + i64::from(day),
                }
            }
        }
    }

    fn format(self, millis: i64) -> String {
        let (year, month, day) = civil_from_millis(millis);
        match self {
            TimeSuffix::None => String::new(),
            TimeSuffix::Year => format!("-{year:04}"),
            TimeSuffix::Month => format!("-{year:04}.{month:02}"),
            TimeSuffix::Week => {
                let (week_year, week) = iso_week(millis.div_euclid(MILLIS_PER_DAY));
                format!("-{week_year:04}.w{week:02}")
            }
            TimeSuffix::Day => format!("-{year:04}.{month:02}.{day:02}"),
            TimeSuffix::Hour => {
                let hour = millis.rem_euclid(MILLIS_PER_DAY) / MILLIS_PER_HOUR;
                format!("-{year:04}.{month:02}.{day:02}.{hour:02}")
            }
        }
    }

    /// The length of one period in milliseconds, for sizing (a month as
    /// 31 days, a year as 366); `None` for no suffix.
    pub fn max_period_millis(self) -> Option<i64> {
        match self {
            TimeSuffix::None => None,
            TimeSuffix::Year => Some(366 * MILLIS_PER_DAY),
            TimeSuffix::Month => Some(31 * MILLIS_PER_DAY),
            TimeSuffix::Week => Some(7 * MILLIS_PER_DAY),
            TimeSuffix::Day => Some(MILLIS_PER_DAY),
            TimeSuffix::Hour => Some(MILLIS_PER_HOUR),
        }
    }
}

/// Makes a name part valid in an index name: lower case, and `_` for spaces
/// and characters OpenSearch forbids.
pub fn sanitize_name_part(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| match c {
            ' ' | '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ':' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// The index name of a row with these values (without time suffix when
/// `millis` is `None`).
pub fn index_name(
    prefix: &str,
    version: Option<&str>,
    class_uid: Option<i64>,
    class_name: Option<&str>,
    suffix: TimeSuffix,
    millis: Option<i64>,
) -> String {
    let version = version.map(sanitize_name_part).unwrap_or_else(|| "unknown".into());
    let class_uid = class_uid.map_or_else(|| "0".into(), |uid| uid.to_string());
    let class_name = match class_name.map(sanitize_name_part) {
        Some(name) if !name.is_empty() => name,
        _ => crate::ocsf::class_name(&version, class_uid.parse().unwrap_or(0)).map(sanitize_name_part).unwrap_or_else(|| "unknown".into()),
    };
    let suffix = millis.map(|millis| suffix.format(millis)).unwrap_or_default();
    format!("{prefix}-{version}-{class_uid}-{class_name}{suffix}")
}

/// A string column of any Arrow string encoding.
enum StrColumn<'a> {
    Utf8(&'a arrow_array::StringArray),
    LargeUtf8(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    Dictionary { keys: Vec<usize>, values: Box<StrColumn<'a>>, array: &'a dyn Array },
}

impl<'a> StrColumn<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => StrColumn::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => StrColumn::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => StrColumn::View(array.as_string_view()),
            DataType::Dictionary(_, _) => {
                let dictionary = array.as_any_dictionary();
                let values = StrColumn::new(dictionary.values().as_ref())?;
                let keys = if dictionary.values().is_empty() { Vec::new() } else { dictionary.normalized_keys() };
                StrColumn::Dictionary { keys, values: Box::new(values), array }
            }
            _ => return None,
        })
    }

    fn get(&self, index: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(array) => array.is_valid(index).then(|| array.value(index)),
            StrColumn::LargeUtf8(array) => array.is_valid(index).then(|| array.value(index)),
            StrColumn::View(array) => array.is_valid(index).then(|| array.value(index)),
            StrColumn::Dictionary { keys, values, array } => {
                if array.is_null(index) {
                    None
                } else {
                    values.get(keys[index])
                }
            }
        }
    }
}

/// An integer column (any integer width, or a millisecond timestamp).
enum IntColumn<'a> {
    Int8(&'a arrow_array::Int8Array),
    Int16(&'a arrow_array::Int16Array),
    Int32(&'a arrow_array::Int32Array),
    Int64(&'a arrow_array::Int64Array),
    UInt8(&'a arrow_array::UInt8Array),
    UInt16(&'a arrow_array::UInt16Array),
    UInt32(&'a arrow_array::UInt32Array),
    UInt64(&'a arrow_array::UInt64Array),
    TimestampMillis(&'a arrow_array::TimestampMillisecondArray),
}

impl<'a> IntColumn<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Int8 => IntColumn::Int8(array.as_primitive()),
            DataType::Int16 => IntColumn::Int16(array.as_primitive()),
            DataType::Int32 => IntColumn::Int32(array.as_primitive::<Int32Type>()),
            DataType::Int64 => IntColumn::Int64(array.as_primitive::<Int64Type>()),
            DataType::UInt8 => IntColumn::UInt8(array.as_primitive()),
            DataType::UInt16 => IntColumn::UInt16(array.as_primitive()),
            DataType::UInt32 => IntColumn::UInt32(array.as_primitive()),
            DataType::UInt64 => IntColumn::UInt64(array.as_primitive()),
            DataType::Timestamp(TimeUnit::Millisecond, _) => IntColumn::TimestampMillis(array.as_primitive::<TimestampMillisecondType>()),
            _ => return None,
        })
    }

    #[inline]
    fn get(&self, index: usize) -> Option<i64> {
        match self {
            IntColumn::Int8(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::Int16(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::Int32(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::Int64(array) => array.is_valid(index).then(|| array.value(index)),
            IntColumn::UInt8(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::UInt16(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::UInt32(array) => array.is_valid(index).then(|| i64::from(array.value(index))),
            IntColumn::UInt64(array) => array.is_valid(index).then(|| i64::try_from(array.value(index)).ok()).flatten(),
            IntColumn::TimestampMillis(array) => array.is_valid(index).then(|| array.value(index)),
        }
    }
}

/// Why a row cannot be routed, if it cannot: the index name needs a class,
/// an OCSF version that is usable in an index name, and (with a time
/// suffix) the row's time. Such a row is rejected with this reason rather
/// than sent to a made-up index.
fn unroutable(version: Option<&str>, class_uid: Option<i64>, millis: Option<i64>, suffix: TimeSuffix) -> Option<&'static str> {
    if class_uid.is_none() {
        return Some("class_uid is null (OCSF requires it; the index name derives from it)");
    }
    let Some(version) = version.map(str::trim).filter(|version| !version.is_empty()) else {
        return Some("metadata.version is null (OCSF requires it; the index name derives from it)");
    };
    let usable = version.len() <= 32
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    if !usable {
        return Some("metadata.version is not an OCSF version (digits, letters, '.', '-' and '+', at most 32)");
    }
    if millis.is_none() && suffix != TimeSuffix::None {
        return Some("time is null (OCSF requires it; the index's time suffix derives from it)");
    }
    None
}

fn column<'a>(batch: &'a RecordBatch, path: &[&str]) -> Option<&'a dyn Array> {
    let mut current: &dyn Array = batch.column_by_name(path[0])?.as_ref();
    for name in &path[1..] {
        let parent: &StructArray = current.as_struct_opt()?;
        current = parent.column_by_name(name)?.as_ref();
    }
    Some(current)
}

/// Equal strings; cheap when both are the same slice (dictionary values).
#[inline]
fn same_text(cached: Option<&str>, current: Option<&str>) -> bool {
    match (cached, current) {
        (Some(a), Some(b)) => a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b),
        (None, None) => true,
        _ => false,
    }
}

/// What an index name depends on: version, class uid, class name, suffix, period.
type RouteKey<'a> = (Option<&'a str>, Option<i64>, Option<&'a str>, TimeSuffix, Option<i64>);

/// Computes the index name of each row of a batch, reusing the previous
/// row's name when version, class and period are unchanged (the common case).
/// The suffix of a row is its class's in the layout at the row's time
/// ([`IndexLayout::time_suffix`]), `suffix` where the layout has none.
pub(crate) struct Router<'a> {
    prefix: &'a str,
    suffix: TimeSuffix,
    layout: &'a IndexLayout,
    version: Option<StrColumn<'a>>,
    class_uid: Option<IntColumn<'a>>,
    class_name: Option<StrColumn<'a>>,
    time: Option<IntColumn<'a>>,
    last_key: Option<RouteKey<'a>>,
    last_name: String,
}

impl<'a> Router<'a> {
    pub(crate) fn new(batch: &'a RecordBatch, prefix: &'a str, suffix: TimeSuffix, layout: &'a IndexLayout) -> Self {
        Router {
            prefix,
            suffix,
            layout,
            version: column(batch, &["metadata", "version"]).and_then(StrColumn::new),
            class_uid: column(batch, &["class_uid"]).and_then(IntColumn::new),
            class_name: column(batch, &["class_name"]).and_then(StrColumn::new),
            time: column(batch, &["time"]).and_then(IntColumn::new),
            last_key: None,
            last_name: String::new(),
        }
    }

    /// The index name of row `index`, or why the row cannot be routed.
    #[inline]
    pub(crate) fn route(&mut self, index: usize) -> Result<&str, &'static str> {
        let version = self.version.as_ref().and_then(|column| column.get(index));
        let class_uid = self.class_uid.as_ref().and_then(|column| column.get(index));
        let class_name = self.class_name.as_ref().and_then(|column| column.get(index));
        let millis = self.time.as_ref().and_then(|column| column.get(index));
        let suffix = match class_uid {
            Some(class_uid) => self.layout.time_suffix(class_uid, millis, self.suffix),
            None => self.suffix,
        };
        let period = millis.map(|millis| suffix.period(millis));
        let unchanged = self.last_key.as_ref().is_some_and(|(v, u, n, s, p)| {
            *u == class_uid && *s == suffix && *p == period && same_text(*v, version) && same_text(*n, class_name)
        });
        if !unchanged {
            if let Some(reason) = unroutable(version, class_uid, millis, suffix) {
                return Err(reason);
            }
            self.last_name = index_name(self.prefix, version, class_uid, class_name, suffix, millis);
            self.last_key = Some((version, class_uid, class_name, suffix, period));
        }
        Ok(&self.last_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_index_names() {
        let millis = Some(1_649_721_732_000);
        let name = |suffix| index_name("ocsf", Some("1.1.0"), Some(4001), Some("Network Activity"), suffix, millis);
        assert_eq!(name(TimeSuffix::Month), "ocsf-1.1.0-4001-network_activity-2022.04");
        assert_eq!(name(TimeSuffix::Day), "ocsf-1.1.0-4001-network_activity-2022.04.12");
        assert_eq!(name(TimeSuffix::Year), "ocsf-1.1.0-4001-network_activity-2022");
        assert_eq!(name(TimeSuffix::None), "ocsf-1.1.0-4001-network_activity");
        assert_eq!(name(TimeSuffix::Hour), "ocsf-1.1.0-4001-network_activity-2022.04.12.00");
        assert_eq!(name(TimeSuffix::Week), "ocsf-1.1.0-4001-network_activity-2022.w15");
        assert_eq!(
            index_name("ocsf", Some("1.0.0-rc.2"), Some(3005), Some("API Activity"), TimeSuffix::None, None),
            "ocsf-1.0.0-rc.2-3005-api_activity"
        );
    }

    #[test]
    fn periods_change_with_the_suffix() {
        let jan = 1_704_067_200_000; // 2024-01-01
        let feb = jan + 31 * 86_400_000;
        assert_eq!(TimeSuffix::Year.period(jan), TimeSuffix::Year.period(feb));
        assert_ne!(TimeSuffix::Month.period(jan), TimeSuffix::Month.period(feb));
        assert_eq!(TimeSuffix::Hour.period(jan + 3_599_999), TimeSuffix::Hour.period(jan));
        assert_ne!(TimeSuffix::Hour.period(jan + 3_600_000), TimeSuffix::Hour.period(jan));
    }

    #[test]
    fn weeks_are_iso_weeks() {
        let day = |year, month, day| crate::time::days_from_civil(year, month, day) * 86_400_000;
        let week = |millis| TimeSuffix::Week.format(millis);
        // 2025-12-29 (a Monday) is in week 1 of 2026; 2021-01-03 (a Sunday) in week 53 of 2020.
        assert_eq!(week(day(2025, 12, 29)), "-2026.w01");
        assert_eq!(week(day(2021, 1, 3)), "-2020.w53");
        assert_eq!(week(day(2021, 1, 4)), "-2021.w01");
        assert_eq!(TimeSuffix::Week.period(day(2021, 1, 3)), TimeSuffix::Week.period(day(2020, 12, 28)));
        assert_ne!(TimeSuffix::Week.period(day(2021, 1, 3)), TimeSuffix::Week.period(day(2021, 1, 4)));
        assert_eq!(TimeSuffix::Hour.format(day(2021, 1, 3) + 23 * 3_600_000 + 1), "-2021.01.03.23");
        for suffix in TimeSuffix::ALL {
            assert_eq!(suffix.to_string().parse::<TimeSuffix>(), Ok(suffix));
        }
    }
}
