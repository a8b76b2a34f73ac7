//! `email-send`: claim the batch's send rows together, then for each recipient render and hand
//! the MIME to SES with the configuration set and the message's tags; record the outcomes
//! together, and the counters once per batch.
//!
//! Which side an ambiguous crash falls on: a row is claimed before its SES call and its
//! outcome recorded after, so a process that dies between them leaves rows `claimed`, and a
//! claimed row is never sent again. Its person gets the email at most once — possibly not at
//! all — rather than possibly twice: a second copy cannot be taken back, a missing one shows
//! (the campaign stays `sending` with rows in doubt). The time budget below keeps Lambda's
//! timeout from being such a crash.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::deliver::{Answer, Compiled, Outgoing, compile, deliver};
use super::lifecycle::{complete_if_done, pause_with_reason};
use super::messages::SendBatch;
use crate::domain::{CampaignStatus, Contact, ContactStatus};
use crate::render::{ContactVars, Mailbox, MessageIds};
use crate::store::quota::{self, Quota};
use crate::store::sends::{self, Outcome, Send};
use crate::store::{campaigns as store, contacts as contact_store, suppression};
use crate::{ApiError, App, sender_domains};

/// No SES call starts later than this into a batch: the function's timeout is 60 s, and what is
/// claimed but unsent must be released (and the batch retried) before Lambda stops us, or those
/// rows would stay claimed, never sent.
const TIME_BUDGET: Duration = Duration::from_secs(40);

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
    let started = Instant::now();
    let mut outcome = BatchOutcome::default();
    let campaign = match store::get(app, batch.artist_id, batch.campaign_id).await? {
        Some(campaign) if campaign.status == CampaignStatus::Sending => campaign,
        // Paused or cancelled: rows stay pending (resume queues them again).
        _ => {
            outcome.skipped = batch.contacts.len();
            return Ok(outcome);
        }
    };
    let mut wanted = batch.contacts.clone();
    wanted.sort_unstable();
    wanted.dedup();
    // Everything that can fail before SES is read before the claims: a claimed row must reach
    // its SES call or be released.
    let Compiled {
        template,
        shared_context,
        frozen,
        from_name,
    } = compile(app, &campaign, batch.variant)?;
    // The artist's claim on the sender's domain, once per batch: a claim withdrawn mid-campaign
    // stops it here, before any message goes out under that name.
    let provider =
        match sender_domains::require_claimed(app, campaign.artist_id, &frozen.sender.from_email)
            .await
        {
            Ok(claim) => claim.provider,
            Err(refusal) if refusal.status() >= 500 => return Err(refusal),
            Err(refusal) => {
                pause_with_reason(app, &campaign, &refusal.to_string()).await?;
                outcome.skipped = batch.contacts.len();
                return Ok(outcome);
            }
        };
    let contacts: HashMap<_, Contact> = contact_store::get_many(app, campaign.artist_id, &wanted)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    // Suppressed since dispatch (a hard bounce, a complaint): checked again, once per batch.
    let emails: Vec<_> = contacts.values().map(|c| &c.email).collect();
    let suppressed =
        suppression::suppressed(app, campaign.artist_id, campaign.contact_role, &emails).await?;
    let claimed = sends::claim(app, campaign.id, &wanted).await?;
    outcome.skipped = batch.contacts.len() - claimed.len();
    if claimed.is_empty() {
        return Ok(outcome);
    }
    // The artist's daily quota, taken for the whole batch before any SES call; what is not
    // sent is given back after it.
    let today = chrono::Utc::now();
    let reserved = claimed.len() as u64;
    let daily = Quota::Artist(campaign.artist_id);
    let within_quota =
        quota::reserve(app, &daily, today, reserved, app.config.daily_send_quota).await;
    if !matches!(within_quota, Ok(true)) {
        let released: Vec<_> = claimed.iter().map(|c| (*c, Outcome::Released)).collect();
        sends::record(app, campaign.id, &released).await?;
        within_quota?;
        let reason = format!(
            "the artist's daily send quota ({}) is reached: resume the campaign tomorrow",
            app.config.daily_send_quota
        );
        pause_with_reason(app, &campaign, &reason).await?;
        outcome.skipped = batch.contacts.len();
        return Ok(outcome);
    }
    let mut stop = None;
    let mut outcomes = Vec::with_capacity(claimed.len());
    for contact_id in claimed {
        if outcome.retry || stop.is_some() {
            outcomes.push((contact_id, Outcome::Released));
            continue;
        }
        if started.elapsed() > TIME_BUDGET {
            tracing::warn!(campaign = %campaign.id, "out of time: the rest of the batch comes back");
            outcome.retry = true;
            outcomes.push((contact_id, Outcome::Released));
            continue;
        }
        let reachable = contacts.get(&contact_id).filter(|c| {
            c.status == ContactStatus::Active && !suppressed.contains(c.email.normalized())
        });
        let Some(contact) = reachable else {
            outcomes.push((
                contact_id,
                Outcome::Failed(
                    "the contact was removed, unsubscribed or suppressed before sending".into(),
                ),
            ));
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
                    name: Some(from_name),
                    address: frozen.sender.from_email.ascii(),
                },
                ids: MessageIds {
                    artist: campaign.artist_id,
                    role: campaign.contact_role,
                    campaign: Some(campaign.id.as_uuid()),
                    contact: Some(contact_id),
                    send: Send::id_for(campaign.id, contact_id),
                },
                test: false,
                provider,
            },
        )
        .await;
        outcomes.push((
            contact_id,
            match answer {
                Answer::Accepted(message_id, links) => Outcome::Sent(message_id, links),
                Answer::Refused(reason) => Outcome::Failed(reason),
                Answer::Later(reason) => {
                    tracing::warn!(campaign = %campaign.id, reason, "the provider asks to retry later");
                    outcome.retry = true;
                    Outcome::Released
                }
                Answer::Stop(reason) => {
                    stop = Some(reason);
                    Outcome::Released
                }
            },
        ));
    }
    sends::record(app, campaign.id, &outcomes).await?;
    for (_, recorded) in &outcomes {
        match recorded {
            Outcome::Sent(..) => outcome.sent += 1,
            Outcome::Failed(_) => outcome.failed += 1,
            Outcome::Released => {}
        }
    }
    if let Some(reason) = stop {
        pause_with_reason(app, &campaign, &reason).await?;
    }
    if reserved > outcome.sent as u64 {
        quota::give_back(app, &daily, today, reserved - outcome.sent as u64).await?;
    }
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
