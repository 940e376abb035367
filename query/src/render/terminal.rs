//! How stdout looks: how wide, and whether it takes colour; and the few styles the tool paints
//! with.

use std::borrow::Cow;
use std::ffi::OsStr;

/// Width used when neither the terminal nor `COLUMNS` says.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this and nothing useful fits; cut as if it were this wide.
const MIN_WIDTH: usize = 40;

/// How stdout looks: how wide, and whether it takes colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Terminal {
    pub width: usize,
    pub color: bool,
}

impl Terminal {
    /// Plain output of the default width (files, pipes, tests).
    pub const PLAIN: Terminal = Terminal {
        width: DEFAULT_WIDTH,
        color: false,
    };

    /// From what is known about stdout: the terminal's own width if it is one, else `COLUMNS`,
    /// else [`DEFAULT_WIDTH`]; colour only on a terminal and only if `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn new(
        is_terminal: bool,
        terminal_width: Option<u16>,
        columns: Option<&OsStr>,
        no_color: Option<&OsStr>,
    ) -> Terminal {
        let width = terminal_width
            .map(usize::from)
            .filter(|w| *w > 0)
            .or_else(|| {
                columns
                    .and_then(OsStr::to_str)
                    .and_then(|c| c.trim().parse::<usize>().ok())
                    .filter(|w| *w > 0)
            })
            .unwrap_or(DEFAULT_WIDTH)
            .max(MIN_WIDTH);
        let color = is_terminal && no_color.is_none_or(OsStr::is_empty);
        Terminal { width, color }
    }

    /// For this process's stdout.
    pub fn detect() -> Terminal {
        use std::io::IsTerminal;
        let stdout = std::io::stdout();
        let is_terminal = stdout.is_terminal();
        let size = if is_terminal {
            terminal_size::terminal_size_of(&stdout).map(|(w, _)| w.0)
        } else {
            None
        };
        Terminal::new(
            is_terminal,
            size,
            std::env::var_os("COLUMNS").as_deref(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    pub fn paint<'a>(&self, style: Style, text: &'a str) -> Cow<'a, str> {
        if !self.color || text.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(format!("\x1b[{}m{text}\x1b[0m", style.code()))
    }
}

/// The few styles the tool uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Dim,
    Accent,
    Bar,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Accent => "36",
            Style::Bar => "32",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_comes_from_the_terminal_then_columns_then_default() {
        let t = Terminal::new(true, Some(132), Some(OsStr::new("80")), None);
        assert_eq!(
            t,
            Terminal {
                width: 132,
                color: true
            }
        );
        let t = Terminal::new(false, None, Some(OsStr::new("80")), None);
        assert_eq!(
            t,
            Terminal {
                width: 80,
                color: false
            }
        );
        let t = Terminal::new(false, None, Some(OsStr::new("wide")), None);
        assert_eq!(t.width, DEFAULT_WIDTH);
        let t = Terminal::new(false, None, None, None);
        assert_eq!(t.width, DEFAULT_WIDTH);
        let t = Terminal::new(false, None, Some(OsStr::new("10")), None);
        assert_eq!(t.width, MIN_WIDTH);
    }

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        assert!(Terminal::new(true, None, None, None).color);
        assert!(Terminal::new(true, None, None, Some(OsStr::new(""))).color);
        assert!(!Terminal::new(true, None, None, Some(OsStr::new("1"))).color);
        assert!(!Terminal::new(false, None, None, None).color);
        let plain = Terminal::PLAIN;
        assert_eq!(plain.paint(Style::Bold, "x"), "x");
        let colour = Terminal {
            width: 80,
            color: true,
        };
        assert_eq!(colour.paint(Style::Bold, "x"), "\x1b[1mx\x1b[0m");
    }
}
