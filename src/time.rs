//! Time arithmetic for the whole crate: JWT NumericDates (seconds since the
//! Unix epoch), the proleptic Gregorian calendar, and RFC 3339 instants.
//!
//! Everything here is a plain function: the [`clock`](crate::clock) says what
//! time it is, this module only converts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as a JWT NumericDate (may be fractional,
/// negative before 1970).
pub(crate) fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// The instant of a NumericDate, when `SystemTime` can hold it.
pub(crate) fn from_unix_seconds(seconds: f64) -> Option<SystemTime> {
    if seconds >= 0.0 {
        UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(seconds).ok()?)
    } else {
        UNIX_EPOCH.checked_sub(Duration::try_from_secs_f64(-seconds).ok()?)
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
#[cfg_attr(not(feature = "config-file"), allow(dead_code))]
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a day count since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A date-time with an explicit UTC offset, as RFC 3339 writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "config-file"), allow(dead_code))]
pub(crate) struct DateTime {
    pub(crate) year: i64,
    pub(crate) month: i64,
    pub(crate) day: i64,
    pub(crate) hour: i64,
    pub(crate) minute: i64,
    pub(crate) second: i64,
    pub(crate) nanosecond: u32,
    /// East of UTC, in minutes (`+02:00` is 120).
    pub(crate) offset_minutes: i64,
}

#[cfg_attr(not(feature = "config-file"), allow(dead_code))]
impl DateTime {
    /// The instant, or `None` before 1970 (no configured instant lies there).
    pub(crate) fn to_system_time(self) -> Option<SystemTime> {
        let secs = days_from_civil(self.year, self.month, self.day) * 86_400
            + self.hour * 3600
            + self.minute * 60
            + self.second
            - self.offset_minutes * 60;
        let secs = u64::try_from(secs).ok()?;
        Some(UNIX_EPOCH + Duration::new(secs, self.nanosecond))
    }
}

/// `2025-05-01T12:00:00Z`: a NumericDate as an RFC 3339 UTC date-time,
/// whole seconds (the number itself when it is out of the calendar's range).
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub(crate) fn rfc3339(seconds: f64) -> String {
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return format!("{seconds}");
    }
    #[allow(clippy::cast_possible_truncation)] // bounded just above
    let secs = seconds.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trips() {
        for days in [-800_000, -1, 0, 1, 59, 60, 11_016, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn rfc3339_rendering() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000.0), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(f64::NAN), "NaN");
    }

    #[test]
    fn offsets_and_the_epoch() {
        let at = |offset_minutes, hour| DateTime {
            year: 2026,
            month: 6,
            day: 30,
            hour,
            minute: 0,
            second: 0,
            nanosecond: 0,
            offset_minutes,
        };
        let utc = at(0, 0).to_system_time();
        assert_eq!(utc, Some(UNIX_EPOCH + Duration::from_secs(1_782_777_600)));
        assert_eq!(at(120, 2).to_system_time(), utc);
        let before = DateTime {
            year: 1969,
            month: 12,
            day: 31,
            hour: 23,
            minute: 59,
            second: 59,
            nanosecond: 0,
            offset_minutes: 0,
        };
        assert_eq!(before.to_system_time(), None);
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(2)), -2.0);
        assert_eq!(
            from_unix_seconds(1.5),
            Some(UNIX_EPOCH + Duration::from_millis(1500))
        );
        assert_eq!(
            from_unix_seconds(-2.0),
            Some(UNIX_EPOCH - Duration::from_secs(2))
        );
        assert_eq!(from_unix_seconds(1e300), None);
        assert_eq!(from_unix_seconds(f64::NAN), None);
    }
}
