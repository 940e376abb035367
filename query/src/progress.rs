//! The progress line a long read shows on stderr: how many items DynamoDB has sent so far, and
//! for how long, redrawn in place and cleared when the read ends.
//!
//! Only where a person watches and nothing parses: `stats`, `report` and `keywords` (the reads
//! that go through every entry of a keyword, or of the whole index), printed for a person
//! (not `--json` or `--csv`), with stderr a terminal (not a pipe, a file or a CI log).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Command;
use crate::render::Format;
use crate::store::ReadObserver;

/// Redraws per second at most: enough to look alive, too few to cost anything.
const REFRESH_HZ: u8 = 10;
/// The spinner turns this often even while one request is slow to answer.
const SPIN_EVERY: Duration = Duration::from_millis(120);
const TEMPLATE: &str = "{spinner} {msg}: {human_pos} items read ({elapsed})";

/// Whether `command` shows the progress line: see the module comment.
pub fn shows_progress(command: &Command, format: Format, stderr_is_terminal: bool) -> bool {
    let long_read = matches!(
        command,
        Command::Stats { .. } | Command::Report { .. } | Command::Keywords
    );
    long_read && format == Format::Human && stderr_is_terminal
}

/// What the line says is being read.
pub fn describe(command: &Command) -> Cow<'static, str> {
    match command {
        Command::Stats { keyword, .. } | Command::Report { keyword, .. } => {
            Cow::Owned(format!("reading \"{}\"", keyword.trim()))
        }
        _ => Cow::Borrowed("reading the keyword index"),
    }
}

/// The line itself, on stderr; cleared when dropped, so an error line or the answer that
/// follows starts on a clean line.
pub struct ProgressLine {
    bar: ProgressBar,
}

impl ProgressLine {
    pub fn on_stderr(what: Cow<'static, str>) -> ProgressLine {
        ProgressLine::with_target(what, ProgressDrawTarget::stderr_with_hz(REFRESH_HZ))
    }

    fn with_target(what: Cow<'static, str>, target: ProgressDrawTarget) -> ProgressLine {
        let bar = ProgressBar::with_draw_target(None, target);
        // The template is a constant: it either parses in every run or in none (a test checks).
        if let Ok(style) = ProgressStyle::with_template(TEMPLATE) {
            bar.set_style(style);
        }
        bar.set_message(what);
        bar.enable_steady_tick(SPIN_EVERY);
        ProgressLine { bar }
    }

    /// Clears the line (again: harmless).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl ReadObserver for ProgressLine {
    fn page(&self, scanned: u64) {
        self.bar.inc(scanned);
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.finish();
    }
}

impl fmt::Debug for ProgressLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressLine")
            .field("read", &self.bar.position())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use clap::Parser;
    use indicatif::TermLike;

    use super::*;
    use crate::cli::Cli;

    fn command(args: &[&str]) -> Command {
        let mut argv = vec!["twitter-query"];
        argv.extend(args);
        Cli::try_parse_from(argv).expect("parses").command
    }

    #[test]
    fn only_the_long_reads_for_a_person_on_a_terminal_show_it() {
        let long = [
            &["stats", "rust", "--by", "lang"][..],
            &["report", "rust", "--out", "r.html"],
            &["keywords"],
        ];
        for args in long {
            let c = command(args);
            assert!(shows_progress(&c, Format::Human, true), "{args:?}");
            assert!(
                !shows_progress(&c, Format::Human, false),
                "{args:?} in a pipe"
            );
            assert!(!shows_progress(&c, Format::Json, true), "{args:?} --json");
            assert!(!shows_progress(&c, Format::Csv, true), "{args:?} --csv");
        }
        let short = [
            &["latest", "rust"][..],
            &["show", "1"],
            &["rate", "rust"],
            &["serve"],
        ];
        for args in short {
            assert!(
                !shows_progress(&command(args), Format::Human, true),
                "{args:?}"
            );
        }
    }

    #[test]
    fn the_line_names_the_keyword_or_the_index() {
        assert_eq!(
            describe(&command(&["stats", " rust ", "--by", "lang"])),
            "reading \"rust\""
        );
        assert_eq!(
            describe(&command(&["keywords"])),
            "reading the keyword index"
        );
    }

    /// A terminal that keeps what was drawn, line by line, as the screen shows it.
    #[derive(Debug, Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl Screen {
        fn lines(&self) -> Vec<String> {
            self.0.lock().expect("screen").clone()
        }
    }

    impl TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().expect("screen").push(s.to_owned());
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().expect("screen").push(s.to_owned());
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            self.0.lock().expect("screen").push(String::new());
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn pages_add_up_on_the_line_and_the_line_is_cleared_at_the_end() {
        assert!(ProgressStyle::with_template(TEMPLATE).is_ok());
        let screen = Screen::default();
        let line = ProgressLine::with_target(
            Cow::Borrowed("reading \"rust\""),
            ProgressDrawTarget::term_like_with_hz(Box::new(screen.clone()), 100),
        );
        line.page(1_000);
        line.page(234);
        assert_eq!(line.bar.position(), 1_234);
        // The spinner's ticker redraws the line; wait for a turn that shows both pages.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let shown = |lines: &[String]| {
            lines
                .iter()
                .any(|l| l.contains("reading \"rust\": 1,234 items read ("))
        };
        while !shown(&screen.lines()) && std::time::Instant::now() < deadline {
            std::thread::sleep(SPIN_EVERY);
        }
        assert!(shown(&screen.lines()), "{:?}", screen.lines());
        drop(line);
        assert_eq!(screen.lines().last().map(String::as_str), Some(""));
    }
}
