//! `--monthly-budget POSTS`: X bills every post read, and `--max-tweets` guards only one run: a
//! restart loop could spend past it. The budget counts the posts read into the spool in the
//! current calendar month (UTC) and keeps the count in a file in the spool directory (which one
//! producer holds at a time), so every restart counts against the same month.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::ProducerError;

/// The file, in the spool directory.
pub const BUDGET_FILE: &str = "budget.json";

/// How often the count is written while posts arrive: a crash loses at most this long's count
/// (the posts themselves are in the spool), and a busy stream writes the file once a second,
/// not once a post.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// A calendar month, UTC: `2026-12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    year: i32,
    month: u8,
}

impl Month {
    pub fn of(at: OffsetDateTime) -> Month {
        let at = at.to_offset(time::UtcOffset::UTC);
        Month {
            year: at.year(),
            month: u8::from(at.month()),
        }
    }

    fn parse(text: &str) -> Option<Month> {
        let (year, month) = text.split_once('-')?;
        let month: u8 = month.parse().ok()?;
        (year.len() == 4 && (1..=12).contains(&month)).then_some(Month {
            year: year.parse().ok()?,
            month,
        })
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    month: String,
    posts: u64,
}

/// The month's count against its limit.
#[derive(Debug)]
pub struct MonthlyBudget {
    limit: u64,
    path: PathBuf,
    month: Month,
    posts: u64,
    last_saved: Option<Instant>,
    unsaved: bool,
}

impl MonthlyBudget {
    /// Reads the count kept in `dir`. A count from an earlier month starts this one at zero; a
    /// file that cannot be read stops the start (exit 2): guessing zero could spend the month
    /// twice.
    pub fn open(
        dir: &Path,
        limit: u64,
        now: OffsetDateTime,
    ) -> Result<MonthlyBudget, ProducerError> {
        let path = dir.join(BUDGET_FILE);
        let month = Month::of(now);
        let posts = match std::fs::read(&path) {
            Ok(bytes) => {
                let unreadable = |why: String| {
                    ProducerError::Config(format!(
                        "the monthly budget's count {} cannot be read ({why}); delete it to count this month from zero",
                        path.display()
                    ))
                };
                let saved: Saved =
                    serde_json::from_slice(&bytes).map_err(|e| unreadable(e.to_string()))?;
                let saved_month = Month::parse(&saved.month)
                    .ok_or_else(|| unreadable(format!("month {:?} is not YYYY-MM", saved.month)))?;
                if saved_month == month { saved.posts } else { 0 }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => {
                return Err(ProducerError::Config(format!(
                    "cannot read the monthly budget's count {}: {error}",
                    path.display()
                )));
            }
        };
        Ok(MonthlyBudget {
            limit,
            path,
            month,
            posts,
            last_saved: None,
            unsaved: false,
        })
    }

    /// Whether the month's posts have reached the limit (at `now`: a new month starts at zero).
    pub fn exhausted(&mut self, now: OffsetDateTime) -> bool {
        self.roll_over(now);
        self.posts >= self.limit
    }

    /// Counts `posts` posts read; true when the month allows no more.
    pub fn count(&mut self, now: OffsetDateTime, posts: u64) -> bool {
        self.roll_over(now);
        self.posts = self.posts.saturating_add(posts);
        self.unsaved = true;
        let reached = self.posts >= self.limit;
        if reached || self.last_saved.is_none_or(|at| at.elapsed() >= SAVE_EVERY) {
            self.save();
        }
        reached
    }

    /// The line that says why the producer stops, the same at the stop and at every start
    /// until the month turns.
    pub fn reached_message(&self) -> String {
        format!(
            "monthly budget reached: {} of {} posts read in {} (UTC); the producer stops until the month turns or --monthly-budget is raised",
            self.posts, self.limit, self.month
        )
    }

    fn roll_over(&mut self, now: OffsetDateTime) {
        let month = Month::of(now);
        if month != self.month {
            self.month = month;
            self.posts = 0;
            self.unsaved = true;
        }
    }

    /// Writes the count (a temporary file renamed over the old one, so a crash leaves one or the
    /// other). A failure is logged, not fatal: the posts are safe in the spool either way.
    pub fn save(&mut self) {
        if !self.unsaved {
            return;
        }
        self.last_saved = Some(Instant::now());
        let saved = Saved {
            month: self.month.to_string(),
            posts: self.posts,
        };
        let temporary = self.path.with_extension("json.tmp");
        let written = serde_json::to_vec(&saved)
            .map_err(std::io::Error::from)
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &self.path));
        match written {
            Ok(()) => self.unsaved = false,
            Err(error) => tracing::error!(
                path = %self.path.display(),
                %error,
                "cannot save the monthly budget's count"
            ),
        }
    }
}

impl Drop for MonthlyBudget {
    fn drop(&mut self) {
        self.save();
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        assert_eq!(
            Month::of(datetime!(2026-12-31 23:30 -01:00)).to_string(),
            "2027-01"
        );
        assert_eq!(
            Month::of(datetime!(2026-02-01 00:00 UTC)).to_string(),
            "2026-02"
        );
        assert_eq!(
            Month::parse("2026-02"),
            Some(Month::of(datetime!(2026-02-14 12:00 UTC)))
        );
        for bad in ["2026-13", "2026-00", "26-01", "2026", "x-01"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_count_survives_a_restart_within_the_month() {
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-12-02 10:00 UTC);
        let mut budget = MonthlyBudget::open(dir.path(), 3, now).unwrap();
        assert!(!budget.count(now, 1));
        assert!(!budget.count(now, 1));
        drop(budget);
        let mut again = MonthlyBudget::open(dir.path(), 3, now).unwrap();
        assert!(!again.exhausted(now));
        assert!(
            again.count(now, 1),
            "the third post of the month is the last"
        );
        drop(again);
        let mut third = MonthlyBudget::open(dir.path(), 3, now).unwrap();
        assert!(third.exhausted(now));
        assert!(
            third
                .reached_message()
                .contains("3 of 3 posts read in 2026-12")
        );
    }

    #[test]
    fn a_burst_counts_whole_even_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-12-02 10:00 UTC);
        let mut budget = MonthlyBudget::open(dir.path(), 5, now).unwrap();
        assert!(!budget.count(now, 3));
        assert!(budget.count(now, 4), "the burst that crosses the limit");
        assert!(
            budget.reached_message().contains("7 of 5 posts read"),
            "X billed all seven: {}",
            budget.reached_message()
        );
        assert!(!budget.exhausted(datetime!(2027-01-01 00:00 UTC)));
    }

    #[test]
    fn a_new_month_starts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let december = datetime!(2026-12-31 23:59 UTC);
        let mut budget = MonthlyBudget::open(dir.path(), 1, december).unwrap();
        assert!(budget.count(december, 1));
        assert!(budget.exhausted(december));
        let january = datetime!(2027-01-01 00:00 UTC);
        assert!(
            !budget.exhausted(january),
            "a running producer sees the month turn"
        );
        drop(budget);
        let mut restarted = MonthlyBudget::open(dir.path(), 1, january).unwrap();
        assert!(!restarted.exhausted(january));
    }

    #[test]
    fn the_count_is_saved_while_posts_arrive_not_only_at_exit() {
        let dir = tempfile::tempdir().unwrap();
        let now = datetime!(2026-12-02 10:00 UTC);
        let mut budget = MonthlyBudget::open(dir.path(), 100, now).unwrap();
        budget.count(now, 1);
        let saved: Saved =
            serde_json::from_slice(&std::fs::read(dir.path().join(BUDGET_FILE)).unwrap()).unwrap();
        assert_eq!((saved.month.as_str(), saved.posts), ("2026-12", 1));
        std::mem::forget(budget); // as if killed: no save at drop
    }

    #[test]
    fn an_unreadable_count_stops_the_start_with_one_line() {
        let dir = tempfile::tempdir().unwrap();
        for content in [
            "not json",
            r#"{"month":"December","posts":3}"#,
            r#"{"month":"2026-12","posts":-1}"#,
        ] {
            std::fs::write(dir.path().join(BUDGET_FILE), content).unwrap();
            let error =
                MonthlyBudget::open(dir.path(), 10, datetime!(2026-12-02 10:00 UTC)).unwrap_err();
            let text = error.to_string();
            assert!(
                text.contains("budget.json") && text.contains("delete it"),
                "{text}"
            );
            assert!(!text.contains('\n'));
            assert_eq!(error.exit_code(), std::process::ExitCode::from(2));
        }
    }
}
