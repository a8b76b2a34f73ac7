//! `POST …/campaigns/{campaignId}/test`: the campaign as a recipient would get it, sent to a
//! few addresses the caller gives, marked as a test (subject prefix, `test` tag) and counted in
//! the artist's daily quota. Nothing about the campaign changes.

use serde::Serialize;
use serde_json::json;

use super::deliver::{Answer, Compiled, Outgoing, compile, deliver};
use super::start::first_recipient;
use crate::audit::{AuditAction, AuditRecord};
use crate::auth::Caller;
use crate::domain::{ArtistId, CampaignId, ContactFields, ContactId, EmailAddress};
use crate::render::{ContactVars, Mailbox, MessageIds};
use crate::store::{audit, contacts as contact_store, quota, transact};
use crate::{ApiError, App, campaigns, sender_domains};

/// Addresses one test may go to.
pub const MAX_TEST_RECIPIENTS: usize = 5;

pub struct TestRequest {
    /// Distinct, at most [`MAX_TEST_RECIPIENTS`].
    pub to: Vec<EmailAddress>,
    /// Whom to personalize for: one of the team's contacts; else the campaign's first
    /// recipient; else nobody (empty names).
    pub contact: Option<ContactId>,
}

#[derive(Debug, Serialize)]
pub struct TestResult {
    pub to: String,
    /// `sent` or `failed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub async fn send_test(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    id: CampaignId,
    request: TestRequest,
) -> Result<Vec<TestResult>, ApiError> {
    let campaign = campaigns::get(app, caller, artist, id).await?;
    caller.require_team(artist, campaign.contact_role)?;
    sender_domains::require_verified(app, artist, &campaign.sender.from_email).await?;
    let Compiled {
        template,
        shared_context,
    } = compile(app, Some(caller), &campaign).await?;
    let sample = match request.contact {
        Some(contact) => Some(
            contact_store::get(app, artist, contact)
                .await?
                .filter(|c| c.contact_role == campaign.contact_role)
                .ok_or_else(|| ApiError::not_found("contact"))?,
        ),
        None => first_recipient(app, &campaign).await?,
    };
    let vars = match &sample {
        Some(contact) => ContactVars::from_contact(contact.email.as_str(), &contact.fields),
        None => ContactVars::from_contact(request.to[0].as_str(), &ContactFields::default()),
    };
    let now = chrono::Utc::now();
    let count = request.to.len() as u64;
    if !quota::reserve(app, artist, now, count, app.config.daily_send_quota).await? {
        return Err(ApiError::Unprocessable {
            code: "daily_send_quota_reached",
            message: format!(
                "the artist's daily send quota ({}) is reached",
                app.config.daily_send_quota
            ),
            details: json!({}),
        });
    }
    let mut results = Vec::with_capacity(request.to.len());
    for to in &request.to {
        let answer = deliver(
            app,
            &Outgoing {
                template: &template,
                shared_context: &shared_context,
                contact: &vars,
                to: to.ascii(),
                from: Mailbox {
                    name: Some(&campaign.sender.from_name),
                    address: campaign.sender.from_email.ascii(),
                },
                ids: MessageIds {
                    artist,
                    role: campaign.contact_role,
                    campaign: Some(campaign.id.as_uuid()),
                    contact: None,
                    send: uuid::Uuid::now_v7(),
                },
                test: true,
            },
        )
        .await;
        results.push(match answer {
            Answer::Accepted(message_id, _) => TestResult {
                to: to.as_str().to_owned(),
                status: "sent",
                message_id: Some(message_id),
                reason: None,
            },
            refused => TestResult {
                to: to.as_str().to_owned(),
                status: "failed",
                message_id: None,
                reason: refused.refusal().map(str::to_owned),
            },
        });
    }
    let sent = results.iter().filter(|r| r.status == "sent").count() as u64;
    quota::give_back(app, artist, now, count - sent).await?;
    transact(
        app,
        vec![audit::put(
            app,
            AuditRecord::new(
                artist,
                &caller.user,
                AuditAction::CampaignTestSent,
                format!("campaign#{}", campaign.id),
                vec![],
                now,
            ),
        )?],
    )
    .await?;
    tracing::info!(artist = %artist, campaign = %campaign.id, sent, "test messages sent");
    Ok(results)
}
