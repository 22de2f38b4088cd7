//! The state one object's rows are drawn from: its random stream, its home
//! account and region (the Security Lake partition it belongs to), that
//! account's estate, and the clock that spreads its rows over its slice of
//! the time window.

use super::rng::{SampleRng, derive_seed, hash_str};
use super::values::{Estate, Internet, REGIONS, Region, account_ids, stream};
use super::{OcsfVersion, SampleClass, SampleOptions};

/// Where an object lives: its account and region, and its time slice.
#[derive(Debug, Clone)]
pub(crate) struct ObjectHome {
    /// Index of the account among the options' accounts.
    pub account_index: usize,
    /// The 12-digit account id.
    pub account: String,
    /// All account ids of the run (for cross-account references).
    pub accounts: Vec<String>,
    /// Index of the region in [`REGIONS`].
    pub region_index: usize,
    /// The region.
    pub region: Region,
    /// First instant of the object's time slice (epoch milliseconds).
    pub start_millis: i64,
    /// Length of the object's time slice in milliseconds.
    pub span_millis: i64,
}

impl ObjectHome {
    /// Object `object_index` of a class and version: objects cycle through
    /// the accounts first, then the regions, and split the time window into
    /// consecutive slices.
    pub(crate) fn new(options: &SampleOptions, object_index: usize) -> ObjectHome {
        let num_accounts = options.accounts.max(1);
        let accounts = account_ids(options.seed, num_accounts);
        let account_index = object_index % num_accounts;
        let region_index = (object_index / num_accounts) % REGIONS.len();
        let num_objects = options.objects_per_class.max(1) as i128;
        let window = i128::from(options.window_millis.max(0));
        let slice_start = window * (object_index as i128 % num_objects) / num_objects;
        let slice_end = window * (object_index as i128 % num_objects + 1) / num_objects;
        ObjectHome {
            account_index,
            account: accounts[account_index].clone(),
            accounts,
            region_index,
            region: REGIONS[region_index],
            start_millis: options.end_time_millis - options.window_millis.max(0) + slice_start as i64,
            span_millis: (slice_end - slice_start) as i64,
        }
    }
}

/// Spreads `num_rows` rows over a time slice, in order: row `i` falls in
/// the `i`-th of `num_rows` equal steps, at a random point of that step.
#[derive(Debug, Clone)]
struct Clock {
    start: i64,
    span: i64,
    num_rows: u64,
}

impl Clock {
    fn time(&self, row: u64, rng: &mut SampleRng) -> i64 {
        let rows = i128::from(self.num_rows.max(1));
        let span = i128::from(self.span);
        let step_start = span * i128::from(row) / rows;
        let step_end = span * (i128::from(row) + 1) / rows;
        let step = (step_end - step_start).max(1) as u64;
        self.start + step_start as i64 + rng.between(0, step - 1) as i64
    }
}

/// Everything a class generator needs to draw the rows of one object.
#[derive(Debug)]
pub(crate) struct ObjectContext {
    /// The OCSF version written.
    pub version: OcsfVersion,
    /// The object's random stream.
    pub rng: SampleRng,
    /// The object's account, region and time slice.
    pub home: ObjectHome,
    /// The estate of the home account in the home region.
    pub estate: Estate,
    /// The public Internet.
    pub internet: Internet,
    clock: Clock,
    next_row: u64,
}

impl ObjectContext {
    /// The context of object `object_index` of `class` in `version`.
    pub(crate) fn new(class: SampleClass, version: OcsfVersion, options: &SampleOptions, object_index: usize) -> Self {
        let home = ObjectHome::new(options, object_index);
        let seed =
            derive_seed(options.seed, &[stream::OBJECT, hash_str(&class.to_string()), hash_str(version.as_str()), object_index as u64]);
        let clock = Clock { start: home.start_millis, span: home.span_millis, num_rows: options.rows_per_object as u64 };
        ObjectContext {
            version,
            rng: SampleRng::new(seed),
            estate: Estate::new(options.seed, home.account_index, home.region_index),
            internet: Internet::new(options.seed),
            home,
            clock,
            next_row: 0,
        }
    }

    /// The time of the next row (rows come out in time order).
    pub(crate) fn next_time(&mut self) -> i64 {
        let time = self.clock.time(self.next_row, &mut self.rng);
        self.next_row += 1;
        time
    }

    /// True when writing OCSF 1.1.0.
    pub(crate) fn is_v1_1(&self) -> bool {
        self.version == OcsfVersion::V1_1_0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_times_are_sorted_and_inside_the_slice() {
        let clock = Clock { start: 1000, span: 10_000, num_rows: 300 };
        let mut rng = SampleRng::new(9);
        let times: Vec<i64> = (0..300).map(|row| clock.time(row, &mut rng)).collect();
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(times[0] >= 1000 && times[299] < 11_000);
    }

    #[test]
    fn objects_split_the_window_and_cycle_accounts() {
        let options = SampleOptions::default().with_objects_per_class(4).with_accounts(3);
        let homes: Vec<ObjectHome> = (0..4).map(|index| ObjectHome::new(&options, index)).collect();
        assert_eq!(homes[0].start_millis, options.end_time_millis - options.window_millis);
        assert_eq!(homes[3].start_millis + homes[3].span_millis, options.end_time_millis);
        assert_eq!(homes[1].start_millis, homes[0].start_millis + homes[0].span_millis);
        assert_eq!(homes[3].account, homes[0].account);
        assert_ne!(homes[3].region, homes[0].region);
    }
}
