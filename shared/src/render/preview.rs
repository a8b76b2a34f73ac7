//! A message as one contact would receive it, with the content checks: what the preview
//! endpoint answers, and what sending checks before it starts.

use serde::Serialize;

use super::checks::{self, CheckInput, ContentWarning};
use super::language::TemplateProblem;
use super::message::{
    Addressing, ContactVars, MessageTemplate, Recipient, Shared, TemplateSource, Tracking,
};
use super::mime::Mailbox;
use super::tags::{MessageIds, MessageTag, feedback_id, message_tags};
use super::tokens::TokenSigner;
use crate::domain::{ContactRole, Link};

pub struct PreviewInput<'a> {
    pub role: ContactRole,
    pub source: TemplateSource<'a>,
    /// Sanitized signature HTML, when the template takes one.
    pub signature: Option<&'a str>,
    pub shared: &'a Shared,
    pub contact: &'a ContactVars,
    /// The contact's address in ASCII form.
    pub to: Mailbox<'a>,
    /// The sender's address, and the display name shown.
    pub from: Mailbox<'a>,
    pub reply_domain: &'a str,
    /// The message's ids (a preview gets a send id of its own, used nowhere else).
    pub ids: MessageIds,
    pub base_url: &'a str,
    pub signer: &'a TokenSigner,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Header {
    pub name: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Preview {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// As the MIME message carries them, in order (values decoded).
    pub headers: Vec<Header>,
    /// The tracked links, by the id their click tokens carry.
    pub links: Vec<Link>,
    /// The SES message tags the sender sets.
    pub tags: Vec<MessageTag>,
    pub variables: Vec<String>,
    pub warnings: Vec<ContentWarning>,
}

#[derive(Debug)]
pub enum PreviewError {
    /// The template does not compile.
    Template(Vec<TemplateProblem>),
    /// It compiles but fails for this contact (a filter given a value it refuses, say).
    Render(minijinja::Error),
}

pub fn preview(input: &PreviewInput<'_>) -> Result<Preview, PreviewError> {
    let tracking = |tracked: bool| Tracking {
        base_url: input.base_url.to_owned(),
        links: tracked,
        open_pixel: tracked,
        utm: None,
    };
    let compile = |tracked: bool| {
        MessageTemplate::compile(
            &input.source,
            input.signature,
            tracking(tracked),
            input.signer.clone(),
        )
        .map_err(PreviewError::Template)
    };
    let tracked = compile(true)?;
    // The checks read the links as written, not their tracking URLs.
    let plain = compile(false)?;
    let shared = MessageTemplate::shared_context(input.shared);
    let recipient = Recipient {
        send: input.ids.send,
        contact: input.contact,
        to: input.to.clone(),
    };
    let rendered = tracked
        .render(&shared, &recipient)
        .map_err(PreviewError::Render)?;
    let untracked = plain
        .render(&shared, &recipient)
        .map_err(PreviewError::Render)?;
    let feedback_id = feedback_id(&input.ids);
    let addressing = Addressing {
        from: input.from.clone(),
        reply_domain: input.reply_domain,
        feedback_id: &feedback_id,
    };
    let headers = tracked
        .headers(&rendered, &recipient, &addressing, chrono::Utc::now())
        .into_iter()
        .map(|(name, value)| Header { name, value })
        .collect();
    let context = serde_json::json!({
        "contact": input.contact,
        "artist": input.shared.artist,
        "campaign": input.shared.campaign,
        "sender": input.shared.sender,
    });
    let warnings = checks::check(&CheckInput {
        role: input.role,
        rendered: &untracked,
        variables: &tracked.variables,
        context: &context,
        shared: input.shared,
        own_base_url: input.base_url,
    });
    Ok(Preview {
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
        headers,
        links: rendered.links,
        tags: message_tags(&input.ids),
        variables: tracked.variables.clone(),
        warnings,
    })
}
