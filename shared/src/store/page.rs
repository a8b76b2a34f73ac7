//! A page of a query, and its position as a page cursor holds it: DynamoDB's last evaluated
//! key, whose attributes are all strings in our tables.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ApiError;
use crate::cursor::Position;

pub struct Page<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there is more.
    pub next: Option<Position>,
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
