//! The sending pipeline's queue consumers: `campaign-dispatch` and `email-send`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use mailing::App;
use mailing::sending::{self, DispatchMessage, SendBatch};
use serde::de::DeserializeOwned;

fn parse<T: DeserializeOwned>(body: Option<&str>) -> Option<T> {
    serde_json::from_str(body?).ok()
}

/// `campaign-dispatch` (DispatchQueue): one page of recipients per message.
pub async fn dispatch(
    app: &App,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(message) = parse::<DispatchMessage>(record.body.as_deref()) else {
            // Retried, then parked in the dead-letter queue, whose alarm says so.
            tracing::warn!(message = %id, "unreadable dispatch message");
            response.add_failure(id);
            continue;
        };
        match sending::dispatch(app, &message).await {
            Ok(outcome) => tracing::info!(campaign = %message.campaign_id, ?outcome, "dispatched"),
            Err(error) => {
                tracing::error!(campaign = %message.campaign_id, error = format!("{error:#}"), "dispatch failed");
                response.add_failure(id);
            }
        }
    }
    Ok(response)
}

/// `email-send` (SendQueue): a batch of recipients per message. A batch SES throttled comes
/// back as a new, delayed message (`requeue_later`), so a long throttle never uses up the
/// queue's receive limit; only when that cannot be queued does the message itself come back
/// (partial batch failure).
pub async fn send(
    app: &App,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(batch) = parse::<SendBatch>(record.body.as_deref()) else {
            tracing::warn!(message = %id, "unreadable send batch");
            response.add_failure(id);
            continue;
        };
        match sending::send_batch(app, &batch).await {
            Ok(outcome) => {
                tracing::info!(campaign = %batch.campaign_id, ?outcome, "batch sent");
                if outcome.retry
                    && let Err(error) = sending::requeue_later(app, &batch).await
                {
                    tracing::error!(campaign = %batch.campaign_id, error = format!("{error:#}"), "throttled batch not requeued");
                    response.add_failure(id);
                }
            }
            Err(error) => {
                tracing::error!(campaign = %batch.campaign_id, error = format!("{error:#}"), "send batch failed");
                response.add_failure(id);
            }
        }
    }
    Ok(response)
}

/// `campaign-scheduler` (EventBridge, every minute): starts the campaigns that are due and
/// decides the A/B tests that have ended, and queues the hours come of best-time campaigns.
pub async fn schedule_tick(
    app: &App,
    _event: LambdaEvent<aws_lambda_events::event::eventbridge::EventBridgeEvent>,
) -> Result<(), lambda_runtime::Error> {
    // Due by now, whenever EventBridge fired: a late tick catches up.
    let now = chrono::Utc::now();
    let started = sending::start_due(app, now).await?;
    let decided = sending::decide_due(app, now).await?;
    tracing::info!(
        started,
        decided,
        "scheduled campaigns started, A/B tests decided"
    );
    Ok(())
}
