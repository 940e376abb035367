//! A keyword as the user gives it, read once for every source.
//!
//! [`Keyword::parse`] trims it, refuses an empty or overlong one, and notes whether it is a
//! quoted phrase. Each source then takes what it can follow from it: X its stream rule
//! ([`crate::source::x::rules::keyword_rule`]), Bluesky the pattern matched here
//! ([`crate::source::bluesky::matcher::Pattern::of`]). Each projection refuses what its source
//! cannot honour, in its own terms (a double quote is rule syntax on X, a phrase here).
//!
//! The keyword's **tag** is a contract across sources: it is written into every record the
//! keyword matched and becomes the table's `Keyword` attribute, so the same keyword gives the
//! same tag on X and on Bluesky, run after run.

use crate::source::x::rules::MAX_RULE_LENGTH;

/// The longest keyword, in characters: no X account accepts a longer rule, and a keyword means
/// the same on every source.
pub const MAX_KEYWORD_CHARS: usize = MAX_RULE_LENGTH;

/// One keyword the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyword {
    tag: String,
    quoted: bool,
}

impl Keyword {
    /// Reads one keyword as given on the command line; the error is one line.
    pub fn parse(given: &str) -> Result<Keyword, String> {
        let tag = given.trim();
        if tag.is_empty() {
            return Err("a keyword is empty".to_owned());
        }
        let length = tag.chars().count();
        if length > MAX_KEYWORD_CHARS {
            return Err(format!(
                "keyword {tag:?} is {length} characters long; a keyword has at most {MAX_KEYWORD_CHARS}, the longest rule X accepts (Enterprise; pay-per-use and Pro: 1,024)"
            ));
        }
        Ok(Keyword {
            tag: tag.to_owned(),
            quoted: tag.len() >= 2 && tag.starts_with('"') && tag.ends_with('"'),
        })
    }

    /// What a record says when this keyword matched it: the keyword as given, trimmed.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Whether the whole keyword is in double quotes (`"rust lang"`).
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }

    /// The keyword without the quotes around a quoted phrase; else the tag.
    pub fn text(&self) -> &str {
        if self.quoted {
            &self.tag[1..self.tag.len() - 1]
        } else {
            &self.tag
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_the_keyword_as_given_trimmed() {
        // Written out by hand: records already stored carry these tags, and the table is keyed
        // by them.
        for (given, tag) in [
            ("rust", "rust"),
            ("  rust   lang ", "rust   lang"),
            ("\t#Tokio\n", "#Tokio"),
            ("\"coca cola\"", "\"coca cola\""),
            ("\u{3000}東京\u{a0}", "東京"),
            ("Ünïcode", "Ünïcode"),
            ("from:jack", "from:jack"),
        ] {
            assert_eq!(Keyword::parse(given).expect(given).tag(), tag, "{given:?}");
        }
    }

    #[test]
    fn a_quoted_phrase_is_the_words_inside_its_quotes() {
        let k = Keyword::parse(" \"rust lang\" ").expect("valid");
        assert!(k.is_quoted());
        assert_eq!(k.text(), "rust lang");
        let k = Keyword::parse("say \"hi\"").expect("read; refused by the sources");
        assert!(!k.is_quoted());
        assert_eq!(k.text(), "say \"hi\"");
        assert!(!Keyword::parse("\"").expect("one quote").is_quoted());
        assert_eq!(Keyword::parse("\"\"").expect("two").text(), "");
    }

    #[test]
    fn empty_and_overlong_keywords_are_refused_on_one_line() {
        assert_eq!(
            Keyword::parse(" \t").expect_err("empty"),
            "a keyword is empty"
        );
        let err = Keyword::parse(&"x".repeat(2049)).expect_err("too long");
        assert!(err.contains("2048") && err.contains("2049"), "{err}");
        assert!(!err.contains('\n'));
        assert!(Keyword::parse(&"x".repeat(2048)).is_ok());
    }
}
