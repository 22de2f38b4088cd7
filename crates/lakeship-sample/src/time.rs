//! Time values of the generator's options: RFC 3339 instants, durations such
//! as `24h` or `1h30m`, and Security Lake's `eventDay=YYYYMMDD`.

use lakeship_calendar::{civil_from_days, civil_from_millis, days_from_civil};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Parses an RFC 3339 instant (`2024-05-01T12:00:00Z`,
/// `2024-05-01T14:00:00.250+02:00`) into epoch milliseconds.
pub fn parse_rfc3339_millis(text: &str) -> Result<i64, String> {
    let error = || format!("invalid time {text:?}: expected RFC 3339, e.g. 2024-05-01T12:00:00Z");
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(error());
    }
    if bytes[13] != b':' || bytes[16] != b':' {
        return Err(error());
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = text.get(range).ok_or_else(error)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(error());
        }
        part.parse::<i64>().map_err(|_| error())
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return Err(error());
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(error());
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().map_err(|_| error())?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) => {
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            let total = hours * 60 + minutes;
            if *sign == b'+' { total } else { -total }
        }
        _ => return Err(error()),
    };
    let days = days_from_civil(year, month as u32, day as u32);
    if civil_from_days(days) != (year, month as u32, day as u32) {
        return Err(error());
    }
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

/// Parses a duration made of `<number><unit>` parts, units `d`, `h`, `m`,
/// `s` and `ms` (`24h`, `1h30m`, `7d`, `90s`), into milliseconds.
pub fn parse_duration_millis(text: &str) -> Result<i64, String> {
    let error = || format!("invalid duration {text:?}: expected e.g. 24h, 90m, 1h30m or 7d");
    let mut total: i64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(error());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(error());
        }
        let value: i64 = rest[..digits].parse().map_err(|_| error())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_millis = match &rest[..unit_len] {
            "d" => MILLIS_PER_DAY,
            "h" => 3_600_000,
            "m" => 60_000,
            "s" => 1000,
            "ms" => 1,
            _ => return Err(error()),
        };
        rest = &rest[unit_len..];
        total = value.checked_mul(unit_millis).and_then(|part| total.checked_add(part)).ok_or_else(error)?;
    }
    Ok(total)
}

/// `YYYYMMDD` of the UTC day an instant falls on (Security Lake's `eventDay`).
pub fn event_day(millis: i64) -> String {
    let (year, month, day) = civil_from_millis(millis);
    format!("{year:04}{month:02}{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339_millis("2022-04-12T00:02:12Z"), Ok(1_649_721_732_000));
        assert_eq!(parse_rfc3339_millis("2022-04-12T02:02:12.5+02:00"), Ok(1_649_721_732_500));
        assert_eq!(parse_rfc3339_millis("1970-01-01T00:00:00.001Z"), Ok(1));
        assert!(parse_rfc3339_millis("2022-04-12").is_err());
        assert!(parse_rfc3339_millis("2022-13-12T00:00:00Z").is_err());
        assert!(parse_rfc3339_millis("2022-04-12T00:00:00").is_err());
        assert!(parse_rfc3339_millis("2023-02-29T00:00:00Z").is_err());
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration_millis("24h"), Ok(86_400_000));
        assert_eq!(parse_duration_millis("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_millis("7d"), Ok(604_800_000));
        assert_eq!(parse_duration_millis("250ms"), Ok(250));
        assert!(parse_duration_millis("24").is_err());
        assert!(parse_duration_millis("h").is_err());
        assert!(parse_duration_millis("3w").is_err());
    }

    #[test]
    fn formats_event_days() {
        assert_eq!(event_day(1_649_721_732_000), "20220412");
    }
}
