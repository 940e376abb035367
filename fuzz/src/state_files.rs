//! The files a producer reads back at start, as an editor, a full disk or another version may
//! have left them: the stats file, the cursor file and the monthly budget's count. None may
//! stop a start with a panic; what is read is written back the same.

use time::OffsetDateTime;
use time::macros::datetime;
use twitter_producer::budget::{BUDGET_FILE, MonthlyBudget};
use twitter_producer::source::bluesky::cursor::CursorFile;
use twitter_producer::stats::{History, StatsFile, Totals};

const NOW: OffsetDateTime = datetime!(2026-01-02 03:04:05.678901 UTC);

/// The same bytes as each of the three files.
pub fn state_files(data: &[u8]) {
    crate::logs_formatted();
    let dir = tempfile::tempdir().expect("a temporary directory");
    stats_file(dir.path(), data);
    cursor_file(dir.path(), data);
    std::fs::write(dir.path().join(BUDGET_FILE), data).expect("written");
    if let Err(error) = MonthlyBudget::open(dir.path(), 1_000, NOW) {
        assert!(!error.to_string().contains('\n'), "{error}");
    }
}

fn stats_file(dir: &std::path::Path, data: &[u8]) {
    let path = dir.join("stats.json");
    std::fs::write(&path, data).expect("written");
    let stats = StatsFile::open(path.clone(), NOW);
    match serde_json::from_slice::<History>(data) {
        Ok(history) => assert_eq!(stats.history_before(), &history),
        Err(_) => {
            assert_eq!(stats.history_before(), &History::default());
            assert!(!path.exists(), "an unreadable stats file is set aside");
        }
    }
    let run = Totals {
        posts_received: u64::MAX,
        posts_written: 1,
        ..Totals::default()
    };
    let after = stats.with_run(run);
    assert!(after.runs >= stats.history_before().runs);
    assert!(after.totals.posts_received == u64::MAX);
    stats.save(run).expect("the stats file is saved");
    let again = StatsFile::open(path, NOW);
    assert_eq!(
        again.history_before(),
        &after,
        "the saved history reads back"
    );
}

fn cursor_file(dir: &std::path::Path, data: &[u8]) {
    let path = dir.join("jetstream-cursor.json");
    std::fs::write(&path, data).expect("written");
    let file = CursorFile::new(path);
    if let Some(position) = file.load(NOW) {
        file.save(&position, NOW).expect("the cursor file is saved");
        assert_eq!(
            file.load(NOW),
            Some(position),
            "the saved position reads back"
        );
    }
}
