//! `email-send`: for each recipient of a batch, claim the send row, render, hand the MIME to
//! SES with the configuration set and the message's tags, record the outcome; counters once
//! per batch.

use std::collections::HashMap;

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{EmailContent, MessageTag as SesTag, RawMessage};

use super::complete::{SERVICE_ACTOR, complete_if_done};
use super::messages::SendBatch;
use super::start::{shared, signature};
use crate::audit::AuditAction;
use crate::campaigns::resolve_content;
use crate::domain::{Campaign, CampaignStatus, Contact, ContactStatus, UserId};
use crate::render::{
    Addressing, ContactVars, Mailbox, MessageIds, MessageTemplate, Recipient, TokenSigner,
    Tracking, feedback_id, message_tags,
};
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

/// How SES answered one message.
enum Answer {
    Accepted(String),
    /// This address, for good.
    Refused(String),
    /// Throttled or unavailable: retry later.
    Later(String),
    /// The account cannot send at all: the campaign pauses with the reason.
    Stop(String),
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
    let resolved = resolve_content(
        app,
        None,
        campaign.artist_id,
        campaign.contact_role,
        &campaign.content,
    )
    .await?;
    let signature = signature(app, &campaign, &resolved).await?;
    let template = MessageTemplate::compile(
        &resolved.source(),
        signature.as_deref(),
        Tracking {
            base_url: app.config.public_base_url.clone(),
            links: campaign.track_clicks,
            open_pixel: campaign.track_opens,
            utm: campaign
                .utm_campaign
                .clone()
                .map(|name| ("artisthub".to_owned(), "email".to_owned(), name)),
        },
        TokenSigner::new(&app.config.signing_key),
    )
    .map_err(crate::templates::invalid_template)?;
    let shared_context = MessageTemplate::shared_context(&shared(&campaign));
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
        let answer = deliver(
            app,
            &campaign,
            &template,
            &shared_context,
            contact,
            send.send_id,
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

async fn deliver(
    app: &App,
    campaign: &Campaign,
    template: &MessageTemplate,
    shared_context: &minijinja::Value,
    contact: &Contact,
    send: uuid::Uuid,
) -> Answer {
    let vars = ContactVars::from_contact(contact.email.as_str(), &contact.fields);
    let recipient = Recipient {
        send,
        contact: &vars,
        to: Mailbox {
            name: Some(&vars.full_name)
                .filter(|name| **name != vars.email)
                .map(String::as_str),
            address: contact.email.ascii(),
        },
    };
    let rendered = match template.render(shared_context, &recipient) {
        Ok(rendered) => rendered,
        Err(error) => return Answer::Refused(format!("the message does not render: {error}")),
    };
    let ids = MessageIds {
        artist: campaign.artist_id,
        role: campaign.contact_role,
        campaign: Some(campaign.id.as_uuid()),
        send,
    };
    let feedback = feedback_id(&ids);
    let mime = template.mime(
        &rendered,
        &recipient,
        &Addressing {
            from: Mailbox {
                name: Some(&campaign.sender.from_name),
                address: campaign.sender.from_email.ascii(),
            },
            reply_domain: &app.config.reply_domain,
            feedback_id: &feedback,
        },
        chrono::Utc::now(),
    );
    let tags: Vec<SesTag> = message_tags(&ids)
        .into_iter()
        .filter_map(|tag| {
            SesTag::builder()
                .name(tag.name)
                .value(tag.value)
                .build()
                .ok()
        })
        .collect();
    let raw = match RawMessage::builder().data(Blob::new(mime)).build() {
        Ok(raw) => raw,
        Err(error) => return Answer::Refused(format!("the message could not be built: {error}")),
    };
    let result = app
        .aws
        .sesv2
        .send_email()
        .from_email_address(campaign.sender.from_email.ascii())
        .destination(
            aws_sdk_sesv2::types::Destination::builder()
                .to_addresses(contact.email.ascii())
                .build(),
        )
        .content(EmailContent::builder().raw(raw).build())
        .configuration_set_name(&app.config.configuration_set)
        .set_email_tags(Some(tags))
        .send()
        .await;
    match result {
        Ok(output) => Answer::Accepted(output.message_id.unwrap_or_default()),
        Err(error) => classify(error.into_service_error()),
    }
}

fn classify(error: SendEmailError) -> Answer {
    match error {
        SendEmailError::TooManyRequestsException(e) => Answer::Later(format!("throttled: {e}")),
        SendEmailError::LimitExceededException(e) => Answer::Later(format!("limit exceeded: {e}")),
        SendEmailError::AccountSuspendedException(_) => {
            Answer::Stop("SES suspended the account's sending".into())
        }
        SendEmailError::SendingPausedException(_) => {
            Answer::Stop("sending is paused for the account or its configuration set".into())
        }
        SendEmailError::MailFromDomainNotVerifiedException(_) => {
            Answer::Stop("the sender's MAIL FROM domain is not verified".into())
        }
        SendEmailError::MessageRejected(e) => Answer::Refused(format!("SES refused it: {e}")),
        SendEmailError::BadRequestException(e) => Answer::Refused(format!("SES refused it: {e}")),
        other => Answer::Later(format!("SES failed: {other}")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::types::error::{
        AccountSuspendedException, BadRequestException, LimitExceededException, MessageRejected,
        SendingPausedException, TooManyRequestsException,
    };

    #[test]
    fn ses_errors_retry_stop_the_campaign_or_fail_one_recipient() {
        let kind = |answer: Answer| match answer {
            Answer::Accepted(_) => "accepted",
            Answer::Refused(_) => "refused",
            Answer::Later(_) => "later",
            Answer::Stop(_) => "stop",
        };
        for (error, expected) in [
            (
                SendEmailError::TooManyRequestsException(
                    TooManyRequestsException::builder().build(),
                ),
                "later",
            ),
            (
                SendEmailError::LimitExceededException(LimitExceededException::builder().build()),
                "later",
            ),
            (
                SendEmailError::AccountSuspendedException(
                    AccountSuspendedException::builder().build(),
                ),
                "stop",
            ),
            (
                SendEmailError::SendingPausedException(SendingPausedException::builder().build()),
                "stop",
            ),
            (
                SendEmailError::MessageRejected(MessageRejected::builder().build()),
                "refused",
            ),
            (
                SendEmailError::BadRequestException(BadRequestException::builder().build()),
                "refused",
            ),
        ] {
            let name = format!("{error:?}");
            assert_eq!(kind(classify(error)), expected, "{name}");
        }
    }
}
