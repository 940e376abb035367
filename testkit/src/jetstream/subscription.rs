//! What one connection asked for in its query string, and how the host applies it to events.

use std::collections::HashSet;

use super::{ConnectionRecord, FirehoseEvent, query};

/// What the handshake learnt from the query string, or why the 2026 server refuses it (400).
pub(super) fn read_query(query: Option<&str>) -> Result<ConnectionRecord, String> {
    let pairs = query::parse(query)?;
    let cursor = match query::first(&pairs, "cursor") {
        None | Some("") => None,
        Some(cursor) => Some(
            cursor
                .parse::<u64>()
                .map_err(|_| format!("invalid cursor: {cursor:?}"))?,
        ),
    };
    Ok(ConnectionRecord {
        query: query.map(str::to_owned),
        cursor,
        wanted_collections: query::all(&pairs, "wantedCollections"),
        wanted_dids: query::all(&pairs, "wantedDids"),
        // Jetstream reads anything but a positive number as no cap.
        max_message_size_bytes: query::first(&pairs, "maxMessageSizeBytes")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0),
        rejected: false,
        start: None,
    })
}

/// What one connection asked for, as the host applies it to each event.
pub(super) struct Filter {
    pub(super) collections: Vec<String>,
    pub(super) dids: HashSet<String>,
    pub(super) max_bytes: Option<u64>,
}

impl Filter {
    /// DIDs filter every kind of event; collections only commits (identity and account events
    /// always go), as Jetstream does.
    pub(super) fn wants(&self, event: &FirehoseEvent) -> bool {
        if !self.dids.is_empty()
            && !event
                .did
                .as_ref()
                .is_some_and(|did| self.dids.contains(did))
        {
            return false;
        }
        match &event.collection {
            Some(collection) => {
                self.collections.is_empty() || self.collections.contains(collection)
            }
            None => true,
        }
    }

    pub(super) fn too_big(&self, line: &str) -> bool {
        self.max_bytes.is_some_and(|max| line.len() as u64 > max)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Firehose;
    use super::*;

    fn event(time_us: u64) -> String {
        format!(r#"{{"did":"did:plc:a","time_us":{time_us},"kind":"identity"}}"#)
    }

    #[test]
    fn the_query_is_read_as_the_go_servers_read_it() {
        let record = read_query(Some(
            "%63ursor=15&cursor=16&Cursor=17&wantedCollections=app.bsky.feed.post&wantedDids=did%3Aplc%3Aa&maxMessageSizeBytes=2097152",
        ))
        .unwrap();
        assert_eq!(record.cursor, Some(15), "decoded key, first value");
        assert_eq!(record.wanted_collections, ["app.bsky.feed.post"]);
        assert_eq!(record.wanted_dids, ["did:plc:a"]);
        assert_eq!(record.max_message_size_bytes, Some(2_097_152));
        let record = read_query(Some("Cursor=17&maxMessageSizeBytes=-1")).unwrap();
        assert_eq!(record.cursor, None, "names are case-sensitive");
        assert_eq!(record.max_message_size_bytes, None, "no cap");
        assert!(read_query(Some("cursor=soon")).is_err());
        assert!(read_query(Some("a=1;cursor=2")).is_err());
    }

    #[test]
    fn dids_filter_every_kind_and_collections_only_commits() {
        let firehose = Firehose::new(vec![
            event(1),
            r#"{"did":"did:plc:b","time_us":2,"kind":"commit","commit":{"collection":"app.bsky.feed.like"}}"#.to_owned(),
        ]);
        let filter = Filter {
            collections: vec!["app.bsky.feed.post".to_owned()],
            dids: HashSet::new(),
            max_bytes: Some(20),
        };
        assert!(filter.wants(&firehose.events[0]), "identity always goes");
        assert!(!filter.wants(&firehose.events[1]));
        assert!(filter.too_big(&firehose.events[0].line));
        let filter = Filter {
            collections: Vec::new(),
            dids: HashSet::from(["did:plc:b".to_owned()]),
            max_bytes: None,
        };
        assert!(!filter.wants(&firehose.events[0]), "another DID");
        assert!(filter.wants(&firehose.events[1]));
        assert!(!filter.too_big(&firehose.events[1].line));
    }
}
