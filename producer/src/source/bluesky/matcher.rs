//! Keyword matching for a source with no server-side filter (Bluesky's Jetstream), with the
//! semantics of X's keyword rules, so that one keyword list means the same on both sources.
//!
//! - A keyword is a **tokenized**, case-insensitive match: the post text is split into tokens on
//!   punctuation, symbols and separators, and the keyword must equal a token (`cola` matches
//!   "I like coca-cola"; `col` does not). Accents are not folded (`diacrítica` does not match
//!   "diacritica"), as on X.
//! - A keyword that is several tokens (`rust lang`, `coca-cola`, or a quoted `"coca cola"`) is an
//!   **exact phrase**: its tokens in order, adjacent.
//! - Emoji are tokens of their own (`🦀` matches "I ❤️ 🦀"); variation selectors and skin tones are
//!   ignored so `❤` matches "❤️".
//! - Ideographs and kana split into one token per character (Unicode word boundaries), so a
//!   Japanese or Chinese keyword matches wherever its characters appear in that order.
//! - `#tag` matches a **hashtag** of the post (a `app.bsky.richtext.facet#tag` facet or the
//!   record's `tags`), exactly and case-insensitively: `#thanku` does not match `#thankunext`.
//!   A hashtag typed in the text without a facet is not a hashtag (the client did not make it one),
//!   though its word still matches the keyword `thanku`.

use unicode_segmentation::UnicodeSegmentation;

use crate::keyword::Keyword;

/// What a keyword matches in a post: the local projection of a [`Keyword`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// Lowercased tokens that must appear in this order, adjacent.
    Phrase(Vec<String>),
    /// A hashtag, lowercased, without its `#`.
    Hashtag(String),
}

impl Pattern {
    /// What `keyword` matches here; the error is one line saying why it cannot be matched.
    pub fn of(keyword: &Keyword) -> Result<Pattern, String> {
        let tag = keyword.tag();
        // A quoted keyword is a phrase, which is what a keyword of several tokens is anyway.
        let text = keyword.text();
        if text.contains('"') {
            return Err(format!(
                "keyword {tag:?} contains a double quote; quote a whole phrase or nothing"
            ));
        }
        if let Some(hashtag) = text.strip_prefix('#').filter(|_| !keyword.is_quoted()) {
            if hashtag.is_empty() || hashtag.chars().any(|c| c.is_whitespace() || c == '#') {
                return Err(format!(
                    "keyword {tag:?} is not a hashtag: a hashtag is # and one word"
                ));
            }
            return Ok(Pattern::Hashtag(lowercase(hashtag)));
        }
        let mut tokens = Tokens::default();
        tokens.tokenize(text);
        if tokens.is_empty() {
            return Err(format!(
                "keyword {tag:?} has nothing to match: no letter, digit or emoji"
            ));
        }
        Ok(Pattern::Phrase(tokens.iter().map(str::to_owned).collect()))
    }

    /// Whether a post with this text (already tokenized) and these hashtags matches.
    fn matches(&self, tokens: &Tokens, hashtags: &[&str]) -> bool {
        match self {
            Pattern::Phrase(phrase) => tokens.contains_phrase(phrase),
            Pattern::Hashtag(wanted) => hashtags.iter().any(|tag| {
                let tag = tag.strip_prefix('#').unwrap_or(tag);
                tag.chars().flat_map(char::to_lowercase).eq(wanted.chars())
            }),
        }
    }
}

/// One keyword of the run and what it matches.
#[derive(Debug, Clone)]
struct Followed {
    keyword: Keyword,
    pattern: Pattern,
}

/// The keywords of one run.
#[derive(Debug, Clone)]
pub struct Matcher {
    keywords: Vec<Followed>,
    /// Whether any keyword needs the text's tokens (a hashtag-only list does not).
    needs_tokens: bool,
    /// One token of each phrase keyword that must appear, as it is, in the text lowercased in
    /// ASCII, if the phrase is to match; `None` when some phrase has no such token. Most posts of
    /// the firehose match nothing, and a substring search rules them out far faster than
    /// tokenizing does.
    prefilter: Option<Vec<String>>,
}

impl Matcher {
    /// Matches `keywords`, in their order, each once (a repeated tag is dropped); at least one
    /// is required. The error is the first keyword that cannot be matched here.
    pub fn new(keywords: Vec<Keyword>) -> Result<Matcher, String> {
        let mut followed: Vec<Followed> = Vec::with_capacity(keywords.len());
        for keyword in keywords {
            let pattern = Pattern::of(&keyword)?;
            if !followed.iter().any(|f| f.keyword.tag() == keyword.tag()) {
                followed.push(Followed { keyword, pattern });
            }
        }
        if followed.is_empty() {
            return Err("no keyword given: name at least one KEYWORD".to_owned());
        }
        let phrases: Vec<&Vec<String>> = followed
            .iter()
            .filter_map(|f| match &f.pattern {
                Pattern::Phrase(tokens) => Some(tokens),
                Pattern::Hashtag(_) => None,
            })
            .collect();
        let prefilter = phrases
            .iter()
            .map(|tokens| {
                tokens
                    .iter()
                    .filter(|t| is_prefilter_needle(t))
                    .max_by_key(|t| t.len())
                    .cloned()
            })
            .collect();
        Ok(Matcher {
            needs_tokens: !phrases.is_empty(),
            keywords: followed,
            prefilter,
        })
    }

    /// The tags of the keywords followed, in order.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.keywords.iter().map(|f| f.keyword.tag())
    }

    /// The tags of every keyword the post matches, in keyword order. `scratch` is reused from
    /// post to post so matching allocates nothing once it has grown.
    pub fn matching<'m>(
        &'m self,
        text: &str,
        hashtags: &[&str],
        scratch: &mut Tokens,
    ) -> Vec<&'m str> {
        if self.needs_tokens && self.might_contain_a_phrase(text, scratch) {
            scratch.tokenize(text);
        } else {
            scratch.clear();
        }
        self.keywords
            .iter()
            .filter(|f| f.pattern.matches(scratch, hashtags))
            .map(|f| f.keyword.tag())
            .collect()
    }
}

impl Matcher {
    /// False only when no phrase keyword can match `text`.
    fn might_contain_a_phrase(&self, text: &str, scratch: &mut Tokens) -> bool {
        let Some(needles) = &self.prefilter else {
            return true;
        };
        // The only characters whose lowercase is ASCII without being ASCII (İ and the Kelvin
        // sign): with them, ASCII lowercasing is not the tokenizer's lowercasing.
        if text.contains(['\u{130}', '\u{212A}']) {
            return true;
        }
        let lowered = &mut scratch.lowered;
        lowered.clear();
        lowered.push_str(text);
        lowered.make_ascii_lowercase();
        needles
            .iter()
            .any(|needle| lowered.contains(needle.as_str()))
    }
}

/// A token a substring search can look for: every character an ASCII letter or digit, or a
/// letter without case (ideographs, kana, hangul), so the token appears in the text exactly as
/// the text's ASCII-lowercased bytes. Emoji are not (skin tones are dropped from tokens).
fn is_prefilter_needle(token: &str) -> bool {
    token.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || (!c.is_ascii()
                && c.is_alphanumeric()
                && c.to_lowercase().eq([c])
                && c.to_uppercase().eq([c]))
    })
}

/// The lowercased tokens of one text, in one buffer.
#[derive(Debug, Default, Clone)]
pub struct Tokens {
    text: String,
    ends: Vec<usize>,
    /// The text lowercased in ASCII, for the prefilter.
    lowered: String,
}

impl Tokens {
    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.get(i))
    }

    fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }

    /// Replaces the tokens with those of `text`.
    pub fn tokenize(&mut self, text: &str) {
        self.clear();
        if text.is_ascii() {
            // Most posts: in ASCII, word boundaries split at every character that is not a
            // letter or a digit, so the Unicode rules below give exactly these runs.
            for word in text
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
            {
                self.text
                    .extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
                self.ends.push(self.text.len());
            }
            return;
        }
        for segment in text.split_word_bounds() {
            if segment.chars().any(char::is_alphanumeric) {
                // Word boundaries keep `can't`, `node.js`, `1,000` and `snake_case` whole; X
                // splits on punctuation, so they are split here too.
                for word in segment
                    .split(is_inner_punctuation)
                    .filter(|w| !w.is_empty())
                {
                    self.text.extend(word.chars().flat_map(char::to_lowercase));
                    self.ends.push(self.text.len());
                }
            } else if segment.chars().any(is_pictograph) {
                let start = self.text.len();
                self.text.extend(
                    segment
                        .chars()
                        .filter(|c| !is_emoji_presentation_detail(*c)),
                );
                // A lone skin tone or selector is nothing to match.
                if self.text.len() > start {
                    self.ends.push(self.text.len());
                }
            }
        }
    }

    /// Whether `phrase` appears as adjacent tokens.
    pub fn contains_phrase<S: AsRef<str>>(&self, phrase: &[S]) -> bool {
        let n = phrase.len();
        if n == 0 || n > self.len() {
            return false;
        }
        (0..=self.len() - n).any(|start| {
            phrase
                .iter()
                .enumerate()
                .all(|(i, token)| self.get(start + i) == token.as_ref())
        })
    }
}

fn lowercase(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// Characters Unicode word boundaries keep inside a word (apostrophes, dots, colons, commas,
/// connectors like `_`), all punctuation by X's tokenizing.
fn is_inner_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            c,
            // MidLetter
            '\u{00B7}' | '\u{0387}' | '\u{055F}' | '\u{05F4}' | '\u{2027}' | '\u{FE13}' | '\u{FE55}'
            | '\u{FF1A}'
            // MidNum
            | '\u{037E}' | '\u{0589}' | '\u{060C}' | '\u{060D}' | '\u{066C}' | '\u{07F8}'
            | '\u{2044}' | '\u{FE10}' | '\u{FE14}' | '\u{FE50}' | '\u{FE54}' | '\u{FF0C}'
            | '\u{FF1B}'
            // MidNumLet
            | '\u{2018}' | '\u{2019}' | '\u{2024}' | '\u{FE52}' | '\u{FF07}' | '\u{FF0E}'
            // ExtendNumLet
            | '\u{202F}' | '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}'
            | '\u{FE4D}'..='\u{FE4F}' | '\u{FF3F}'
        )
}

/// Pictographs (emoji and their kin): tokens of their own. Other symbols ($, €, →, ©...) split
/// tokens like punctuation does.
fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{1F000}'..='\u{1FAFF}'   // emoticons, pictographs, transport, flags, supplemental
        | '\u{2600}'..='\u{27BF}'   // miscellaneous symbols, dingbats
        | '\u{2B00}'..='\u{2BFF}'   // stars, arrows used as emoji (⭐, ⬆)
        | '\u{231A}'..='\u{231B}' | '\u{23E9}'..='\u{23FA}' | '\u{2328}' | '\u{23CF}'
        | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}' | '\u{3030}' | '\u{303D}'
        | '\u{3297}' | '\u{3299}'
    )
}

/// Parts of an emoji that only choose how it looks: variation selectors and skin tones.
fn is_emoji_presentation_detail(c: char) -> bool {
    matches!(c, '\u{FE0E}' | '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyword::MAX_KEYWORD_CHARS;

    /// What a keyword matches, read as the Bluesky source reads it: parsed, then projected.
    fn pattern(keyword: &str) -> Result<Pattern, String> {
        Pattern::of(&Keyword::parse(keyword)?)
    }

    /// The matcher of a keyword list, read as the Bluesky source reads it.
    fn keywords(given: &[String]) -> Result<Matcher, String> {
        Matcher::new(
            given
                .iter()
                .map(|k| Keyword::parse(k))
                .collect::<Result<_, _>>()?,
        )
    }

    fn tokens(text: &str) -> Vec<String> {
        let mut tokens = Tokens::default();
        tokens.tokenize(text);
        tokens.iter().map(str::to_owned).collect()
    }

    fn matched(keywords: &[&str], text: &str, hashtags: &[&str]) -> Vec<String> {
        let matcher = Matcher::new(
            keywords
                .iter()
                .map(|k| Keyword::parse(k).expect("valid keyword"))
                .collect(),
        )
        .expect("valid keywords");
        matcher
            .matching(text, hashtags, &mut Tokens::default())
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn is_match(keyword: &str, text: &str) -> bool {
        !matched(&[keyword], text, &[]).is_empty()
    }

    #[test]
    fn text_splits_on_punctuation_symbols_and_separators() {
        assert_eq!(tokens("I like coca-cola!"), ["i", "like", "coca", "cola"]);
        assert_eq!(
            tokens("can't stop: node.js, 3.14 & snake_case $TSLA"),
            [
                "can", "t", "stop", "node", "js", "3", "14", "snake", "case", "tsla"
            ]
        );
        assert_eq!(tokens("  \n\t "), Vec::<String>::new());
        // The same rules outside ASCII (curly apostrophe, no-break space, em dash).
        assert_eq!(
            tokens("it’s\u{a0}Rust—Tokio’s «async» 1,000"),
            ["it", "s", "rust", "tokio", "s", "async", "1", "000"]
        );
    }

    #[test]
    fn ascii_and_unicode_paths_agree() {
        // An emoji at the end sends the text down the Unicode path; the words must not change.
        for text in [
            "Hello, World! node.js can't stop_now @alice.bsky.social #Rust 1,000.5",
            "https://t.co/3fZ06Z4a10 -- e-mail: x@y.z (a) [b] {c} <d>",
        ] {
            let ascii = tokens(text);
            let mut unicode = tokens(&format!("{text} 🦀"));
            assert_eq!(unicode.pop().as_deref(), Some("🦀"));
            assert_eq!(ascii, unicode, "{text}");
        }
    }

    #[test]
    fn letters_keep_their_accents_and_marks_and_fold_case() {
        assert_eq!(tokens("Diacrítica ÉCOLE"), ["diacrítica", "école"]);
        // A combining mark (NFD accent) and a virama stay inside their word.
        assert_eq!(tokens("cafe\u{301} नमस्ते"), ["cafe\u{301}", "नमस्ते"]);
        assert!(is_match("diacrítica", "la Diacrítica"));
        assert!(
            !is_match("diacrítica", "diacritica"),
            "accents are not folded"
        );
        assert!(!is_match("diacritica", "diacrítica"));
        assert!(is_match("STRASSE", "strasse"));
    }

    #[test]
    fn ideographs_and_kana_are_one_token_each() {
        let text = "待って天幕のジャードゥーガル観ようと思ってた";
        let t = tokens(text);
        assert!(
            t.contains(&"天".to_owned()) && t.contains(&"幕".to_owned()),
            "{t:?}"
        );
        assert!(is_match("天幕", text));
        assert!(is_match("ジャードゥーガル", text));
        assert!(!is_match("幕天", text));
        // Hangul words are separated by spaces, like Latin ones.
        assert!(is_match("이쁘시네용", "이쁘시네용"));
        assert!(!is_match("이쁘", "이쁘시네용"));
    }

    #[test]
    fn emoji_are_tokens_and_their_presentation_is_ignored() {
        assert_eq!(tokens("I❤️🦀!!"), ["i", "❤", "🦀"]);
        assert!(is_match("🦀", "rust🦀crab"));
        assert!(is_match("❤️", "I ❤ you"));
        assert!(is_match("❤", "I ❤️ you"));
        assert!(is_match("👍", "nice 👍🏽"));
        assert!(
            is_match("😂😂", "lol 😂😂 ok"),
            "a run of emoji is a phrase"
        );
        assert!(!is_match("😂", "lol 😅"));
        // Other symbols are separators, not tokens.
        assert_eq!(tokens("5€ → ©2024"), ["5", "2024"]);
        assert!(pattern("→").is_err());
    }

    #[test]
    fn a_keyword_is_a_whole_token_never_a_substring() {
        assert!(is_match("rust", "I love Rust."));
        assert!(
            is_match("rust", "#rust is nice"),
            "the word of a hashtag is a token"
        );
        assert!(!is_match("rust", "rusty trusted crust"));
        assert!(!is_match("col", "coca-cola"));
        assert!(is_match("cola", "coca-cola"));
        assert!(is_match("RUST", "rust"));
        assert!(is_match("3", "version 3.14"));
    }

    #[test]
    fn phrases_match_adjacent_tokens_in_order() {
        assert!(is_match("rust lang", "the Rust  lang book"));
        assert!(is_match("\"rust lang\"", "rust-lang.org"));
        assert!(
            is_match("coca-cola", "Coca Cola"),
            "a keyword with punctuation is a phrase"
        );
        assert!(!is_match("rust lang", "lang rust"));
        assert!(!is_match("rust lang", "rust the lang"));
        assert!(!is_match("rust lang", "rust"));
        assert!(is_match(
            "tokio stream",
            "Tokio latency retry stream tokio stream"
        ));
        assert!(is_match("@alice.bsky.social", "hi @alice.bsky.social!"));
    }

    #[test]
    fn hashtags_match_facet_tags_exactly_and_case_insensitively() {
        let hashtags = ["IndieRebellion", "#Rust", "Ünïcode"];
        assert_eq!(
            matched(&["#indierebellion"], "no such word in text", &hashtags),
            ["#indierebellion"]
        );
        assert_eq!(matched(&["#rust"], "", &hashtags), ["#rust"]);
        assert_eq!(matched(&["#ünïcode"], "", &hashtags), ["#ünïcode"]);
        assert!(
            matched(&["#indie"], "", &hashtags).is_empty(),
            "exact, not a prefix"
        );
        assert!(
            matched(&["#rebellion"], "", &hashtags).is_empty(),
            "not tokenized either"
        );
        // A `#word` in the text without a facet is not a hashtag.
        assert!(matched(&["#batch"], "#batch window build", &[]).is_empty());
        assert_eq!(matched(&["batch"], "#batch window", &[]), ["batch"]);
    }

    #[test]
    fn every_keyword_a_post_matches_is_reported_once_in_keyword_order() {
        assert_eq!(
            matched(
                &["tokio", "crab", "#talesatwonderworld", "nothing"],
                "crab tokio crab",
                &["talesatwonderworld"]
            ),
            ["tokio", "crab", "#talesatwonderworld"]
        );
        assert!(matched(&["tokio"], "", &[]).is_empty());
    }

    #[test]
    fn keywords_are_read_like_the_x_source_reads_them() {
        let k = Keyword::parse("  rust   lang ").expect("valid");
        assert_eq!(
            k.tag(),
            "rust   lang",
            "the tag is the keyword as given, trimmed"
        );
        assert_eq!(
            pattern("  rust   lang ").expect("valid"),
            Pattern::Phrase(vec!["rust".into(), "lang".into()])
        );
        assert_eq!(
            pattern("#Rust").expect("valid"),
            Pattern::Hashtag("rust".into())
        );
        // A quoted hashtag is the phrase of its word.
        assert_eq!(
            pattern("\"#rust\"").expect("valid"),
            Pattern::Phrase(vec!["rust".into()])
        );
        for bad in [
            "",
            "   ",
            "#",
            "#two words",
            "##x",
            "say \"hi\"",
            "!!!",
            "\"\"",
        ] {
            assert!(pattern(bad).is_err(), "{bad:?} must be refused");
        }
        let err = pattern(&"x".repeat(MAX_KEYWORD_CHARS + 1)).expect_err("too long");
        assert!(err.contains("2048"), "{err}");
    }

    #[test]
    fn keyword_lists_drop_repeats_and_need_one() {
        let list = keywords(&["rust".into(), "rust".into(), "#rust".into()]).expect("valid");
        let tags: Vec<_> = list.tags().collect();
        assert_eq!(tags, ["rust", "#rust"]);
        assert!(keywords(&[]).is_err());
    }

    #[test]
    fn a_hashtag_only_list_skips_tokenizing() {
        let matcher = keywords(&["#rust".into()]).expect("valid");
        let mut scratch = Tokens::default();
        scratch.tokenize("left over from an earlier post");
        assert_eq!(matcher.matching("rust", &["rust"], &mut scratch), ["#rust"]);
        assert!(scratch.is_empty());
        assert!(matcher.matching("rust", &[], &mut scratch).is_empty());
    }

    #[test]
    fn the_prefilter_never_rules_out_a_match() {
        let texts = [
            "I love RUST and Tokio",
            "node.js can't stop_now",
            "待って天幕のジャードゥーガル観よう",
            "\u{212A}ey point İstanbul",
            "I ❤️ 🦀 👨🏽‍💻",
            "Diacrítica ÉCOLE",
            "nothing to see",
        ];
        let lists: [&[&str]; 6] = [
            &["rust", "tokio stream"],
            &["JS", "stop"],
            &["天幕", "ジャードゥーガル"],
            &["key", "istanbul"],
            &["🦀", "👨‍💻", "love"],
            &["école", "diacrítica"],
        ];
        for list in lists {
            let words: Vec<String> = list.iter().map(|w| (*w).to_owned()).collect();
            let with = keywords(&words).expect("valid");
            let mut without = with.clone();
            without.prefilter = None;
            for text in texts {
                assert_eq!(
                    with.matching(text, &[], &mut Tokens::default()),
                    without.matching(text, &[], &mut Tokens::default()),
                    "{list:?} on {text:?}"
                );
            }
        }
        let k = |words: &[&str]| {
            keywords(&words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>()).expect("valid")
        };
        assert_eq!(
            k(&["rust lang", "天幕"]).prefilter,
            Some(vec!["lang".to_owned(), "幕".to_owned()]),
            "the longest token, the last of equals"
        );
        assert_eq!(
            k(&["🦀"]).prefilter,
            None,
            "emoji are not searched as substrings"
        );
        assert_eq!(k(&["école"]).prefilter, None);
        assert_eq!(k(&["#rust"]).prefilter, Some(Vec::new()));
    }

    #[test]
    fn the_prefilter_skips_tokenizing_a_text_that_cannot_match() {
        let matcher = keywords(&["tokio".into()]).expect("valid");
        let mut scratch = Tokens::default();
        assert!(
            matcher
                .matching("crab and stream", &[], &mut scratch)
                .is_empty()
        );
        assert!(scratch.is_empty(), "not tokenized");
        // A substring is not a token: tokenizing decides.
        assert!(matcher.matching("tokiota", &[], &mut scratch).is_empty());
        assert_eq!(scratch.len(), 1, "tokenized");
    }

    #[test]
    fn matching_reuses_its_scratch_without_leaking_tokens_between_posts() {
        let matcher = keywords(&["tokio".into()]).expect("valid");
        let mut scratch = Tokens::default();
        assert_eq!(matcher.matching("tokio 🦀", &[], &mut scratch), ["tokio"]);
        assert_eq!(scratch.len(), 2);
        assert!(
            matcher
                .matching("crab tokiota", &[], &mut scratch)
                .is_empty()
        );
        assert_eq!(scratch.len(), 2, "only this post's tokens");
    }
}
