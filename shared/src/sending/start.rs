//! `campaigns-send`: check a campaign can go, set it sending, queue its dispatch.

use chrono::Utc;
use serde_json::json;

use super::messages::{DispatchMessage, enqueue_dispatch};
use crate::audit::{AuditAction, AuditRecord};
use crate::auth::Caller;
use crate::campaigns::{self, ResolvedContent};
use crate::domain::{
    ArtistId, Campaign, CampaignId, CampaignStatus, Contact, ContactStatus, UserId,
};
use crate::render::checks::Severity;
use crate::render::{
    ArtistVars, CampaignVars, ContactVars, Mailbox, MessageIds, PreviewInput, SenderVars, Shared,
    TokenSigner, preview,
};
use crate::store::team_list::{self, TeamQuery, Teams};
use crate::store::{campaigns as store, suppression, templates as template_store};
use crate::{ApiError, App, sender_domains};

/// Contacts read looking for a first recipient before saying there is none.
const SAMPLE_SEARCH_PAGES: usize = 5;

/// The checks a campaign passes before it may go (now or at its scheduled time): content that
/// compiles and passes the blocking checks on a real recipient, a verified sender domain.
async fn check_ready(app: &App, caller: &Caller, campaign: &Campaign) -> Result<(), ApiError> {
    let resolved = campaigns::resolve_content(
        app,
        Some(caller),
        campaign.artist_id,
        campaign.contact_role,
        &campaign.content,
    )
    .await?;
    sender_domains::require_verified(app, campaign.artist_id, &campaign.sender.from_email).await?;
    let sample = first_recipient(app, campaign)
        .await?
        .ok_or_else(|| ApiError::Unprocessable {
            code: "no_recipients",
            message: "no active, reachable contact of the team matches the campaign's recipients"
                .into(),
            details: json!({}),
        })?;
    check_content(app, campaign, &resolved, &sample).await
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

/// `send`: checks, sets the campaign sending, queues its dispatch.
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
    check_ready(app, caller, &campaign).await?;
    begin(
        app,
        &campaign,
        &caller.user,
        AuditAction::CampaignSendStarted,
    )
    .await?
    .ok_or_else(moved_meanwhile)
}

/// Moves `campaign` (draft, scheduled or paused) to sending and queues a dispatch from the
/// start; `None` when its status changed meanwhile. If the dispatch cannot be queued, the
/// campaign goes back to where it was.
pub(super) async fn begin(
    app: &App,
    campaign: &Campaign,
    actor: &UserId,
    action: AuditAction,
) -> Result<Option<Campaign>, ApiError> {
    let mut set = vec![];
    if campaign.sent_at.is_none() {
        set.push((
            "sent_at",
            aws_sdk_dynamodb::types::AttributeValue::S(Utc::now().to_rfc3339()),
        ));
    }
    let Some(moved) = store::move_status(
        app,
        campaign.artist_id,
        campaign.id,
        (campaign.status, CampaignStatus::Sending),
        set,
        audit(campaign, actor, action),
    )
    .await?
    else {
        return Ok(None);
    };
    let message = DispatchMessage {
        artist_id: campaign.artist_id,
        campaign_id: campaign.id,
        after: None,
    };
    if let Err(error) = enqueue_dispatch(app, &message).await {
        let back = if campaign.status == CampaignStatus::Scheduled {
            campaign
                .scheduled_at
                .map(|at| store::due_fields(at, campaign.id))
                .unwrap_or_default()
        } else {
            vec![]
        };
        store::move_status(
            app,
            campaign.artist_id,
            campaign.id,
            (CampaignStatus::Sending, campaign.status),
            back,
            audit(campaign, actor, AuditAction::CampaignSendAborted),
        )
        .await?;
        return Err(error);
    }
    tracing::info!(artist = %campaign.artist_id, campaign = %campaign.id, "campaign sending");
    Ok(Some(moved))
}

/// `schedule`: checks now, sends at `at` (the scheduler picks it up within a minute).
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
    check_ready(app, caller, &campaign).await?;
    store::move_status(
        app,
        artist,
        id,
        (campaign.status, CampaignStatus::Scheduled),
        store::due_fields(at, id),
        audit(&campaign, &caller.user, AuditAction::CampaignScheduled),
    )
    .await?
    .ok_or_else(moved_meanwhile)
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
        artist,
        id,
        (CampaignStatus::Sending, CampaignStatus::Paused),
        vec![(
            "status_reason",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "paused by {}",
                caller.user.as_str()
            )),
        )],
        audit(&campaign, &caller.user, AuditAction::CampaignPaused),
    )
    .await?
    .ok_or_else(moved_meanwhile)
}

/// `resume`: sending again to whoever has not been sent to.
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
    begin(app, &campaign, &caller.user, AuditAction::CampaignResumed)
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
        artist,
        id,
        (campaign.status, CampaignStatus::Cancelled),
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

/// `campaign-scheduler`: every due campaign starts, once (the move is conditional on its being
/// scheduled). Answers how many started.
pub async fn start_due(app: &App, now: chrono::DateTime<Utc>) -> Result<usize, ApiError> {
    let mut started = 0;
    for campaign in store::due(app, now, 100).await? {
        let actor = UserId::new(super::complete::SERVICE_ACTOR);
        if begin(app, &campaign, &actor, AuditAction::CampaignSendStarted)
            .await?
            .is_some()
        {
            started += 1;
        }
    }
    Ok(started)
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

/// The first active, unsuppressed contact the campaign would reach: the sample its content is
/// checked on.
pub(super) async fn first_recipient(
    app: &App,
    campaign: &Campaign,
) -> Result<Option<Contact>, ApiError> {
    let mut after = None;
    for _ in 0..SAMPLE_SEARCH_PAGES {
        let page = team_list::list::<Contact>(
            app,
            &TeamQuery {
                table: &app.config.contacts_table,
                sk_prefix: "CONTACT#",
                artist: campaign.artist_id,
                teams: Teams::One(campaign.contact_role),
                equals: vec![("status", ContactStatus::Active.as_str().to_owned())],
                contains: Vec::new(),
                limit: 100,
                after,
            },
        )
        .await?;
        let matching: Vec<&Contact> = page
            .items
            .iter()
            .filter(|c| campaign.recipients.matches(c))
            .collect();
        let emails: Vec<_> = matching.iter().map(|c| &c.email).collect();
        let suppressed = suppression::suppressed(app, campaign.artist_id, &emails).await?;
        if let Some(found) = matching
            .into_iter()
            .find(|c| !suppressed.contains(c.email.normalized()))
        {
            return Ok(Some(found.clone()));
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The values a campaign's messages share.
pub(super) fn shared(campaign: &Campaign) -> Shared {
    Shared {
        artist: ArtistVars {
            name: Some(campaign.sender.from_name.clone()),
            postal_address: None,
        },
        campaign: CampaignVars {
            name: Some(campaign.name.clone()),
            subject: campaign.content.subject.clone(),
        },
        sender: SenderVars {
            name: Some(campaign.sender.from_name.clone()),
            email: Some(campaign.sender.from_email.ascii().to_owned()),
        },
    }
}

/// The signature of whoever created the campaign, for its team, when the template takes one.
pub(super) async fn signature(
    app: &App,
    campaign: &Campaign,
    resolved: &ResolvedContent,
) -> Result<Option<String>, ApiError> {
    if !resolved.append_signature {
        return Ok(None);
    }
    Ok(template_store::get_signature(
        app,
        campaign.artist_id,
        campaign.contact_role,
        &campaign.created_by,
    )
    .await?
    .map(|signature| signature.html))
}

/// The content checks of #4 on the sample: errors stop the send, with every warning shown.
pub(super) async fn check_content(
    app: &App,
    campaign: &Campaign,
    resolved: &ResolvedContent,
    sample: &Contact,
) -> Result<(), ApiError> {
    let signature = signature(app, campaign, resolved).await?;
    let shared = shared(campaign);
    let contact = ContactVars::from_contact(sample.email.as_str(), &sample.fields);
    let signer = TokenSigner::new(&app.config.signing_key);
    let shown = preview(&PreviewInput {
        role: campaign.contact_role,
        source: resolved.source(),
        signature: signature.as_deref(),
        shared: &shared,
        contact: &contact,
        to: Mailbox {
            name: None,
            address: sample.email.ascii(),
        },
        from: Mailbox {
            name: Some(&campaign.sender.from_name),
            address: campaign.sender.from_email.ascii(),
        },
        reply_domain: &app.config.reply_domain,
        ids: MessageIds {
            artist: campaign.artist_id,
            role: campaign.contact_role,
            campaign: Some(campaign.id.as_uuid()),
            contact: None,
            send: uuid::Uuid::now_v7(),
        },
        base_url: &app.config.public_base_url,
        signer: &signer,
    })
    .map_err(|error| match error {
        crate::render::PreviewError::Template(problems) => {
            crate::templates::invalid_template(problems)
        }
        crate::render::PreviewError::Render(error) => ApiError::Unprocessable {
            code: "template_render_failed",
            message: format!("the campaign does not render for its first recipient: {error}"),
            details: json!({}),
        },
    })?;
    if shown.warnings.iter().any(|w| w.severity == Severity::Error) {
        return Err(ApiError::Unprocessable {
            code: "content_check_failed",
            message: "the content fails a check that blocks sending; see details.warnings".into(),
            details: json!({ "warnings": shown.warnings }),
        });
    }
    Ok(())
}
