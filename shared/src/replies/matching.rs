//! Which message an inbound one answers, surest first: the send token in the address it was
//! sent to (`r-{token}@`, checked in constant time like every token), else `In-Reply-To` /
//! `References` naming one of our `Message-ID`s (which carry the same token), else the sender's
//! address among the people messages went to lately — when those messages are all one
//! artist's, so a reply is never shown to an artist it was not written to.
//!
//! Each way costs one Query at most: a token is verified before any read.

use super::classify::{token_in, token_of_message_id};
use super::parse::Inbound;
use crate::domain::{EmailAddress, MatchedBy};
use crate::render::TokenKind;
use crate::store::sends::{self, Send};
use crate::store::suppression::address_hash;
use crate::{ApiError, App};

#[derive(Debug, Clone)]
pub struct Matched {
    pub send: Send,
    pub by: MatchedBy,
    /// The sender's address is not the one the message went to.
    pub from_other_address: bool,
}

/// `extra_ids`: `Message-ID`s besides the thread's (a bounce report's original message).
pub async fn find(
    app: &App,
    inbound: &Inbound,
    extra_ids: &[&str],
) -> Result<Option<Matched>, ApiError> {
    let signer = app.signer()?;
    let sender_hash = inbound
        .from_address
        .as_deref()
        .and_then(|address| EmailAddress::parse(address).ok())
        .map(|address| address_hash(app, &address))
        .transpose()?;
    let by_token = token_in(
        &inbound.recipients,
        "r-",
        TokenKind::Reply,
        signer,
        &app.config.reply_domain,
    )
    .map(|token| (token, MatchedBy::Token));
    let by_thread = || {
        extra_ids
            .iter()
            .copied()
            .chain(inbound.thread.iter().map(String::as_str))
            .find_map(|id| token_of_message_id(id, signer))
            .map(|token| (token, MatchedBy::Thread))
    };
    if let Some((token, by)) = by_token.or_else(by_thread) {
        let Some(send) = sends::by_id(app, token.send).await? else {
            return Ok(None);
        };
        let from_other_address = !send.opt_out.address.is_empty()
            && sender_hash.as_deref() != Some(send.opt_out.address.as_str());
        return Ok(Some(Matched {
            send,
            by,
            from_other_address,
        }));
    }
    let Some(hash) = sender_hash else {
        return Ok(None);
    };
    // A message the consent policy kept back was never sent: nothing answers it.
    let latest: Vec<sends::Send> = sends::latest_to(app, &hash)
        .await?
        .into_iter()
        .filter(|send| send.status != sends::SendStatus::Skipped)
        .collect();
    let Some(newest) = latest.first() else {
        return Ok(None);
    };
    if latest.iter().any(|send| send.artist_id != newest.artist_id) {
        tracing::info!("a reply's sender had messages from several artists: left unassigned");
        return Ok(None);
    }
    Ok(Some(Matched {
        send: newest.clone(),
        by: MatchedBy::Sender,
        from_other_address: false,
    }))
}
