//! Pure planning of one batch: records to items, duplicates merged, requests chunked, and the
//! record the batch must be retried from.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::item::{self, BuiltItem, ItemOptions, Poison, PoisonReason};
use crate::limits::MAX_BATCH_WRITE_ITEMS;

/// One item to write and the records (by index in the batch) it stands for.
#[derive(Debug, Clone)]
pub struct PlannedItem {
    pub item: BuiltItem,
    pub records: Vec<usize>,
}

/// What one batch turns into before anything is written.
#[derive(Debug, Default)]
pub struct Plan {
    /// Unique by key, in the order their keys first appeared.
    pub items: Vec<PlannedItem>,
    /// Records that can never be stored, by index.
    pub poison: Vec<(usize, Poison)>,
    /// Items dropped because a later record in the batch had the same key.
    pub duplicates: usize,
    /// For each record, the items (indexes into `items`) it needs stored.
    pub record_items: Vec<Vec<usize>>,
}

/// Decodes every record and merges items with the same key, since DynamoDB rejects a
/// BatchWriteItem that names one key twice. The later record wins: it is the newer copy of the
/// post (X repeats posts, with updated metrics).
pub fn plan<'a>(records: impl IntoIterator<Item = &'a [u8]>, options: ItemOptions) -> Plan {
    let mut plan = Plan::default();
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    for (index, data) in records.into_iter().enumerate() {
        let mut needs = Vec::new();
        match item::build_items(data, options) {
            Ok(items) => {
                for built in items {
                    let key = (built.id.clone(), built.keyword.clone());
                    if let Some(&existing) = by_key.get(&key) {
                        let planned = &mut plan.items[existing];
                        planned.item = built;
                        planned.records.push(index);
                        plan.duplicates += 1;
                        needs.push(existing);
                    } else {
                        by_key.insert(key, plan.items.len());
                        needs.push(plan.items.len());
                        plan.items.push(PlannedItem {
                            item: built,
                            records: vec![index],
                        });
                    }
                }
            }
            Err(poison) => plan.poison.push((index, poison)),
        }
        plan.record_items.push(needs);
    }
    plan
}

/// BatchWriteItem-sized groups of item indexes.
pub fn chunks(item_count: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..item_count)
        .step_by(MAX_BATCH_WRITE_ITEMS)
        .map(move |start| start..(start + MAX_BATCH_WRITE_ITEMS).min(item_count))
}

/// What happened to one planned item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    Stored,
    /// DynamoDB refused this very item; retrying cannot help.
    Rejected(String),
    /// Not stored, for a reason that may pass (throttling, timeouts, deadline, table unavailable).
    NotStored,
}

/// Where one record stands after the writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordState {
    Stored,
    Poison(Poison),
    NotStored,
}

/// Combines the plan with the write results into one state per record.
pub fn resolve(plan: &Plan, results: &[ItemResult]) -> Vec<RecordState> {
    let mut states: Vec<RecordState> = plan
        .record_items
        .iter()
        .map(|needs| {
            let mut state = RecordState::Stored;
            for &i in needs {
                match results.get(i).unwrap_or(&ItemResult::NotStored) {
                    ItemResult::Stored => {}
                    ItemResult::Rejected(detail) => {
                        return RecordState::Poison(Poison {
                            reason: PoisonReason::RejectedByTable,
                            detail: detail.clone(),
                        });
                    }
                    ItemResult::NotStored => state = RecordState::NotStored,
                }
            }
            state
        })
        .collect();
    for (index, poison) in &plan.poison {
        if let Some(state) = states.get_mut(*index) {
            *state = RecordState::Poison(poison.clone());
        }
    }
    states
}

/// Orders Kinesis sequence numbers: decimal strings of any length (real ones have 56 digits,
/// emulators use small integers), so by length first, then by digits.
pub fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The lowest of `sequence_numbers`, if any.
pub fn lowest<'a>(sequence_numbers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    sequence_numbers
        .into_iter()
        .min_by(|a, b| compare_sequence_numbers(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::records::FixtureRecord;
    use time::macros::datetime;

    fn record(id: &str, keywords: &[&str], text: &str) -> Vec<u8> {
        let line = format!(r#"{{"data":{{"id":"{id}","text":"{text}"}}}}"#);
        FixtureRecord::x(&line)
            .keywords(keywords)
            .received_at(datetime!(2024-05-13 20:59:00 UTC))
            .encode()
    }

    #[test]
    fn duplicates_in_a_batch_become_one_item_the_later_copy() {
        let records = [
            record("1", &["rust"], "first"),
            record("2", &["rust", "go"], "b"),
            record("1", &["rust"], "second"),
            b"garbage".to_vec(),
        ];
        let plan = plan(records.iter().map(Vec::as_slice), ItemOptions::default());
        assert_eq!(plan.items.len(), 3);
        assert_eq!(plan.duplicates, 1);
        assert_eq!(plan.items[0].records, [0, 2]);
        let message = plan.items[0]
            .item
            .attributes
            .get("Message")
            .and_then(|v| v.as_s().ok())
            .cloned();
        assert_eq!(message.as_deref(), Some("second"));
        assert_eq!(
            plan.record_items,
            vec![vec![0], vec![1, 2], vec![0], vec![]]
        );
        assert_eq!(plan.poison.len(), 1);
        assert_eq!(plan.poison[0].0, 3);
        assert_eq!(plan.poison[0].1.reason, PoisonReason::NotJson);
    }

    #[test]
    fn chunks_hold_at_most_25() {
        let sizes: Vec<usize> = chunks(51).map(|r| r.len()).collect();
        assert_eq!(sizes, [25, 25, 1]);
        assert_eq!(chunks(0).count(), 0);
        assert_eq!(
            chunks(25).map(|r| (r.start, r.end)).collect::<Vec<_>>(),
            [(0, 25)]
        );
        let covered: Vec<usize> = chunks(60).flatten().collect();
        assert_eq!(covered, (0..60).collect::<Vec<_>>());
    }

    #[test]
    fn a_record_is_stored_only_when_all_its_items_are() {
        let records = [
            record("1", &["a", "b"], "x"),
            record("2", &["a"], "y"),
            b"{}".to_vec(),
        ];
        let plan = plan(records.iter().map(Vec::as_slice), ItemOptions::default());
        let results = [
            ItemResult::Stored,
            ItemResult::NotStored,
            ItemResult::Stored,
        ];
        let states = resolve(&plan, &results);
        assert_eq!(states[0], RecordState::NotStored);
        assert_eq!(states[1], RecordState::Stored);
        assert!(
            matches!(&states[2], RecordState::Poison(p) if p.reason == PoisonReason::NotRecordFormat)
        );

        let rejected = [
            ItemResult::Stored,
            ItemResult::Rejected("too big".into()),
            ItemResult::Stored,
        ];
        assert!(
            matches!(&resolve(&plan, &rejected)[0], RecordState::Poison(p) if p.reason == PoisonReason::RejectedByTable)
        );
    }

    #[test]
    fn sequence_numbers_compare_as_big_integers() {
        assert_eq!(compare_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(compare_sequence_numbers("10", "9"), Ordering::Greater);
        assert_eq!(compare_sequence_numbers("007", "7"), Ordering::Equal);
        let long_a = "49568167373333333333333333333333333333333333333333333333";
        let long_b = "49568167373333333334444444444444444444444444444444444444";
        assert_eq!(compare_sequence_numbers(long_a, long_b), Ordering::Less);
        assert_eq!(lowest(["12", "3", "100"]), Some("3"));
        assert_eq!(lowest([long_b, long_a]), Some(long_a));
        assert_eq!(lowest(Vec::<&str>::new()), None);
    }
}
