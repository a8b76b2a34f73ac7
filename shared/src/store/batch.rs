//! BatchGetItem in chunks of 100 keys, retrying what DynamoDB leaves unprocessed.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::{ApiError, App};

pub type Item = HashMap<String, AttributeValue>;

/// The items found for `keys` in `table` (strongly consistent), in no particular order.
pub async fn get_many(app: &App, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, ApiError> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(ApiError::internal)?,
        );
        let mut attempt = 0u32;
        while let Some(request) = pending.take() {
            let output = app
                .aws
                .dynamodb
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await?;
            found.extend(
                output
                    .responses
                    .unwrap_or_default()
                    .remove(table)
                    .unwrap_or_default(),
            );
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(table));
            if pending.is_some() {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(
                    20 * 2u64.pow(attempt.min(6)),
                ))
                .await;
            }
        }
    }
    Ok(found)
}
