//! Counts AWS requests by service and operation (operations, not retries), so tests and
//! benchmarks can hold the request budget of a flow.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use mailing::aws::Clients;

/// The pseudo-operation under which the items of DynamoDB transactions are counted.
pub const TRANSACTED_ITEMS: &str = "TransactWriteItems.items";

#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<(String, String), u64>>>);

impl RequestCounter {
    /// Requests so far, by (service, operation): `("dynamodb", "PutItem")`.
    pub fn by_operation(&self) -> BTreeMap<(String, String), u64> {
        self.0
            .lock()
            .map(|counts| counts.clone())
            .unwrap_or_default()
    }

    /// DynamoDB requests so far.
    pub fn dynamodb(&self) -> u64 {
        self.by_operation()
            .iter()
            .filter(|((service, operation), _)| {
                service == "dynamodb" && operation != TRANSACTED_ITEMS
            })
            .map(|(_, count)| count)
            .sum()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().to_ascii_lowercase(), m.name().to_owned()))
            .unwrap_or_default();
        // A transaction's items, counted apart: what its write units are paid on.
        let transacted = context
            .input()
            .downcast_ref::<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput>()
            .map(|input| input.transact_items().len() as u64);
        if let Ok(mut counts) = self.0.lock() {
            if let Some(items) = transacted {
                *counts
                    .entry((service.clone(), TRANSACTED_ITEMS.to_owned()))
                    .or_default() += items;
            }
            *counts.entry((service, operation)).or_default() += 1;
        }
        Ok(())
    }
}

/// What was counted between two counts, by (service, operation), with DynamoDB transactions'
/// items as `(dynamodb, TRANSACTED_ITEMS)`.
pub fn counted_between(
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
) -> BTreeMap<(String, String), u64> {
    after
        .iter()
        .map(|(key, count)| (key.clone(), count - before.get(key).copied().unwrap_or(0)))
        .filter(|(_, count)| *count > 0)
        .collect()
}

/// The requests made between two counts, by (service, operation) (transactions' items left
/// out: they are not requests).
pub fn spent(
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
) -> BTreeMap<(String, String), u64> {
    counted_between(before, after)
        .into_iter()
        .filter(|((_, operation), _)| operation != TRANSACTED_ITEMS)
        .collect()
}

/// The clients from the environment, with DynamoDB, SQS, SES and S3 requests counted.
pub async fn clients() -> (Clients, RequestCounter) {
    let sdk = mailing::aws::load_config().await;
    let counter = RequestCounter::default();
    let clients = crate::intercepted::clients(&sdk, counter.clone());
    (clients, counter)
}
