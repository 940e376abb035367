//! Stream rules: what the user asked for, the smallest change that makes X's rule set equal to
//! it, and X's rule operators (which a source that matches keywords itself cannot honour).

use std::collections::HashSet;

use crate::keyword::Keyword;

/// One filtered-stream rule. The tag records the keyword, so each post says which keyword(s)
/// matched it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rule {
    pub value: String,
    pub tag: String,
}

/// A rule as X holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingRule {
    pub id: String,
    pub value: String,
    pub tag: String,
}

/// The longest rule any access level allows (Enterprise; pay-per-use and Pro allow 1,024). Only
/// a longer rule is refused here, since no account could add it; below this, X's dry run
/// answers with the limit of the account at hand and its own reason.
pub const MAX_RULE_LENGTH: usize = 2048;

/// A keyword's rule: a keyword with spaces becomes an exact-phrase match, tagged with the
/// keyword's tag. A double quote is rule syntax on X, so a keyword with one is refused: such a
/// rule is given whole with `--rule`.
pub fn keyword_rule(keyword: &Keyword) -> Result<Rule, String> {
    let tag = keyword.tag();
    if tag.contains('"') {
        return Err(format!(
            "keyword {tag:?} contains a double quote; pass it as a raw rule with --rule"
        ));
    }
    let value = if tag.chars().any(char::is_whitespace) {
        format!(
            "\"{}\"",
            tag.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    } else {
        tag.to_owned()
    };
    let rule = Rule {
        value,
        tag: tag.to_owned(),
    };
    check_length(&rule)?;
    Ok(rule)
}

/// A raw rule for power users, tagged with its own value.
pub fn raw_rule(value: &str) -> Result<Rule, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("a --rule value is empty".to_owned());
    }
    let rule = Rule {
        value: value.to_owned(),
        tag: value.to_owned(),
    };
    check_length(&rule)?;
    Ok(rule)
}

fn check_length(rule: &Rule) -> Result<(), String> {
    let length = rule.value.chars().count();
    if length > MAX_RULE_LENGTH {
        return Err(format!(
            "rule {:?} is {length} characters long; X accepts at most {MAX_RULE_LENGTH} (Enterprise; pay-per-use and Pro: 1,024)",
            rule.value
        ));
    }
    Ok(())
}

/// The requested rules in order, without repeats.
pub fn desired_rules(keywords: &[String], raw: &[String]) -> Result<Vec<Rule>, String> {
    let mut seen = HashSet::new();
    let mut rules = Vec::new();
    for rule in keywords
        .iter()
        .map(|k| Keyword::parse(k).and_then(|k| keyword_rule(&k)))
        .chain(raw.iter().map(|r| raw_rule(r)))
    {
        let rule = rule?;
        if seen.insert(rule.value.clone()) {
            rules.push(rule);
        }
    }
    if rules.is_empty() {
        return Err("no keyword given: name at least one KEYWORD or --rule".to_owned());
    }
    Ok(rules)
}

/// What to change on X so its rules equal the desired ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RulePlan {
    /// Rules already equal (value and tag): kept, not re-created.
    pub keep: Vec<ExistingRule>,
    /// Leftovers from earlier runs: each would deliver, and bill, posts nobody asked for.
    pub delete: Vec<ExistingRule>,
    pub add: Vec<Rule>,
}

pub fn plan(existing: &[ExistingRule], desired: &[Rule]) -> RulePlan {
    let mut plan = RulePlan::default();
    let mut satisfied = HashSet::new();
    for rule in existing {
        let wanted = desired
            .iter()
            .any(|d| d.value == rule.value && d.tag == rule.tag);
        // X allows one rule per value, so a second copy of a kept rule cannot exist; still, keep
        // only the first match so the plan stays right whatever X returns.
        if wanted && satisfied.insert(rule.value.as_str()) {
            plan.keep.push(rule.clone());
        } else {
            plan.delete.push(rule.clone());
        }
    }
    plan.add = desired
        .iter()
        .filter(|d| !satisfied.contains(d.value.as_str()))
        .cloned()
        .collect();
    plan
}

/// X's `name:value` operators. Elsewhere a colon is ordinary text (`10:30`, `re:Invent`).
const OPERATORS: [&str; 27] = [
    "from",
    "to",
    "url",
    "retweets_of",
    "context",
    "entity",
    "conversation_id",
    "bio",
    "bio_name",
    "bio_location",
    "place",
    "place_country",
    "point_radius",
    "bounding_box",
    "is",
    "has",
    "lang",
    "sample",
    "list",
    "source",
    "in_reply_to_tweet_id",
    "retweets_of_tweet_id",
    "quotes_of_tweet_id",
    "url_title",
    "url_description",
    "url_contains",
    "followers_count",
];

/// The first word of `keyword` that X's rule syntax reads as an operator (a mention, a
/// cashtag, a negation, an `OR`, a `name:value` operator), said in words. A quoted phrase is
/// words, whatever it contains.
pub fn operator_in(keyword: &Keyword) -> Option<String> {
    if keyword.is_quoted() {
        return None;
    }
    keyword.tag().split_whitespace().find_map(|word| {
        let first = word.chars().next()?;
        if word == "OR" {
            return Some(format!(
                "{word:?} is X's OR; give each alternative as its own KEYWORD"
            ));
        }
        if word.chars().count() > 1 {
            let what = match first {
                '@' => Some("a mention"),
                '$' => Some("a cashtag"),
                '-' => Some("a negation"),
                _ => None,
            };
            if let Some(what) = what {
                return Some(format!("{word:?} is {what} in X's rule syntax"));
            }
        }
        let (name, value) = word.split_once(':')?;
        (OPERATORS.contains(&name.to_ascii_lowercase().as_str()) && !value.is_empty())
            .then(|| format!("{word:?} is the X operator {name}:"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(keyword: &str) -> Result<Rule, String> {
        keyword_rule(&Keyword::parse(keyword)?)
    }

    fn existing(id: &str, value: &str, tag: &str) -> ExistingRule {
        ExistingRule {
            id: id.into(),
            value: value.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn a_keyword_with_spaces_becomes_a_quoted_phrase() {
        let rule = rule_of("  rust   lang ").expect("valid");
        assert_eq!(rule.value, "\"rust lang\"");
        assert_eq!(rule.tag, "rust   lang");
        assert_eq!(rule_of("rust").expect("valid").value, "rust");
    }

    #[test]
    fn bad_keywords_are_named() {
        assert!(rule_of("   ").is_err());
        let err = rule_of("say \"hi\"").expect_err("quote");
        assert!(err.contains("--rule"), "{err}");
        let err = rule_of(&"x".repeat(2049)).expect_err("too long");
        assert!(err.contains("2048") && err.contains("2049"), "{err}");
        // What only some access levels refuse is left to X's dry run.
        assert!(rule_of(&"x".repeat(1500)).is_ok());
        assert!(raw_rule(&"x".repeat(2048)).is_ok());
    }

    #[test]
    fn desired_rules_drop_repeats_and_need_one_rule() {
        let rules = desired_rules(
            &["rust".into(), "rust".into(), "tokio".into()],
            &["(a OR b) lang:en".into()],
        )
        .expect("valid");
        let values: Vec<_> = rules.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(values, ["rust", "tokio", "(a OR b) lang:en"]);
        assert_eq!(rules[2].tag, "(a OR b) lang:en");
        assert!(desired_rules(&[], &[]).is_err());
    }

    #[test]
    fn plan_keeps_equal_rules_deletes_leftovers_adds_missing() {
        let current = [
            existing("1", "rust", "rust"),
            existing("2", "old", "old"),
            existing("3", "tokio", "stale tag"),
        ];
        let desired = [
            rule_of("rust").expect("valid"),
            rule_of("tokio").expect("valid"),
            rule_of("serde").expect("valid"),
        ];
        let plan = plan(&current, &desired);
        assert_eq!(plan.keep, [existing("1", "rust", "rust")]);
        assert_eq!(
            plan.delete,
            [
                existing("2", "old", "old"),
                existing("3", "tokio", "stale tag")
            ]
        );
        let added: Vec<_> = plan.add.iter().map(|r| r.value.as_str()).collect();
        assert_eq!(added, ["tokio", "serde"]);
    }

    #[test]
    fn plan_for_an_unchanged_rule_set_changes_nothing() {
        let current = [existing("1", "rust", "rust")];
        let plan = plan(&current, &[rule_of("rust").expect("valid")]);
        assert!(plan.delete.is_empty() && plan.add.is_empty());
        assert_eq!(plan.keep.len(), 1);
    }

    #[test]
    fn operators_are_named_and_plain_words_are_not() {
        let operator = |k: &str| operator_in(&Keyword::parse(k).expect("valid"));
        for (keyword, why) in [
            ("@bsky.app", "a mention"),
            ("$TSLA", "a cashtag"),
            ("rust -crab", "a negation"),
            ("rust OR tokio", "X's OR"),
            ("From:jack", "operator From:"),
        ] {
            let why_not = operator(keyword).expect(keyword);
            assert!(why_not.contains(why), "{keyword}: {why_not}");
        }
        for keyword in [
            "10:30",
            "re:Invent",
            "\"from:jack\"",
            "or",
            "-",
            "@",
            "from:",
        ] {
            assert_eq!(operator(keyword), None, "{keyword}");
        }
    }
}
