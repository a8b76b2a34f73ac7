//! A contact's timeline: every interaction, newest first (`GET …/contacts/{id}/history`).

use serde::Serialize;
use serde_json::json;

use crate::auth::Caller;
use crate::domain::{ArtistId, ContactId, Interaction};
use crate::store::interactions;
use crate::{ApiError, App, contacts, cursor};

#[derive(Debug, Serialize)]
pub struct HistoryPage {
    pub items: Vec<Interaction>,
    pub next_cursor: Option<String>,
}

/// The timeline of a contact the caller may see; 404 otherwise, as for the contact itself.
pub async fn contact_history(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    contact: ContactId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<HistoryPage, ApiError> {
    contacts::get(app, caller, artist, contact).await?;
    let listing = json!(["history", artist, contact]).to_string();
    let after = match cursor {
        Some(token) => Some(cursor::open(&app.config.signing_key, &listing, token)?),
        None => None,
    };
    let page = interactions::timeline(app, contact, limit, after).await?;
    Ok(HistoryPage {
        items: page.items,
        next_cursor: page
            .next
            .map(|position| cursor::seal(&app.config.signing_key, &listing, &position)),
    })
}
