//! Erasure of a person: `POST /api/artists/{artistId}/contacts/{contactId}/erase` and
//! `POST /api/artists/{artistId}/contacts/erase` with `{"email"}` (`mailing::erasure`).

use lambda_http::Request;
use mailing::App;
use mailing::domain::{ArtistId, ContactId, EmailAddress};
use serde::Deserialize;

use crate::http::{self, Fields, HttpResult};

/// `POST /api/artists/{artistId}/contacts/{contactId}/erase`
pub async fn contact(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ContactId = http::path_id(&request, "contactId", "contact")?;
    let erasure = mailing::erasure::contact(app, &caller, artist, id).await?;
    http::json(200, &erasure)
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ErasureByAddress")
)]
#[serde(deny_unknown_fields)]
struct AddressBody {
    email: String,
}

/// `POST /api/artists/{artistId}/contacts/erase`
pub async fn address(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let body = http::json_body::<AddressBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    let email = f.check("email", EmailAddress::parse(&body.email));
    let email = f.finish(|| email.expect("checked"))?;
    let erasure = mailing::erasure::address(app, &caller, artist, &email).await?;
    http::json(200, &erasure)
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    let description = "Removes the person from every team of the artist: contacts, consent ledger, sends, interactions, replies and their raw mail. Only a keyed hash stays, in the suppression list, so the address is never mailed or imported again. For a grant on the whole artist.";
    api.operation("POST", "/api/artists/{artistId}/contacts/{contactId}/erase")
        .summary("Erase a person, named by one of their contacts")
        .description(description)
        .answers::<mailing::erasure::Erasure>(200, "What was erased, counted.");
    api.operation("POST", "/api/artists/{artistId}/contacts/erase")
        .summary("Erase a person by address")
        .description(description)
        .body::<AddressBody>()
        .answers::<mailing::erasure::Erasure>(200, "What was erased, counted.");
}
