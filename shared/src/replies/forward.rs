//! Forwarding a person's reply to the human sender's mailbox, when the campaign
//! (`sender.forward_replies_to`) or the artist's sender profile (`store_and_forward`) asks for
//! it: the clean text in the body, the original message attached, sent through SES from the
//! campaign's own (verified) sender.
//!
//! Never a loop: the forward says `Auto-Submitted: auto-forwarded` (RFC 3834: responders do not
//! answer it) and carries [`FORWARD_HEADER`], so a copy coming back is an automatic message;
//! a target on the reply domain itself is refused.

use std::io::Write;

use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::parse::FORWARD_HEADER;
use crate::domain::{Campaign, EmailAddress, Reply, ReplyHandling};
use crate::render::mime;
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

/// Sends the forward; answers SES's message id.
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
    let message = build(
        reply,
        &sender.from_name,
        sender.from_email.as_str(),
        to,
        original,
    );
    let raw = RawMessage::builder()
        .data(Blob::new(message))
        .build()
        .map_err(ApiError::internal)?;
    let output = app
        .aws
        .sesv2
        .send_email()
        .from_email_address(sender.from_email.as_str())
        .destination(Destination::builder().to_addresses(to.as_str()).build())
        .content(EmailContent::builder().raw(raw).build())
        .send()
        .await?;
    Ok(output.message_id.unwrap_or_default())
}

/// The forward's MIME: a text part, then the original as an `.eml` attachment.
pub fn build(
    reply: &Reply,
    from_name: &str,
    from_address: &str,
    to: &EmailAddress,
    original: &[u8],
) -> Vec<u8> {
    let boundary = format!("=_ah_fwd_{}", reply.id.as_uuid().simple());
    let mut out = Vec::with_capacity(original.len() * 4 / 3 + 4096);
    mime::write_address(&mut out, "From", Some(from_name), from_address);
    mime::write_address(&mut out, "To", None, to.as_str());
    if let Some(sender) = &reply.from_address {
        mime::write_address(&mut out, "Reply-To", reply.from_name.as_deref(), sender);
    }
    mime::write_unstructured(&mut out, "Subject", &format!("Fwd: {}", reply.subject));
    let _ = write!(
        out,
        "Auto-Submitted: auto-forwarded\r\n{FORWARD_HEADER}: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
        reply.id
    );
    let who = match (&reply.from_name, &reply.from_address) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (None, Some(address)) => address.clone(),
        _ => "someone".to_owned(),
    };
    let body = format!(
        "{who} replied (the whole message is attached):\n\n{}\n",
        reply.content
    );
    mime::quoted_printable(&mut out, body.as_bytes());
    let _ = write!(
        out,
        "\r\n--{boundary}\r\nContent-Type: application/octet-stream; name=\"original.eml\"\r\n\
         Content-Disposition: attachment; filename=\"original.eml\"\r\n\
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
