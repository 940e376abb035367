//! The expressions a request carries: projections, the condition on `Timestamp`, a keyword
//! Query, the key of one item. Every attribute name goes through a placeholder (`#p0`, `#k`,
//! ...), so no name can collide with DynamoDB's reserved words.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use twitter_table::item::Attributes;
use twitter_table::schema;

use super::Order;
use crate::window::TimestampBounds;

/// `#p0, #p1, ...` for a list of attribute names, with the name map to go with it.
pub(super) fn projection(attributes: &[&str], names: &mut HashMap<String, String>) -> String {
    attributes
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let placeholder = format!("#p{i}");
            names.insert(placeholder.clone(), (*name).to_owned());
            placeholder
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#t BETWEEN :from AND :to` (or one side of it) for `Timestamp`, with its values; `None` when
/// the bounds are open on both sides.
pub(super) fn time_condition(
    bounds: &TimestampBounds,
    names: &mut HashMap<String, String>,
    values: &mut HashMap<String, AttributeValue>,
) -> Option<String> {
    let condition = match (&bounds.from, &bounds.to) {
        (Some(from), Some(to)) => {
            values.insert(":from".into(), AttributeValue::S(from.clone()));
            values.insert(":to".into(), AttributeValue::S(to.clone()));
            "#t BETWEEN :from AND :to"
        }
        (Some(from), None) => {
            values.insert(":from".into(), AttributeValue::S(from.clone()));
            "#t >= :from"
        }
        (None, Some(to)) => {
            values.insert(":to".into(), AttributeValue::S(to.clone()));
            "#t <= :to"
        }
        (None, None) => return None,
    };
    names.insert("#t".into(), schema::TIMESTAMP.to_owned());
    Some(condition.to_owned())
}

/// The primary key of the item of post `id` under `keyword`.
pub(super) fn item_key(id: &str, keyword: &str) -> Attributes {
    HashMap::from([
        (schema::ID.to_owned(), AttributeValue::S(id.to_owned())),
        (
            schema::KEYWORD.to_owned(),
            AttributeValue::S(keyword.to_owned()),
        ),
    ])
}

/// A Query of one keyword on the index, ready to send page after page.
#[derive(Debug, Clone)]
pub(super) struct KeywordQuery {
    pub(super) condition: String,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
    pub(super) projection: String,
    pub(super) order: Order,
}

impl KeywordQuery {
    pub(super) fn new(
        keyword: &str,
        bounds: &TimestampBounds,
        attributes: &[&str],
        order: Order,
    ) -> Self {
        let mut names = HashMap::from([("#k".to_owned(), schema::KEYWORD.to_owned())]);
        let mut values = HashMap::from([(":k".to_owned(), AttributeValue::S(keyword.to_owned()))]);
        let mut condition = "#k = :k".to_owned();
        if let Some(time) = time_condition(bounds, &mut names, &mut values) {
            condition = format!("{condition} AND {time}");
        }
        let projection = projection(attributes, &mut names);
        KeywordQuery {
            condition,
            names,
            values,
            projection,
            order,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_conditions_cover_each_open_side() {
        let cond = |from: Option<&str>, to: Option<&str>| {
            let (mut n, mut v) = (HashMap::new(), HashMap::new());
            let bounds = TimestampBounds {
                from: from.map(str::to_owned),
                to: to.map(str::to_owned),
            };
            (time_condition(&bounds, &mut n, &mut v), v.len())
        };
        assert_eq!(
            cond(Some("a"), Some("b")),
            (Some("#t BETWEEN :from AND :to".into()), 2)
        );
        assert_eq!(cond(Some("a"), None), (Some("#t >= :from".into()), 1));
        assert_eq!(cond(None, Some("b")), (Some("#t <= :to".into()), 1));
        assert_eq!(cond(None, None), (None, 0));
    }

    #[test]
    fn projection_uses_placeholders_for_every_name() {
        let mut names = HashMap::new();
        let expr = projection(&[schema::TIMESTAMP, schema::LANG], &mut names);
        assert_eq!(expr, "#p0, #p1");
        assert_eq!(names["#p0"], schema::TIMESTAMP);
    }
}
