//! Drives the SQS event sources locally, as Lambda's event source mappings do: receive a batch,
//! hand it to the consumer's handler as an `SqsEvent`, delete what succeeded, and make the
//! failures visible again soon (the queue's redrive policy moves repeated failures to its DLQ).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use functions::routes::Consumer;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;

use crate::apps::FunctionApps;

/// One consumer wired to its local queue.
pub struct LocalConsumer {
    pub consumer: &'static Consumer,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    /// The function's timeout: the deadline its handler sees.
    pub timeout: Duration,
}

/// Receives one batch (waiting up to `wait_seconds`) and runs it; the number of messages run.
pub async fn poll_once(
    apps: &FunctionApps,
    local: &LocalConsumer,
    wait_seconds: i32,
) -> anyhow::Result<usize> {
    let app = apps
        .of(local.consumer.function)
        .ok_or_else(|| anyhow::anyhow!("{} is not in template.yaml", local.consumer.function))?;
    let received = app
        .aws
        .sqs
        .receive_message()
        .queue_url(&local.queue_url)
        .max_number_of_messages(local.batch_size.clamp(1, 10))
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(0);
    }
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();
    let records: Vec<_> = messages
        .iter()
        .map(|message| {
            json!({
                "messageId": message.message_id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "attributes": message.attributes.as_ref().map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), v.clone())).collect::<std::collections::BTreeMap<_, _>>()).unwrap_or_default(),
                "messageAttributes": {},
                "md5OfBody": message.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": local.queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(json!({ "Records": records }))?;
    let mut context = Context::default();
    context.request_id = uuid::Uuid::new_v4().to_string();
    context.deadline = u64::try_from(now_ms + local.timeout.as_millis())?;
    let id = context.request_id.clone();
    let response = mailing::request_id::scope(
        id,
        (local.consumer.handler)(app, LambdaEvent::new(event, context)),
    )
    .await
    .map_err(|error| anyhow::anyhow!("{} failed: {error}", local.consumer.function))?;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let mut done = Vec::new();
    for message in &messages {
        let (Some(id), Some(handle)) = (message.message_id(), message.receipt_handle()) else {
            continue;
        };
        if failed.contains(&id) {
            // Retried soon rather than after the deployed visibility timeout.
            app.aws
                .sqs
                .change_message_visibility()
                .queue_url(&local.queue_url)
                .receipt_handle(handle)
                .visibility_timeout(1)
                .send()
                .await?;
        } else {
            done.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()?,
            );
        }
    }
    if !done.is_empty() {
        app.aws
            .sqs
            .delete_message_batch()
            .queue_url(&local.queue_url)
            .set_entries(Some(done))
            .send()
            .await?;
    }
    Ok(messages.len())
}

/// Runs every message until the queue stays empty: what tests call to let the event source
/// catch up.
pub async fn drain(apps: &FunctionApps, local: &LocalConsumer) -> anyhow::Result<usize> {
    let mut total = 0;
    loop {
        let handled = poll_once(apps, local, 0).await?;
        if handled == 0 {
            return Ok(total);
        }
        total += handled;
    }
}

/// Polls forever (the local stack's event source).
pub async fn run(apps: &FunctionApps, local: LocalConsumer) {
    loop {
        if let Err(error) = poll_once(apps, &local, 1).await {
            tracing::error!(
                function = local.consumer.function,
                error = format!("{error:#}"),
                "event source"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
