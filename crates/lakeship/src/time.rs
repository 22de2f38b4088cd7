//! Time: the clock (`now_millis`), calendar arithmetic (from
//! `lakeship-calendar`, which the sample generator shares) and ISO-8601
//! formatting without allocation. Used by conversion, routing, run ids, the
//! operations crate and the CLI.
//!
//! Time values are written as `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC), which the
//! index templates map as `date` (`strict_date_optional_time`).

use std::time::{SystemTime, UNIX_EPOCH};

use arrow_schema::TimeUnit;
pub use lakeship_calendar::{civil_from_days, civil_from_millis, days_from_civil};

/// Milliseconds since the epoch.
pub fn now_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_millis() as i64).unwrap_or(0)
}

#[inline]
fn push_two(out: &mut Vec<u8>, value: u32) {
    out.push(b'0' + (value / 10) as u8);
    out.push(b'0' + (value % 10) as u8);
}

#[inline]
fn push_digits(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut digits = [b'0'; 9];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    crate::convert::json::put(out, &digits[..width]);
}

/// Appends `YYYY-MM-DD` (without quotes). Years outside 0..=9999 are written
/// with a sign and at least four digits.
pub(crate) fn write_date(out: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    if (0..=9999).contains(&year) {
        push_digits(out, year as u64, 4);
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        let mut buffer = itoa::Buffer::new();
        let digits = buffer.format(year.unsigned_abs());
        for _ in digits.len()..4 {
            out.push(b'0');
        }
        out.extend_from_slice(digits.as_bytes());
    }
    out.push(b'-');
    push_two(out, month);
    out.push(b'-');
    push_two(out, day);
}

/// Splits a value of `unit` into days since the epoch, the second of the day
/// and the sub-second fraction with its digit count.
fn split(value: i64, unit: TimeUnit) -> (i64, u32, u64, usize) {
    let (per_second, digits): (i64, usize) = match unit {
        TimeUnit::Second => (1, 0),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second) as u64;
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400) as u32;
    (days, second_of_day, fraction, digits)
}

/// Appends `HH:MM:SS[.fff]` for a second of the day and a fraction.
fn write_clock(out: &mut Vec<u8>, second_of_day: u32, fraction: u64, digits: usize) {
    push_two(out, second_of_day / 3600);
    out.push(b':');
    push_two(out, second_of_day / 60 % 60);
    out.push(b':');
    push_two(out, second_of_day % 60);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, fraction, digits);
    }
}

/// Appends an instant as `YYYY-MM-DDTHH:MM:SS.fffZ` (without quotes), with
/// as many fraction digits as the unit carries (at least milliseconds).
#[inline]
pub fn write_timestamp(out: &mut Vec<u8>, value: i64, unit: TimeUnit) {
    let (days, second_of_day, fraction, digits) = match unit {
        TimeUnit::Second => {
            let (days, second, _, _) = split(value, unit);
            (days, second, 0, 3)
        }
        _ => split(value, unit),
    };
    write_date(out, days);
    out.push(b'T');
    write_clock(out, second_of_day, fraction, digits);
    out.push(b'Z');
}

/// An instant as people read it in tables and reports, to the second:
/// `2024-03-14 18:02:11` (UTC).
pub fn format_utc(millis: i64) -> String {
    let (days, second_of_day, _, _) = split(millis, TimeUnit::Millisecond);
    let mut out = Vec::with_capacity(19);
    write_date(&mut out, days);
    out.push(b' ');
    write_clock(&mut out, second_of_day, 0, 0);
    String::from_utf8_lossy(&out).into_owned()
}

/// [`format_utc`] to the minute: `2024-03-14 18:02`.
pub fn format_utc_minutes(millis: i64) -> String {
    let mut text = format_utc(millis);
    text.truncate(text.len() - 3);
    text
}

/// Appends a time of day (`HH:MM:SS[.fff]`) from a value of `unit` since
/// midnight.
pub(crate) fn write_time_of_day(out: &mut Vec<u8>, value: i64, unit: TimeUnit) {
    let (_, second_of_day, fraction, digits) = split(value, unit);
    write_clock(out, second_of_day, fraction, digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timestamp(value: i64, unit: TimeUnit) -> String {
        let mut out = Vec::new();
        write_timestamp(&mut out, value, unit);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn civil_round_trips() {
        for days in (-800_000..800_000).step_by(997) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }

    #[test]
    fn formats_timestamps() {
        assert_eq!(timestamp(1_649_721_732_000, TimeUnit::Millisecond), "2022-04-12T00:02:12.000Z");
        assert_eq!(timestamp(1_649_721_732, TimeUnit::Second), "2022-04-12T00:02:12.000Z");
        assert_eq!(timestamp(1_649_721_732_123_456, TimeUnit::Microsecond), "2022-04-12T00:02:12.123456Z");
        assert_eq!(timestamp(-1, TimeUnit::Millisecond), "1969-12-31T23:59:59.999Z");
        assert_eq!(timestamp(0, TimeUnit::Nanosecond), "1970-01-01T00:00:00.000000000Z");
    }

    #[test]
    fn formats_dates_outside_four_digits() {
        let mut out = Vec::new();
        write_date(&mut out, days_from_civil(12_345, 6, 7));
        assert_eq!(String::from_utf8(out).unwrap(), "+12345-06-07");
    }
}
