//! The query parameters of each endpoint, as the OpenAPI document describes them, and their
//! reading into the values the reads take: bounded as on the command line, and every mistake a
//! [`QueryError::Usage`] or [`QueryError::Window`] (a 400), never a failed extractor.
//!
//! Every field arrives as text: a number or a name that does not read is then ours to word,
//! with the same message a typo on the command line gets.

use clap::ValueEnum;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::IntoParams;

use crate::aggregate::By;
use crate::cli::{DEFAULT_LATEST, MAX_LATEST};
use crate::error::QueryError;
use crate::window::{self, Window};

/// `GET /api/posts`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostsQuery {
    /// The keyword (a producer rule's tag), as `/api/keywords` lists it.
    #[param(required = true, value_type = String, pattern = r"\S")]
    pub keyword: Option<String>,
    /// How many posts, newest first (as `latest --count`).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000, default = 10)]
    pub count: Option<String>,
}

/// `GET /api/stats`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The keyword (a producer rule's tag), as `/api/keywords` lists it.
    #[param(required = true, value_type = String, pattern = r"\S")]
    pub keyword: Option<String>,
    /// How to group (default: day).
    #[param(value_type = Option<By>)]
    pub by: Option<String>,
    /// Start of the window (inclusive), as `--since` takes it: `24h`, `7d`, `2026-01-02`,
    /// `2026-01-02T03:04:05Z`, `now`. Absent or empty: all time.
    #[param(
        pattern = r"^(now|[0-9]+[smhdw]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?$"
    )]
    pub since: Option<String>,
    /// End of the window (exclusive), the same forms. Absent or empty: open.
    #[param(
        pattern = r"^(now|[0-9]+[smhdw]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?$"
    )]
    pub until: Option<String>,
}

/// `GET /api/rate`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RateQuery {
    /// One keyword; absent: every keyword, each post counted once (a Scan of the whole index).
    #[param(pattern = r"\S")]
    pub keyword: Option<String>,
    /// Start of the window (inclusive), as `--since` takes it. Absent or empty: 60 minutes
    /// before `until`.
    #[param(
        pattern = r"^(now|[0-9]+[smhdw]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?$"
    )]
    pub since: Option<String>,
    /// End of the window (exclusive). Absent or empty: now.
    #[param(
        pattern = r"^(now|[0-9]+[smhdw]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2}))?)?$"
    )]
    pub until: Option<String>,
}

/// A required keyword, trimmed.
pub fn keyword(raw: Option<&str>) -> Result<String, QueryError> {
    match raw {
        None => Err(QueryError::Usage(
            "the keyword parameter is required (/api/keywords lists them)".to_owned(),
        )),
        Some(k) => optional_keyword(Some(k)).map(|k| k.unwrap_or_default()),
    }
}

/// An optional keyword, trimmed; given but blank is a mistake, not "every keyword".
pub fn optional_keyword(raw: Option<&str>) -> Result<Option<String>, QueryError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("") => Err(QueryError::Usage("the keyword is empty".to_owned())),
        Some(k) => Ok(Some(k.to_owned())),
    }
}

/// How many posts: 1 to [`MAX_LATEST`], [`DEFAULT_LATEST`] when absent.
pub fn count(raw: Option<&str>) -> Result<usize, QueryError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LATEST as usize);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_LATEST).contains(&n) => Ok(n as usize),
        _ => Err(QueryError::Usage(format!(
            "count must be a whole number from 1 to {MAX_LATEST}, not \"{raw}\""
        ))),
    }
}

/// The grouping, by its command-line name; `day` when absent.
pub fn by(raw: Option<&str>) -> Result<By, QueryError> {
    let Some(raw) = raw else {
        return Ok(By::Day);
    };
    By::from_str(raw.trim(), false).map_err(|_| {
        let names: Vec<&str> = By::value_variants().iter().map(|b| b.name()).collect();
        QueryError::Usage(format!(
            "by must be one of {}, not \"{raw}\"",
            names.join(", ")
        ))
    })
}

/// The post id of the path, trimmed.
pub fn post_id(raw: &str) -> Result<&str, QueryError> {
    match raw.trim() {
        "" => Err(QueryError::Usage("the post id is empty".to_owned())),
        id => Ok(id),
    }
}

/// `since`/`until` as `stats` reads them: each side open unless given.
pub fn stats_window(
    since: Option<&str>,
    until: Option<&str>,
    now: OffsetDateTime,
) -> Result<Window, QueryError> {
    Ok(Window::parse(given(since), given(until), now)?)
}

/// `since`/`until` as `rate` reads them: the last hour unless given.
pub fn rate_window(
    since: Option<&str>,
    until: Option<&str>,
    now: OffsetDateTime,
) -> Result<Window, QueryError> {
    Ok(Window::parse_or(
        given(since),
        given(until),
        now,
        window::last_hour,
    )?)
}

/// A form sends an empty field for one left blank: that is no value, not a bad one.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn count_is_bounded_as_on_the_command_line() {
        assert_eq!(count(None).unwrap(), 10);
        assert_eq!(count(Some("1")).unwrap(), 1);
        assert_eq!(count(Some("10000")).unwrap(), 10_000);
        for bad in ["0", "10001", "-1", "ten", "", "1.5", "99999999999"] {
            let error = count(Some(bad)).unwrap_err();
            assert!(matches!(error, QueryError::Usage(_)), "{bad}");
            assert!(error.to_string().contains("from 1 to 10000"), "{error}");
        }
    }

    #[test]
    fn keywords_are_trimmed_and_never_blank() {
        assert_eq!(keyword(Some(" rust ")).unwrap(), "rust");
        assert!(keyword(None).unwrap_err().to_string().contains("required"));
        assert_eq!(
            keyword(Some("  ")).unwrap_err().to_string(),
            "the keyword is empty"
        );
        assert_eq!(optional_keyword(None).unwrap(), None);
        assert!(optional_keyword(Some("")).is_err());
    }

    #[test]
    fn by_takes_the_command_line_names() {
        assert_eq!(by(None).unwrap(), By::Day);
        assert_eq!(by(Some("hashtag")).unwrap(), By::Hashtag);
        let error = by(Some("week")).unwrap_err().to_string();
        assert_eq!(
            error,
            "by must be one of hour, day, lang, country, hashtag, author, not \"week\""
        );
    }

    #[test]
    fn windows_read_as_the_cli_reads_them_and_blank_is_absent() {
        let now = datetime!(2026-03-01 12:00:00.5 UTC);
        let all = stats_window(Some(""), None, now).unwrap();
        assert_eq!(all, Window::ALL_TIME);
        let day = stats_window(Some("2026-02-01"), Some("2026-02-02"), now).unwrap();
        assert_eq!(day.since, Some(datetime!(2026-02-01 0:00 UTC)));
        assert_eq!(day.until, Some(datetime!(2026-02-02 0:00 UTC)));
        let hour = rate_window(None, Some(" "), now).unwrap();
        assert_eq!(hour.until, Some(datetime!(2026-03-01 12:00:00.5 UTC)));
        // The minute `until` falls in and the 59 before it, as `rate` counts.
        assert_eq!(hour.since, Some(datetime!(2026-03-01 11:01 UTC)));
        let error = stats_window(Some("yesterday"), None, now).unwrap_err();
        assert!(matches!(error, QueryError::Window(_)));
        assert!(rate_window(Some("2026-02-02"), Some("2026-02-01"), now).is_err());
    }

    #[test]
    fn a_post_id_is_never_blank() {
        assert_eq!(post_id(" 42 ").unwrap(), "42");
        assert!(post_id(" ").is_err());
    }
}
