//! A page of a query, and its position as a page cursor holds it: DynamoDB's last evaluated
//! key, whose attributes are all strings in our tables.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;

use crate::cursor::Position;
use crate::{ApiError, App};

pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is more.
    pub next: Option<Position>,
}

impl<T> Page<T> {
    /// The same page, each item made into another thing.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
        }
    }
}

/// What one page of a partition is: the items of `pk` whose `sk` starts with `sk_prefix`.
pub struct PartitionQuery<'a> {
    pub table: &'a str,
    pub pk: String,
    pub sk_prefix: &'static str,
    /// Descending `sk` (newest first where `sk` starts with a time).
    pub descending: bool,
    pub limit: usize,
    pub after: Option<Position>,
}

/// One Query: the page and where the next one starts.
pub async fn of_partition<T: DeserializeOwned>(
    app: &App,
    query: PartitionQuery<'_>,
) -> Result<Page<T>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .query()
        .table_name(query.table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", AttributeValue::S(query.pk))
        .expression_attribute_values(":prefix", AttributeValue::S(query.sk_prefix.to_owned()))
        .scan_index_forward(!query.descending)
        .limit(i32::try_from(query.limit).unwrap_or(i32::MAX))
        .set_exclusive_start_key(query.after.map(to_key))
        .send()
        .await?;
    Ok(Page {
        items: serde_dynamo::from_items(output.items.unwrap_or_default())?,
        next: output.last_evaluated_key.map(from_key).transpose()?,
    })
}

pub fn from_key(key: HashMap<String, AttributeValue>) -> Result<Position, ApiError> {
    key.into_iter()
        .map(|(name, value)| match value {
            AttributeValue::S(s) => Ok((name, s)),
            other => Err(ApiError::internal(anyhow::anyhow!(
                "unexpected key attribute {name}: {other:?}"
            ))),
        })
        .collect()
}

pub fn to_key(position: Position) -> HashMap<String, AttributeValue> {
    position
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect()
}
