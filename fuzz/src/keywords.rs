//! Keywords and `--rule` values as the command line gives them: read once, projected onto X's
//! rules and Bluesky's patterns, and the change that makes X's rule set equal to them.

use twitter_producer::keyword::{Keyword, MAX_KEYWORD_CHARS};
use twitter_producer::source::bluesky::matcher::{Matcher, Pattern, Tokens};
use twitter_producer::source::x::rules::{
    self, ExistingRule, MAX_RULE_LENGTH, Rule, desired_rules, keyword_rule, operator_in,
};

/// One value a line: a `--rule ` prefix makes it a raw rule, anything else is a keyword.
pub fn keywords(data: &[u8]) {
    let Some(text) = crate::text(data) else {
        return;
    };
    let mut keywords = Vec::new();
    let mut raw = Vec::new();
    for line in text.split('\n') {
        match line.strip_prefix("--rule ") {
            Some(rule) => raw.push(rule.to_owned()),
            None => keywords.push(line.to_owned()),
        }
    }
    for given in &keywords {
        keyword(given);
    }
    for value in &raw {
        if let Ok(rule) = rules::raw_rule(value) {
            assert_eq!(rule.value, value.trim());
            assert_eq!(rule.tag, rule.value, "a raw rule is tagged with its value");
            assert!(rule.value.chars().count() <= MAX_RULE_LENGTH);
        }
    }
    if let Ok(desired) = desired_rules(&keywords, &raw) {
        assert!(!desired.is_empty());
        for (i, rule) in desired.iter().enumerate() {
            assert!(
                desired[..i].iter().all(|r| r.value != rule.value),
                "rule {:?} asked for twice",
                rule.value
            );
        }
        plan(&desired);
    }
}

/// One keyword: read, then each source's projection.
fn keyword(given: &str) {
    let Ok(keyword) = Keyword::parse(given) else {
        return;
    };
    let tag = keyword.tag();
    assert_eq!(
        tag,
        given.trim(),
        "the tag is the keyword as given, trimmed"
    );
    assert!(!tag.is_empty() && tag.chars().count() <= MAX_KEYWORD_CHARS);
    if keyword.is_quoted() {
        assert_eq!(format!("\"{}\"", keyword.text()), tag);
    } else {
        assert_eq!(keyword.text(), tag);
    }
    let _ = operator_in(&keyword);
    if let Ok(rule) = keyword_rule(&keyword) {
        assert_eq!(rule.tag, tag, "the rule is tagged with the keyword");
        assert!(rule.value.chars().count() <= MAX_RULE_LENGTH);
        if tag.chars().any(char::is_whitespace) {
            assert!(rule.value.starts_with('"') && rule.value.ends_with('"'));
        } else {
            assert_eq!(rule.value, tag);
        }
    }
    let Ok(pattern) = Pattern::of(&keyword) else {
        return;
    };
    // A keyword matches a post that says exactly it.
    let matcher = Matcher::new(vec![keyword.clone()]).expect("one matchable keyword");
    let mut scratch = Tokens::default();
    let matched = match &pattern {
        Pattern::Phrase(phrase) => {
            assert!(!phrase.is_empty());
            matcher.matching(keyword.text(), &[], &mut scratch)
        }
        Pattern::Hashtag(hashtag) => {
            assert!(!hashtag.is_empty());
            let written = &keyword.text()[1..];
            matcher.matching("", &[written], &mut scratch)
        }
    };
    assert_eq!(
        matched,
        [tag],
        "keyword {tag:?} does not match its own text"
    );
}

/// What X holds: some of the desired rules as they are, some with another tag, and a leftover.
fn plan(desired: &[Rule]) {
    let mut existing: Vec<ExistingRule> = desired
        .iter()
        .enumerate()
        .map(|(i, rule)| ExistingRule {
            id: i.to_string(),
            value: rule.value.clone(),
            tag: if i % 3 == 1 {
                format!("{} (old)", rule.tag)
            } else {
                rule.tag.clone()
            },
        })
        .filter(|rule| rule.id.len() % 2 == 1 || rule.id.ends_with(['0', '2', '4']))
        .collect();
    existing.push(ExistingRule {
        id: "leftover".to_owned(),
        value: "from:someone".to_owned(),
        tag: "from:someone".to_owned(),
    });
    if let Some(first) = existing.first().cloned() {
        existing.push(first);
    }
    let plan = rules::plan(&existing, desired);
    assert_eq!(
        plan.keep.len() + plan.delete.len(),
        existing.len(),
        "every rule X holds is kept or deleted"
    );
    for kept in &plan.keep {
        assert!(
            desired
                .iter()
                .any(|d| d.value == kept.value && d.tag == kept.tag),
            "kept a rule nobody asked for: {kept:?}"
        );
    }
    for rule in desired {
        let kept = plan.keep.iter().any(|k| k.value == rule.value);
        let added = plan.add.iter().any(|a| a.value == rule.value);
        assert!(kept != added, "rule {:?} is not kept xor added", rule.value);
    }
}
