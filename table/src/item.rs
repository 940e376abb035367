//! The table's items as Rust types, read and written with serde_dynamo: [`EventItem`], the whole
//! item of one (post, keyword), and [`IndexEntry`], what the keyword index holds of it.
//!
//! Absent values are absent attributes, never empty strings or NULLs.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::error::TableError;
use crate::schema;

/// The attributes of one item, as the SDK sends and returns them.
pub type Attributes = HashMap<String, AttributeValue>;

/// One EventData item. Field names serialize to the names in [`crate::schema`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventItem {
    pub id: String,
    pub keyword: String,
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashtags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweet_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impression_count: Option<u64>,
    pub received_at: String,
    /// See [`crate::payload`]. Every stored item has one; it is empty when a read leaves it out
    /// (it is the one large attribute, so most reads do).
    #[serde(default, with = "serde_bytes")]
    pub payload: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl EventItem {
    /// The attributes a read of whole items must ask for: an item cannot be read without them.
    pub const REQUIRED: &'static [&'static str] = &[
        schema::ID,
        schema::KEYWORD,
        schema::TIMESTAMP,
        schema::RECEIVED_AT,
    ];

    /// The item as the SDK writes it.
    pub fn to_attributes(&self) -> Result<Attributes, TableError> {
        serde_dynamo::to_item(self).map_err(|source| TableError::Encode {
            id: self.id.clone(),
            source,
        })
    }

    /// An item as a read returned it.
    pub fn from_attributes(attributes: Attributes) -> Result<EventItem, TableError> {
        decode(attributes)
    }
}

/// An entry of the keyword index ([`schema::BY_KEYWORD_INDEX`]) as a read returns it: the keys
/// and the projected attributes ([`schema::BY_KEYWORD_PROJECTION`]), each present only when the
/// read asked for it and the item has it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashtags: Vec<String>,
}

impl IndexEntry {
    /// An entry as a read returned it.
    pub fn from_attributes(attributes: Attributes) -> Result<IndexEntry, TableError> {
        decode(attributes)
    }
}

fn decode<T: serde::de::DeserializeOwned>(attributes: Attributes) -> Result<T, TableError> {
    // Kept to name the item in an error: the map is gone once decoding starts.
    let id = attributes
        .get(schema::ID)
        .and_then(|v| v.as_s().ok())
        .cloned();
    serde_dynamo::from_item(attributes).map_err(|source| TableError::Decode { id, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> EventItem {
        EventItem {
            id: "1790124601021706634".into(),
            keyword: "rust".into(),
            timestamp: "2024-05-13T20:58:58.000Z".into(),
            username: Some("carol".into()),
            message: Some("hello #rust @ferris".into()),
            author_id: Some("7".into()),
            name: Some("Carol".into()),
            lang: Some("en".into()),
            country: Some("Japan".into()),
            country_code: Some("JP".into()),
            hashtags: vec!["rust".into()],
            mentions: vec!["ferris".into()],
            retweet_count: Some(0),
            reply_count: Some(1),
            like_count: Some(2),
            quote_count: Some(0),
            bookmark_count: Some(3),
            impression_count: Some(40),
            received_at: "2024-05-13T20:59:00.123Z".into(),
            payload: vec![2, 0xff, 0],
            expires_at: Some(1_718_000_000),
        }
    }

    #[test]
    fn every_field_serializes_to_its_schema_name() {
        let attributes = item().to_attributes().expect("attributes");
        let mut names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = vec![
            schema::ID,
            schema::KEYWORD,
            schema::TIMESTAMP,
            schema::USERNAME,
            schema::MESSAGE,
            schema::AUTHOR_ID,
            schema::NAME,
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
            schema::PAYLOAD,
            schema::EXPIRES_AT,
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(
            attributes[schema::PAYLOAD],
            AttributeValue::B(vec![2, 0xff, 0].into())
        );
        assert_eq!(
            attributes[schema::HASHTAGS],
            AttributeValue::L(vec![AttributeValue::S("rust".into())])
        );
        assert_eq!(
            attributes[schema::LIKE_COUNT],
            AttributeValue::N("2".into())
        );
    }

    #[test]
    fn an_item_round_trips_and_absent_values_are_absent_attributes() {
        let full = item();
        let back = EventItem::from_attributes(full.to_attributes().expect("attributes"));
        assert_eq!(back.expect("item"), full);
        let bare = EventItem {
            id: "1".into(),
            keyword: "k".into(),
            timestamp: "t".into(),
            received_at: "r".into(),
            payload: vec![2],
            ..EventItem::default()
        };
        let attributes = bare.to_attributes().expect("attributes");
        assert_eq!(attributes.len(), 5, "{attributes:?}");
    }

    #[test]
    fn a_read_without_the_payload_still_reads() {
        let mut attributes = item().to_attributes().expect("attributes");
        attributes.remove(schema::PAYLOAD);
        let back = EventItem::from_attributes(attributes).expect("item");
        assert!(back.payload.is_empty());
        assert_eq!(back.username.as_deref(), Some("carol"));
    }

    #[test]
    fn an_item_reads_with_exactly_the_required_attributes() {
        let all = item().to_attributes().expect("attributes");
        let only = |names: &[&str]| -> Attributes {
            all.iter()
                .filter(|(name, _)| names.contains(&name.as_str()))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        };
        assert!(EventItem::from_attributes(only(EventItem::REQUIRED)).is_ok());
        for missing in EventItem::REQUIRED {
            let rest: Vec<&str> = EventItem::REQUIRED
                .iter()
                .copied()
                .filter(|n| n != missing)
                .collect();
            assert!(
                EventItem::from_attributes(only(&rest)).is_err(),
                "{missing} is required"
            );
        }
    }

    #[test]
    fn the_index_entry_holds_the_keys_and_the_projection_exactly() {
        let entry = IndexEntry {
            id: Some("1".into()),
            keyword: Some("k".into()),
            timestamp: Some("t".into()),
            lang: Some("en".into()),
            country: Some("Japan".into()),
            country_code: Some("JP".into()),
            author_id: Some("7".into()),
            username: Some("carol".into()),
            hashtags: vec!["rust".into()],
        };
        let attributes: Attributes = serde_dynamo::to_item(&entry).expect("attributes");
        let mut names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected: Vec<&str> = [schema::ID, schema::KEYWORD, schema::TIMESTAMP]
            .into_iter()
            .chain(schema::BY_KEYWORD_PROJECTION.iter().copied())
            .collect();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(
            IndexEntry::from_attributes(attributes).expect("entry"),
            entry
        );
    }

    #[test]
    fn an_entry_reads_whichever_attributes_were_projected() {
        let attributes = HashMap::from([
            (schema::ID.to_owned(), AttributeValue::S("1".into())),
            (schema::LANG.to_owned(), AttributeValue::S("en".into())),
            (
                schema::HASHTAGS.to_owned(),
                AttributeValue::Ss(vec!["rust".into()]),
            ),
        ]);
        let entry = IndexEntry::from_attributes(attributes).expect("entry");
        assert_eq!(entry.id.as_deref(), Some("1"));
        assert_eq!(entry.lang.as_deref(), Some("en"));
        assert_eq!(entry.hashtags, ["rust"], "a string set reads as a list");
        assert_eq!(entry.timestamp, None);
    }

    #[test]
    fn an_item_of_the_wrong_shape_is_one_clear_error() {
        let attributes = HashMap::from([
            (schema::ID.to_owned(), AttributeValue::S("42".into())),
            (schema::LANG.to_owned(), AttributeValue::N("7".into())),
        ]);
        let error = IndexEntry::from_attributes(attributes).expect_err("a number for Lang");
        let text = error.to_string();
        assert!(
            text.starts_with("the item of post 42 does not fit the table's schema: "),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
        let error = EventItem::from_attributes(HashMap::new()).expect_err("no keys");
        assert!(
            error.to_string().starts_with("an item does not fit"),
            "{error}"
        );
    }
}
