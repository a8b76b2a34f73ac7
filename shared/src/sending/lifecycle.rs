//! A campaign's life: start (send now, or the scheduler at the due time), schedule, pause,
//! resume, complete, cancel. Every move goes through `store::campaigns::move_status`, which
//! refuses any move [`CampaignStatus::can_move_to`] does not allow and writes it conditionally,
//! with its audit record.
//!
//! A start passes the gate (`gate::ready`) and writes the frozen content with a condition on
//! the version that was checked. If the dispatch cannot then be queued, the campaign pauses
//! with the reason (a legal move): resuming it passes the gate and queues again.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use serde_json::json;

use super::gate;
use super::messages::{DispatchMessage, enqueue_dispatch};
use crate::auth::Caller;
use crate::domain::{AbMode, ArtistId, Campaign, CampaignId, CampaignStatus, UserId};
use crate::domain::{AuditAction, AuditRecord};
use crate::store::campaigns::{self as store, Expect};
use crate::{ApiError, App, campaigns};

/// Who the service's own moves are recorded as.
pub const SERVICE_ACTOR: &str = "artisthub-mailing";

pub(super) fn service() -> UserId {
    UserId::new(SERVICE_ACTOR)
}

/// A campaign of the caller's team that may make the move to `to`, else the 409 saying why.
async fn movable(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
    to: CampaignStatus,
    refusal: (&'static str, &str),
) -> Result<Campaign, ApiError> {
    let campaign = campaigns::get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    if !campaign.status.can_move_to(to) {
        return Err(campaigns::status_conflict(refusal.0, &campaign, refusal.1));
    }
    Ok(campaign)
}

fn moved_meanwhile() -> ApiError {
    ApiError::Conflict {
        code: "concurrent_change",
        message: "the campaign was sent or changed meanwhile; read it again".into(),
        details: json!({}),
    }
}

/// `send`: through the gate, then sending.
pub async fn start(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let campaign = movable(
        app,
        caller,
        artist,
        id,
        CampaignStatus::Sending,
        (
            "campaign_not_sendable",
            "only draft and scheduled campaigns can be sent (a paused one is resumed)",
        ),
    )
    .await?;
    if campaign.status == CampaignStatus::Paused {
        return Err(campaigns::status_conflict(
            "campaign_not_sendable",
            &campaign,
            "a paused campaign is resumed, not sent again",
        ));
    }
    begin(
        app,
        Some(caller),
        &campaign,
        AuditAction::CampaignSendStarted,
    )
    .await?
    .ok_or_else(moved_meanwhile)
}

/// Through the gate, then sending: moves `campaign` (draft, scheduled or paused) to sending at
/// the version the gate checked, with what the gate froze, and queues a dispatch from the
/// start; `None` when it changed meanwhile. `caller` is `None` for the scheduler.
async fn begin(
    app: &App,
    caller: Option<&Caller>,
    campaign: &Campaign,
    action: AuditAction,
) -> Result<Option<Campaign>, ApiError> {
    let frozen = gate::ready(app, caller, campaign, None).await?;
    let actor = caller.map_or_else(service, |caller| caller.user.clone());
    let now = Utc::now();
    let mut set = vec![("frozen", serde_dynamo::to_attribute_value(&frozen)?)];
    if campaign.sent_at.is_none() {
        set.push(("sent_at", AttributeValue::S(now.to_rfc3339())));
    }
    // A test-then-winner test ends its duration after the first start (a pause does not
    // stretch it); until decided, the campaign is due for the scheduler's decision then.
    if campaign.awaits_winner()
        && let Some(AbMode::TestThenWinner { test_hours, .. }) =
            campaign.ab_test.as_ref().map(|test| &test.mode)
    {
        let ends = campaign
            .test_ends_at
            .unwrap_or(now + chrono::Duration::hours(i64::from(*test_hours)));
        set.extend(store::test_due_fields(ends, campaign.id));
    }
    let Some(moved) = store::move_status(
        app,
        campaign,
        Expect::Version,
        CampaignStatus::Sending,
        set,
        audit(campaign, &actor, action),
    )
    .await?
    else {
        return Ok(None);
    };
    let message = DispatchMessage {
        artist_id: campaign.artist_id,
        campaign_id: campaign.id,
        after: None,
        rest_only: false,
        slot: None,
    };
    if let Err(error) = enqueue_dispatch(app, &message).await {
        tracing::error!(campaign = %campaign.id, error = format!("{error:#}"), "dispatch not queued");
        pause_with_reason(
            app,
            &moved,
            "the dispatch could not be queued: resume the campaign to try again",
        )
        .await?;
        return Err(error);
    }
    tracing::info!(artist = %campaign.artist_id, campaign = %campaign.id, "campaign sending");
    Ok(Some(moved))
}

/// `schedule`: through the gate now (the caller learns at once what is wrong), and again at
/// `at`, when the scheduler starts it.
pub async fn schedule(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
    at: chrono::DateTime<Utc>,
) -> Result<Campaign, ApiError> {
    let campaign = movable(
        app,
        caller,
        artist,
        id,
        CampaignStatus::Scheduled,
        (
            "campaign_not_schedulable",
            "only draft and scheduled campaigns can be scheduled",
        ),
    )
    .await?;
    gate::ready(app, Some(caller), &campaign, None).await?;
    store::move_status(
        app,
        &campaign,
        Expect::Version,
        CampaignStatus::Scheduled,
        store::due_fields(at, id),
        audit(&campaign, &caller.user, AuditAction::CampaignScheduled),
    )
    .await?
    .ok_or_else(moved_meanwhile)
}

/// `campaign-scheduler`: every due campaign passes the gate as it is now and starts, once (the
/// start is conditional on the version checked). One that fails the gate becomes a draft again
/// with the reason; one that meets an outage stays due for the next tick. Answers how many
/// started.
pub async fn start_due(app: &App, now: chrono::DateTime<Utc>) -> Result<usize, ApiError> {
    let mut started = 0;
    for campaign in store::due(app, store::Due::Start, now, 100).await? {
        match begin(app, None, &campaign, AuditAction::CampaignSendStarted).await {
            Ok(moved) => started += usize::from(moved.is_some()),
            Err(refusal) if refusal.status() < 500 => {
                tracing::warn!(campaign = %campaign.id, code = refusal.code(), "scheduled campaign refused at its time");
                let reason = format!("not started at its scheduled time: {refusal}");
                store::move_status(
                    app,
                    &campaign,
                    Expect::Version,
                    CampaignStatus::Draft,
                    vec![("status_reason", AttributeValue::S(reason))],
                    audit(&campaign, &service(), AuditAction::CampaignStartRefused),
                )
                .await?;
            }
            Err(outage) => {
                tracing::error!(campaign = %campaign.id, error = format!("{outage:#}"), "scheduled campaign not started; next tick retries");
            }
        }
    }
    Ok(started)
}

/// `pause`: no SES call is made for the campaign after the batch in flight.
pub async fn pause(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let campaign = movable(
        app,
        caller,
        artist,
        id,
        CampaignStatus::Paused,
        (
            "campaign_not_pausable",
            "only a sending campaign can be paused",
        ),
    )
    .await?;
    store::move_status(
        app,
        &campaign,
        Expect::Status,
        CampaignStatus::Paused,
        vec![(
            "status_reason",
            AttributeValue::S(format!("paused by {}", caller.user.as_str())),
        )],
        audit(&campaign, &caller.user, AuditAction::CampaignPaused),
    )
    .await?
    .ok_or_else(moved_meanwhile)
}

/// Pauses a sending campaign with the reason (SES refusing, a guardrail, the sender's domain
/// no longer proven): resuming it later sends to whoever is left.
pub async fn pause_with_reason(
    app: &App,
    campaign: &Campaign,
    reason: &str,
) -> Result<(), ApiError> {
    tracing::error!(campaign = %campaign.id, reason, "campaign paused by the service");
    store::move_status(
        app,
        campaign,
        Expect::Status,
        CampaignStatus::Paused,
        vec![("status_reason", AttributeValue::S(reason.to_owned()))],
        audit(campaign, &service(), AuditAction::CampaignPaused),
    )
    .await?;
    Ok(())
}

/// `resume`: through the gate again (with the content frozen at the start), then sending to
/// whoever has not been sent to.
pub async fn resume(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let campaign = campaigns::get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    if campaign.status != CampaignStatus::Paused {
        return Err(campaigns::status_conflict(
            "campaign_not_paused",
            &campaign,
            "only a paused campaign can be resumed",
        ));
    }
    begin(app, Some(caller), &campaign, AuditAction::CampaignResumed)
        .await?
        .ok_or_else(moved_meanwhile)
}

/// `cancel`: nobody else is sent to; answers the campaign and how many were left unsent.
pub async fn cancel(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<(Campaign, u64), ApiError> {
    let campaign = movable(
        app,
        caller,
        artist,
        id,
        CampaignStatus::Cancelled,
        (
            "campaign_not_cancellable",
            "a sent campaign cannot be cancelled",
        ),
    )
    .await?;
    let moved = store::move_status(
        app,
        &campaign,
        Expect::Status,
        CampaignStatus::Cancelled,
        vec![],
        audit(&campaign, &caller.user, AuditAction::CampaignCancelled),
    )
    .await?
    .ok_or_else(moved_meanwhile)?;
    let counters = moved.counters;
    let unsent = counters
        .recipient_count
        .saturating_sub(counters.success_count + counters.failed_count);
    Ok((moved, unsent))
}

/// A campaign is sent once every recipient is dispatched and has an outcome.
pub async fn complete_if_done(app: &App, campaign: &Campaign) -> Result<(), ApiError> {
    let done = campaign.counters.success_count + campaign.counters.failed_count;
    if campaign.status != CampaignStatus::Sending
        || !campaign.dispatched
        || done < campaign.counters.recipient_count
    {
        return Ok(());
    }
    // Conditional on still sending: two senders finishing together move it once.
    let moved = store::move_status(
        app,
        campaign,
        Expect::Status,
        CampaignStatus::Sent,
        vec![],
        audit(campaign, &service(), AuditAction::CampaignSent),
    )
    .await?;
    if moved.is_some() {
        tracing::info!(artist = %campaign.artist_id, campaign = %campaign.id, recipients = campaign.counters.recipient_count, "campaign sent");
    }
    Ok(())
}

pub(super) fn audit(campaign: &Campaign, actor: &UserId, action: AuditAction) -> AuditRecord {
    AuditRecord::new(
        campaign.artist_id,
        actor,
        action,
        format!("campaign#{}", campaign.id),
        vec!["status".into()],
        Utc::now(),
    )
}
