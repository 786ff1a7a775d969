//! German (de-DE) formatting of dates and times, always in Europe/Berlin.

use jiff::tz::TimeZone;
use std::sync::LazyLock;
use time::OffsetDateTime;

static BERLIN: LazyLock<TimeZone> = LazyLock::new(|| {
    TimeZone::get("Europe/Berlin").expect("the bundled time zone database has Europe/Berlin")
});

pub fn berlin() -> &'static TimeZone {
    &BERLIN
}

fn zoned(at: OffsetDateTime) -> jiff::Zoned {
    jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos())
        .expect("timestamps from PostgreSQL are within jiff's range")
        .to_zoned(BERLIN.clone())
}

/// "02.06.2020"
pub fn date(at: OffsetDateTime) -> String {
    zoned(at).strftime("%d.%m.%Y").to_string()
}

/// "02.06.2020, 10:45 Uhr"
pub fn date_time(at: OffsetDateTime) -> String {
    zoned(at).strftime("%d.%m.%Y, %H:%M Uhr").to_string()
}

/// A timestamp for the `datetime` attribute of `<time>`.
pub fn iso(at: OffsetDateTime) -> String {
    zoned(at).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Whole calendar days in Berlin from `now` to `until` (0 = today).
pub fn days_between(now: OffsetDateTime, until: OffsetDateTime) -> i64 {
    let (a, b) = (zoned(now).date(), zoned(until).date());
    (b - a).get_days() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_are_shown_in_berlin_time_in_german_notation() {
        // 08:45 UTC is 10:45 in Berlin summer time.
        assert_eq!(
            date_time(datetime!(2020-06-02 08:45 UTC)),
            "02.06.2020, 10:45 Uhr"
        );
        // 22:59 UTC on 31 March 2027 is 00:59 on 1 April in summer time.
        assert_eq!(date(datetime!(2027-03-31 22:59 UTC)), "01.04.2027");
        // Winter time: UTC+1.
        assert_eq!(
            date_time(datetime!(2027-01-15 22:59 UTC)),
            "15.01.2027, 23:59 Uhr"
        );
        assert_eq!(
            iso(datetime!(2027-01-15 22:59 UTC)),
            "2027-01-15T23:59:00+01:00"
        );
    }

    #[test]
    fn days_are_counted_by_the_berlin_calendar() {
        // Different UTC dates, same Berlin date.
        assert_eq!(
            days_between(
                datetime!(2026-11-22 23:30 UTC),
                datetime!(2026-11-23 20:00 UTC)
            ),
            0
        );
        assert_eq!(
            days_between(
                datetime!(2026-11-22 22:30 UTC),
                datetime!(2026-11-23 00:30 UTC)
            ),
            1
        );
        assert_eq!(
            days_between(
                datetime!(2026-11-22 12:00 UTC),
                datetime!(2026-11-25 12:00 UTC)
            ),
            3
        );
    }
}
