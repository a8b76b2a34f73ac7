//! `POST /api/artists/{artistId}/contacts/{contactId}/emails`: one email to one contact, on the
//! campaign pipeline. It is recorded as a campaign of kind `individual` with its one send row,
//! written together, then queued as a send batch of one: the sender claims the row, renders,
//! tracks and counts exactly as for a campaign, and the campaign's id is the email's id.

use chrono::Utc;
use serde_json::json;

use super::gate;
use super::lifecycle::audit;
use super::messages::{SendBatch, enqueue_batches};
use crate::auth::Caller;
use crate::domain::{
    ArtistId, Campaign, CampaignContent, CampaignCounters, CampaignId, CampaignKind,
    CampaignStatus, ContactId, ContactStatus, Recipients, Sender,
};
use crate::domain::{AuditAction, AuditRecord};
use crate::store::campaigns::{self as store, Expect};
use crate::store::sends::{self, Send};
use crate::store::suppression::{self, OptOutKeys};
use crate::store::{self as stores, TransactOutcome};
use crate::{ApiError, App, contacts};

pub struct NewEmail {
    pub artist: ArtistId,
    pub contact: ContactId,
    /// `{{ campaign.name }}`; the subject when not given.
    pub name: Option<String>,
    pub content: CampaignContent,
    pub sender: Sender,
    pub track_opens: bool,
    pub track_clicks: bool,
}

/// Checks the contact can be written to and the content passes, then queues the email; answers
/// its record (status `sending`; `sent` once SES has it).
pub async fn send_email(app: &App, caller: &Caller, new: NewEmail) -> Result<Campaign, ApiError> {
    let contact = contacts::get(app, caller, new.artist, new.contact).await?;
    caller.require_team(new.artist, contact.contact_role)?;
    let unreachable = |why: &str| ApiError::Unprocessable {
        code: "contact_unreachable",
        message: format!("this contact cannot be emailed: {why}"),
        details: json!({ "status": contact.status.as_str() }),
    };
    match contact.status {
        ContactStatus::Active => {}
        ContactStatus::Unsubscribed => return Err(unreachable("they unsubscribed")),
        ContactStatus::Bounced => return Err(unreachable("their address bounced")),
        ContactStatus::Invalid => return Err(unreachable("their address is marked invalid")),
    }
    if !suppression::suppressed(
        app,
        contact.artist_id,
        contact.contact_role,
        &[&contact.email],
    )
    .await?
    .is_empty()
    {
        return Err(unreachable(
            "the address is on the suppression list (an opt-out, a hard bounce or a complaint)",
        ));
    }
    let now = Utc::now();
    let email = Campaign {
        id: CampaignId::new(),
        artist_id: new.artist,
        contact_role: contact.contact_role,
        kind: CampaignKind::Individual,
        name: new
            .name
            .or_else(|| new.content.subject.clone())
            .unwrap_or_default(),
        content: new.content,
        recipients: Recipients::default(),
        sender: new.sender,
        track_opens: new.track_opens,
        track_clicks: new.track_clicks,
        utm_campaign: None,
        ab_test: None,
        cost: None,
        send_at_best_time: None,
        slots_queued: None,
        test_ends_at: None,
        ab_decision: None,
        frozen: None,
        status: CampaignStatus::Draft,
        status_reason: None,
        scheduled_at: None,
        sent_at: Some(now),
        dispatched: true,
        counters: CampaignCounters {
            recipient_count: 1,
            ..CampaignCounters::default()
        },
        created_by: caller.user.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    // The gate every start passes, for this one contact; what it froze is what goes out.
    let frozen = gate::ready(
        app,
        Some(caller),
        &email,
        Some(gate::Sample::Contact(&contact)),
    )
    .await?;
    let email = Campaign {
        frozen: Some(frozen),
        status: CampaignStatus::Sending,
        ..email
    };
    let send = Send::pending(
        (email.artist_id, email.contact_role),
        email.id,
        contact.id,
        OptOutKeys::of(app, email.artist_id, email.contact_role, &contact.email)?,
        now,
    );
    let record = AuditRecord::new(
        email.artist_id,
        &caller.user,
        AuditAction::ContactEmailed,
        format!("contact#{}", contact.id),
        vec![],
        now,
    );
    let written = stores::transact(
        app,
        vec![
            store::put_new(app, &email)?,
            sends::put_new(app, &send)?,
            stores::audit::put(app, record)?,
        ],
    )
    .await?;
    if written != TransactOutcome::Written {
        return Err(ApiError::internal(anyhow::anyhow!(
            "a fresh email id was already taken"
        )));
    }
    let batch = SendBatch {
        variant: None,
        artist_id: email.artist_id,
        campaign_id: email.id,
        contacts: vec![contact.id],
        attempt: 0,
    };
    if let Err(error) = enqueue_batches(app, &[batch]).await {
        // Not queued: nothing will send it, so it says so rather than stay `sending`.
        store::move_status(
            app,
            &email,
            Expect::Status,
            CampaignStatus::Cancelled,
            vec![(
                "status_reason",
                aws_sdk_dynamodb::types::AttributeValue::S("could not be queued".into()),
            )],
            audit(&email, &caller.user, AuditAction::CampaignCancelled),
        )
        .await?;
        return Err(error);
    }
    tracing::info!(artist = %email.artist_id, email = %email.id, contact = %contact.id, "individual email queued");
    Ok(email)
}
