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

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::{CSV, schema};
    use mailing::domain::{ContactRole, ContactStatus};
    api.operation("GET", "/api/artists/{artistId}/contacts/{contactId}/export")
        .summary("Everything held about a contact (data portability)")
        .answers::<portability::ContactExport>(
            200,
            "The contact, its consent history, messages, interactions and replies.",
        );
    api.operation("GET", "/api/artists/{artistId}/contacts/export")
        .summary("A team's contacts as CSV")
        .description("Cells a spreadsheet would run as a formula are quoted. A list too large for one answer is a redirect to a download valid for 15 minutes.")
        .query::<ContactRole>("contact_role", "One team; every team of the caller's grant when absent.")
        .query::<ContactStatus>("status", "Only contacts in this state.")
        .query_schema("tag", "Only contacts with this tag.", schema::text())
        .query_schema("locale", "For an English (`en`, default) or French (`fr`) spreadsheet.", schema::one_of(&["en", "fr"]))
        .media(200, CSV, "The list.")
        .redirect(302, "A large list: its download.");
}
