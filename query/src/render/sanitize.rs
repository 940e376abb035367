//! The one definition of the characters of stored text that no output writes as they are, and
//! the two shapes terminal text takes (one line, several lines). Every renderer uses it: the
//! terminal views, CSV cells, the HTML page, and the escaping of `--json`.
//!
//! Stored text comes from strangers, and a table anyone with write access can fill. In it:
//!
//! - ESC starts CSI sequences (colours, cursor moves, clear screen) and OSC sequences (OSC 8
//!   links that show one address and open another, OSC 52 that writes the clipboard); U+009B and
//!   U+009D are the same introducers in one C1 character, honoured by some terminals; BEL, NUL,
//!   DEL and the other C0 and C1 controls have effects of their own.
//! - Bidi overrides and isolates (U+202A-U+202E, U+2066-U+2069) reorder what follows them on
//!   screen, so a line can show other text than it holds ("Trojan Source", CVE-2021-42574).
//!
//! Such characters are dropped, not replaced: an escape sequence loses its introducer and what
//! is left (`[2J`) is plain, visible text.

/// A bidi embedding, override or isolate: U+202A-U+202E (LRE, RLE, PDF, LRO, RLO) and
/// U+2066-U+2069 (LRI, RLI, FSI, PDI).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A character no output writes as it is: a C0 control (U+0000-U+001F), DEL, a C1 control
/// (U+0080-U+009F), or a bidi control. Line breaks and tabs are controls too: each output says
/// what it turns them into.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Text for one line of a terminal: every run of whitespace (line breaks and tabs included)
/// becomes one space, the ends are trimmed, and unsafe characters go.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !is_unsafe(c) {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// Text kept on several lines of a terminal: each line break (LF, CR LF, a lone CR, VT, FF, NEL,
/// U+2028, U+2029) becomes LF (a lone CR would move the cursor back over what was printed), a tab
/// a space, and the other unsafe characters go.
pub fn multi_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push(' '),
            c if is_unsafe(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// JSON text with every unsafe character that is not already escaped written as `\uXXXX`.
/// Lossless: outside strings JSON text is ASCII punctuation, digits and letters, and inside a
/// string the escape means the same character, so the value read back is the same; serde_json
/// escapes C0 itself, but writes DEL, C1 and bidi controls raw, which a terminal would receive.
pub fn json_text(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        // Pretty JSON's own line breaks are the only raw ones: serde_json escapes those in strings.
        if is_unsafe(c) && c != '\n' {
            // Every unsafe character is in the Basic Multilingual Plane: one escape each.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile characters, each written out here rather than taken from the code under test.
    const HOSTILE: [char; 17] = [
        '\u{0}', '\u{7}', '\u{8}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9b}', '\u{9d}',
        '\u{9f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}',
        '\u{2069}',
    ];

    #[test]
    fn the_unsafe_set_is_c0_del_c1_and_bidi_controls() {
        for c in HOSTILE {
            assert!(is_unsafe(c), "{:04x}", u32::from(c));
        }
        for c in [
            'a', ' ', '日', '🦀', '\u{a0}', '\u{200b}', '\u{200f}', '\u{2065}', '\u{206a}',
        ] {
            assert!(!is_unsafe(c), "{:04x}", u32::from(c));
        }
    }

    #[test]
    fn one_line_collapses_whitespace_and_drops_controls() {
        assert_eq!(one_line("  a\n\nb\tc \r\n d  "), "a b c d");
        assert_eq!(one_line("red \x1b[31mtext\x1b[0m\x07"), "red [31mtext[0m");
        // OSC 8 link, OSC 52 clipboard write, clear screen, C1 CSI, NUL, DEL.
        assert_eq!(
            one_line("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\"),
            "]8;;https://evil.example\\click]8;;\\"
        );
        assert_eq!(one_line("\x1b]52;c;SGVsbG8=\x07x"), "]52;c;SGVsbG8=x");
        assert_eq!(one_line("a\x1b[2J\x1b[Hb"), "a[2J[Hb");
        assert_eq!(one_line("\u{9b}31mx\u{0}y\u{7f}z"), "31mxyz");
        // Bidi: the text as it is held, in logical order.
        assert_eq!(
            one_line("abc\u{202e}fdp.exe\u{2066}x\u{2069}"),
            "abcfdp.exex"
        );
        // NEL and the Unicode line separators are whitespace too.
        assert_eq!(one_line("a\u{85}b\u{2028}c"), "a b c");
        let all: String = HOSTILE.iter().collect();
        assert_eq!(one_line(&format!("x{all}y")), "xy");
    }

    #[test]
    fn multi_line_keeps_line_breaks_as_lf_only() {
        assert_eq!(multi_line("a\r\nb\rc\nd\u{2029}e"), "a\nb\nc\nd\ne");
        assert_eq!(multi_line("a\x1b]0;title\x07\nb\tc"), "a]0;title\nb c");
        assert_eq!(multi_line("\u{202e}\u{9b}2J\x1b[2Jok"), "2J[2Jok");
    }

    #[test]
    fn json_text_escapes_what_serde_json_writes_raw_and_reads_back_the_same() {
        let raw = "a\u{7f}b\u{9b}31m\u{202e}c\u{2069}\n\x1b";
        let json = serde_json::to_string_pretty(&serde_json::json!({ "text": raw })).unwrap();
        let safe = json_text(&json);
        assert_eq!(
            safe,
            "{\n  \"text\": \"a\\u007fb\\u009b31m\\u202ec\\u2069\\n\\u001b\"\n}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["text"], raw);
    }
}
