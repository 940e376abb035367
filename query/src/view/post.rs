//! Posts: one line of a list (`latest`, the report's latest posts), and one post in full
//! (`show`), merged from the items of every keyword it matched.

use serde::Serialize;
use twitter_table::EventItem;

use crate::aggregate::Entry;
use crate::link::post_link;

/// One post as `latest` and `report` list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PostLine {
    pub id: String,
    pub timestamp: String,
    pub username: Option<String>,
    pub text: Option<String>,
    pub link: Option<String>,
}

impl PostLine {
    /// The line of an index entry, with the post's text; `None` for an entry read without its id.
    pub fn from_entry(entry: Entry, text: Option<String>) -> Option<PostLine> {
        let id = entry.id?;
        Some(PostLine {
            link: post_link(&id),
            id,
            timestamp: entry.timestamp.unwrap_or_default(),
            username: entry.username,
            text,
        })
    }
}

/// One post in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// The item last written (latest `ReceivedAt`): a redelivered post refreshes the items of the
/// keywords it matched then, and those carry the newest counts.
pub fn newest_item(items: &[EventItem]) -> Option<&EventItem> {
    items
        .iter()
        .max_by(|a, b| a.received_at.cmp(&b.received_at))
}

/// The post stored under `id`, from all its items; `None` when there are none.
pub fn post_from_items(id: &str, items: &[EventItem]) -> Option<Post> {
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

    #[test]
    fn a_post_line_needs_the_entry_id_and_links_it() {
        let entry = Entry {
            id: Some("42".into()),
            timestamp: Some("2026-01-01T00:00:00.000Z".into()),
            username: Some("carol".into()),
            ..Entry::default()
        };
        let line = PostLine::from_entry(entry.clone(), Some("hi".into())).unwrap();
        assert_eq!(
            line,
            PostLine {
                id: "42".into(),
                timestamp: "2026-01-01T00:00:00.000Z".into(),
                username: Some("carol".into()),
                text: Some("hi".into()),
                link: Some("https://x.com/i/web/status/42".into()),
            }
        );
        let no_id = Entry { id: None, ..entry };
        assert_eq!(PostLine::from_entry(no_id, None), None);
    }
}
