//! The one time format of the table's `Timestamp` and `ReceivedAt`.

use time::{OffsetDateTime, UtcOffset};

/// ISO 8601 UTC with exactly three fraction digits (`YYYY-MM-DDTHH:MM:SS.mmmZ`), so that lexical
/// order is time order and hour and day buckets are string prefixes.
pub fn utc_millis(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
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
}
