//! Which keywords get EMF metrics of their own (`METRIC_KEYWORDS`).
//!
//! CloudWatch bills every distinct set of dimension values as a custom metric ($0.30 a month),
//! for as long as anything is published under it. Ranking the keywords each batch sees would
//! bound one invocation's lines but not the account's metrics: across sandboxes and months every
//! keyword ever seen would become a metric. So the set is fixed by configuration, the keywords
//! the producer follows, at most [`MAX_METRIC_KEYWORDS`]; posts under any other keyword count
//! under the one value [`OTHER_KEYWORD`]. Without a list there are no per-keyword metrics at all
//! (an `(other)` line would only repeat the totals).

use serde::{Deserialize, Deserializer};

use crate::error::ConsumerError;

/// Most keywords with metrics of their own: with `(other)`, 21 dimension values of two metrics
/// each, 42 custom metrics at most (plus the 7 totals).
pub const MAX_METRIC_KEYWORDS: usize = 20;
/// The dimension value posts under an unlisted keyword count under. In parentheses like the
/// table's `(none)`, so it cannot be mistaken for a keyword a rule would carry.
pub const OTHER_KEYWORD: &str = "(other)";
/// CloudWatch's longest dimension value.
pub const MAX_DIMENSION_VALUE_BYTES: usize = 1024;
/// The variable the list is read from.
pub const ENV_VAR: &str = "METRIC_KEYWORDS";

/// The keywords with metrics of their own, each once, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricKeywords(Vec<String>);

impl MetricKeywords {
    /// A comma-separated list: entries trimmed, empty ones skipped, repeats kept once.
    pub fn parse(list: &str) -> Result<MetricKeywords, ConsumerError> {
        Self::new(list.split(','))
    }

    /// The same rules for keywords given one by one.
    pub fn new<I, S>(keywords: I) -> Result<MetricKeywords, ConsumerError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut kept: Vec<String> = Vec::new();
        for keyword in keywords {
            let keyword = keyword.as_ref().trim();
            if keyword.is_empty() || kept.iter().any(|k| k == keyword) {
                continue;
            }
            check(keyword)?;
            kept.push(keyword.to_owned());
        }
        if kept.len() > MAX_METRIC_KEYWORDS {
            return Err(ConsumerError::Config(format!(
                "{ENV_VAR} names {} keywords; at most {MAX_METRIC_KEYWORDS} get metrics of their own \
                 (posts under the others count under {OTHER_KEYWORD})",
                kept.len()
            )));
        }
        Ok(MetricKeywords(kept))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `Keyword` dimension value a keyword's counts go under, `None` when per-keyword
    /// metrics are off. A linear search: the list is short and fixed.
    pub fn dimension_value<'a>(&'a self, keyword: &str) -> Option<&'a str> {
        if self.0.is_empty() {
            return None;
        }
        Some(
            self.0
                .iter()
                .find(|k| *k == keyword)
                .map_or(OTHER_KEYWORD, String::as_str),
        )
    }
}

/// What CloudWatch accepts as a dimension value: ASCII without control characters, at least
/// one non-blank character (the caller trimmed it), at most 1,024 bytes. An EMF line carrying
/// anything else is not turned into metrics, so it is refused here, at init.
fn check(keyword: &str) -> Result<(), ConsumerError> {
    if keyword == OTHER_KEYWORD {
        return Err(ConsumerError::Config(format!(
            "{ENV_VAR} lists {OTHER_KEYWORD}, the value posts under unlisted keywords count under"
        )));
    }
    if let Some(c) = keyword
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control())
    {
        return Err(ConsumerError::Config(format!(
            "{ENV_VAR}: keyword {keyword:?} has the character {c:?}; CloudWatch dimension values \
             are printable ASCII (leave it out: its posts count under {OTHER_KEYWORD})"
        )));
    }
    if keyword.len() > MAX_DIMENSION_VALUE_BYTES {
        return Err(ConsumerError::Config(format!(
            "{ENV_VAR}: a keyword of {} bytes is longer than CloudWatch's {MAX_DIMENSION_VALUE_BYTES} \
             for a dimension value",
            keyword.len()
        )));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for MetricKeywords {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = String::deserialize(deserializer)?;
        MetricKeywords::parse(&list).map_err(|e| match e {
            ConsumerError::Config(message) => serde::de::Error::custom(message),
            other => serde::de::Error::custom(other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: Result<MetricKeywords, ConsumerError>) -> String {
        let text = result.expect_err("must be refused").to_string();
        assert!(!text.contains('\n'), "{text}");
        text
    }

    #[test]
    fn a_list_is_trimmed_deduplicated_and_kept_in_order() {
        let k = MetricKeywords::parse(" rust , rust lang,,tokio,rust, ").expect("list");
        assert_eq!(k.as_slice(), ["rust", "rust lang", "tokio"]);
        assert_eq!(
            MetricKeywords::parse("").expect("empty"),
            MetricKeywords::default()
        );
        assert!(MetricKeywords::parse(" , ,").expect("blank").is_empty());
    }

    #[test]
    fn listed_keywords_are_their_own_value_and_every_other_one_is_other() {
        let k = MetricKeywords::parse("rust,go").expect("list");
        assert_eq!(k.dimension_value("rust"), Some("rust"));
        assert_eq!(k.dimension_value("go"), Some("go"));
        assert_eq!(k.dimension_value("Rust"), Some(OTHER_KEYWORD));
        assert_eq!(k.dimension_value("(none)"), Some(OTHER_KEYWORD));
        assert_eq!(MetricKeywords::default().dimension_value("rust"), None);
    }

    #[test]
    fn at_most_the_cap() {
        let names: Vec<String> = (0..=MAX_METRIC_KEYWORDS).map(|i| format!("k{i}")).collect();
        let at_cap = MetricKeywords::new(&names[..MAX_METRIC_KEYWORDS]).expect("at the cap");
        assert_eq!(at_cap.as_slice().len(), MAX_METRIC_KEYWORDS);
        let text = message(MetricKeywords::new(&names));
        assert!(
            text.contains(&format!("names {} keywords", MAX_METRIC_KEYWORDS + 1)),
            "{text}"
        );
        assert!(text.contains(ENV_VAR), "{text}");
        // Repeats do not count against it.
        let repeated: Vec<&str> = std::iter::repeat_n("same", 50).collect();
        assert_eq!(
            MetricKeywords::new(repeated).expect("one").as_slice(),
            ["same"]
        );
    }

    #[test]
    fn what_cloudwatch_refuses_as_a_dimension_value_is_refused() {
        assert!(message(MetricKeywords::parse("rust,寿司")).contains("寿司"));
        assert!(message(MetricKeywords::parse("a\tb")).contains("'\\t'"));
        assert!(message(MetricKeywords::parse(OTHER_KEYWORD)).contains(OTHER_KEYWORD));
        let long = "x".repeat(MAX_DIMENSION_VALUE_BYTES + 1);
        assert!(message(MetricKeywords::parse(&long)).contains("1025 bytes"));
        let longest = "x".repeat(MAX_DIMENSION_VALUE_BYTES);
        assert!(MetricKeywords::parse(&longest).is_ok());
        // Printable ASCII of every kind is fine, spaces inside a phrase included.
        assert!(MetricKeywords::parse("rust lang,coca-cola,#tag,@who,(none),a_b.c").is_ok());
    }
}
