//! The EventData table: key schema, index, attribute names, and the table definition that tests,
//! the CloudFormation template and the query tool mirror.
//!
//! Key design (the reasons are in the crate README):
//! - base table: partition key `Id`, sort key `Keyword`. One item per (post, matched keyword), so a
//!   post that matched two keywords is found under both; "one post by id" is a Query on `Id`; a
//!   redelivered post overwrites its own items (writes are idempotent by key).
//! - global secondary index `ByKeyword`: partition key `Keyword`, sort key `Timestamp` (when the
//!   source says the post was created, ISO 8601 UTC with milliseconds, so lexical order is time
//!   order). Newest posts for a keyword, a time range, and counts per hour/day by `Lang` or
//!   `Country` are all Queries on it; it projects only the small attributes such counts and
//!   listings need, so an index write stays one write unit.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

// Attributes the earlier system wrote: same names, same meaning.
/// Post id (S). Base table partition key.
pub const ID: &str = "Id";
/// The author's handle, without the @ (S); where the source gives no handle, the author's id.
pub const USERNAME: &str = "Username";
/// When the source says the post was created: ISO 8601 UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ` (S), see
/// [`crate::timestamp`]. Index sort key.
pub const TIMESTAMP: &str = "Timestamp";
/// The post's full text (S).
pub const MESSAGE: &str = "Message";

/// The matched keyword (S). Base table sort key, index partition key.
pub const KEYWORD: &str = "Keyword";
pub const AUTHOR_ID: &str = "AuthorId";
/// The author's display name.
pub const NAME: &str = "Name";
pub const LANG: &str = "Lang";
/// Country name of the post's place, when the source gives one.
pub const COUNTRY: &str = "Country";
/// ISO 3166 code of the post's place, when it has one.
pub const COUNTRY_CODE: &str = "CountryCode";
/// Hashtags without the `#`, in text order, each once (L of S).
pub const HASHTAGS: &str = "Hashtags";
/// Mentioned @handles, in text order, each once (L of S).
pub const MENTIONS: &str = "Mentions";
pub const RETWEET_COUNT: &str = "RetweetCount";
pub const REPLY_COUNT: &str = "ReplyCount";
pub const LIKE_COUNT: &str = "LikeCount";
pub const QUOTE_COUNT: &str = "QuoteCount";
pub const BOOKMARK_COUNT: &str = "BookmarkCount";
pub const IMPRESSION_COUNT: &str = "ImpressionCount";
/// When the producer read the post off the source, ISO 8601 UTC with milliseconds (S).
pub const RECEIVED_AT: &str = "ReceivedAt";
/// The whole line or message as the source sent it, compressed (B); see [`crate::payload`].
pub const PAYLOAD: &str = "Payload";
/// Expiry, epoch seconds (N); only written when `RETENTION_DAYS` is set. The table's TTL attribute.
pub const EXPIRES_AT: &str = "ExpiresAt";

/// The keyword index.
pub const BY_KEYWORD_INDEX: &str = "ByKeyword";

/// Attributes copied into [`BY_KEYWORD_INDEX`] besides the keys (the base table's `Id` comes too).
/// Small on purpose: a GSI write is billed on the projected size.
pub const BY_KEYWORD_PROJECTION: &[&str] =
    &[LANG, COUNTRY, COUNTRY_CODE, AUTHOR_ID, USERNAME, HASHTAGS];

/// The keyword stored for a post that reached the stream without any (a rule with an empty tag):
/// a key attribute cannot be empty, and the post must not be lost.
pub const NO_KEYWORD: &str = "(none)";

/// Everything needed to create the table, as SDK types.
#[derive(Debug, Clone)]
pub struct TableDefinition {
    pub table_name: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    pub billing_mode: BillingMode,
    /// The TTL attribute; enable it after the table exists (`UpdateTimeToLive`).
    pub time_to_live: TimeToLiveSpecification,
}

fn key(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap_or_else(|_| unreachable!("name and key type are set"))
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .unwrap_or_else(|_| unreachable!("name and type are set"))
}

/// The EventData table under `table_name`: on-demand billing, since a post stream is bursty and
/// small.
pub fn table_definition(table_name: &str) -> TableDefinition {
    let projection = Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(
            BY_KEYWORD_PROJECTION
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        ))
        .build();
    let by_keyword = GlobalSecondaryIndex::builder()
        .index_name(BY_KEYWORD_INDEX)
        .key_schema(key(KEYWORD, KeyType::Hash))
        .key_schema(key(TIMESTAMP, KeyType::Range))
        .projection(projection)
        .build()
        .unwrap_or_else(|_| unreachable!("index name, keys and projection are set"));
    TableDefinition {
        table_name: table_name.to_owned(),
        attribute_definitions: vec![
            string_attribute(ID),
            string_attribute(KEYWORD),
            string_attribute(TIMESTAMP),
        ],
        key_schema: vec![key(ID, KeyType::Hash), key(KEYWORD, KeyType::Range)],
        global_secondary_indexes: vec![by_keyword],
        billing_mode: BillingMode::PayPerRequest,
        time_to_live: TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .unwrap_or_else(|_| unreachable!("name and flag are set")),
    }
}

impl TableDefinition {
    /// The `Properties` of an `AWS::DynamoDB::Table` resource for this definition, for a template
    /// test to compare against (the template names the table itself, so `TableName` is left out).
    pub fn cloudformation_properties(&self) -> serde_json::Value {
        use serde_json::json;
        let keys = |schema: &[KeySchemaElement]| {
            schema
                .iter()
                .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
                .collect::<Vec<_>>()
        };
        json!({
            "BillingMode": self.billing_mode.as_str(),
            "AttributeDefinitions": self.attribute_definitions.iter().map(|a| json!({
                "AttributeName": a.attribute_name(),
                "AttributeType": a.attribute_type().as_str(),
            })).collect::<Vec<_>>(),
            "KeySchema": keys(&self.key_schema),
            "GlobalSecondaryIndexes": self.global_secondary_indexes.iter().map(|g| json!({
                "IndexName": g.index_name(),
                "KeySchema": keys(g.key_schema()),
                "Projection": {
                    "ProjectionType": g.projection().and_then(|p| p.projection_type()).map(|t| t.as_str()),
                    "NonKeyAttributes": g.projection().map(|p| p.non_key_attributes()).unwrap_or_default(),
                },
            })).collect::<Vec<_>>(),
            "TimeToLiveSpecification": {
                "AttributeName": self.time_to_live.attribute_name(),
                "Enabled": self.time_to_live.enabled(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_index_are_as_documented() {
        let def = table_definition("EventData");
        let base: Vec<(&str, &str)> = def
            .key_schema
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(base, [(ID, "HASH"), (KEYWORD, "RANGE")]);
        let gsi = &def.global_secondary_indexes[0];
        assert_eq!(gsi.index_name(), BY_KEYWORD_INDEX);
        let index: Vec<(&str, &str)> = gsi
            .key_schema()
            .iter()
            .map(|k| (k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(index, [(KEYWORD, "HASH"), (TIMESTAMP, "RANGE")]);
        // Every key attribute is defined, and nothing else is (CreateTable rejects extras).
        let mut defined: Vec<&str> = def
            .attribute_definitions
            .iter()
            .map(|a| a.attribute_name())
            .collect();
        defined.sort_unstable();
        assert_eq!(defined, [ID, KEYWORD, TIMESTAMP]);
    }

    #[test]
    fn projection_keeps_index_items_small_and_excludes_payload() {
        let def = table_definition("t");
        let projection = def.global_secondary_indexes[0]
            .projection()
            .expect("projection");
        assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
        let attrs = projection.non_key_attributes();
        assert!(!attrs.iter().any(|a| a == PAYLOAD || a == MESSAGE));
        assert!(attrs.iter().any(|a| a == LANG) && attrs.iter().any(|a| a == COUNTRY));
    }

    #[test]
    fn cloudformation_properties_mirror_the_definition() {
        let props = table_definition("t").cloudformation_properties();
        assert_eq!(props["KeySchema"][0]["AttributeName"], ID);
        assert_eq!(props["KeySchema"][1]["KeyType"], "RANGE");
        assert_eq!(
            props["GlobalSecondaryIndexes"][0]["IndexName"],
            BY_KEYWORD_INDEX
        );
        assert_eq!(
            props["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"],
            "INCLUDE"
        );
        assert_eq!(
            props["TimeToLiveSpecification"]["AttributeName"],
            EXPIRES_AT
        );
        assert_eq!(props["BillingMode"], "PAY_PER_REQUEST");
    }
}
