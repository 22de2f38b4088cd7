//! The index layout: per OCSF class, the time suffix of its index names and
//! the primary shard count of its indices, each optionally from a day on.
//!
//! One OCSF class of a large estate (VPC flow, DNS) can write billions of
//! rows a day; a monthly index of one shard would outgrow any sensible shard
//! within hours. Rollover by alias cannot help (a row's index must follow
//! from the row, so that ids and retries stay deterministic), so the layout
//! is chosen from the data (`lakeship estimate` proposes one) and written
//! down as text, the value of `pipeline.index_layout` (`LAKESHIP_INDEX_LAYOUT`):
//!
//! ```text
//! 4001=hour/12, 4003=day/4@2026-12-09, *=month
//! ```
//!
//! Entries are separated by commas; each is `<class_uid or *>=<suffix>`,
//! optionally `/<primary shards>` and `@<YYYY-MM-DD>`, the first day (UTC)
//! from which the entry applies. A row of class `c` at time `t` takes the
//! entry of `c` with the latest day on or before `t` (an entry without a
//! day applies from the beginning); when `c` has none, the same among the
//! `*` entries; when none applies either, `pipeline.time_suffix`. So the
//! index name stays a pure function of the row and the layout, and a change
//! dated after the last row already indexed moves only new rows: a replay
//! of older rows lands in the indices it landed in before.

use std::fmt;
use std::str::FromStr;

use super::TimeSuffix;
use crate::time::{civil_from_days, days_from_civil};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// One entry of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LayoutEntry {
    /// The class it covers; `None` for `*` (every class without entries of its own).
    pub class_uid: Option<i64>,
    /// The first day it applies to, in days since 1970-01-01 (UTC); `None`: always.
    pub since_day: Option<i64>,
    /// The time suffix of index names.
    pub time_suffix: TimeSuffix,
    /// Primary shards of new indices (`index.number_of_shards` of the class's
    /// index template); `None` keeps the template's.
    pub num_shards: Option<u32>,
}

impl LayoutEntry {
    /// An entry for `class_uid` (`None`: every class) with this suffix,
    /// always applying, the template's shard count.
    pub fn new(class_uid: Option<i64>, time_suffix: TimeSuffix) -> Self {
        LayoutEntry { class_uid, since_day: None, time_suffix, num_shards: None }
    }

    /// Sets the primary shards.
    pub fn with_shards(mut self, num_shards: u32) -> Self {
        self.num_shards = Some(num_shards);
        self
    }

    /// Sets the first day (days since 1970-01-01).
    pub fn with_since_day(mut self, day: i64) -> Self {
        self.since_day = Some(day);
        self
    }
}

impl fmt::Display for LayoutEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class_uid {
            Some(class_uid) => write!(f, "{class_uid}")?,
            None => f.write_str("*")?,
        }
        write!(f, "={}", self.time_suffix)?;
        if let Some(num_shards) = self.num_shards {
            write!(f, "/{num_shards}")?;
        }
        if let Some(day) = self.since_day {
            let (year, month, day) = civil_from_days(day);
            write!(f, "@{year:04}-{month:02}-{day:02}")?;
        }
        Ok(())
    }
}

impl FromStr for LayoutEntry {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (class, rest) =
            text.split_once('=').ok_or_else(|| format!("{text:?}: expected <class_uid or *>=<suffix>[/<shards>][@<YYYY-MM-DD>]"))?;
        let class_uid = match class.trim() {
            "*" => None,
            uid => Some(uid.parse::<i64>().map_err(|_| format!("{text:?}: {uid:?} is not a class_uid (a number, or * for every class)"))?),
        };
        let (rest, since_day) = match rest.split_once('@') {
            Some((rest, day)) => (rest, Some(parse_day(day.trim()).ok_or_else(|| format!("{text:?}: {day:?} is not a day (YYYY-MM-DD)"))?)),
            None => (rest, None),
        };
        let (suffix, num_shards) = match rest.split_once('/') {
            Some((suffix, shards)) => {
                let shards = shards.trim();
                match shards.parse::<u32>() {
                    Ok(num_shards) if num_shards >= 1 => (suffix, Some(num_shards)),
                    _ => return Err(format!("{text:?}: {shards:?} is not a shard count (1 or more)")),
                }
            }
            None => (rest, None),
        };
        let time_suffix = suffix.trim().parse::<TimeSuffix>().map_err(|message| format!("{text:?}: {message}"))?;
        Ok(LayoutEntry { class_uid, since_day, time_suffix, num_shards })
    }
}

/// `YYYY-MM-DD` (or `YYYYMMDD`) as days since 1970-01-01.
fn parse_day(text: &str) -> Option<i64> {
    let digits = text.replace('-', "");
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, month, day) = (digits[..4].parse().ok()?, digits[4..6].parse().ok()?, digits[6..].parse().ok()?);
    let days = days_from_civil(year, month, day);
    (civil_from_days(days) == (year, month, day)).then_some(days)
}

/// A layout: entries sorted by class (`*` first) then day. Empty: every
/// class takes `pipeline.time_suffix` and the templates' shard count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexLayout {
    entries: Vec<LayoutEntry>,
}

impl IndexLayout {
    /// A layout of these entries; fails when two cover the same class from
    /// the same day.
    pub fn new(mut entries: Vec<LayoutEntry>) -> Result<Self, String> {
        entries.sort();
        for pair in entries.windows(2) {
            if (pair[0].class_uid, pair[0].since_day) == (pair[1].class_uid, pair[1].since_day) {
                return Err(format!("{} and {} cover the same class from the same day", pair[0], pair[1]));
            }
        }
        Ok(IndexLayout { entries })
    }

    /// The entries, by class (`*` first) then day.
    pub fn entries(&self) -> &[LayoutEntry] {
        &self.entries
    }

    /// True when the layout has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `class` (`None`: `*`) that applies on `day` (`None`: a
    /// row without time, which only an entry without day covers).
    fn applying(&self, class: Option<i64>, day: Option<i64>) -> Option<&LayoutEntry> {
        self.entries.iter().rfind(|entry| {
            entry.class_uid == class
                && match (entry.since_day, day) {
                    (None, _) => true,
                    (Some(since), Some(day)) => since <= day,
                    (Some(_), None) => false,
                }
        })
    }

    /// The time suffix of a row of `class_uid` at `millis` (epoch
    /// milliseconds), `default` where no entry applies.
    pub fn time_suffix(&self, class_uid: i64, millis: Option<i64>, default: TimeSuffix) -> TimeSuffix {
        if self.entries.is_empty() {
            return default;
        }
        let day = millis.map(|millis| millis.div_euclid(MILLIS_PER_DAY));
        self.applying(Some(class_uid), day).or_else(|| self.applying(None, day)).map_or(default, |entry| entry.time_suffix)
    }

    /// The primary shards of new indices of `class_uid`: those of its latest
    /// entry (by day), else of the latest `*` entry; `None` when that entry
    /// names none (the template keeps its own).
    pub fn num_shards(&self, class_uid: i64) -> Option<u32> {
        let latest = |class| self.entries.iter().rfind(|entry| entry.class_uid == class);
        latest(Some(class_uid)).or_else(|| latest(None)).and_then(|entry| entry.num_shards)
    }
}

impl fmt::Display for IndexLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, entry) in self.entries.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{entry}")?;
        }
        Ok(())
    }
}

impl FromStr for IndexLayout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let entries = text.split(',').filter(|entry| !entry.trim().is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        IndexLayout::new(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEC_8: i64 = 1_796_688_000_000; // 2026-12-08T00:00:00Z

    #[test]
    fn parses_and_prints_the_text_form() {
        let layout: IndexLayout = " 4003=day/4@2026-12-08 ,4001=hour/12, *=month,, 4003=month".parse().unwrap();
        assert_eq!(layout.to_string(), "*=month, 4001=hour/12, 4003=month, 4003=day/4@2026-12-08");
        assert_eq!(layout.to_string().parse::<IndexLayout>().unwrap(), layout);
        assert!("".parse::<IndexLayout>().unwrap().is_empty());
        for bad in ["4001", "4001=fortnight", "x=day", "4001=day/0", "4001=day/many", "4001=day@2026-02-30", "4001=day, 4001=hour"] {
            assert!(bad.parse::<IndexLayout>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_row_takes_its_class_entry_of_its_day_then_star_then_the_default() {
        let layout: IndexLayout = "4001=day/2, 4001=hour/12@2026-12-08, *=week@2026-12-08".parse().unwrap();
        let (before, after) = (Some(DEC_8 - 1), Some(DEC_8));
        assert_eq!(layout.time_suffix(4001, before, TimeSuffix::Month), TimeSuffix::Day);
        assert_eq!(layout.time_suffix(4001, after, TimeSuffix::Month), TimeSuffix::Hour);
        assert_eq!(layout.time_suffix(4001, None, TimeSuffix::Month), TimeSuffix::Day);
        assert_eq!(layout.time_suffix(4003, before, TimeSuffix::Month), TimeSuffix::Month);
        assert_eq!(layout.time_suffix(4003, after, TimeSuffix::Month), TimeSuffix::Week);
        assert_eq!(layout.num_shards(4001), Some(12));
        assert_eq!(layout.num_shards(4003), None, "the * entry names no shards");
        assert_eq!(IndexLayout::default().time_suffix(4001, after, TimeSuffix::Year), TimeSuffix::Year);
    }
}
