//! Why a record can never become an item: the kinds the dead-letter queue names, and how a
//! decoding failure maps onto them.

use twitter_record::RecordError;

/// Why a record can never become an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoisonReason {
    /// The bytes are not JSON at all.
    NotJson,
    /// JSON, but not the producer's record format (wrong shape, unknown version).
    NotRecordFormat,
    /// A record without a post id.
    MissingId,
    /// The post is not a post (X: no `data` object; Bluesky: not a post creation).
    NotAPost,
    /// The item would be larger than DynamoDB's 400 KB.
    TooLarge,
    /// DynamoDB refused the item itself (ValidationException on a single put).
    RejectedByTable,
}

impl PoisonReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PoisonReason::NotJson => "not-json",
            PoisonReason::NotRecordFormat => "not-record-format",
            PoisonReason::MissingId => "missing-id",
            PoisonReason::NotAPost => "not-a-post",
            PoisonReason::TooLarge => "too-large",
            PoisonReason::RejectedByTable => "rejected-by-table",
        }
    }
}

/// A record that can never be stored, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    pub reason: PoisonReason,
    pub detail: String,
}

impl Poison {
    pub(crate) fn new(reason: PoisonReason, detail: impl Into<String>) -> Self {
        Poison {
            reason,
            detail: detail.into(),
        }
    }
}

/// The decoder's error says what failed; the dead-letter queue wants to know which of the
/// documented kinds it is. Only runs for records that already failed, so a second parse is fine
/// (and needed: serde reports some shape errors as syntax errors).
pub(crate) fn classify(data: &[u8], error: &RecordError) -> Poison {
    let reason = match error {
        RecordError::EmptyId => PoisonReason::MissingId,
        RecordError::UnsupportedVersion(_) => PoisonReason::NotRecordFormat,
        RecordError::Malformed(_) => match serde_json::from_slice::<serde_json::Value>(data) {
            Err(_) => PoisonReason::NotJson,
            Ok(serde_json::Value::Object(map)) if map.contains_key("post") => {
                let has_id = map
                    .get("id")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|id| !id.is_empty());
                if has_id {
                    PoisonReason::NotRecordFormat
                } else {
                    PoisonReason::MissingId
                }
            }
            Ok(_) => PoisonReason::NotRecordFormat,
        },
    };
    Poison::new(reason, error.to_string())
}
