//! Text for the terminal, pure: tables, bars, sparklines, text cut to a width.
//!
//! Text is cut by display width (wide CJK and emoji count two columns) on character boundaries,
//! never inside a UTF-8 sequence. Stored text is made safe before it gets here
//! ([`super::sanitize`]).

use std::borrow::Cow;

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display columns `text` takes.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` columns, ending in `…` when it was cut; never splits a character.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    if width(text) <= max {
        return Cow::Borrowed(text);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let budget = max - 1; // the ellipsis takes one column
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// `text` padded with spaces to `columns` display columns (left-aligned).
pub fn pad(text: &str, columns: usize) -> String {
    let w = width(text);
    format!("{text}{}", " ".repeat(columns.saturating_sub(w)))
}

/// `text` right-aligned in `columns` display columns.
pub fn pad_left(text: &str, columns: usize) -> String {
    let w = width(text);
    format!("{}{text}", " ".repeat(columns.saturating_sub(w)))
}

/// A horizontal bar `value / max` of `columns` columns, in eighths of a block.
pub fn bar(value: u64, max: u64, columns: usize) -> String {
    const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    if max == 0 || columns == 0 {
        return String::new();
    }
    let eighths = (u128::from(value) * (columns as u128) * 8 / u128::from(max)) as usize;
    // Something is never drawn as nothing.
    let eighths = if value > 0 { eighths.max(1) } else { 0 };
    let mut out = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        out.push(EIGHTHS[eighths % 8]);
    }
    out
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of `values`, one character per value; when there are more values than `columns`,
/// each character shows the largest of the values it stands for (a peak is never averaged away).
/// Returns the line and how many values each character stands for.
pub fn sparkline(values: &[u64], columns: usize) -> (String, usize) {
    if values.is_empty() || columns == 0 {
        return (String::new(), 1);
    }
    let per = values.len().div_ceil(columns);
    let grouped: Vec<u64> = values
        .chunks(per)
        .map(|c| c.iter().copied().max().unwrap_or(0))
        .collect();
    let max = grouped.iter().copied().max().unwrap_or(0);
    let line = grouped
        .iter()
        .map(|&v| {
            if max == 0 || v == 0 {
                SPARKS[0]
            } else {
                // 1..=max onto the eight levels, the lowest reserved for zero only when it fits.
                let level = (u128::from(v) * 7).div_ceil(u128::from(max)) as usize;
                SPARKS[level.min(7)]
            }
        })
        .collect();
    (line, per)
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Rows of cells as lines of aligned columns (two spaces apart); the last column is not padded,
/// so a long one does not push trailing spaces.
pub fn table(header: &[&str], align: &[Align], rows: &[Vec<String>]) -> Vec<String> {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut parts = Vec::with_capacity(columns);
        for (i, cell) in cells.iter().enumerate() {
            let last = i + 1 == columns;
            let a = align.get(i).copied().unwrap_or(Align::Left);
            parts.push(match (a, last) {
                (Align::Right, _) => pad_left(cell, widths[i]),
                (Align::Left, true) => (*cell).to_owned(),
                (Align::Left, false) => pad(cell, widths[i]),
            });
        }
        parts.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.to_vec())];
    for row in rows {
        out.push(line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A count with thousands separators: `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_display_columns_and_never_splits_a_character() {
        assert_eq!(truncate("hello", 5), "hello");
        assert_eq!(truncate("hello world", 8), "hello w…");
        // Two columns per CJK character: 4 columns hold one character and the ellipsis.
        assert_eq!(truncate("日本語テキスト", 4), "日…");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        // Emoji and accents: multi-byte, cut between characters.
        let cut = truncate("🦀🦀🦀 crab", 5);
        assert_eq!(cut, "🦀🦀…");
        assert!(width(&cut) <= 5);
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 0), "");
        for max in 0..20 {
            let t = truncate("Ça 日本 🦀 x\u{301}yz", max);
            assert!(width(&t) <= max, "{max}: {t}");
        }
    }

    #[test]
    fn bars_scale_in_eighths_and_never_hide_a_nonzero_value() {
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 16, 2), "▏");
        assert_eq!(bar(1, 1_000_000, 10), "▏");
        assert_eq!(bar(0, 10, 4), "");
        assert_eq!(bar(3, 0, 4), "");
        assert_eq!(bar(9, 16, 2), "█▏");
    }

    #[test]
    fn sparkline_keeps_peaks_when_squeezed() {
        let (line, per) = sparkline(&[0, 1, 2, 4, 8], 10);
        assert_eq!((line.as_str(), per), ("▁▂▃▅█", 1));
        let values: Vec<u64> = (0..100).map(|i| if i == 57 { 9 } else { 0 }).collect();
        let (line, per) = sparkline(&values, 10);
        assert_eq!(per, 10);
        assert_eq!(line.chars().count(), 10);
        assert_eq!(line.chars().nth(5), Some('█'));
        assert_eq!(sparkline(&[0, 0], 5).0, "▁▁");
        assert_eq!(sparkline(&[], 5).0, "");
    }

    #[test]
    fn tables_align_by_display_width() {
        let lines = table(
            &["lang", "posts"],
            &[Align::Left, Align::Right],
            &[
                vec!["日本".into(), "3".into()],
                vec!["en".into(), "1,234".into()],
            ],
        );
        assert_eq!(lines, ["lang  posts", "日本      3", "en    1,234"]);
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
