//! Many items at once: BatchGetItem in chunks of 100 keys and BatchWriteItem deletes in chunks
//! of 25, retrying what DynamoDB leaves unprocessed; queries followed to their last page.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};

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

pub type Query = QueryFluentBuilder;

/// Every item a query matches, following its pages.
pub async fn query_all(query: QueryFluentBuilder) -> Result<Vec<Item>, ApiError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let output = query.clone().set_exclusive_start_key(start).send().await?;
        items.extend(output.items.unwrap_or_default());
        start = output.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

/// The keys (`pk`, `sk`) of every item of one partition of `table`.
async fn partition_keys(app: &App, table: &str, pk: &str) -> Result<Vec<Item>, ApiError> {
    query_all(
        app.aws
            .dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .projection_expression("pk, sk")
            .consistent_read(true),
    )
    .await
}

/// Deletes the items of `keys` from `table`, 25 per BatchWriteItem, retrying what DynamoDB
/// leaves unprocessed. Answers how many keys it was given: deleting what is gone is done.
pub async fn delete_many(app: &App, table: &str, keys: Vec<Item>) -> Result<usize, ApiError> {
    for chunk in keys.chunks(25) {
        let mut pending = Some(
            chunk
                .iter()
                .map(|key| {
                    DeleteRequest::builder()
                        .set_key(Some(key.clone()))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                        .map_err(ApiError::internal)
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
        let mut attempt = 0u32;
        while let Some(requests) = pending.take() {
            let output = app
                .aws
                .dynamodb
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await?;
            pending = output
                .unprocessed_items
                .and_then(|mut unprocessed| unprocessed.remove(table))
                .filter(|left| !left.is_empty());
            if pending.is_some() {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(
                    20 * 2u64.pow(attempt.min(6)),
                ))
                .await;
            }
        }
    }
    Ok(keys.len())
}

/// Deletes every item of the partitions `pks` of `table`: answers how many there were.
pub async fn delete_partitions(
    app: &App,
    table: &str,
    pks: Vec<String>,
) -> Result<usize, ApiError> {
    let mut keys = Vec::new();
    for pk in pks {
        keys.extend(partition_keys(app, table, &pk).await?);
    }
    delete_many(app, table, keys).await
}
