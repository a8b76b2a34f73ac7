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

pub async fn start(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
) -> Result<Campaign, ApiError> {
    let campaign = campaigns::get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    if !campaign.status.can_move_to(CampaignStatus::Sending)
        || campaign.status == CampaignStatus::Paused
    {
        return Err(campaigns::status_conflict(
            "campaign_not_sendable",
            &campaign,
            "only draft and scheduled campaigns can be sent (a paused one is resumed)",
        ));
    }
    let resolved = campaigns::resolve_content(
        app,
        Some(caller),
        artist,
        campaign.contact_role,
        &campaign.content,
    )
    .await?;
    sender_domains::require_verified(app, artist, &campaign.sender.from_email).await?;
    let sample = first_recipient(app, &campaign)
        .await?
        .ok_or_else(|| ApiError::Unprocessable {
            code: "no_recipients",
            message: "no active, reachable contact of the team matches the campaign's recipients"
                .into(),
            details: json!({}),
        })?;
    check_content(app, &campaign, &resolved, &sample).await?;
    let moved = store::move_status(
        app,
        artist,
        id,
        (campaign.status, CampaignStatus::Sending),
        vec![(
            "sent_at",
            aws_sdk_dynamodb::types::AttributeValue::S(Utc::now().to_rfc3339()),
        )],
        audit(&campaign, &caller.user, AuditAction::CampaignSendStarted),
    )
    .await?
    .ok_or_else(|| ApiError::Conflict {
        code: "concurrent_change",
        message: "the campaign was sent or changed meanwhile; read it again".into(),
        details: json!({}),
    })?;
    let message = DispatchMessage {
        artist_id: artist,
        campaign_id: id,
        after: None,
    };
    if let Err(error) = enqueue_dispatch(app, &message).await {
        // Nothing was queued: put the campaign back so that sending again works.
        store::move_status(
            app,
            artist,
            id,
            (CampaignStatus::Sending, campaign.status),
            vec![],
            audit(&campaign, &caller.user, AuditAction::CampaignSendAborted),
        )
        .await?;
        return Err(error);
    }
    tracing::info!(artist = %artist, campaign = %id, "campaign sending");
    Ok(moved)
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
async fn first_recipient(app: &App, campaign: &Campaign) -> Result<Option<Contact>, ApiError> {
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
        let suppressed = suppression::suppressed(app, &emails).await?;
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
async fn check_content(
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
