//! `POST …/campaigns/{campaignId}/test`: the campaign as a recipient would get it, sent to a
//! few of the team's own mailboxes, marked as a test (subject prefix, `test` tag).
//!
//! A test is not a relay. Its recipients must be on a domain the artist has claimed and proven
//! (`sender_domains`): the team's own addresses, which nobody outside the artist can own. It
//! passes the same gate as a start (sender domain, profile, content checks); suppressed
//! addresses are skipped; each user may send [`TEST_SENDS_PER_USER_PER_DAY`] test messages a
//! day, which also count in the artist's daily quota; the audit record names the recipients;
//! a test's hard bounces and complaints suppress its address like any other message's.

use serde::Serialize;
use serde_json::json;

use super::deliver::{Answer, Compiled, Outgoing, compile_frozen, deliver};
use super::gate::{self, Sample};
use crate::auth::Caller;
use crate::domain::{ArtistId, CampaignId, ContactId, EmailAddress, VariantIndex};
use crate::domain::{AuditAction, AuditRecord};
use crate::render::{Mailbox, MessageIds};
use crate::store::quota::{self, Quota};
use crate::store::{audit, contacts as contact_store, suppression, transact};
use crate::{ApiError, App, campaigns, sender_domains};

/// Addresses one test may go to.
pub const MAX_TEST_RECIPIENTS: usize = 5;
/// Test messages one user may send per UTC day, for one artist.
pub const TEST_SENDS_PER_USER_PER_DAY: u64 = 50;

pub struct TestRequest {
    /// Distinct, at most [`MAX_TEST_RECIPIENTS`].
    pub to: Vec<EmailAddress>,
    /// Whom to personalize for: one of the team's contacts; else the campaign's first
    /// recipient; else nobody (empty names).
    pub contact: Option<ContactId>,
    /// Which variant of an A/B campaign (its first when `None`).
    pub variant: Option<VariantIndex>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TestResult {
    pub to: String,
    /// `sent`, `failed` or `suppressed`.
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
    let chosen = match request.contact {
        Some(contact) => Some(
            contact_store::get(app, artist, contact)
                .await?
                .filter(|c| c.contact_role == campaign.contact_role)
                .ok_or_else(|| ApiError::not_found("contact"))?,
        ),
        // The sample only personalizes what the team sends itself: any contact will do.
        None => {
            gate::first_recipient(app, &campaign, crate::domain::ConsentPolicy::NotRequired).await?
        }
    };
    allowed_recipients(app, artist, &request.to).await?;
    let sample = match &chosen {
        Some(contact) => Sample::Contact(contact),
        None => Sample::Nobody(&request.to[0]),
    };
    let variant = match (&campaign.ab_test, request.variant) {
        (None, None) => None,
        (Some(test), chosen) => {
            let variant = chosen.unwrap_or_else(|| test.indexes().next().expect("two variants"));
            if variant.index() >= test.variants.len() {
                return Err(ApiError::invalid_fields(vec![crate::FieldError::new(
                    "variant",
                    format!("the campaign has no variant {variant}"),
                )]));
            }
            Some(variant)
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_fields(vec![crate::FieldError::new(
                "variant",
                "the campaign has no A/B test",
            )]));
        }
    };
    let frozen = gate::ready(app, Some(caller), &campaign, Some(sample)).await?;
    // The gate proved the claim; its provider carries the test as it will the campaign.
    let provider = crate::sender_domains::require_claimed(app, artist, &frozen.sender.from_email)
        .await?
        .provider;
    let Compiled {
        template,
        shared_context,
        from_name,
        ..
    } = compile_frozen(app, &campaign, &frozen, variant)?;
    let vars = sample.vars();
    let emails: Vec<&EmailAddress> = request.to.iter().collect();
    let suppressed = suppression::suppressed(app, artist, campaign.contact_role, &emails).await?;
    let to: Vec<&EmailAddress> = emails
        .into_iter()
        .filter(|email| !suppressed.contains(email.normalized()))
        .collect();
    let now = chrono::Utc::now();
    let count = to.len() as u64;
    let mine = Quota::TestSends(artist, caller.user.clone());
    if !quota::reserve(app, &mine, now, count, TEST_SENDS_PER_USER_PER_DAY).await? {
        return Err(ApiError::Unprocessable {
            code: "test_send_cap_reached",
            message: format!(
                "you have sent your {TEST_SENDS_PER_USER_PER_DAY} test messages for today for this artist"
            ),
            details: json!({ "limit": TEST_SENDS_PER_USER_PER_DAY }),
        });
    }
    let daily = Quota::Artist(artist);
    if !quota::reserve(app, &daily, now, count, app.config.daily_send_quota).await? {
        quota::give_back(app, &mine, now, count).await?;
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
    for address in &request.to {
        if suppressed.contains(address.normalized()) {
            results.push(TestResult {
                to: address.as_str().to_owned(),
                status: "suppressed",
                message_id: None,
                reason: Some("the address is on the suppression list".into()),
            });
            continue;
        }
        let answer = deliver(
            app,
            &Outgoing {
                template: &template,
                shared_context: &shared_context,
                contact: &vars,
                to: address.ascii(),
                from: Mailbox {
                    name: Some(from_name),
                    address: frozen.sender.from_email.ascii(),
                },
                ids: MessageIds {
                    artist,
                    role: campaign.contact_role,
                    campaign: Some(campaign.id.as_uuid()),
                    contact: None,
                    send: uuid::Uuid::now_v7(),
                },
                test: true,
                provider,
            },
        )
        .await;
        results.push(match answer {
            Answer::Accepted(message_id, _) => TestResult {
                to: address.as_str().to_owned(),
                status: "sent",
                message_id: Some(message_id),
                reason: None,
            },
            refused => TestResult {
                to: address.as_str().to_owned(),
                status: "failed",
                message_id: None,
                reason: refused.refusal().map(str::to_owned),
            },
        });
    }
    let sent = results.iter().filter(|r| r.status == "sent").count() as u64;
    quota::give_back(app, &daily, now, count - sent).await?;
    quota::give_back(app, &mine, now, count - sent).await?;
    let mut record = AuditRecord::new(
        artist,
        &caller.user,
        AuditAction::CampaignTestSent,
        format!("campaign#{}", campaign.id),
        vec![],
        now,
    );
    record.recipients = request.to.iter().map(|a| a.as_str().to_owned()).collect();
    transact(app, vec![audit::put(app, record)?]).await?;
    tracing::info!(artist = %artist, campaign = %campaign.id, sent, "test messages sent");
    Ok(results)
}

/// Refuses the test unless every address is on one of the artist's proven domains.
async fn allowed_recipients(
    app: &App,
    artist: ArtistId,
    to: &[EmailAddress],
) -> Result<(), ApiError> {
    let proven = sender_domains::proven(app, artist).await?;
    let outside: Vec<&str> = to
        .iter()
        .filter(|address| !proven.iter().any(|d| d.as_str() == address.domain()))
        .map(EmailAddress::as_str)
        .collect();
    if outside.is_empty() {
        return Ok(());
    }
    Err(ApiError::Unprocessable {
        code: "test_recipient_not_allowed",
        message: format!(
            "test messages go only to the team's own mailboxes, on a domain the artist has proven ({}); not to {}",
            if proven.is_empty() {
                "none yet".to_owned()
            } else {
                proven
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            outside.join(", ")
        ),
        details: json!({ "refused": outside }),
    })
}
