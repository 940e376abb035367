//! Stream rules: what the user asked for, and the smallest change that makes X's rule set equal
//! to it.

use std::collections::HashSet;

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

/// Turns a keyword into its rule: a keyword with spaces becomes an exact-phrase match.
pub fn keyword_rule(keyword: &str) -> Result<Rule, String> {
    let keyword = keyword.trim();
    if keyword.is_empty() {
        return Err("a keyword is empty".to_owned());
    }
    if keyword.contains('"') {
        return Err(format!(
            "keyword {keyword:?} contains a double quote; pass it as a raw rule with --rule"
        ));
    }
    let value = if keyword.chars().any(char::is_whitespace) {
        format!(
            "\"{}\"",
            keyword.split_whitespace().collect::<Vec<_>>().join(" ")
        )
    } else {
        keyword.to_owned()
    };
    let rule = Rule {
        value,
        tag: keyword.to_owned(),
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
        .map(|k| keyword_rule(k))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(id: &str, value: &str, tag: &str) -> ExistingRule {
        ExistingRule {
            id: id.into(),
            value: value.into(),
            tag: tag.into(),
        }
    }

    #[test]
    fn a_keyword_with_spaces_becomes_a_quoted_phrase() {
        let rule = keyword_rule("  rust   lang ").expect("valid");
        assert_eq!(rule.value, "\"rust lang\"");
        assert_eq!(rule.tag, "rust   lang");
        assert_eq!(keyword_rule("rust").expect("valid").value, "rust");
    }

    #[test]
    fn bad_keywords_are_named() {
        assert!(keyword_rule("   ").is_err());
        let err = keyword_rule("say \"hi\"").expect_err("quote");
        assert!(err.contains("--rule"), "{err}");
        let err = keyword_rule(&"x".repeat(2049)).expect_err("too long");
        assert!(err.contains("2048") && err.contains("2049"), "{err}");
        // What only some access levels refuse is left to X's dry run.
        assert!(keyword_rule(&"x".repeat(1500)).is_ok());
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
            keyword_rule("rust").expect("valid"),
            keyword_rule("tokio").expect("valid"),
            keyword_rule("serde").expect("valid"),
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
        let plan = plan(&current, &[keyword_rule("rust").expect("valid")]);
        assert!(plan.delete.is_empty() && plan.add.is_empty());
        assert_eq!(plan.keep.len(), 1);
    }
}
