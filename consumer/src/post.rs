//! The few fields of an X stream line the item needs, read without copying where possible
//! (a Bluesky post's are read by [`crate::bluesky`] into the same [`PostFields`]).
//!
//! X sends the text HTML-escaped (`&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`, in `text` and
//! `note_tweet.text` alike); the item's text is the text as written ([`unescape_text`]), while the
//! payload keeps the line as it came. Hashtags and mentions come from `entities`, not the text.
//!
//! X adds fields and sometimes changes a type (rule ids went from numbers to strings). Nothing here
//! may turn such a line into a lost post: the strict, borrowing view is the fast path; when it does
//! not fit, a tolerant walk over a `serde_json::Value` takes what it can, and the `Payload` keeps the
//! rest.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

/// What the item builder takes from one stream line.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PostFields<'a> {
    pub id: Option<Cow<'a, str>>,
    pub text: Option<Cow<'a, str>>,
    pub author_id: Option<Cow<'a, str>>,
    pub username: Option<Cow<'a, str>>,
    pub name: Option<Cow<'a, str>>,
    pub created_at: Option<Cow<'a, str>>,
    pub lang: Option<Cow<'a, str>>,
    pub country: Option<Cow<'a, str>>,
    pub country_code: Option<Cow<'a, str>>,
    pub hashtags: Vec<Cow<'a, str>>,
    pub mentions: Vec<Cow<'a, str>>,
    pub metrics: Metrics,
    /// Bluesky: Jetstream's time of the event (unix microseconds), the post's time when its
    /// own `createdAt` cannot be read.
    pub time_us: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Metrics {
    pub retweet_count: Option<u64>,
    pub reply_count: Option<u64>,
    pub like_count: Option<u64>,
    pub quote_count: Option<u64>,
    pub bookmark_count: Option<u64>,
    pub impression_count: Option<u64>,
}

/// Why a line is not a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAPost {
    /// The line has no `data` object (a system message, an error-only line).
    NoData,
    /// A Bluesky event that is not the creation of a post; the text says what it is.
    NotAPostCreation(String),
}

/// Reads the post fields of one stream line (already known to be valid JSON).
pub fn read(line: &str) -> Result<PostFields<'_>, NotAPost> {
    match serde_json::from_str::<Line<'_>>(line) {
        Ok(parsed) => parsed.into_fields(),
        Err(_) => match serde_json::from_str::<Value>(line) {
            Ok(value) => tolerant(&value),
            Err(_) => Err(NotAPost::NoData),
        },
    }
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    data: Option<Data<'a>>,
    #[serde(default, borrow)]
    includes: Includes<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    author_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    created_at: Option<Cow<'a, str>>,
    #[serde(borrow)]
    lang: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    entities: Option<Entities<'a>>,
    #[serde(default, borrow)]
    geo: Option<Geo<'a>>,
    #[serde(default)]
    public_metrics: Option<Metrics>,
    #[serde(default, borrow)]
    note_tweet: Option<NoteTweet<'a>>,
}

#[derive(Deserialize)]
struct NoteTweet<'a> {
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    entities: Option<Entities<'a>>,
}

#[derive(Deserialize, Default)]
struct Entities<'a> {
    #[serde(default, borrow)]
    hashtags: Vec<Tag<'a>>,
    #[serde(default, borrow)]
    mentions: Vec<Mention<'a>>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    tag: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Mention<'a> {
    #[serde(borrow)]
    username: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Geo<'a> {
    #[serde(borrow)]
    place_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Includes<'a> {
    #[serde(default, borrow)]
    users: Vec<User<'a>>,
    #[serde(default, borrow)]
    places: Vec<Place<'a>>,
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    country: Option<Cow<'a, str>>,
    #[serde(borrow)]
    country_code: Option<Cow<'a, str>>,
}

/// Most distinct hashtags (and, apart, mentions) an item lists. Bluesky's lexicon allows 8
/// `tags` and X's text a few dozen, but facets are unbounded: one post anyone can write may
/// carry 100,000 tags, and its item would only grow without saying more.
pub const MAX_LISTED_VALUES: usize = 64;

/// Each value once, in the order of its first occurrence (X lists a tag once per occurrence in
/// the text), empty ones dropped, at most [`MAX_LISTED_VALUES`]. Linear: the input is whatever
/// the post's author wrote.
pub(crate) fn unique<'a>(values: impl IntoIterator<Item = Cow<'a, str>>) -> Vec<Cow<'a, str>> {
    let mut seen: HashSet<Cow<'a, str>> = HashSet::new();
    let mut out = Vec::new();
    for v in values {
        if out.len() == MAX_LISTED_VALUES {
            break;
        }
        if !v.is_empty() && seen.insert(v.clone()) {
            out.push(v);
        }
    }
    out
}

/// The entities X escapes in a post's text, and what each stands for. X escapes these three and
/// nothing else: a `&quot;` in the text is one the author typed.
const X_TEXT_ENTITIES: [(&str, char); 3] = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')];

/// An X post's text as its author wrote it: [`X_TEXT_ENTITIES`] decoded in one pass, left to
/// right, so `&amp;lt;` (an author who typed `&lt;`) becomes `&lt;`, not `<`. Borrowed when there
/// is nothing to decode.
pub fn unescape_text(text: Cow<'_, str>) -> Cow<'_, str> {
    if !text.contains('&') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (decoded, consumed) = X_TEXT_ENTITIES
            .iter()
            .find(|(entity, _)| tail.starts_with(entity))
            .map_or(('&', 1), |(entity, c)| (*c, entity.len()));
        out.push(decoded);
        rest = &tail[consumed..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

impl<'a> Line<'a> {
    fn into_fields(self) -> Result<PostFields<'a>, NotAPost> {
        let data = self.data.ok_or(NotAPost::NoData)?;
        // A long post's full text and its entities live in note_tweet; `text` is truncated.
        let (text, entities) = match data.note_tweet {
            Some(NoteTweet {
                text: Some(text),
                entities,
            }) if !text.is_empty() => (Some(text), entities.or(data.entities)),
            _ => (data.text, data.entities),
        };
        let entities = entities.unwrap_or_default();
        let author = data
            .author_id
            .as_ref()
            .and_then(|a| self.includes.users.into_iter().find(|u| &u.id == a));
        let place_id = data.geo.and_then(|g| g.place_id);
        let place = place_id
            .as_ref()
            .and_then(|p| self.includes.places.into_iter().find(|pl| &pl.id == p));
        let (username, name) = author.map(|u| (u.username, u.name)).unwrap_or_default();
        let (country, country_code) = place
            .map(|p| (p.country, p.country_code))
            .unwrap_or_default();
        Ok(PostFields {
            id: data.id,
            text: text.map(unescape_text),
            author_id: data.author_id,
            username,
            name,
            created_at: data.created_at,
            lang: data.lang,
            country,
            country_code,
            hashtags: unique(entities.hashtags.into_iter().map(|t| t.tag)),
            mentions: unique(entities.mentions.into_iter().map(|m| m.username)),
            metrics: data.public_metrics.unwrap_or_default(),
            time_us: None,
        })
    }
}

/// The slow path: a line whose shape surprised the strict view.
fn tolerant(value: &Value) -> Result<PostFields<'static>, NotAPost> {
    let data = value
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(NotAPost::NoData)?;
    let string = |v: Option<&Value>| -> Option<Cow<'static, str>> {
        match v? {
            Value::String(s) => Some(Cow::Owned(s.clone())),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    };
    let list = |v: Option<&Value>, field: &str| -> Vec<Cow<'static, str>> {
        let items = v
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        unique(items.iter().filter_map(|item| string(item.get(field))))
    };
    let note_text = string(data.pointer("/note_tweet/text")).filter(|t| !t.is_empty());
    let entities = if note_text.is_some() && data.pointer("/note_tweet/entities").is_some() {
        data.pointer("/note_tweet/entities")
    } else {
        data.get("entities")
    };
    let author_id = string(data.get("author_id"));
    let find = |path: &str, id: &Option<Cow<'static, str>>| -> Option<&Value> {
        let id = id.as_deref()?;
        value
            .pointer(path)?
            .as_array()?
            .iter()
            .find(|u| string(u.get("id")).as_deref() == Some(id))
    };
    let author = find("/includes/users", &author_id);
    let place = find("/includes/places", &string(data.pointer("/geo/place_id")));
    let metric = |name: &str| data.get("public_metrics")?.get(name)?.as_u64();
    Ok(PostFields {
        id: string(data.get("id")),
        text: note_text
            .or_else(|| string(data.get("text")))
            .map(unescape_text),
        author_id: author_id.clone(),
        username: author.and_then(|u| string(u.get("username"))),
        name: author.and_then(|u| string(u.get("name"))),
        created_at: string(data.get("created_at")),
        lang: string(data.get("lang")),
        country: place.and_then(|p| string(p.get("country"))),
        country_code: place.and_then(|p| string(p.get("country_code"))),
        hashtags: list(entities.and_then(|e| e.get("hashtags")), "tag"),
        mentions: list(entities.and_then(|e| e.get("mentions")), "username"),
        metrics: Metrics {
            retweet_count: metric("retweet_count"),
            reply_count: metric("reply_count"),
            like_count: metric("like_count"),
            quote_count: metric("quote_count"),
            bookmark_count: metric("bookmark_count"),
            impression_count: metric("impression_count"),
        },
        time_us: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{"data":{"id":"20","text":"short…","author_id":"7","created_at":"2024-05-13T20:58:58.000Z","lang":"en","entities":{"hashtags":[{"start":0,"end":5,"tag":"rust"},{"tag":"rust"},{"tag":"tokio"}],"mentions":[{"username":"alice"}]},"public_metrics":{"retweet_count":1,"reply_count":2,"like_count":3,"quote_count":4,"bookmark_count":5,"impression_count":6},"geo":{"place_id":"p1"},"note_tweet":{"text":"the whole long text","entities":{"hashtags":[{"tag":"long"}],"mentions":[{"username":"bob"}]}}},"includes":{"users":[{"id":"8","username":"other","name":"O"},{"id":"7","username":"carol","name":"Carol C"}],"places":[{"id":"p1","country":"France","country_code":"FR","full_name":"Paris, France"}]},"matching_rules":[{"id":"1","tag":"rust"}]}"#;

    #[test]
    fn values_are_kept_once_in_first_order_and_bounded() {
        let written: Vec<String> = ["b", "a", "", "b", "c", "a"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain((0..100_000).map(|i| format!("t{i}")))
            .collect();
        let kept = unique(written.iter().map(|s| Cow::Borrowed(s.as_str())));
        assert_eq!(kept.len(), MAX_LISTED_VALUES);
        assert_eq!(kept[..3], ["b", "a", "c"]);
        assert_eq!(kept[3], "t0");
        assert_eq!(
            kept[MAX_LISTED_VALUES - 1],
            format!("t{}", MAX_LISTED_VALUES - 4)
        );
    }

    #[test]
    fn strict_view_reads_every_field() {
        let f = read(FULL).expect("post");
        assert_eq!(f.id.as_deref(), Some("20"));
        assert_eq!(f.text.as_deref(), Some("the whole long text"));
        assert_eq!(f.username.as_deref(), Some("carol"));
        assert_eq!(f.name.as_deref(), Some("Carol C"));
        assert_eq!(f.author_id.as_deref(), Some("7"));
        assert_eq!(f.created_at.as_deref(), Some("2024-05-13T20:58:58.000Z"));
        assert_eq!(f.lang.as_deref(), Some("en"));
        assert_eq!(f.country.as_deref(), Some("France"));
        assert_eq!(f.country_code.as_deref(), Some("FR"));
        assert_eq!(f.hashtags, ["long"]);
        assert_eq!(f.mentions, ["bob"]);
        assert_eq!(f.metrics.like_count, Some(3));
        assert_eq!(f.metrics.impression_count, Some(6));
    }

    #[test]
    fn tolerant_view_matches_strict_view() {
        let value: Value = serde_json::from_str(FULL).expect("json");
        assert_eq!(tolerant(&value).expect("post"), read(FULL).expect("post"));
    }

    #[test]
    fn without_note_tweet_text_and_entities_come_from_data() {
        let line = r#"{"data":{"id":"1","text":"hi #a #b #a @x","entities":{"hashtags":[{"tag":"a"},{"tag":"b"},{"tag":"a"}],"mentions":[{"username":"x"}]},"geo":{}},"includes":{}}"#;
        let f = read(line).expect("post");
        assert_eq!(f.text.as_deref(), Some("hi #a #b #a @x"));
        assert_eq!(f.hashtags, ["a", "b"]);
        assert_eq!(f.mentions, ["x"]);
        assert_eq!(f.country, None);
        assert_eq!(f.username, None);
    }

    #[test]
    fn unexpected_types_fall_back_to_the_tolerant_view() {
        // lang as a number and a metric as a string would fail the strict view.
        let line = r#"{"data":{"id":"5","text":"t","lang":7,"public_metrics":{"like_count":"many","reply_count":2},"author_id":"9"},"includes":{"users":[{"id":"9","username":"u"}]}}"#;
        let f = read(line).expect("post");
        assert_eq!(f.id.as_deref(), Some("5"));
        assert_eq!(f.lang.as_deref(), Some("7"));
        assert_eq!(f.metrics.like_count, None);
        assert_eq!(f.metrics.reply_count, Some(2));
        assert_eq!(f.username.as_deref(), Some("u"));
    }

    #[test]
    fn lines_without_data_are_not_posts() {
        assert_eq!(
            read(r#"{"errors":[{"title":"operational-disconnect"}]}"#),
            Err(NotAPost::NoData)
        );
        assert_eq!(read(r#"{"data":"nope"}"#), Err(NotAPost::NoData));
        assert_eq!(read("[1,2]"), Err(NotAPost::NoData));
    }

    #[test]
    fn json_and_html_escapes_are_both_undone_once() {
        let line = r#"{"data":{"id":"1","text":"caf\u00e9 \"q\" &amp; &lt;b&gt;"}}"#;
        assert_eq!(
            read(line).expect("post").text.as_deref(),
            Some("café \"q\" & <b>")
        );
    }

    fn unescaped(text: &str) -> String {
        unescape_text(Cow::Borrowed(text)).into_owned()
    }

    #[test]
    fn exactly_three_entities_in_one_pass_left_to_right() {
        assert_eq!(unescaped("a &amp; b &lt;3 &gt;_&gt;"), "a & b <3 >_>");
        // What the author typed as an entity stays one.
        assert_eq!(unescaped("&amp;lt; &amp;amp; &amp;gt;"), "&lt; &amp; &gt;");
        // Other entities are text X did not escape.
        assert_eq!(
            unescaped("&quot; &#39; &nbsp; &AMP; &amp"),
            "&quot; &#39; &nbsp; &AMP; &amp"
        );
        assert_eq!(unescaped("&&amp;&"), "&&&");
        assert_eq!(unescaped("x&"), "x&");
        assert_eq!(
            unescaped("caf\u{e9} &lt;\u{1f980}&gt;"),
            "caf\u{e9} <\u{1f980}>"
        );
        assert!(matches!(
            unescape_text(Cow::Borrowed("no entity")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn both_texts_are_unescaped_on_both_paths() {
        let long = r#"{"data":{"id":"2","text":"short &amp;","note_tweet":{"text":"long &lt;&amp;lt;&gt;"}}}"#;
        assert_eq!(
            read(long).expect("post").text.as_deref(),
            Some("long <&lt;>")
        );
        let short = r#"{"data":{"id":"3","text":"a &gt; b","lang":7}}"#;
        assert_eq!(read(short).expect("post").text.as_deref(), Some("a > b"));
        let value: Value = serde_json::from_str(long).expect("json");
        assert_eq!(
            tolerant(&value).expect("post").text.as_deref(),
            Some("long <&lt;>")
        );
    }
}
