//! CloudWatch Embedded Metric Format lines for one invocation.
//!
//! EMF gives each metric one value per line for one set of dimension values, so "by keyword" cannot
//! share a line with the totals: an invocation prints one totals line (dimension `FunctionName`)
//! and one line per keyword it wrote (dimensions `FunctionName` and `Keyword`). Every line names
//! the function, so two stacks in one account keep their metrics apart. Which keywords get a
//! line of their own is fixed by configuration ([`MetricKeywords`]): CloudWatch bills per
//! distinct set of dimension values, so the set must not grow with what the stream carries.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::metric_keywords::{MetricKeywords, OTHER_KEYWORD};

pub const NAMESPACE: &str = "TwitterPipeline";
/// The dimension every line carries: the Lambda function's name, as AWS/Lambda's metrics name it.
pub const FUNCTION_DIMENSION: &str = "FunctionName";
pub const KEYWORD_DIMENSION: &str = "Keyword";
/// The totals line's metrics, in the order printed.
pub const TOTALS_METRICS: [&str; 7] = [
    "Records",
    "PostsWritten",
    "ItemsWritten",
    "Duplicates",
    "PoisonRecords",
    "RetriedRecords",
    "WriteUnits",
];
/// A keyword line's metrics.
pub const KEYWORD_METRICS: [&str; 2] = ["PostsWritten", "Duplicates"];

/// Counts of one invocation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Metrics {
    pub records: u64,
    /// Distinct posts with every item stored.
    pub posts_written: u64,
    pub items_written: u64,
    /// Items merged into another of the same key in the batch.
    pub duplicates: u64,
    /// Records that can never be stored, sent to the dead-letter queue (or logged).
    pub poison_records: u64,
    /// Records reported back to Lambda to be retried (the failed one and all after it).
    pub retried_records: u64,
    /// Write units the batch's writes consumed: DynamoDB's own `ConsumedCapacity`, and the
    /// table's size rules only for writes whose response carried none.
    pub write_units: u64,
    /// Every keyword the batch had items for (what it prints is bounded by [`MetricKeywords`]).
    pub by_keyword: BTreeMap<String, KeywordMetrics>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeywordMetrics {
    pub posts_written: u64,
    pub duplicates: u64,
}

fn directive(dimensions: &[&str], metrics: &[&str]) -> Value {
    json!({
        "Namespace": NAMESPACE,
        "Dimensions": [dimensions],
        "Metrics": metrics.iter().map(|m| json!({"Name": m, "Unit": "Count"})).collect::<Vec<_>>(),
    })
}

fn line(timestamp_ms: i64, directive: Value, fields: Map<String, Value>) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".to_owned(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [directive]}),
    );
    root.extend(fields);
    Value::Object(root).to_string()
}

/// The counts of `by_keyword` under their dimension values: each listed keyword under its own,
/// in the list's order, then every other keyword summed under `(other)`. Empty when no keyword
/// is listed.
pub fn keyword_values<'k>(
    by_keyword: &BTreeMap<String, KeywordMetrics>,
    keywords: &'k MetricKeywords,
) -> Vec<(&'k str, KeywordMetrics)> {
    let mut values: Vec<(&'k str, KeywordMetrics)> = Vec::new();
    if keywords.is_empty() {
        return values;
    }
    for (keyword, counts) in by_keyword {
        let value = keywords.dimension_value(keyword).unwrap_or(OTHER_KEYWORD);
        match values.iter_mut().find(|(v, _)| *v == value) {
            Some((_, sum)) => {
                sum.posts_written += counts.posts_written;
                sum.duplicates += counts.duplicates;
            }
            None => values.push((value, *counts)),
        }
    }
    let position = |value: &str| {
        keywords
            .as_slice()
            .iter()
            .position(|k| k == value)
            .unwrap_or(usize::MAX)
    };
    values.sort_by_key(|(value, _)| position(value));
    values
}

/// The lines to print, totals first.
pub fn lines(
    metrics: &Metrics,
    keywords: &MetricKeywords,
    function_name: &str,
    timestamp_ms: i64,
) -> Vec<String> {
    let values = [
        metrics.records,
        metrics.posts_written,
        metrics.items_written,
        metrics.duplicates,
        metrics.poison_records,
        metrics.retried_records,
        metrics.write_units,
    ];
    let mut fields = Map::new();
    fields.insert(FUNCTION_DIMENSION.to_owned(), json!(function_name));
    for (name, value) in TOTALS_METRICS.iter().zip(values) {
        fields.insert((*name).to_owned(), json!(value));
    }
    let mut out = vec![line(
        timestamp_ms,
        directive(&[FUNCTION_DIMENSION], &TOTALS_METRICS),
        fields,
    )];
    for (keyword, counts) in keyword_values(&metrics.by_keyword, keywords) {
        let mut fields = Map::new();
        fields.insert(FUNCTION_DIMENSION.to_owned(), json!(function_name));
        fields.insert(KEYWORD_DIMENSION.to_owned(), json!(keyword));
        fields.insert(KEYWORD_METRICS[0].to_owned(), json!(counts.posts_written));
        fields.insert(KEYWORD_METRICS[1].to_owned(), json!(counts.duplicates));
        out.push(line(
            timestamp_ms,
            directive(&[FUNCTION_DIMENSION, KEYWORD_DIMENSION], &KEYWORD_METRICS),
            fields,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric_keywords::MAX_METRIC_KEYWORDS;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("json")
    }

    fn counts(posts_written: u64, duplicates: u64) -> KeywordMetrics {
        KeywordMetrics {
            posts_written,
            duplicates,
        }
    }

    fn listed(keywords: &[&str]) -> MetricKeywords {
        MetricKeywords::new(keywords).expect("keywords")
    }

    #[test]
    fn totals_line_declares_every_metric_it_carries() {
        let m = Metrics {
            records: 5,
            posts_written: 3,
            items_written: 4,
            duplicates: 1,
            poison_records: 1,
            retried_records: 0,
            write_units: 8,
            by_keyword: BTreeMap::new(),
        };
        let out = lines(&m, &listed(&["rust"]), "fn", 1_700_000_000_000);
        assert_eq!(out.len(), 1);
        let v = parse(&out[0]);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], "TwitterPipeline");
        assert_eq!(d["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(v["FunctionName"], "fn");
        let declared: Vec<&str> = d["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        assert_eq!(declared.len(), 7);
        for name in declared {
            assert!(v[name].is_u64(), "{name} has no value");
        }
        assert_eq!(v["PostsWritten"], 3);
        assert_eq!(v["WriteUnits"], 8);
        assert_eq!(v["PoisonRecords"], 1);
    }

    #[test]
    fn one_line_per_listed_keyword_in_the_list_order_with_the_function() {
        let mut m = Metrics::default();
        m.by_keyword.insert("rust".into(), counts(3, 1));
        m.by_keyword.insert("go".into(), counts(1, 0));
        let out = lines(&m, &listed(&["rust", "go"]), "stack-a-twitter-consumer", 0);
        assert_eq!(out.len(), 3);
        let rust = parse(&out[1]);
        assert_eq!(rust["Keyword"], "rust");
        assert_eq!(rust["FunctionName"], "stack-a-twitter-consumer");
        assert_eq!(rust["PostsWritten"], 3);
        assert_eq!(rust["Duplicates"], 1);
        let d = &rust["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Dimensions"], json!([["FunctionName", "Keyword"]]));
        assert_eq!(
            d["Metrics"],
            json!([{"Name": "PostsWritten", "Unit": "Count"}, {"Name": "Duplicates", "Unit": "Count"}])
        );
        assert_eq!(parse(&out[2])["Keyword"], "go");
    }

    #[test]
    fn unlisted_keywords_are_summed_under_other() {
        let mut m = Metrics::default();
        m.by_keyword.insert("rust".into(), counts(2, 0));
        m.by_keyword.insert("zig".into(), counts(4, 1));
        m.by_keyword.insert("(none)".into(), counts(1, 2));
        let out = lines(&m, &listed(&["rust", "go"]), "fn", 0);
        let keyword_lines: Vec<Value> = out[1..].iter().map(|l| parse(l)).collect();
        let by_value: BTreeMap<String, (u64, u64)> = keyword_lines
            .iter()
            .map(|v| {
                (
                    v["Keyword"].as_str().expect("keyword").to_owned(),
                    (
                        v["PostsWritten"].as_u64().expect("posts"),
                        v["Duplicates"].as_u64().expect("duplicates"),
                    ),
                )
            })
            .collect();
        // No line for "go": the batch wrote nothing under it.
        assert_eq!(
            by_value,
            BTreeMap::from([
                ("rust".to_owned(), (2, 0)),
                (OTHER_KEYWORD.to_owned(), (5, 3)),
            ])
        );
        assert_eq!(
            keyword_lines.last().expect("other")["Keyword"],
            OTHER_KEYWORD
        );
    }

    #[test]
    fn the_values_ever_printed_are_the_list_and_other_however_many_keywords_come() {
        let list: Vec<String> = (0..MAX_METRIC_KEYWORDS).map(|i| format!("k{i}")).collect();
        let keywords = MetricKeywords::new(&list).expect("keywords");
        let mut seen = std::collections::BTreeSet::new();
        // A thousand batches, each with keywords no batch had before.
        for batch in 0..1000u64 {
            let mut m = Metrics::default();
            for i in 0..30 {
                m.by_keyword
                    .insert(format!("new-{batch}-{i}"), counts(1, 0));
            }
            m.by_keyword.insert(
                format!("k{}", batch as usize % MAX_METRIC_KEYWORDS),
                counts(1, 0),
            );
            for l in &lines(&m, &keywords, "fn", 0)[1..] {
                seen.insert(parse(l)["Keyword"].as_str().expect("keyword").to_owned());
            }
        }
        let mut allowed: std::collections::BTreeSet<String> = list.into_iter().collect();
        allowed.insert(OTHER_KEYWORD.to_owned());
        assert_eq!(seen, allowed);
    }

    #[test]
    fn without_a_list_only_the_totals_are_printed() {
        let mut m = Metrics::default();
        m.by_keyword.insert("rust".into(), counts(3, 1));
        let out = lines(&m, &MetricKeywords::default(), "fn", 0);
        assert_eq!(out.len(), 1);
        assert!(parse(&out[0]).get("Keyword").is_none());
    }
}
