//! `campaign-dispatch`: one page of a campaign's recipients per message, each given its send row
//! and queued in batches; a continuation message carries the rest.
//!
//! An A/B campaign's recipients each get the variant of their cohort (`ab::assign`), a pure
//! function of (campaign, contact): a replay, a resume or a late page gives everyone the same
//! variant again. Under a test-then-winner test, the contacts held for the winner are skipped
//! until the test is decided; the decision queues a pass over them alone (`rest_only`), and
//! only a pass that leaves nobody held marks the campaign dispatched.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;

use super::best_time;
use super::gate::{self, lawful, reachable};
use super::lifecycle::complete_if_done;
use super::messages::{DispatchMessage, SendBatch, enqueue_batches, enqueue_dispatch};
use crate::ab::assign::{Cohort, cohort};
use crate::domain::{CampaignStatus, ConsentPolicy, Contact, VariantIndex};
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
    /// Recipients held for the winner of the campaign's test.
    pub held: usize,
    /// New rows of recipients the team's consent policy leaves out.
    pub skipped: usize,
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
    if let Some(slot) = message.slot {
        let batches = best_time::queue_slot(app, &campaign, message, slot).await?;
        return Ok(DispatchOutcome {
            batches,
            ..DispatchOutcome::default()
        });
    }
    // A best-time campaign whose rows all exist (resumed): its hours come so far, again.
    if let Some(window) = campaign.send_at_best_time
        && campaign.dispatched
    {
        best_time::resume(app, &campaign, window).await?;
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
    let policy = campaign
        .frozen
        .as_ref()
        .map_or(ConsentPolicy::NotRequired, gate::policy);
    let (reachable, no_basis) = lawful(policy, reachable(app, &campaign, &page.items).await?);
    let chosen = campaign
        .ab_decision
        .as_ref()
        .map(|decision| decision.chosen);
    let mut outcome = DispatchOutcome::default();
    // Each recipient with the variant it gets now, and whether it is the winner's send.
    let mut recipients: Vec<(&Contact, Option<VariantIndex>, bool)> = Vec::new();
    for contact in reachable {
        match (
            cohort(campaign.id, contact.id, campaign.ab_test.as_ref()),
            chosen,
        ) {
            (Cohort::Everyone, _) if !message.rest_only => recipients.push((contact, None, false)),
            (Cohort::Test(variant), _) if !message.rest_only => {
                recipients.push((contact, Some(variant), false))
            }
            (Cohort::Rest, Some(winner)) => recipients.push((contact, Some(winner), true)),
            (Cohort::Rest, None) => outcome.held += 1,
            (Cohort::Everyone | Cohort::Test(_), _) => {}
        }
    }
    outcome.recipients = recipients.len();
    let now = Utc::now();
    // A best-time campaign's rows each carry their hour; only those whose hour has come are
    // queued now (the scheduler queues the others as their hours come).
    let slots = match campaign.send_at_best_time {
        Some(window) => {
            let contacts: Vec<&Contact> = recipients.iter().map(|(c, _, _)| *c).collect();
            let slots = best_time::slots(app, &campaign, window, &contacts).await?;
            Some((slots, best_time::current_slot(&campaign, window, now)))
        }
        None => None,
    };
    let slot_of = |contact: &Contact| {
        slots
            .as_ref()
            .and_then(|(s, _)| s.get(&contact.id).copied())
    };
    let row = |contact: &Contact| {
        Ok::<_, ApiError>(Send::pending(
            (campaign.artist_id, campaign.contact_role),
            campaign.id,
            contact.id,
            OptOutKeys::of(
                app,
                campaign.artist_id,
                campaign.contact_role,
                &contact.email,
            )?,
            now,
        ))
    };
    let rows: Vec<Send> = recipients
        .iter()
        .map(|(contact, variant, winner_send)| {
            Ok(row(contact)?
                .with_variant(*variant, *winner_send)
                .in_slot(slot_of(contact)))
        })
        .collect::<Result<_, ApiError>>()?;
    outcome.created = sends::create_many(app, &rows).await?;
    // The left-out get a row too, so each is counted once however often the page is replayed.
    let skipped: Vec<Send> = no_basis
        .iter()
        .map(|contact| Ok(row(contact)?.skipped()))
        .collect::<Result<_, ApiError>>()?;
    outcome.skipped = sends::create_many(app, &skipped).await?;
    // Every recipient is queued, new row or not: a replay re-queues rows a crash left unqueued,
    // and the sender skips those already taken. A batch carries one variant.
    let come = |contact: &Contact| match &slots {
        Some((_, now_slot)) => slot_of(contact).is_none_or(|slot| slot <= *now_slot),
        None => true,
    };
    let batches = SendBatch::of_variants(
        &campaign,
        recipients
            .iter()
            .filter(|(contact, _, _)| come(contact))
            .map(|(contact, variant, _)| (*variant, contact.id)),
    );
    outcome.batches = batches.len();
    enqueue_batches(app, &batches).await?;
    let counters: Vec<(&'static str, u64)> = [
        ("recipient_count", outcome.created),
        ("skipped_no_basis", outcome.skipped),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(name, n)| (name, n as u64))
    .collect();
    if !counters.is_empty() {
        store::add_counters(app, campaign.artist_id, campaign.id, &counters, vec![]).await?;
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
        // Some are held for a test's winner: the decision's pass marks the campaign dispatched.
        None if campaign.awaits_winner() => {}
        None => {
            let updated = store::add_counters(
                app,
                campaign.artist_id,
                campaign.id,
                &[],
                vec![("dispatched", AttributeValue::Bool(true))],
            )
            .await?;
            if let Some(window) = campaign.send_at_best_time {
                best_time::passed(app, &campaign, window).await?;
            }
            if let Some(updated) = updated {
                complete_if_done(app, &updated).await?;
            }
        }
    }
    Ok(outcome)
}
