//! One message out: render for its recipient, build the MIME, hand it to the provider the
//! sender's domain goes through (SES by default: `crate::mailers`) with our ids, and say how it
//! answered. Campaign batches, test sends and individual emails all go through here.

use std::sync::Arc;

use super::compiled::Key;
use super::gate::shared;
use crate::domain::{Campaign, FrozenContent, Link, SendingProvider, VariantIndex};
use crate::mailers::{self, Outbound, Outcome};
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
    /// Who carries it: the sender domain's choice.
    pub provider: SendingProvider,
}

/// How the provider answered one message.
pub enum Answer {
    /// The provider's message id, and the links the message carried (where its click tokens
    /// lead).
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
    let addressing = Addressing {
        from: Mailbox {
            name: outgoing.from.name,
            address: outgoing.from.address,
        },
        reply_domain: &app.config.reply_domain,
        feedback_id: &feedback,
    };
    let now = chrono::Utc::now();
    let mime = outgoing
        .template
        .mime(&rendered, &recipient, &addressing, now);
    // Only the providers that take no raw MIME read the headers apart.
    let headers = match outgoing.provider {
        SendingProvider::Postmark | SendingProvider::Sendgrid => {
            outgoing
                .template
                .headers(&rendered, &recipient, &addressing, now)
        }
        SendingProvider::Ses | SendingProvider::Mailgun => Vec::new(),
    };
    let mut args: Vec<(String, String)> = message_tags(&outgoing.ids)
        .into_iter()
        .map(|tag| (tag.name.to_owned(), tag.value))
        .collect();
    if outgoing.test {
        args.push(("test".to_owned(), "true".to_owned()));
    }
    let outbound = Outbound {
        from: Mailbox {
            name: outgoing.from.name,
            address: outgoing.from.address,
        },
        to: Mailbox {
            name: recipient.to.name,
            address: outgoing.to,
        },
        subject: &rendered.subject,
        html: &rendered.html,
        text: &rendered.text,
        headers: &headers,
        mime: &mime,
        args: &args,
        attachments: &[],
    };
    match mailers::send(app, outgoing.provider, &outbound).await {
        Outcome::Accepted(id) => Answer::Accepted(id, rendered.links),
        Outcome::Refused(reason) => Answer::Refused(reason),
        Outcome::Later(reason) => Answer::Later(reason),
        Outcome::Stop(reason) => Answer::Stop(reason),
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
