//! Time windows from the command line: `30m`, `24h`, `7d` (back from now), `2026-01-02` or an
//! RFC 3339 time, and `now`. Pure: the current time is passed in.
//!
//! A window is half-open, `[since, until)`, so `--since 2026-01-01 --until 2026-01-02` is exactly
//! one day and two adjacent windows never count a post twice. Instants are cut to whole
//! milliseconds, the precision of the stored `Timestamp`.

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};
use twitter_table::timestamp::utc_millis;

use crate::time_format;

/// The first instant the table's format holds: nothing stored is earlier.
const FIRST_INSTANT: OffsetDateTime = time::macros::datetime!(0000-01-01 00:00 UTC);

/// What a `--since`/`--until` value may look like, for error messages and `--help`.
pub const ACCEPTED: &str = "a duration back from now (30m, 24h, 7d, 2w), a date (2026-01-02), an RFC 3339 time (2026-01-02T03:04:05Z) or now";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("cannot read {flag} \"{value}\": expected {ACCEPTED}")]
    Unparsable { flag: &'static str, value: String },

    #[error("--since ({since}) is after --until ({until})")]
    Reversed { since: String, until: String },
}

/// A half-open time range; `None` is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

impl Window {
    pub const ALL_TIME: Window = Window {
        since: None,
        until: None,
    };

    /// Reads `--since` and `--until` as given (either may be absent).
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Window, WindowError> {
        let since = since
            .map(|s| parse_instant("--since", s, now))
            .transpose()?;
        let until = until
            .map(|s| parse_instant("--until", s, now))
            .transpose()?;
        Window { since, until }.checked()
    }

    /// `--since` and `--until` with defaults for absent ones (the `rate` command's window).
    pub fn parse_or(
        since: Option<&str>,
        until: Option<&str>,
        now: OffsetDateTime,
        default_since: impl FnOnce(OffsetDateTime) -> OffsetDateTime,
    ) -> Result<Window, WindowError> {
        let until = match until {
            Some(s) => parse_instant("--until", s, now)?,
            None => millis(now),
        };
        let since = match since {
            Some(s) => parse_instant("--since", s, now)?,
            None => millis(default_since(until)),
        };
        Window {
            since: Some(since),
            until: Some(until),
        }
        .checked()
    }

    fn checked(self) -> Result<Window, WindowError> {
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(WindowError::Reversed {
                since: time_format::utc(since),
                until: time_format::utc(until),
            });
        }
        Ok(self)
    }

    /// Whether the window holds no instant at all (`since == until`), or none a stored time can
    /// be (it ends at the format's first instant).
    pub fn is_empty(&self) -> bool {
        matches!((self.since, self.until), (Some(s), Some(u)) if s >= u)
            || self.until.is_some_and(|u| u <= FIRST_INSTANT)
    }

    /// The window as inclusive bounds on the stored `Timestamp` string (lexical order is time
    /// order), ready for a `BETWEEN`. `None` when the window is empty.
    pub fn timestamp_bounds(&self) -> Option<TimestampBounds> {
        if self.is_empty() {
            return None;
        }
        Some(TimestampBounds {
            from: self.since.map(utc_millis),
            // Half-open: the last stored millisecond inside the window.
            to: self
                .until
                .map(|u| utc_millis(u - Duration::milliseconds(1))),
        })
    }
}

/// Inclusive bounds on `Timestamp`, in the stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampBounds {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl TimestampBounds {
    /// No bound on either side.
    pub const ALL_TIME: TimestampBounds = TimestampBounds {
        from: None,
        to: None,
    };
}

/// Reads one `--since`/`--until` value; `flag` names it in the error.
pub fn parse_instant(
    flag: &'static str,
    value: &str,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, WindowError> {
    let unparsable = || WindowError::Unparsable {
        flag,
        value: value.to_owned(),
    };
    let v = value.trim();
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let t = if v.eq_ignore_ascii_case("now") {
        Some(millis(now))
    } else if let Some(back) = parse_duration(v) {
        now.checked_sub(back).map(millis)
    } else if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        // A far offset can carry the instant past the year 9999 in UTC.
        t.checked_to_offset(UtcOffset::UTC).map(millis)
    } else if let Ok(d) = Date::parse(v, &date_format) {
        Some(d.with_time(Time::MIDNIGHT).assume_utc())
    } else {
        None
    };
    // Stored times are `YYYY-...`: a year outside 0..=9999 compares wrongly against them, and
    // the far edges of `time`'s range overflow when a window end is stepped back.
    t.filter(|t| (0..=9999).contains(&t.year()))
        .ok_or_else(unparsable)
}

/// `30m`, `24h`, `7d`, `2w`, `90s`: a whole number and one unit.
fn parse_duration(v: &str) -> Option<Duration> {
    let unit = v.chars().last()?;
    let digits = &v[..v.len() - unit.len_utf8()];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(seconds).map(Duration::seconds)
}

/// Cut to whole milliseconds, in UTC.
pub fn millis(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(u32::from(t.millisecond()) * 1_000_000)
        .unwrap_or(t)
}

/// The default `rate` window before `until`: the minute `until` falls in and the 59 before it,
/// none before the format's first instant.
pub fn last_hour(until: OffsetDateTime) -> OffsetDateTime {
    (floor_minute(until - Duration::milliseconds(1)) - Duration::minutes(59)).max(FIRST_INSTANT)
}

/// The start of the minute `t` falls in.
pub fn floor_minute(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_time(Time::from_hms(t.hour(), t.minute(), 0).unwrap_or(Time::MIDNIGHT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_the_four_digit_years_are_refused() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        for value in [
            "3000000d",
            "-9999-01-01",
            "+10000-01-01",
            // In year 10000 once in UTC: the offset carries it past the last stored year.
            "9999-12-31T23:59:55-23:59",
        ] {
            assert!(
                matches!(
                    parse_instant("--since", value, now),
                    Err(WindowError::Unparsable { .. })
                ),
                "{value}"
            );
        }
        assert!(parse_instant("--since", "9999-12-31", now).is_ok());
    }
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-04 12:34:56.789_123 UTC);

    fn at(s: &str) -> Result<OffsetDateTime, WindowError> {
        parse_instant("--since", s, NOW)
    }

    #[test]
    fn durations_go_back_from_now() {
        assert_eq!(at("30m").unwrap(), datetime!(2026-03-04 12:04:56.789 UTC));
        assert_eq!(at("24h").unwrap(), datetime!(2026-03-03 12:34:56.789 UTC));
        assert_eq!(at("7d").unwrap(), datetime!(2026-02-25 12:34:56.789 UTC));
        assert_eq!(at("2w").unwrap(), datetime!(2026-02-18 12:34:56.789 UTC));
        assert_eq!(at("90s").unwrap(), datetime!(2026-03-04 12:33:26.789 UTC));
        assert_eq!(at("0m").unwrap(), datetime!(2026-03-04 12:34:56.789 UTC));
        assert_eq!(at(" now ").unwrap(), datetime!(2026-03-04 12:34:56.789 UTC));
    }

    #[test]
    fn absolute_times_are_read_in_utc() {
        assert_eq!(
            at("2026-01-02T03:04:05Z").unwrap(),
            datetime!(2026-01-02 03:04:05 UTC)
        );
        assert_eq!(
            at("2026-01-02T03:04:05.5+02:00").unwrap(),
            datetime!(2026-01-02 01:04:05.5 UTC)
        );
        assert_eq!(at("2026-01-02").unwrap(), datetime!(2026-01-02 00:00 UTC));
    }

    #[test]
    fn anything_else_is_refused_naming_the_flag_and_value() {
        for bad in [
            "",
            "yesterday",
            "24",
            "h",
            "24x",
            "-3h",
            "2026-13-01",
            "1.5h",
            "3 h",
            "２h",
        ] {
            let error = at(bad).unwrap_err();
            assert_eq!(
                error,
                WindowError::Unparsable {
                    flag: "--since",
                    value: bad.to_owned()
                },
                "{bad:?}"
            );
            assert!(error.to_string().starts_with("cannot read --since \""));
        }
        // A number too large for any date is an error, not a panic.
        assert!(at("99999999999999999d").is_err());
        assert!(at("9999999999999w").is_err());
    }

    #[test]
    fn since_after_until_is_an_error_and_equal_is_an_empty_window() {
        let error = Window::parse(Some("1h"), Some("2h"), NOW).unwrap_err();
        assert!(matches!(error, WindowError::Reversed { .. }));
        assert_eq!(
            error.to_string(),
            "--since (2026-03-04T11:34:56.789Z) is after --until (2026-03-04T10:34:56.789Z)"
        );
        let same = Window::parse(Some("1h"), Some("1h"), NOW).unwrap();
        assert!(same.is_empty());
        assert_eq!(same.timestamp_bounds(), None);
    }

    #[test]
    fn bounds_are_inclusive_on_the_stored_form_and_the_end_is_exclusive() {
        let w = Window::parse(Some("2026-01-01"), Some("2026-01-02"), NOW).unwrap();
        assert_eq!(
            w.timestamp_bounds().unwrap(),
            TimestampBounds {
                from: Some("2026-01-01T00:00:00.000Z".into()),
                to: Some("2026-01-01T23:59:59.999Z".into()),
            }
        );
        let open = Window::parse(None, None, NOW).unwrap();
        assert_eq!(
            open.timestamp_bounds().unwrap(),
            TimestampBounds {
                from: None,
                to: None
            }
        );
    }

    #[test]
    fn defaults_fill_absent_ends() {
        let w = Window::parse_or(None, None, NOW, last_hour).unwrap();
        assert_eq!(w.since, Some(datetime!(2026-03-04 11:35 UTC)));
        assert_eq!(w.until, Some(datetime!(2026-03-04 12:34:56.789 UTC)));
        // An end on a minute boundary: the 60 whole minutes before it.
        let w = Window::parse_or(None, Some("2026-03-04T12:00:00Z"), NOW, last_hour).unwrap();
        assert_eq!(w.since, Some(datetime!(2026-03-04 11:00 UTC)));
        let w = Window::parse_or(Some("2h"), None, NOW, last_hour).unwrap();
        assert_eq!(w.since, Some(datetime!(2026-03-04 10:34:56.789 UTC)));
    }

    #[test]
    fn windows_at_the_ends_of_the_format_step_nowhere_outside_it() {
        // Ending at the last instant the table holds.
        let last = "9999-12-31T23:59:59.999Z";
        let w = Window::parse_or(None, Some(last), NOW, last_hour).unwrap();
        assert_eq!(w.since, Some(datetime!(9999-12-31 23:00 UTC)));
        assert_eq!(
            w.timestamp_bounds().unwrap().to.as_deref(),
            Some("9999-12-31T23:59:59.998Z")
        );
        let w = Window::parse(Some("9999-12-31"), Some(last), NOW).unwrap();
        assert_eq!(
            w.timestamp_bounds().unwrap(),
            TimestampBounds {
                from: Some("9999-12-31T00:00:00.000Z".into()),
                to: Some("9999-12-31T23:59:59.998Z".into()),
            }
        );
        // Starting at the first: the default hour does not reach into year -1.
        let w = Window::parse_or(None, Some("0000-01-01T00:30:00Z"), NOW, last_hour).unwrap();
        assert_eq!(w.since, Some(datetime!(0000-01-01 00:00 UTC)));
        assert_eq!(
            w.timestamp_bounds().unwrap(),
            TimestampBounds {
                from: Some("0000-01-01T00:00:00.000Z".into()),
                to: Some("0000-01-01T00:29:59.999Z".into()),
            }
        );
        // Ending at the first instant: nothing stored can be inside, not even a post at it.
        let w = Window::parse(None, Some("0000-01-01"), NOW).unwrap();
        assert!(w.is_empty());
        assert_eq!(w.timestamp_bounds(), None);
        let w = Window::parse_or(None, Some("0000-01-01"), NOW, last_hour).unwrap();
        assert_eq!(w.since, w.until);
    }
}
