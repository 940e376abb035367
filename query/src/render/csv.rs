//! Each answer as `--csv` prints it: a header row, then one row per item.
//!
//! The `csv` crate quotes as RFC 4180 says (a field holding a comma, a double quote, CR or LF is
//! quoted, its quotes doubled). Every cell of text from the table or the command line goes
//! through [`text_cell`]; cells the tool writes itself (counts, its own times) are written as
//! they are.

use std::borrow::Cow;
use std::io::Write;

use super::sanitize;
use crate::error::QueryError;
use crate::view::{KeywordSummary, Post, PostLine, Rate, ReportSummary, Stats};

/// What a cell may not start with: a spreadsheet reads `=`, `+`, `-` and `@` as the start of a
/// formula, and skips a leading tab or CR to find one (OWASP, "CSV Injection").
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell of text: unsafe characters ([`sanitize::is_unsafe`]) dropped but for CR and LF (a
/// quoted field holds line breaks), a tab as a space, and a `'` before a first character that
/// would start a formula, so the spreadsheet shows the text instead of running it.
pub fn text_cell(value: &str) -> Cow<'_, str> {
    let clean = |c: char| !sanitize::is_unsafe(c) || c == '\r' || c == '\n';
    let starts_formula = value.starts_with(FORMULA_STARTS);
    if value.chars().all(clean) && !starts_formula {
        return Cow::Borrowed(value);
    }
    let mut cell: String = value
        .chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if clean(c) => Some(c),
            _ => None,
        })
        .collect();
    if cell.starts_with(FORMULA_STARTS) {
        cell.insert(0, '\'');
    }
    Cow::Owned(cell)
}

fn opt_cell(value: Option<&str>) -> Cow<'_, str> {
    text_cell(value.unwrap_or(""))
}

fn writer(out: &mut dyn Write) -> ::csv::Writer<&mut dyn Write> {
    ::csv::Writer::from_writer(out)
}

pub fn keywords(out: &mut dyn Write, summaries: &[KeywordSummary]) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["keyword", "posts", "first_seen", "last_seen"])?;
    for k in summaries {
        w.write_record([
            &*text_cell(&k.keyword),
            k.posts.to_string().as_str(),
            &*text_cell(&k.first_seen),
            &*text_cell(&k.last_seen),
        ])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn latest(out: &mut dyn Write, posts: &[PostLine]) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["timestamp", "username", "id", "link", "text"])?;
    for p in posts {
        w.write_record([
            &*text_cell(&p.timestamp),
            &*opt_cell(p.username.as_deref()),
            &*text_cell(&p.id),
            &*opt_cell(p.link.as_deref()),
            &*opt_cell(p.text.as_deref()),
        ])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn show(out: &mut dyn Write, post: &Post) -> Result<(), QueryError> {
    let opt = |v: &Option<String>| opt_cell(v.as_deref()).into_owned();
    let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
    let mut w = writer(out);
    w.write_record([
        "id",
        "keywords",
        "timestamp",
        "username",
        "name",
        "author_id",
        "lang",
        "country",
        "country_code",
        "hashtags",
        "mentions",
        "retweet_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
        "received_at",
        "link",
        "text",
    ])?;
    w.write_record([
        text_cell(&post.id).into_owned(),
        text_cell(&post.keywords.join("|")).into_owned(),
        opt(&post.timestamp),
        opt(&post.username),
        opt(&post.name),
        opt(&post.author_id),
        opt(&post.lang),
        opt(&post.country),
        opt(&post.country_code),
        text_cell(&post.hashtags.join(" ")).into_owned(),
        text_cell(&post.mentions.join(" ")).into_owned(),
        num(post.retweet_count),
        num(post.reply_count),
        num(post.like_count),
        num(post.quote_count),
        num(post.bookmark_count),
        num(post.impression_count),
        opt(&post.received_at),
        opt(&post.link),
        opt(&post.text),
    ])?;
    w.flush().map_err(QueryError::Output)
}

pub fn stats(out: &mut dyn Write, stats: &Stats) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record([stats.by.name(), "posts"])?;
    for b in &stats.buckets {
        w.write_record([&*text_cell(&b.key), b.count.to_string().as_str()])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn rate(out: &mut dyn Write, rate: &Rate) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["minute", "posts"])?;
    for m in &rate.per_minute {
        w.write_record([m.minute.as_str(), &m.posts.to_string()])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn report(out: &mut dyn Write, summary: &ReportSummary) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["out", "keyword", "posts", "bytes"])?;
    w.write_record([
        &*text_cell(&summary.out),
        &*text_cell(&summary.keyword),
        summary.posts.to_string().as_str(),
        summary.bytes.to_string().as_str(),
    ])?;
    w.flush().map_err(QueryError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::{Bucket, By};

    fn written(f: impl FnOnce(&mut dyn Write) -> Result<(), QueryError>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_that_would_start_a_formula_are_defused() {
        for (raw, cell) in [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\r=1", "'\r=1"),
            ("a=1", "a=1"),
            ("", ""),
            ("'=1", "'=1"),
        ] {
            assert_eq!(text_cell(raw), cell, "{raw:?}");
        }
        // A tab becomes a space, so it no longer leads to a formula.
        assert_eq!(text_cell("\t=1"), " =1");
        // What only control characters hid is defused too.
        assert_eq!(text_cell("\u{1b}=1"), "'=1");
    }

    #[test]
    fn latest_quotes_as_rfc_4180_drops_controls_and_defuses_formulas() {
        let posts = [PostLine {
            id: "1".into(),
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            username: Some("=cmd|' /C calc'!A0".into()),
            text: Some("-2+3,\"quoted\"\r\nline\u{0}\u{1b}[2J\u{9b}\u{7f}\u{7}\u{85}\tend".into()),
            link: Some("https://x.com/i/web/status/1".into()),
        }];
        assert_eq!(
            written(|out| latest(out, &posts)),
            "timestamp,username,id,link,text\n\
             2026-01-01T00:00:00.000Z,'=cmd|' /C calc'!A0,1,https://x.com/i/web/status/1,\
             \"'-2+3,\"\"quoted\"\"\r\nline[2J end\"\n"
        );
    }

    #[test]
    fn show_cleans_every_text_cell_and_leaves_counts_alone() {
        let post = Post {
            id: "42".into(),
            keywords: vec!["@k\u{1b}]52;c;eA==\u{7}".into(), "b,c".into()],
            timestamp: Some("+2026".into()),
            username: Some("u\u{202e}ser".into()),
            name: Some("\"Name\"".into()),
            author_id: None,
            lang: Some("en".into()),
            country: None,
            country_code: None,
            hashtags: vec!["-h".into(), "x".into()],
            mentions: vec![],
            retweet_count: Some(0),
            reply_count: None,
            like_count: Some(7),
            quote_count: None,
            bookmark_count: None,
            impression_count: None,
            received_at: None,
            text: Some("plain".into()),
            link: None,
        };
        let text = written(|out| show(out, &post));
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "42,\"'@k]52;c;eA==|b,c\",'+2026,user,\"\"\"Name\"\"\",,en,,,'-h x,,0,,7,,,,,,plain"
        );
    }

    #[test]
    fn keywords_and_stats_keys_are_cells_of_text() {
        let summaries = [KeywordSummary {
            keyword: "=HYPERLINK(\"http://evil.example\",\"x\")".into(),
            posts: 3,
            first_seen: "2026-01-01T00:00:00.000Z".into(),
            last_seen: "\u{9d}2026".into(),
        }];
        assert_eq!(
            written(|out| keywords(out, &summaries)),
            "keyword,posts,first_seen,last_seen\n\
             \"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",3,2026-01-01T00:00:00.000Z,2026\n"
        );
        let stats = Stats {
            keyword: "k".into(),
            by: By::Lang,
            since: None,
            until: None,
            posts: 2,
            buckets: vec![
                Bucket {
                    key: "-e\u{2066}n".into(),
                    count: 1,
                },
                Bucket {
                    key: "(none)".into(),
                    count: 1,
                },
            ],
        };
        assert_eq!(
            written(|out| super::stats(out, &stats)),
            "lang,posts\n'-en,1\n(none),1\n"
        );
        let summary = ReportSummary {
            out: "/tmp/r\n.html".into(),
            keyword: "@k".into(),
            posts: 1,
            bytes: 10,
        };
        assert_eq!(
            written(|out| report(out, &summary)),
            "out,keyword,posts,bytes\n\"/tmp/r\n.html\",'@k,1,10\n"
        );
    }
}
