//! What travels on the dispatch and send queues: ids only.

use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::{ArtistId, CampaignId, ContactId, VariantIndex};
use crate::{ApiError, App};

/// Dispatch a campaign's recipients from `after` (the start when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchMessage {
    pub artist_id: ArtistId,
    pub campaign_id: CampaignId,
    #[serde(default)]
    pub after: Option<Position>,
    /// Only the contacts held for a test's winner (the pass queued when the test is decided).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rest_only: bool,
    /// Only the rows of this hour of a best-time campaign's window (read from the index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<u16>,
}

/// Send the campaign to these contacts (each has its send row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBatch {
    pub artist_id: ArtistId,
    pub campaign_id: CampaignId,
    pub contacts: Vec<ContactId>,
    /// The A/B variant these contacts get (the dispatcher groups batches by variant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantIndex>,
    /// How many times SES asked this batch to come back later.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SendBatch {
    /// Recipients per message: one invocation sends a message's worth within its timeout.
    pub const RECIPIENTS: usize = 50;

    /// `campaign`'s batches for these recipients, each batch of one variant.
    pub fn of_variants(
        campaign: &crate::domain::Campaign,
        recipients: impl IntoIterator<Item = (Option<VariantIndex>, ContactId)>,
    ) -> Vec<SendBatch> {
        let mut by_variant: std::collections::BTreeMap<Option<VariantIndex>, Vec<ContactId>> =
            std::collections::BTreeMap::new();
        for (variant, contact) in recipients {
            by_variant.entry(variant).or_default().push(contact);
        }
        by_variant
            .into_iter()
            .flat_map(|(variant, contacts)| {
                contacts
                    .chunks(Self::RECIPIENTS)
                    .map(|chunk| SendBatch {
                        artist_id: campaign.artist_id,
                        campaign_id: campaign.id,
                        contacts: chunk.to_vec(),
                        variant,
                        attempt: 0,
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// How long the next attempt waits: doubling from 10 s, capped at SQS's 15 minutes.
    pub fn backoff_seconds(attempt: u32) -> i32 {
        (10i32 << attempt.min(7)).min(900)
    }
}

/// Puts a batch SES throttled back on the queue as a new message, delayed by its backoff: the
/// retry never counts against the queue's receive limit, so however long a throttle lasts, the
/// batch is never dead-lettered for it (the original message is then acknowledged).
pub async fn requeue_later(app: &App, batch: &SendBatch) -> Result<(), ApiError> {
    let next = SendBatch {
        attempt: batch.attempt + 1,
        ..batch.clone()
    };
    app.aws
        .sqs
        .send_message()
        .queue_url(&app.config.send_queue_url)
        .message_body(serde_json::to_string(&next).map_err(ApiError::internal)?)
        .delay_seconds(SendBatch::backoff_seconds(batch.attempt))
        .send()
        .await
        .map_err(|e| {
            ApiError::internal(anyhow::Error::new(e).context("requeueing a throttled batch"))
        })?;
    Ok(())
}

pub async fn enqueue_dispatch(app: &App, message: &DispatchMessage) -> Result<(), ApiError> {
    app.aws
        .sqs
        .send_message()
        .queue_url(&app.config.dispatch_queue_url)
        .message_body(serde_json::to_string(message).map_err(ApiError::internal)?)
        .send()
        .await
        .map_err(|e| ApiError::internal(anyhow::Error::new(e).context("queueing a dispatch")))?;
    Ok(())
}

/// Queues the batches ten per SendMessageBatch call. Entries SQS refuses are retried once, then
/// reported: the dispatch message is then retried whole, which is harmless (rows exist).
pub async fn enqueue_batches(app: &App, batches: &[SendBatch]) -> Result<usize, ApiError> {
    let mut calls = 0;
    for chunk in batches.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, batch)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(serde_json::to_string(batch).unwrap_or_default())
                    .build()
                    .map_err(ApiError::internal)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = app
            .aws
            .sqs
            .send_message_batch()
            .queue_url(&app.config.send_queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| ApiError::internal(anyhow::Error::new(e).context("queueing sends")))?;
        calls += 1;
        if !output.failed.is_empty() {
            return Err(ApiError::internal(anyhow::anyhow!(
                "SQS refused {} of {} send batches",
                output.failed.len(),
                chunk.len()
            )));
        }
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_batch_waits_longer_each_time_up_to_fifteen_minutes() {
        let waits: Vec<i32> = (0..12).map(SendBatch::backoff_seconds).collect();
        assert_eq!(&waits[..7], &[10, 20, 40, 80, 160, 320, 640]);
        assert!(waits[7..].iter().all(|w| *w == 900), "{waits:?}");
        assert_eq!(SendBatch::backoff_seconds(u32::MAX), 900);
    }
}
