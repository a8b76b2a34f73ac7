//! `campaign-dispatch`: one page of a campaign's recipients per message, each given its send row
//! and queued in batches; a continuation message carries the rest.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::gate::reachable;
use super::lifecycle::complete_if_done;
use super::messages::{DispatchMessage, SendBatch, enqueue_batches, enqueue_dispatch};
use crate::domain::CampaignStatus;
use crate::store::campaigns as store;
use crate::store::contacts as contact_store;
use crate::store::sends::{self, Send};
use crate::store::suppression::OptOutKeys;
use crate::{ApiError, App};

/// Contacts read per dispatch message.
pub const PAGE: usize = 500;

/// What one dispatch message did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchOutcome {
    pub recipients: usize,
    pub created: usize,
    pub batches: usize,
    pub continued: bool,
}

pub async fn dispatch(app: &App, message: &DispatchMessage) -> Result<DispatchOutcome, ApiError> {
    let Some(campaign) = store::get(app, message.artist_id, message.campaign_id).await? else {
        return Ok(DispatchOutcome::default());
    };
    // Paused or cancelled: nothing more is queued (resuming dispatches again from the start,
    // which skips every row that exists).
    if campaign.status != CampaignStatus::Sending {
        return Ok(DispatchOutcome::default());
    }
    let page = contact_store::active_of_team(
        app,
        campaign.artist_id,
        campaign.contact_role,
        PAGE,
        message.after.clone(),
    )
    .await?;
    let recipients = reachable(app, &campaign, &page.items).await?;
    let mut outcome = DispatchOutcome {
        recipients: recipients.len(),
        ..DispatchOutcome::default()
    };
    let now = Utc::now();
    let rows: Vec<Send> = recipients
        .iter()
        .map(|contact| {
            Send::pending(
                (campaign.artist_id, campaign.contact_role),
                campaign.id,
                contact.id,
                OptOutKeys::of(
                    app,
                    campaign.artist_id,
                    campaign.contact_role,
                    &contact.email,
                ),
                now,
            )
        })
        .collect();
    outcome.created = sends::create_many(app, &rows).await?;
    // Every recipient is queued, new row or not: a replay re-queues rows a crash left unqueued,
    // and the sender skips those already taken.
    let batches: Vec<SendBatch> = recipients
        .chunks(SendBatch::RECIPIENTS)
        .map(|chunk| SendBatch {
            artist_id: campaign.artist_id,
            campaign_id: campaign.id,
            contacts: chunk.iter().map(|c| c.id).collect(),
            attempt: 0,
        })
        .collect();
    outcome.batches = batches.len();
    enqueue_batches(app, &batches).await?;
    if outcome.created > 0 {
        store::add_counters(
            app,
            campaign.artist_id,
            campaign.id,
            &[("recipient_count", outcome.created as u64)],
            vec![],
        )
        .await?;
    }
    match page.next {
        Some(after) => {
            enqueue_dispatch(
                app,
                &DispatchMessage {
                    after: Some(after),
                    ..message.clone()
                },
            )
            .await?;
            outcome.continued = true;
        }
        None => {
            let updated = store::add_counters(
                app,
                campaign.artist_id,
                campaign.id,
                &[],
                vec![("dispatched", AttributeValue::Bool(true))],
            )
            .await?;
            if let Some(updated) = updated {
                complete_if_done(app, &updated).await?;
            }
        }
    }
    Ok(outcome)
}
