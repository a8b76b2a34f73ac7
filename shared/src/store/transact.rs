//! TransactWriteItems with the one failure callers act on: which condition did not hold.

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
