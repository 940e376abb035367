//! Every form the tool writes an instant in, one function each, and the one reading of a stored
//! time.
//!
//! The stored form itself (`2024-05-13T20:59:04.000Z`, for `Timestamp` and `ReceivedAt`, and for
//! the bounds of a Query on them) is the table's contract:
//! [`twitter_table::timestamp::utc_millis`]. The forms here are what people and scripts read.

use serde::Serializer;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// A stored `Timestamp` as an instant, in UTC; `None` for text that is not a time, or whose
/// offset puts it outside the table format's years 0000-9999 in UTC
/// (`9999-12-31T23:59:59.999-01:00`: only a table written by something else holds one, and a
/// step from it would overflow).
pub fn parse_stored(stored: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(stored, &Rfc3339)
        .ok()?
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (0..=9999).contains(&t.year()))
}

/// `2026-01-02T03:04:05Z`, with milliseconds only when it has some (`2026-01-02T03:04:05.067Z`):
/// window ends in JSON and CSV, in messages and in headers.
pub fn utc(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let ms = t.millisecond();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if ms == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{ms:03}Z")
    }
}

/// [`utc`] for a value serde writes (a field holding an instant).
pub fn serialize_utc<S: Serializer>(t: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&utc(*t))
}

/// `2026-01-02T03:04:00Z`: the minute `t` falls in, as RFC 3339 (scripts parse it).
pub fn utc_minute(t: OffsetDateTime) -> String {
    let full = utc(t);
    format!("{}:00Z", &full[..16])
}

/// `2024-05-13T20:00:00Z`: the hour a stored timestamp falls in, a prefix of it (the stored form
/// is already UTC); `None` when the text is too short to be one.
pub fn hour_key(stored: &str) -> Option<String> {
    stored.get(..13).map(|h| format!("{h}:00:00Z"))
}

/// `2024-05-13`: the day a stored timestamp falls in, a prefix of it.
pub fn day_key(stored: &str) -> Option<&str> {
    stored.get(..10)
}

/// `2024-05-13 20:59:04` from the stored `2024-05-13T20:59:04.000Z` (milliseconds kept when
/// there are some); anything else as it is.
pub fn human(stored: &str) -> String {
    match stored.get(..19) {
        Some(head) if stored.len() == 24 && stored.ends_with('Z') => {
            let ms = &stored[19..23];
            let head = head.replacen('T', " ", 1);
            if ms == ".000" {
                head
            } else {
                format!("{head}{ms}")
            }
        }
        _ => stored.to_owned(),
    }
}

/// `2024-05-13 20:00` from a whole minute written as [`utc_minute`] or [`hour_key`] write it
/// (`2024-05-13T20:00:00Z`); anything else as it is.
pub fn human_minute(key: &str) -> String {
    match key.get(..16) {
        Some(head) if key.len() == 20 => head.replacen('T', " ", 1),
        _ => key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use twitter_table::timestamp::utc_millis;

    #[test]
    fn stored_times_read_well() {
        assert_eq!(human("2024-05-13T20:59:04.000Z"), "2024-05-13 20:59:04");
        assert_eq!(human("2024-05-13T20:59:04.120Z"), "2024-05-13 20:59:04.120");
        assert_eq!(human("garbage"), "garbage");
        assert_eq!(human_minute("2024-05-13T20:00:00Z"), "2024-05-13 20:00");
    }

    #[test]
    fn formatting_for_people_drops_zero_milliseconds() {
        assert_eq!(
            utc(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05Z"
        );
        assert_eq!(
            utc(datetime!(2026-01-02 03:04:05.067 +01:00)),
            "2026-01-02T02:04:05.067Z"
        );
        assert_eq!(
            utc_millis(datetime!(2026-01-02 03:04:05 UTC)),
            "2026-01-02T03:04:05.000Z"
        );
    }

    #[test]
    fn minutes_hours_and_days_have_one_form_each() {
        let t = datetime!(2026-01-02 03:04:05.067 UTC);
        assert_eq!(utc_minute(t), "2026-01-02T03:04:00Z");
        assert_eq!(human_minute(&utc_minute(t)), "2026-01-02 03:04");
        let stored = "2026-01-02T03:04:05.067Z";
        assert_eq!(hour_key(stored).as_deref(), Some("2026-01-02T03:00:00Z"));
        assert_eq!(day_key(stored), Some("2026-01-02"));
        assert_eq!(hour_key("2026"), None);
        assert_eq!(day_key("2026"), None);
        assert_eq!(parse_stored(stored), Some(t));
        assert_eq!(parse_stored("not a time"), None);
        assert_eq!(
            parse_stored("2026-01-02T04:04:05.067+01:00"),
            Some(t),
            "read in UTC"
        );
        assert_eq!(parse_stored("9999-12-31T23:59:59.999-01:00"), None);
        assert_eq!(parse_stored("0000-01-01T00:00:00.000+01:00"), None);
    }
}
