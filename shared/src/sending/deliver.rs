//! One message to SES: render for its recipient, build the MIME, send it raw with the
//! configuration set and the ids as tags, and say how SES answered. Campaign batches, test
//! sends and individual emails all go through here.

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag as SesTag, RawMessage};

use std::sync::Arc;

use super::compiled::Key;
use super::gate::shared;
use crate::domain::{Campaign, FrozenContent, Link, VariantIndex};
use crate::render::{
    Addressing, ContactVars, Mailbox, MessageIds, MessageTemplate, Recipient, Tracking, Utm,
    feedback_id, message_tags,
};
use crate::{ApiError, App};

/// What a test message's subject starts with.
pub const TEST_SUBJECT_PREFIX: &str = "[TEST] ";

/// A started campaign's frozen content, compiled once for all its messages.
pub struct Compiled<'a> {
    pub template: Arc<MessageTemplate>,
    pub shared_context: minijinja::Value,
    pub frozen: &'a FrozenContent,
    /// The sender's name in this version (an A/B variant may change it).
    pub from_name: &'a str,
}

/// Compiles what `campaign` froze at its start for `variant` (its own content when `None`),
/// with its tracking choices. A campaign that has not started has nothing to send.
pub fn compile<'a>(
    app: &App,
    campaign: &'a Campaign,
    variant: Option<VariantIndex>,
) -> Result<Compiled<'a>, ApiError> {
    let frozen = campaign.frozen.as_ref().ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!(
            "campaign {} is sending without frozen content",
            campaign.id
        ))
    })?;
    compile_frozen(app, campaign, frozen, variant)
}

/// Compiles `frozen` as `campaign`'s messages are rendered (a test compiles what its campaign
/// would freeze now).
pub fn compile_frozen<'a>(
    app: &App,
    campaign: &Campaign,
    frozen: &'a FrozenContent,
    variant: Option<VariantIndex>,
) -> Result<Compiled<'a>, ApiError> {
    let (sources, from_name) = frozen.version(variant);
    let key = Key {
        sources: sources.clone(),
        tracking: Tracking {
            base_url: app.config.public_base_url.clone(),
            links: campaign.track_clicks,
            open_pixel: campaign.track_opens,
            utm: campaign.utm_campaign.clone().map(|name| Utm {
                source: "artisthub".to_owned(),
                medium: "email".to_owned(),
                campaign: name,
                content: variant.map(|v| v.to_string()),
            }),
        },
    };
    let signer = app.signer()?;
    let template = app
        .compiled
        .get_or_compile(key, |key| {
            MessageTemplate::compile(
                &(&key.sources).into(),
                key.sources.signature.as_deref(),
                key.tracking.clone(),
                signer.clone(),
            )
        })
        .map_err(crate::templates::invalid_template)?;
    Ok(Compiled {
        template,
        shared_context: MessageTemplate::shared_context(&shared(campaign, frozen, from_name)),
        frozen,
        from_name,
    })
}

pub struct Outgoing<'a> {
    pub template: &'a MessageTemplate,
    pub shared_context: &'a minijinja::Value,
    /// Whom the message is personalized for.
    pub contact: &'a ContactVars,
    /// The ASCII address it goes to (a test goes elsewhere than its sample contact).
    pub to: &'a str,
    pub from: Mailbox<'a>,
    pub ids: MessageIds,
    /// A test: the subject says so and the tag `test` lets events ignore it.
    pub test: bool,
}

/// How SES answered one message.
pub enum Answer {
    /// SES's message id, and the links the message carried (where its click tokens lead).
    Accepted(String, Vec<Link>),
    /// This address, for good.
    Refused(String),
    /// Throttled or unavailable: retry later.
    Later(String),
    /// The account cannot send at all: the campaign pauses with the reason.
    Stop(String),
}

pub async fn deliver(app: &App, outgoing: &Outgoing<'_>) -> Answer {
    let vars = outgoing.contact;
    let recipient = Recipient {
        send: outgoing.ids.send,
        contact: vars,
        to: Mailbox {
            name: Some(&vars.full_name)
                .filter(|name| !outgoing.test && **name != vars.email)
                .map(String::as_str),
            address: outgoing.to,
        },
    };
    let mut rendered = match outgoing
        .template
        .render(outgoing.shared_context, &recipient)
    {
        Ok(rendered) => rendered,
        Err(error) => return Answer::Refused(format!("the message does not render: {error}")),
    };
    if outgoing.test {
        rendered.subject.insert_str(0, TEST_SUBJECT_PREFIX);
    }
    let feedback = feedback_id(&outgoing.ids);
    let mime = outgoing.template.mime(
        &rendered,
        &recipient,
        &Addressing {
            from: Mailbox {
                name: outgoing.from.name,
                address: outgoing.from.address,
            },
            reply_domain: &app.config.reply_domain,
            feedback_id: &feedback,
        },
        chrono::Utc::now(),
    );
    let mut tags: Vec<SesTag> = message_tags(&outgoing.ids)
        .into_iter()
        .filter_map(|tag| {
            SesTag::builder()
                .name(tag.name)
                .value(tag.value)
                .build()
                .ok()
        })
        .collect();
    if outgoing.test {
        tags.extend(SesTag::builder().name("test").value("true").build().ok());
    }
    let raw = match RawMessage::builder().data(Blob::new(mime)).build() {
        Ok(raw) => raw,
        Err(error) => return Answer::Refused(format!("the message could not be built: {error}")),
    };
    let result = app
        .aws
        .sesv2
        .send_email()
        .from_email_address(outgoing.from.address)
        .destination(Destination::builder().to_addresses(outgoing.to).build())
        .content(EmailContent::builder().raw(raw).build())
        .configuration_set_name(&app.config.configuration_set)
        .set_email_tags(Some(tags))
        .send()
        .await;
    match result {
        Ok(output) => Answer::Accepted(output.message_id.unwrap_or_default(), rendered.links),
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

impl Answer {
    /// The reason, for a message SES did not accept.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            Answer::Accepted(..) => None,
            Answer::Refused(reason) | Answer::Later(reason) | Answer::Stop(reason) => Some(reason),
        }
    }
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
            Answer::Accepted(..) => "accepted",
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
