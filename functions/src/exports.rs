//! Portability: `GET /api/artists/{artistId}/contacts/{contactId}/export` (everything held about
//! one contact, JSON) and `GET /api/artists/{artistId}/contacts/export?contact_role=&status=&tag=&locale=`
//! (a team's list as CSV; a large one answers 302 to a presigned download).

use lambda_http::Request;
use mailing::App;
use mailing::domain::{ArtistId, ContactId};
use mailing::portability::{self, ListExport};

use crate::http::{self, HttpResult};

/// `GET /api/artists/{artistId}/contacts/{contactId}/export`
pub async fn contact(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ContactId = http::path_id(&request, "contactId", "contact")?;
    let export = portability::contact(app, &caller, artist, id).await?;
    http::json(200, &export)
}

/// `GET /api/artists/{artistId}/contacts/export?contact_role=&status=&tag=&locale=`
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let listing = crate::contacts::list_request(&request)?;
    let locale = http::csv_locale(&request)?;
    match portability::list(app, &caller, listing, locale).await? {
        ListExport::Inline(csv) => http::csv(csv, "contacts.csv"),
        ListExport::Link(url) => http::found(&url),
    }
}
