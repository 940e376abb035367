//! Each answer as `--csv` prints it: a header row, then one row per item.

use std::io::Write;

use crate::error::QueryError;
use crate::view::{KeywordSummary, Post, PostLine, Rate, ReportSummary, Stats};

fn writer(out: &mut dyn Write) -> ::csv::Writer<&mut dyn Write> {
    ::csv::Writer::from_writer(out)
}

pub fn keywords(out: &mut dyn Write, summaries: &[KeywordSummary]) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["keyword", "posts", "first_seen", "last_seen"])?;
    for k in summaries {
        w.write_record([
            k.keyword.as_str(),
            &k.posts.to_string(),
            &k.first_seen,
            &k.last_seen,
        ])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn latest(out: &mut dyn Write, posts: &[PostLine]) -> Result<(), QueryError> {
    let mut w = writer(out);
    w.write_record(["timestamp", "username", "id", "link", "text"])?;
    for p in posts {
        w.write_record([
            p.timestamp.as_str(),
            p.username.as_deref().unwrap_or(""),
            &p.id,
            p.link.as_deref().unwrap_or(""),
            p.text.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush().map_err(QueryError::Output)
}

pub fn show(out: &mut dyn Write, post: &Post) -> Result<(), QueryError> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
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
        post.id.clone(),
        post.keywords.join("|"),
        opt(&post.timestamp),
        opt(&post.username),
        opt(&post.name),
        opt(&post.author_id),
        opt(&post.lang),
        opt(&post.country),
        opt(&post.country_code),
        post.hashtags.join(" "),
        post.mentions.join(" "),
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
        w.write_record([b.key.as_str(), &b.count.to_string()])?;
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
        summary.out.as_str(),
        &summary.keyword,
        &summary.posts.to_string(),
        &summary.bytes.to_string(),
    ])?;
    w.flush().map_err(QueryError::Output)
}
