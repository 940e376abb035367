//! CloudWatch Embedded Metric Format lines for one invocation.
//!
//! EMF gives each metric one value per line for one set of dimension values, so "by keyword" cannot
//! share a line with the totals: an invocation prints one totals line (dimension `Function`) and one
//! line per keyword (dimension `Keyword`). Keywords come from the producer's rules, but a record may
//! carry anything, so at most [`MAX_KEYWORD_LINES`] keywords get a line of their own and the rest
//! are summed under `other`: CloudWatch bills per distinct dimension value.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "TwitterPipeline";
pub const MAX_KEYWORD_LINES: usize = 20;
pub const OTHER_KEYWORD: &str = "other";

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
    pub write_units: u64,
    pub by_keyword: BTreeMap<String, KeywordMetrics>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeywordMetrics {
    pub posts_written: u64,
    pub duplicates: u64,
}

fn directive(dimension: &str, metrics: &[&str]) -> Value {
    json!({
        "Namespace": NAMESPACE,
        "Dimensions": [[dimension]],
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

/// The lines to print, totals first.
pub fn lines(metrics: &Metrics, function_name: &str, timestamp_ms: i64) -> Vec<String> {
    const TOTALS: [&str; 7] = [
        "Records",
        "PostsWritten",
        "ItemsWritten",
        "Duplicates",
        "PoisonRecords",
        "RetriedRecords",
        "WriteUnits",
    ];
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
    fields.insert("Function".to_owned(), json!(function_name));
    for (name, value) in TOTALS.iter().zip(values) {
        fields.insert((*name).to_owned(), json!(value));
    }
    let mut out = vec![line(timestamp_ms, directive("Function", &TOTALS), fields)];

    // The busiest keywords keep their own line.
    let mut ranked: Vec<(&String, &KeywordMetrics)> = metrics.by_keyword.iter().collect();
    ranked.sort_by(|a, b| b.1.posts_written.cmp(&a.1.posts_written).then(a.0.cmp(b.0)));
    let mut kept: Vec<(String, KeywordMetrics)> = Vec::new();
    let mut other = KeywordMetrics::default();
    let mut folded = false;
    for (i, (keyword, counts)) in ranked.into_iter().enumerate() {
        if i < MAX_KEYWORD_LINES - 1 || metrics.by_keyword.len() <= MAX_KEYWORD_LINES {
            kept.push((keyword.clone(), *counts));
        } else {
            other.posts_written += counts.posts_written;
            other.duplicates += counts.duplicates;
            folded = true;
        }
    }
    if folded {
        kept.push((OTHER_KEYWORD.to_owned(), other));
    }
    for (keyword, counts) in kept {
        let mut fields = Map::new();
        fields.insert("Keyword".to_owned(), json!(keyword));
        fields.insert("PostsWritten".to_owned(), json!(counts.posts_written));
        fields.insert("Duplicates".to_owned(), json!(counts.duplicates));
        out.push(line(
            timestamp_ms,
            directive("Keyword", &["PostsWritten", "Duplicates"]),
            fields,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).expect("json")
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
        let out = lines(&m, "fn", 1_700_000_000_000);
        assert_eq!(out.len(), 1);
        let v = parse(&out[0]);
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], NAMESPACE);
        assert_eq!(d["Dimensions"], json!([["Function"]]));
        assert_eq!(v["Function"], "fn");
        for metric in d["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("name");
            assert!(v[name].is_u64(), "{name} has no value");
        }
        assert_eq!(v["PostsWritten"], 3);
        assert_eq!(v["WriteUnits"], 8);
        assert_eq!(v["PoisonRecords"], 1);
    }

    #[test]
    fn one_line_per_keyword() {
        let mut m = Metrics::default();
        m.by_keyword.insert(
            "rust".into(),
            KeywordMetrics {
                posts_written: 3,
                duplicates: 1,
            },
        );
        m.by_keyword.insert(
            "go".into(),
            KeywordMetrics {
                posts_written: 1,
                duplicates: 0,
            },
        );
        let out = lines(&m, "fn", 0);
        assert_eq!(out.len(), 3);
        let rust = parse(&out[1]);
        assert_eq!(rust["Keyword"], "rust");
        assert_eq!(rust["PostsWritten"], 3);
        assert_eq!(rust["Duplicates"], 1);
        assert_eq!(
            rust["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Keyword"]])
        );
        assert_eq!(parse(&out[2])["Keyword"], "go");
    }

    #[test]
    fn keywords_beyond_the_cap_fold_into_other() {
        let mut m = Metrics::default();
        for i in 0..50u64 {
            m.by_keyword.insert(
                format!("k{i:02}"),
                KeywordMetrics {
                    posts_written: i,
                    duplicates: 1,
                },
            );
        }
        let out = lines(&m, "fn", 0);
        assert_eq!(out.len(), 1 + MAX_KEYWORD_LINES);
        let keyword_lines: Vec<Value> = out[1..].iter().map(|l| parse(l)).collect();
        let last = keyword_lines.last().expect("other");
        assert_eq!(last["Keyword"], OTHER_KEYWORD);
        // Nothing is lost by folding: the keyword lines still add up to the whole.
        let total: u64 = keyword_lines
            .iter()
            .map(|v| v["PostsWritten"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(total, (0..50).sum::<u64>());
        let dups: u64 = keyword_lines
            .iter()
            .map(|v| v["Duplicates"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(dups, 50);
        // The busiest keyword is kept by name.
        assert_eq!(keyword_lines[0]["Keyword"], "k49");
    }
}
