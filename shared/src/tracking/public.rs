//! What the public endpoints do with a token: the open pixel, click redirects, the unsubscribe
//! page and its one-click POST. Each verifies the token's signature (constant time) before any
//! read, reads the send once (the `by_send` index), and queues what it saw for `ses-events`
//! rather than writing counters on the person's request path.
//!
//! A token that does not verify, names another kind, or names no send is answered like any
//! other miss: nothing tells a prober which part was wrong.

use chrono::Utc;

use super::event::{EmailEvent, EventKind, SendRef, UnsubscribeScope, clip_user_agent};
use super::pages::PageLanguage;
use super::{enqueue, unsubscribe};
use crate::domain::{Contact, ContactStatus, Language};
use crate::render::{Token, TokenKind};
use crate::store::{self, sends, sends::Send};
use crate::{ApiError, App};

/// The send a token of `kind` names, if it is one of ours.
async fn resolve(
    app: &App,
    text: &str,
    kind: TokenKind,
) -> Result<Option<(Token, Send)>, ApiError> {
    let Some(token) = app.signer()?.verify(text) else {
        return Ok(None);
    };
    if token.kind != kind {
        return Ok(None);
    }
    Ok(sends::by_id(app, token.send)
        .await?
        .map(|send| (token, send)))
}

fn send_ref(send: &Send) -> SendRef {
    SendRef {
        artist: send.artist_id,
        role: send.contact_role,
        campaign: send.campaign_id,
        contact: send.contact_id,
    }
}

/// Queues the event; a queue failure is logged, never shown to the person (the pixel is
/// served, the redirect made, the unsubscribe already applied).
async fn tell(app: &App, send: &Send, kind: EventKind) {
    tell_at(app, send, kind, Utc::now()).await;
}

async fn tell_at(app: &App, send: &Send, kind: EventKind, at: chrono::DateTime<Utc>) {
    let event = EmailEvent {
        send: send_ref(send),
        kind,
        at,
        address: None,
    };
    if let Err(error) = enqueue(app, event).await {
        tracing::error!(send = %send.send_id, error = ?error, "a tracking event could not be queued");
    }
}

/// The open pixel was fetched.
pub async fn open(app: &App, token: &str, user_agent: Option<&str>) -> Result<(), ApiError> {
    if let Some((_, send)) = resolve(app, token, TokenKind::Open).await? {
        let user_agent = user_agent.map(clip_user_agent);
        tell(app, &send, EventKind::Open { user_agent }).await;
    }
    Ok(())
}

/// Where a tracked link leads, if the token is one of ours; nothing is recorded (a `HEAD`).
pub async fn click_target(app: &App, token: &str) -> Result<Option<String>, ApiError> {
    Ok(link_of(app, token).await?.map(|(url, _, _)| url))
}

async fn link_of(app: &App, token: &str) -> Result<Option<(String, Token, Send)>, ApiError> {
    let Some((token, send)) = resolve(app, token, TokenKind::Click).await? else {
        return Ok(None);
    };
    let url = send
        .links
        .iter()
        .find(|link| link.id == token.link)
        .map(|link| link.url.clone());
    Ok(url.map(|url| (url, token, send)))
}

/// A tracked link was followed: where it leads, if the token is one of ours.
pub async fn click(
    app: &App,
    token: &str,
    user_agent: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let Some((url, token, send)) = link_of(app, token).await? else {
        return Ok(None);
    };
    let user_agent = user_agent.map(clip_user_agent);
    tell(
        app,
        &send,
        EventKind::Click {
            link: Some(token.link),
            url: None,
            user_agent,
        },
    )
    .await;
    Ok(Some(url))
}

/// What the unsubscribe page shows: who the message came from, in its language.
pub struct UnsubscribeView {
    pub send: Send,
    /// `None` once the contact is deleted: the choice still holds (it is kept on the send).
    pub contact: Option<Contact>,
    /// The artist's name as the message gave it.
    pub artist_name: String,
    pub message_language: Option<Language>,
}

impl UnsubscribeView {
    pub fn already_unsubscribed(&self) -> bool {
        self.contact
            .as_ref()
            .is_some_and(|c| c.status == ContactStatus::Unsubscribed)
    }

    /// The message's language; else the contact's, else the browser's.
    pub fn language(&self, accept_language: Option<&str>) -> PageLanguage {
        match self.message_language {
            Some(Language::Fr) => PageLanguage::French,
            Some(Language::En) => PageLanguage::English,
            None => PageLanguage::choose(self.contact.as_ref(), accept_language),
        }
    }
}

pub async fn unsubscribe_view(app: &App, token: &str) -> Result<Option<UnsubscribeView>, ApiError> {
    let Some((_, send)) = resolve(app, token, TokenKind::Unsubscribe).await? else {
        return Ok(None);
    };
    let campaign = store::campaigns::get(app, send.artist_id, send.campaign_id).await?;
    let frozen = campaign.as_ref().and_then(|c| c.frozen.as_ref());
    let contact = store::contacts::get(app, send.artist_id, send.contact_id).await?;
    Ok(Some(UnsubscribeView {
        artist_name: frozen
            .map(|f| f.artist.name.clone())
            .or_else(|| campaign.as_ref().map(|c| c.sender.from_name.clone()))
            .unwrap_or_default(),
        message_language: frozen.and_then(|f| f.language),
        contact,
        send,
    }))
}

/// Applies the person's choice; `false` when the token is not one of ours. Idempotent.
pub async fn unsubscribe(
    app: &App,
    token: &str,
    scope: UnsubscribeScope,
) -> Result<bool, ApiError> {
    let Some((_, send)) = resolve(app, token, TokenKind::Unsubscribe).await? else {
        return Ok(false);
    };
    leave(app, &send, scope, Utc::now()).await?;
    Ok(true)
}

/// The person leaves the list `send` was sent from, as they asked at `at`: the one-click POST
/// and a mail to the `mailto:` of `List-Unsubscribe` alike. Idempotent.
pub async fn leave(
    app: &App,
    send: &Send,
    scope: UnsubscribeScope,
    at: chrono::DateTime<Utc>,
) -> Result<(), ApiError> {
    unsubscribe::apply(app, send, scope).await?;
    tell_at(app, send, EventKind::Unsubscribe { scope }, at).await;
    Ok(())
}
