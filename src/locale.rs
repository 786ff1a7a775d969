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
    i64::from((b - a).get_days())
}

/// A date ("2027-03-31" from a date field, or "31.03.2027" typed) and a time ("23:59") in
/// Berlin, as an instant.
pub fn parse_berlin(date: &str, time: &str) -> Option<OffsetDateTime> {
    let date = parse_date(date)?;
    let time: jiff::civil::Time = time.trim().parse().ok()?;
    let zoned = date.to_datetime(time).to_zoned(BERLIN.clone()).ok()?;
    OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second()).ok()
}

/// A calendar date from a date field ("2027-03-31") or typed the German way ("31.03.2027").
pub fn parse_date(date: &str) -> Option<jiff::civil::Date> {
    let date = date.trim();
    if date.contains('.') {
        let mut parts = date.split('.');
        let (d, m, y) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 {
            return None;
        }
        jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
    } else {
        date.parse().ok()
    }
}

/// What a date field (`type=date`) shows: browsers accept only "2027-03-31" and discard
/// anything else, so a date typed the German way comes back as ISO; what is no date stays as
/// typed (for browsers that show a text field).
pub fn date_field_value(value: &str) -> String {
    parse_date(value).map_or_else(|| value.to_string(), |d| d.to_string())
}

/// "31.03.2027" for a calendar date.
pub fn civil_date(date: jiff::civil::Date) -> String {
    date.strftime("%d.%m.%Y").to_string()
}

/// "31.03.2027" for a date as PostgreSQL's `date` arrives.
pub fn day(d: time::Date) -> String {
    format!("{:02}.{:02}.{}", d.day(), u8::from(d.month()), d.year())
}

/// `months` calendar months after `d`, on the same day of the month or the month's last day
/// (31.08. + 6 months = 28./29.02.).
pub fn add_months(d: time::Date, months: i32) -> time::Date {
    let total = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months;
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let month =
        time::Month::try_from(u8::try_from(month).unwrap_or(1)).unwrap_or(time::Month::January);
    time::Date::from_calendar_date(year, month, d.day().min(month.length(year))).unwrap_or(d)
}

/// "März 2027": a calendar month as tables name it.
pub fn month(d: time::Date) -> String {
    const NAMES: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    format!(
        "{} {}",
        NAMES[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// "Sept. 2027": a calendar month abbreviated as German texts do (Duden), for narrow places.
pub fn month_short(d: time::Date) -> String {
    const NAMES: [&str; 12] = [
        "Jan.", "Febr.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.",
        "Dez.",
    ];
    format!(
        "{} {}",
        NAMES[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// The calendar day in Berlin of a moment.
pub fn day_of(at: OffsetDateTime) -> time::Date {
    civil_to_time(zoned(at).date()).unwrap_or(time::Date::MIN)
}

/// Today's calendar date in Berlin.
pub fn today() -> time::Date {
    day_of(OffsetDateTime::now_utc())
}

/// A calendar date typed into a date field ("2027-03-31") or the German way ("31.03.2027").
pub fn parse_day(input: &str) -> Option<time::Date> {
    parse_date(input).and_then(civil_to_time)
}

pub fn civil_to_time(d: jiff::civil::Date) -> Option<time::Date> {
    let month = time::Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    time::Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

/// A period of calendar days ("01.03.2027 bis 31.12.2027"); empty unless both ends are known.
pub fn period(start: Option<time::Date>, end: Option<time::Date>) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("{} bis {}", day(s), day(e)),
        _ => String::new(),
    }
}

/// The Berlin date ("2027-03-31") and time ("23:59") of an instant, for date and time fields.
pub fn berlin_fields(at: OffsetDateTime) -> (String, String) {
    let z = zoned(at);
    (
        z.strftime("%Y-%m-%d").to_string(),
        z.strftime("%H:%M").to_string(),
    )
}

/// A count as German texts write it: "1.234".
pub fn count(n: i64) -> String {
    let digits = crate::money::group_thousands(n.unsigned_abs());
    if n < 0 { format!("-{digits}") } else { digits }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn date_fields_get_iso_dates_whichever_way_they_were_typed() {
        assert_eq!(date_field_value("01.04.2027"), "2027-04-01");
        assert_eq!(date_field_value(" 2027-04-01 "), "2027-04-01");
        assert_eq!(
            date_field_value("31.02.2027"),
            "31.02.2027",
            "no date: as typed"
        );
        assert_eq!(date_field_value(""), "");
    }

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
    fn form_dates_are_read_in_berlin_time() {
        let at = parse_berlin("2027-03-31", "23:59").unwrap();
        assert_eq!(at, datetime!(2027-03-31 21:59 UTC), "summer time");
        assert_eq!(
            parse_berlin("15.01.2027", "00:00").unwrap(),
            datetime!(2027-01-14 23:00 UTC)
        );
        assert_eq!(berlin_fields(at), ("2027-03-31".into(), "23:59".into()));
        assert!(parse_berlin("31.02.2027", "12:00").is_none());
        assert!(parse_berlin("morgen", "12:00").is_none());
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
