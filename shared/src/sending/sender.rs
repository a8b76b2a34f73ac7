//! `email-send`: for each recipient of a batch, claim the send row, render, hand the MIME to
//! SES with the configuration set and the message's tags, record the outcome; counters once
//! per batch.

use std::collections::HashMap;

use super::complete::{SERVICE_ACTOR, complete_if_done};
use super::deliver::{Answer, Compiled, Outgoing, compile, deliver};
use super::messages::SendBatch;
use crate::audit::AuditAction;
use crate::domain::{Campaign, CampaignStatus, Contact, ContactStatus, UserId};
use crate::render::{ContactVars, Mailbox, MessageIds};
use crate::store::{campaigns as store, contacts as contact_store, quota, sends, suppression};
use crate::{ApiError, App};

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub sent: usize,
    pub failed: usize,
    /// Rows another delivery had taken (or the campaign is paused or cancelled).
    pub skipped: usize,
    /// SES asked us to slow down or failed for now: the message must come back later.
    pub retry: bool,
}

pub async fn send_batch(app: &App, batch: &SendBatch) -> Result<BatchOutcome, ApiError> {
    let mut outcome = BatchOutcome::default();
    let campaign = match store::get(app, batch.artist_id, batch.campaign_id).await? {
        Some(campaign) if campaign.status == CampaignStatus::Sending => campaign,
        // Paused or cancelled: rows stay pending (resume queues them again).
        _ => {
            outcome.skipped = batch.contacts.len();
            return Ok(outcome);
        }
    };
    let Compiled {
        template,
        shared_context,
    } = compile(app, None, &campaign).await?;
    let contacts: HashMap<_, Contact> =
        contact_store::get_many(app, campaign.artist_id, &batch.contacts)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    // Suppressed since dispatch (a hard bounce, a complaint): checked again, once per batch.
    let emails: Vec<_> = contacts.values().map(|c| &c.email).collect();
    let suppressed = suppression::suppressed(app, &emails).await?;
    // The artist's daily quota, taken for the whole batch before any SES call; what is not
    // sent is given back after it.
    let today = chrono::Utc::now();
    let reserved = batch.contacts.len() as u64;
    if !quota::reserve(
        app,
        campaign.artist_id,
        today,
        reserved,
        app.config.daily_send_quota,
    )
    .await?
    {
        let reason = format!(
            "the artist's daily send quota ({}) is reached: resume the campaign tomorrow",
            app.config.daily_send_quota
        );
        pause(app, &campaign, &reason).await?;
        outcome.skipped = batch.contacts.len();
        return Ok(outcome);
    }
    for contact_id in &batch.contacts {
        let Some(send) = sends::claim(app, campaign.id, *contact_id).await? else {
            outcome.skipped += 1;
            continue;
        };
        let reachable = contacts.get(contact_id).filter(|c| {
            c.status == ContactStatus::Active && !suppressed.contains(c.email.normalized())
        });
        let Some(contact) = reachable else {
            sends::mark_failed(
                app,
                campaign.id,
                *contact_id,
                "the contact was removed, unsubscribed or suppressed before sending",
            )
            .await?;
            outcome.failed += 1;
            continue;
        };
        let vars = ContactVars::from_contact(contact.email.as_str(), &contact.fields);
        let answer = deliver(
            app,
            &Outgoing {
                template: &template,
                shared_context: &shared_context,
                contact: &vars,
                to: contact.email.ascii(),
                from: Mailbox {
                    name: Some(&campaign.sender.from_name),
                    address: campaign.sender.from_email.ascii(),
                },
                ids: MessageIds {
                    artist: campaign.artist_id,
                    role: campaign.contact_role,
                    campaign: Some(campaign.id.as_uuid()),
                    send: send.send_id,
                },
                test: false,
            },
        )
        .await;
        match answer {
            Answer::Accepted(message_id) => {
                sends::mark_sent(app, campaign.id, *contact_id, &message_id).await?;
                outcome.sent += 1;
            }
            Answer::Refused(reason) => {
                sends::mark_failed(app, campaign.id, *contact_id, &reason).await?;
                outcome.failed += 1;
            }
            Answer::Later(reason) => {
                tracing::warn!(campaign = %campaign.id, reason, "SES asks to retry later");
                sends::release(app, campaign.id, *contact_id).await?;
                outcome.retry = true;
                break;
            }
            Answer::Stop(reason) => {
                sends::release(app, campaign.id, *contact_id).await?;
                pause(app, &campaign, &reason).await?;
                break;
            }
        }
    }
    quota::give_back(
        app,
        campaign.artist_id,
        today,
        reserved - outcome.sent as u64,
    )
    .await?;
    let counted = store::add_counters(
        app,
        campaign.artist_id,
        campaign.id,
        &[
            ("success_count", outcome.sent as u64),
            ("failed_count", outcome.failed as u64),
        ],
        vec![],
    )
    .await?;
    if let Some(counted) = counted {
        complete_if_done(app, &counted).await?;
    }
    Ok(outcome)
}

/// Pauses the campaign with SES's reason: resuming it later sends to whoever is left.
async fn pause(app: &App, campaign: &Campaign, reason: &str) -> Result<(), ApiError> {
    tracing::error!(campaign = %campaign.id, reason, "SES cannot send: campaign paused");
    store::move_status(
        app,
        campaign.artist_id,
        campaign.id,
        (CampaignStatus::Sending, CampaignStatus::Paused),
        vec![(
            "status_reason",
            aws_sdk_dynamodb::types::AttributeValue::S(reason.to_owned()),
        )],
        super::start::audit(
            campaign,
            &UserId::new(SERVICE_ACTOR),
            AuditAction::CampaignPaused,
        ),
    )
    .await?;
    Ok(())
}
