//! DynamoDB's size of an item and of its index entry, by its documented rules, and the write
//! units it bills for them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::schema;

/// Largest DynamoDB item, attribute names included.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB bills a standard write per started kilobyte.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// DynamoDB adds this much to every index entry (key bookkeeping).
pub const INDEX_ENTRY_OVERHEAD_BYTES: usize = 100;

/// Write units DynamoDB charges for writing an item (or index entry) of `size` bytes.
pub fn write_units(size: usize) -> u64 {
    size.div_ceil(WRITE_UNIT_BYTES).max(1) as u64
}

/// DynamoDB's size of an item: attribute names plus values.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// The size of the item's entry in the keyword index: its keys, the base table's keys, the
/// projected attributes, and the index's per-entry overhead.
pub fn index_entry_size(item: &HashMap<String, AttributeValue>) -> usize {
    let keys = [schema::ID, schema::KEYWORD, schema::TIMESTAMP];
    let projected = keys.iter().chain(schema::BY_KEYWORD_PROJECTION.iter());
    INDEX_ENTRY_OVERHEAD_BYTES
        + projected
            .filter_map(|name| item.get(*name).map(|v| name.len() + value_size(v)))
            .sum::<usize>()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// "Approximately (1 byte per two significant digits) + 1 byte".
fn number_size(n: &str) -> usize {
    let mut digits = n.bytes().filter(u8::is_ascii_digit);
    // Significant digits: from the first non-zero digit to the last non-zero one.
    let Some(_first) = digits.by_ref().find(|d| *d != b'0') else {
        return 1;
    };
    let (mut significant, mut since_last_nonzero) = (1usize, 0usize);
    for d in digits {
        since_last_nonzero += 1;
        if d != b'0' {
            significant += since_last_nonzero;
            since_last_nonzero = 0;
        }
    }
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let mut item = HashMap::new();
        item.insert("Id".to_owned(), AttributeValue::S("abc".into()));
        item.insert("N".to_owned(), AttributeValue::N("12300".into()));
        item.insert(
            "L".to_owned(),
            AttributeValue::L(vec![AttributeValue::S("xy".into())]),
        );
        item.insert("B".to_owned(), AttributeValue::B(vec![1u8, 2, 3, 4].into()));
        // Id:2+3, N:1+(3 digits -> 2)+1, L:1+3+1+2, B:1+4
        assert_eq!(item_size(&item), 5 + 4 + 7 + 5);
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
    }

    #[test]
    fn number_sizes_count_significant_digits() {
        for (n, size) in [
            ("0", 1),
            ("7", 2),
            ("12300", 3),
            ("-12.5", 3),
            ("1000000", 2),
            ("1790124601", 6),
            ("0.00102", 3),
        ] {
            assert_eq!(number_size(n), size, "{n}");
        }
    }

    #[test]
    fn an_index_entry_counts_keys_and_projection_only() {
        let item = HashMap::from([
            (schema::ID.to_owned(), AttributeValue::S("12".into())),
            (schema::KEYWORD.to_owned(), AttributeValue::S("rust".into())),
            (schema::LANG.to_owned(), AttributeValue::S("en".into())),
            (
                schema::MESSAGE.to_owned(),
                AttributeValue::S("not in the index".into()),
            ),
            (
                schema::PAYLOAD.to_owned(),
                AttributeValue::B(vec![0u8; 500].into()),
            ),
        ]);
        // Id:2+2, Keyword:7+4, Lang:4+2, plus the overhead.
        assert_eq!(
            index_entry_size(&item),
            INDEX_ENTRY_OVERHEAD_BYTES + 4 + 11 + 6
        );
    }
}
