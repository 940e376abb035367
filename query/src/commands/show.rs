//! `show`: one post in full, merged from the items of every keyword it matched, or `--raw`.

use std::io::Write;

use serde::Serialize;
use twitter_table::{EventItem, payload, schema};

use super::{Context, Format, csv_writer, human_time, json, line};
use crate::error::QueryError;
use crate::link::post_link;
use crate::render::{self, Style, Terminal};

/// One post in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub id: String,
    pub keywords: Vec<String>,
    pub timestamp: Option<String>,
    pub username: Option<String>,
    pub name: Option<String>,
    pub author_id: Option<String>,
    pub lang: Option<String>,
    pub country: Option<String>,
    pub country_code: Option<String>,
    pub hashtags: Vec<String>,
    pub mentions: Vec<String>,
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub bookmark_count: Option<u64>,
    pub impression_count: Option<u64>,
    pub received_at: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
}

/// Every attribute `show` prints: all but the payload.
const SHOW_ATTRIBUTES: &[&str] = &[
    schema::ID,
    schema::KEYWORD,
    schema::TIMESTAMP,
    schema::USERNAME,
    schema::NAME,
    schema::AUTHOR_ID,
    schema::LANG,
    schema::COUNTRY,
    schema::COUNTRY_CODE,
    schema::HASHTAGS,
    schema::MENTIONS,
    schema::RETWEET_COUNT,
    schema::REPLY_COUNT,
    schema::LIKE_COUNT,
    schema::QUOTE_COUNT,
    schema::BOOKMARK_COUNT,
    schema::IMPRESSION_COUNT,
    schema::RECEIVED_AT,
    schema::MESSAGE,
];

/// The item last written (latest `ReceivedAt`): a redelivered post refreshes the items of the
/// keywords it matched then, and those carry the newest counts.
fn newest_item(items: &[EventItem]) -> Option<&EventItem> {
    items
        .iter()
        .max_by(|a, b| a.received_at.cmp(&b.received_at))
}

fn post_from_items(id: &str, items: &[EventItem]) -> Option<Post> {
    let item = newest_item(items)?;
    let mut keywords: Vec<String> = items.iter().map(|i| i.keyword.clone()).collect();
    keywords.sort();
    keywords.dedup();
    Some(Post {
        id: id.to_owned(),
        keywords,
        timestamp: Some(item.timestamp.clone()),
        username: item.username.clone(),
        name: item.name.clone(),
        author_id: item.author_id.clone(),
        lang: item.lang.clone(),
        country: item.country.clone(),
        country_code: item.country_code.clone(),
        hashtags: item.hashtags.clone(),
        mentions: item.mentions.clone(),
        retweet_count: item.retweet_count,
        reply_count: item.reply_count,
        like_count: item.like_count,
        quote_count: item.quote_count,
        bookmark_count: item.bookmark_count,
        impression_count: item.impression_count,
        received_at: Some(item.received_at.clone()),
        text: item.message.clone(),
        link: post_link(id),
    })
}

pub(super) async fn show(
    ctx: &Context<'_>,
    id: &str,
    raw: bool,
    out: &mut dyn Write,
) -> Result<(), QueryError> {
    let unknown = || QueryError::UnknownPost {
        id: id.to_owned(),
        table: ctx.store.table().to_owned(),
    };
    if raw {
        let items = ctx.store.post_items(id, &[schema::PAYLOAD]).await?;
        let item = newest_item(&items).ok_or_else(unknown)?;
        // An item without a payload reads back with an empty one, which the codec refuses.
        let line = payload::decompress(&item.payload).map_err(|source| QueryError::Payload {
            id: id.to_owned(),
            source: Box::new(source),
        })?;
        // Byte for byte as the stream sent it: no newline added, nothing re-encoded.
        return out.write_all(&line).map_err(QueryError::Output);
    }
    let items = ctx.store.post_items(id, SHOW_ATTRIBUTES).await?;
    let post = post_from_items(id, &items).ok_or_else(unknown)?;
    match ctx.format {
        Format::Json => json(out, &post),
        Format::Csv => {
            let opt = |v: &Option<String>| v.clone().unwrap_or_default();
            let num = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
            let mut w = csv_writer(out);
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
        Format::Human => show_human(&ctx.terminal, &post, out),
    }
}

fn show_human(t: &Terminal, post: &Post, out: &mut dyn Write) -> Result<(), QueryError> {
    let clean = |v: &Option<String>| v.as_deref().map(render::one_line);
    let mut head = format!(
        "@{}",
        clean(&post.username).unwrap_or_else(|| "?".to_owned())
    );
    if let Some(name) = clean(&post.name) {
        head.push_str(&format!(" ({name})"));
    }
    line(out, &t.paint(Style::Bold, &head))?;
    line(out, &render::safe_text(post.text.as_deref().unwrap_or("")))?;
    line(out, "")?;
    let mut fields: Vec<(&str, String)> = vec![
        ("id", post.id.clone()),
        (
            "created",
            post.timestamp
                .as_deref()
                .map(human_time)
                .unwrap_or_default(),
        ),
        ("keywords", post.keywords.join(", ")),
    ];
    let mut push = |label: &'static str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.push((label, v));
        }
    };
    push("lang", clean(&post.lang));
    let place = match (clean(&post.country), clean(&post.country_code)) {
        (Some(c), Some(code)) => Some(format!("{c} ({code})")),
        (c, code) => c.or(code),
    };
    push("country", place);
    push("author id", clean(&post.author_id));
    push(
        "hashtags",
        Some(
            post.hashtags
                .iter()
                .map(|h| format!("#{}", render::one_line(h)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    push(
        "mentions",
        Some(
            post.mentions
                .iter()
                .map(|m| format!("@{}", render::one_line(m)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    );
    let metrics: Vec<String> = [
        ("likes", post.like_count),
        ("reposts", post.retweet_count),
        ("replies", post.reply_count),
        ("quotes", post.quote_count),
        ("bookmarks", post.bookmark_count),
        ("views", post.impression_count),
    ]
    .iter()
    .filter_map(|(label, v)| v.map(|v| format!("{} {label}", render::thousands(v))))
    .collect();
    push("counts", Some(metrics.join(", ")));
    push("received", post.received_at.as_deref().map(human_time));
    push("link", post.link.clone());
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    for (label, value) in fields {
        let label = format!("{label:<width$}");
        line(out, &format!("{}  {value}", t.paint(Style::Dim, &label)))?;
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_merges_the_items_of_every_keyword() {
        let item = |keyword: &str, received: &str, likes: u64| EventItem {
            id: "123".into(),
            keyword: keyword.into(),
            received_at: received.into(),
            like_count: Some(likes),
            message: Some("hi".into()),
            ..EventItem::default()
        };
        let items = [
            item("rust", "2026-01-01T00:00:00.000Z", 1),
            item("cats", "2026-01-02T00:00:00.000Z", 5),
            item("rust", "2026-01-01T00:00:00.000Z", 1),
        ];
        let post = post_from_items("123", &items).unwrap();
        assert_eq!(post.keywords, ["cats", "rust"]);
        assert_eq!(post.like_count, Some(5));
        assert_eq!(post.link.as_deref(), Some("https://x.com/i/web/status/123"));
        assert_eq!(post_from_items("123", &[]), None);
    }
}
