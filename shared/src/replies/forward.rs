//! Forwarding a person's reply to the human sender's mailbox, when the campaign
//! (`sender.forward_replies_to`) or the artist's sender profile (`store_and_forward`) asks for
//! it: the clean text in the body, the original message attached, sent from the campaign's own
//! sender through its domain's provider (SES, or the one the domain was claimed for).
//!
//! Never a loop: the forward says `Auto-Submitted: auto-forwarded` (RFC 3834: responders do not
//! answer it) and carries [`FORWARD_HEADER`], so a copy coming back is an automatic message;
//! a target on the reply domain itself is refused.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::parse::FORWARD_HEADER;
use crate::domain::{Campaign, EmailAddress, Reply, ReplyHandling};
use crate::mailers::{self, Attachment, Outbound, Outcome};
use crate::render::mime::{self, Mailbox};
use crate::{ApiError, App, store};

/// Where a reply to `campaign` goes besides the CRM, if anywhere.
pub async fn target(app: &App, campaign: &Campaign) -> Result<Option<EmailAddress>, ApiError> {
    let sender = campaign
        .frozen
        .as_ref()
        .map_or(&campaign.sender, |frozen| &frozen.sender);
    let wanted = match &sender.forward_replies_to {
        Some(address) => Some(address.clone()),
        None => store::sender_profiles::get(app, campaign.artist_id)
            .await?
            .filter(|profile| profile.reply_handling == ReplyHandling::StoreAndForward)
            .and_then(|profile| profile.forward_replies_to),
    };
    Ok(wanted.filter(|address| {
        !address
            .domain()
            .eq_ignore_ascii_case(&app.config.reply_domain)
    }))
}

/// Sends the forward through the provider of the campaign's sender domain, as the campaign
/// went; answers the provider's message id. The artist's claim on that domain is checked again
/// here: a domain given up since the campaign left forwards nothing.
pub async fn send(
    app: &App,
    campaign: &Campaign,
    reply: &Reply,
    to: &EmailAddress,
    original: &[u8],
) -> Result<String, ApiError> {
    let sender = campaign
        .frozen
        .as_ref()
        .map_or(&campaign.sender, |frozen| &frozen.sender);
    let claim =
        crate::sender_domains::require_claimed(app, campaign.artist_id, &sender.from_email).await?;
    let from = Mailbox {
        name: Some(&sender.from_name),
        address: sender.from_email.as_str(),
    };
    let subject = format!("Fwd: {}", reply.subject);
    let text = text(reply);
    let mut headers = Vec::new();
    if let Some(address) = &reply.from_address {
        headers.push(("Reply-To", address.clone()));
    }
    headers.push(("Auto-Submitted", "auto-forwarded".to_owned()));
    headers.push((FORWARD_HEADER, reply.id.to_string()));
    let mime = build(reply, &from, to, &subject, &text, original);
    let attachments = [Attachment {
        name: ORIGINAL_NAME,
        content_type: "application/octet-stream",
        bytes: original,
    }];
    let outbound = Outbound {
        from,
        to: Mailbox {
            name: None,
            address: to.as_str(),
        },
        subject: &subject,
        html: "",
        text: &text,
        headers: &headers,
        mime: &mime,
        args: &[],
        attachments: &attachments,
    };
    match mailers::send(app, claim.provider, &outbound).await {
        Outcome::Accepted(id) => Ok(id),
        Outcome::Refused(why) | Outcome::Later(why) | Outcome::Stop(why) => {
            Err(ApiError::internal(anyhow::anyhow!(
                "{} did not take the forward: {why}",
                claim.provider.name()
            )))
        }
    }
}

const ORIGINAL_NAME: &str = "original.eml";

/// The forward's text: who replied, and what they wrote.
fn text(reply: &Reply) -> String {
    let who = match (&reply.from_name, &reply.from_address) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (None, Some(address)) => address.clone(),
        _ => "someone".to_owned(),
    };
    format!(
        "{who} replied (the whole message is attached):\n\n{}\n",
        reply.content
    )
}

/// The forward's MIME: the text part, then the original as an `.eml` attachment.
fn build(
    reply: &Reply,
    from: &Mailbox<'_>,
    to: &EmailAddress,
    subject: &str,
    text: &str,
    original: &[u8],
) -> Vec<u8> {
    let boundary = format!("=_ah_fwd_{}", reply.id.as_uuid().simple());
    let mut out = Vec::with_capacity(original.len() * 4 / 3 + 4096);
    mime::write_address(&mut out, "From", from.name, from.address);
    mime::write_address(&mut out, "To", None, to.as_str());
    if let Some(sender) = &reply.from_address {
        mime::write_address(&mut out, "Reply-To", reply.from_name.as_deref(), sender);
    }
    mime::write_unstructured(&mut out, "Subject", subject);
    let _ = write!(
        out,
        "Auto-Submitted: auto-forwarded\r\n{FORWARD_HEADER}: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        reply.id
    );
    mime::quoted_printable(&mut out, text.as_bytes());
    let _ = write!(
        out,
        "\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"{ORIGINAL_NAME}\"\r\n\
         Content-Disposition: attachment; filename=\"{ORIGINAL_NAME}\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n"
    );
    let encoded = STANDARD.encode(original);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    let _ = write!(out, "--{boundary}--\r\n");
    out
}
