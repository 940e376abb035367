//! The one time format of the table's `Timestamp` and `ReceivedAt`.

use time::{OffsetDateTime, UtcOffset};

/// The earliest and latest instants the format holds: four-digit years, UTC.
const EARLIEST: &str = "0000-01-01T00:00:00.000Z";
const LATEST: &str = "9999-12-31T23:59:59.999Z";

/// ISO 8601 UTC with exactly three fraction digits (`YYYY-MM-DDTHH:MM:SS.mmmZ`), so that lexical
/// order is time order and hour and day buckets are string prefixes. `None` for an instant
/// outside years 0000–9999 in UTC (`9999-12-31T23:59:59-01:00` is in year 10000): the format
/// cannot hold it, and a time from a record is untrusted input.
pub fn checked_utc_millis(t: OffsetDateTime) -> Option<String> {
    let t = t.checked_to_offset(UtcOffset::UTC)?;
    (0..=9999).contains(&t.year()).then(|| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        )
    })
}

/// [`checked_utc_millis`] for a bound of a time range (a query window, a chart's slot): an
/// instant outside the format's years becomes its first or last instant, which orders the same
/// against every stored time.
pub fn utc_millis(t: OffsetDateTime) -> String {
    checked_utc_millis(t).unwrap_or_else(|| {
        if t < time::macros::datetime!(0000-01-01 00:00 UTC) {
            EARLIEST
        } else {
            LATEST
        }
        .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn created_at_is_normalised_to_utc_millis() {
        assert_eq!(
            utc_millis(datetime!(2024-05-13 22:58:58.5 +02:00)),
            "2024-05-13T20:58:58.500Z"
        );
    }

    #[test]
    fn an_instant_past_year_9999_in_utc_is_not_a_table_time() {
        let past = datetime!(9999-12-31 23:59:59 -01:00);
        assert_eq!(checked_utc_millis(past), None);
        assert_eq!(utc_millis(past), LATEST);
        let before = datetime!(0000-01-01 00:30 +01:00);
        assert_eq!(checked_utc_millis(before), None);
        assert_eq!(utc_millis(before), EARLIEST);
        assert_eq!(
            checked_utc_millis(datetime!(9999-12-31 23:59:59.999 UTC)).as_deref(),
            Some(LATEST)
        );
        assert_eq!(
            checked_utc_millis(datetime!(0000-01-01 00:00 UTC)).as_deref(),
            Some(EARLIEST)
        );
    }
}
