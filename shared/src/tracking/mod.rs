//! Tracking: what happened to each message after SES took it.
//!
//! Two sources feed one queue (`EventsQueue`, consumed by `ses-events`): SES's configuration-set
//! event publishing through SNS (`ses`), and our public endpoints (the open pixel, click
//! redirects, unsubscribes: `public`), which answer the person at once and queue what they saw
//! as an [`EmailEvent`]. `record` writes a batch of events exactly once; `machine` tells the
//! person's opens and clicks from proxies' and scanners'; `guardrails` pauses campaigns that
//! bounce or draw complaints; `unsubscribe` applies a person's choice.

pub mod engagement;
pub mod event;
pub mod guardrails;
pub mod history;
pub mod machine;
pub mod pages;
pub mod public;
pub mod recipients;
pub mod record;
pub mod score;
pub mod ses;
pub mod unsubscribe;

pub use event::{EmailEvent, EventKind, SendRef, UnsubscribeScope};
pub use record::{Recorded, record};

use serde::{Deserialize, Serialize};

use crate::{ApiError, App};

/// How our endpoints (tracking, other providers' webhooks) put what they saw on the events
/// queue, beside SES's SNS notifications: `{"tracking_event": …}` or `{"test_feedback": …}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OurMessage {
    TrackingEvent(EmailEvent),
    TestFeedback {
        address: String,
        reason: crate::store::suppression::SuppressionReason,
    },
}

/// Queues an event seen by one of our endpoints.
pub async fn enqueue(app: &App, event: EmailEvent) -> Result<(), ApiError> {
    let body =
        serde_json::to_string(&OurMessage::TrackingEvent(event)).map_err(ApiError::internal)?;
    app.aws
        .sqs
        .send_message()
        .queue_url(&app.config.events_queue_url)
        .message_body(body)
        .send()
        .await?;
    Ok(())
}

/// Queues what a provider's webhook told, ten messages per request; the number queued. An
/// error leaves some queued and others not: the provider retries the request, and what was
/// queued twice is recorded once.
pub async fn enqueue_all(app: &App, told: Vec<ses::Parsed>) -> Result<usize, ApiError> {
    use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
    let bodies = told
        .into_iter()
        .filter_map(|parsed| match parsed {
            ses::Parsed::Event(event) => Some(OurMessage::TrackingEvent(event)),
            ses::Parsed::TestFeedback { address, reason } => {
                Some(OurMessage::TestFeedback { address, reason })
            }
            ses::Parsed::Ignored(_) => None,
        })
        .map(|message| serde_json::to_string(&message).map_err(ApiError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    for chunk in bodies.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(ApiError::internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sent = app
            .aws
            .sqs
            .send_message_batch()
            .queue_url(&app.config.events_queue_url)
            .set_entries(Some(entries))
            .send()
            .await?;
        if !sent.failed.is_empty() {
            return Err(ApiError::internal(anyhow::anyhow!(
                "{} events were not queued",
                sent.failed.len()
            )));
        }
    }
    Ok(bodies.len())
}

/// Reads one message of the events queue: an event, nothing to record, or an error for a
/// message that is neither ours nor SES's (poison).
pub fn parse_message(body: &str) -> Result<ses::Parsed, String> {
    match serde_json::from_str::<OurMessage>(body) {
        Ok(OurMessage::TrackingEvent(event)) => Ok(ses::Parsed::Event(event)),
        Ok(OurMessage::TestFeedback { address, reason }) => {
            Ok(ses::Parsed::TestFeedback { address, reason })
        }
        Err(_) => ses::parse(body),
    }
}

/// A test address that bounced for good or complained is suppressed; one SES would not even
/// accept is logged and dropped (nothing could ever be sent to it).
async fn suppress_test_address(
    app: &App,
    address: &str,
    reason: crate::store::suppression::SuppressionReason,
) -> Result<(), ApiError> {
    match crate::domain::EmailAddress::parse(address) {
        Ok(address) => crate::store::suppression::suppress(app, None, &address, reason).await,
        Err(_) => {
            tracing::warn!("a test message's feedback names an address we cannot read");
            Ok(())
        }
    }
}

/// Records a batch of queue messages `(id, body)`; answers the ids to retry. A message that
/// cannot be read is retried until the queue gives it to its dead-letter queue; when writing
/// fails, every readable message is retried (recording is idempotent).
pub async fn consume(app: &App, messages: &[(String, String)]) -> Vec<String> {
    let mut failed = Vec::new();
    let mut events = Vec::new();
    let mut readable = Vec::new();
    for (id, body) in messages {
        match parse_message(body) {
            Ok(ses::Parsed::Event(event)) => {
                events.push(event);
                readable.push(id.clone());
            }
            Ok(ses::Parsed::TestFeedback { address, reason }) => {
                if let Err(error) = suppress_test_address(app, &address, reason).await {
                    tracing::error!(message = %id, error = ?error, "a test message's bounce was not recorded");
                    failed.push(id.clone());
                }
            }
            Ok(ses::Parsed::Ignored(reason)) => {
                tracing::info!(message = %id, reason, "event ignored");
            }
            Err(problem) => {
                tracing::error!(message = %id, problem, "unreadable event message");
                failed.push(id.clone());
            }
        }
    }
    match record(app, events).await {
        Ok(recorded) => {
            tracing::info!(
                new = recorded.new,
                duplicates = recorded.duplicates,
                unattributed = recorded.unattributed,
                "events recorded"
            );
        }
        Err(error) => {
            tracing::error!(error = ?error, "recording events failed: the batch comes back");
            failed.extend(readable);
        }
    }
    failed
}
