//! A contact's timeline: `GET /api/artists/{artistId}/contacts/{contactId}/history`.

use lambda_http::Request;
use mailing::App;
use mailing::domain::{ArtistId, ContactId};
use mailing::tracking::history;

use crate::http::{HttpResult, caller, json, path_id, query_limit, query_param};

pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = caller(&request)?;
    let artist: ArtistId = path_id(&request, "artistId", "artist")?;
    let contact: ContactId = path_id(&request, "contactId", "contact")?;
    let limit = query_limit(&request, 50, 200)?;
    let cursor = query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    let page =
        history::contact_history(app, &caller, artist, contact, cursor.as_deref(), limit).await?;
    json(200, &page)
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("GET", "/api/artists/{artistId}/contacts/{contactId}/history")
        .summary("A contact's timeline, newest first")
        .description("Every message sent to the contact and what became of it: delivered, opened, clicked, replied, bounced, complained, unsubscribed.")
        .paged(200)
        .answers::<mailing::cursor::Page<mailing::domain::Interaction>>(200, "A page of the timeline.");
}
