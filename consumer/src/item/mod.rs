//! Building the EventData items for one Kinesis record, and what they cost: the record decoded
//! (a failure classified in `poison`), its post read by its source's reader (`template`), one
//! item per keyword, each sized by the table's rules.

mod poison;
mod template;
#[cfg(test)]
mod tests;

use aws_sdk_dynamodb::types::AttributeValue;
use twitter_table::item::Attributes;
use twitter_table::schema;
use twitter_table::size::{MAX_ITEM_BYTES, index_entry_size, item_size, write_units};

pub use poison::{Poison, PoisonReason};
pub use template::CREATED_AT_FUTURE_TOLERANCE;

/// Item settings that come from the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ItemOptions {
    pub retention_days: Option<u32>,
}

/// An item ready to write, with what it costs.
#[derive(Debug, Clone)]
pub struct BuiltItem {
    pub id: String,
    pub keyword: String,
    pub attributes: Attributes,
    /// DynamoDB's size of the base table item.
    pub size: usize,
    /// DynamoDB's size of the item's entry in the keyword index.
    pub index_size: usize,
}

impl BuiltItem {
    /// Write units of one put: the base item plus its index entry.
    pub fn write_units(&self) -> u64 {
        write_units(self.size) + write_units(self.index_size)
    }
}

/// Decodes one record and builds one item per matched keyword.
pub fn build_items(data: &[u8], options: ItemOptions) -> Result<Vec<BuiltItem>, Poison> {
    let record = twitter_record::decode(data).map_err(|e| poison::classify(data, &e))?;
    let (template, keywords) = template::event_template(&record, options)?;
    // The items of one post differ only in `Keyword`: serialize the post once and give each
    // keyword a copy of the attributes (the last one takes them).
    let attributes = template
        .to_attributes()
        .map_err(|e| Poison::new(PoisonReason::NotRecordFormat, e.to_string()))?;
    let mut built = Vec::with_capacity(keywords.len());
    let (last, rest) = keywords.split_last().unwrap_or((&schema::NO_KEYWORD, &[]));
    for keyword in rest {
        built.push(built_item(&template.id, keyword, attributes.clone())?);
    }
    built.push(built_item(&template.id, last, attributes)?);
    Ok(built)
}

fn built_item(id: &str, keyword: &str, mut attributes: Attributes) -> Result<BuiltItem, Poison> {
    attributes.insert(
        schema::KEYWORD.to_owned(),
        AttributeValue::S(keyword.to_owned()),
    );
    let size = item_size(&attributes);
    if size > MAX_ITEM_BYTES {
        return Err(Poison::new(
            PoisonReason::TooLarge,
            format!("item for post {id} is {size} bytes, the limit is {MAX_ITEM_BYTES}"),
        ));
    }
    Ok(BuiltItem {
        index_size: index_entry_size(&attributes),
        id: id.to_owned(),
        keyword: keyword.to_owned(),
        attributes,
        size,
    })
}
