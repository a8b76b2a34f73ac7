//! TransactWriteItems with the one failure callers act on: which condition did not hold.
//!
//! Each call carries a fresh client request token: when the SDK retries a transaction whose
//! answer was lost, DynamoDB answers with the first outcome instead of failing every condition
//! against the transaction's own writes. It is fresh per call, never derived from the request,
//! so that two deliveries of one message are two transactions.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::{ApiError, App};

#[derive(Debug, PartialEq, Eq)]
pub enum TransactOutcome {
    Written,
    /// The conditions of these items (indexes into the request) did not hold.
    ConditionFailed(Vec<usize>),
}

pub async fn transact(
    app: &App,
    items: Vec<TransactWriteItem>,
) -> Result<TransactOutcome, ApiError> {
    let result = app
        .aws
        .dynamodb
        .transact_write_items()
        .set_transact_items(Some(items))
        .client_request_token(uuid::Uuid::new_v4().to_string())
        .send()
        .await;
    match result {
        Ok(_) => Ok(TransactOutcome::Written),
        Err(error) => match error.into_service_error() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                let failed: Vec<usize> = cancelled
                    .cancellation_reasons()
                    .iter()
                    .enumerate()
                    .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                    .map(|(index, _)| index)
                    .collect();
                if failed.is_empty() {
                    Err(ApiError::internal(
                        anyhow::Error::new(cancelled).context("transaction cancelled"),
                    ))
                } else {
                    Ok(TransactOutcome::ConditionFailed(failed))
                }
            }
            other => Err(ApiError::internal(
                anyhow::Error::new(other).context("TransactWriteItems"),
            )),
        },
    }
}

/// Items per transaction (DynamoDB's limit).
const MAX_ITEMS: usize = 100;

/// Writes every item whose own condition holds, whatever the others' do: transactions of up to
/// a hundred items, each retried without the items whose condition failed (so at most one
/// retry per failed item, and none in the usual case). Answers the indexes written, in order.
pub async fn write_each(app: &App, items: Vec<TransactWriteItem>) -> Result<Vec<usize>, ApiError> {
    let mut written = Vec::with_capacity(items.len());
    let indexed: Vec<(usize, TransactWriteItem)> = items.into_iter().enumerate().collect();
    for chunk in indexed.chunks(MAX_ITEMS) {
        let mut left: Vec<&(usize, TransactWriteItem)> = chunk.iter().collect();
        while !left.is_empty() {
            let request = left.iter().map(|(_, item)| item.clone()).collect();
            match transact(app, request).await? {
                TransactOutcome::Written => {
                    written.extend(left.iter().map(|(index, _)| *index));
                    break;
                }
                TransactOutcome::ConditionFailed(failed) => {
                    left = left
                        .into_iter()
                        .enumerate()
                        .filter(|(at, _)| !failed.contains(at))
                        .map(|(_, item)| item)
                        .collect();
                }
            }
        }
    }
    Ok(written)
}
