//! Calendar arithmetic on the proleptic Gregorian calendar (UTC), shared by
//! the core library (`lakeship::time` re-exports it) and the sample
//! generator, which needs nothing else of the core.

#![warn(missing_docs)]

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Year, month (1-12) and day (1-31) of a day number counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
#[inline]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given civil date (`days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month and day of an epoch-millisecond instant.
#[inline]
pub fn civil_from_millis(millis: i64) -> (i64, u32, u32) {
    civil_from_days(millis.div_euclid(MILLIS_PER_DAY))
}
