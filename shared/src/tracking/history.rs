//! A contact's timeline: every interaction, newest first (`GET …/contacts/{id}/history`).

use serde_json::json;

use crate::auth::Caller;
use crate::cursor::{Listing, Page};
use crate::domain::{ArtistId, ContactId, Interaction};
use crate::store::interactions;
use crate::{ApiError, App, contacts};

/// The timeline of a contact the caller may see; 404 otherwise, as for the contact itself.
pub async fn contact_history(
    app: &App,
    caller: &Caller,
    artist: ArtistId,
    contact: ContactId,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Page<Interaction>, ApiError> {
    contacts::get(app, caller, artist, contact).await?;
    let listing = Listing::new(
        app.signing_key()?,
        json!(["history", artist, contact]).to_string(),
    );
    let after = listing.resume(cursor)?;
    let page = interactions::timeline(app, contact, limit, after).await?;
    Ok(listing.page(page.items, page.next))
}
