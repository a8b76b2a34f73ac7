//! The caller's signatures: `/api/artists/{artistId}/signatures/{role}`.

use lambda_http::Request;
use mailing::domain::{ArtistId, ContactRole};
use mailing::render::sanitize::MAX_SIGNATURE_BYTES;
use mailing::{App, signatures};
use serde::Deserialize;

use crate::http::{self, Fields, HttpResult};

/// `GET /api/artists/{artistId}/signatures/{role}`: the caller's own signature for the team.
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let role: ContactRole = http::path_id(&request, "role", "team")?;
    http::json(200, &signatures::get(app, &caller, artist, role).await?)
}

/// `PUT /api/artists/{artistId}/signatures/{role}` with `{ "html": "…" }`: stored sanitized;
/// the answer shows what was kept.
pub async fn put(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let role: ContactRole = http::path_id(&request, "role", "team")?;
    let body = http::json_body::<SignatureBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    if body.html.len() > MAX_SIGNATURE_BYTES {
        f.push(
            "html",
            format!("must be at most {MAX_SIGNATURE_BYTES} bytes"),
        );
    }
    f.finish(|| ())?;
    http::json(
        200,
        &signatures::put(app, &caller, artist, role, &body.html).await?,
    )
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "SignatureInput")
)]
#[serde(deny_unknown_fields)]
struct SignatureBody {
    html: String,
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    let path = "/api/artists/{artistId}/signatures/{role}";
    api.operation("GET", path)
        .summary("The caller's own signature for a team")
        .answers::<mailing::domain::Signature>(200, "The signature.");
    api.operation("PUT", path)
        .summary("Set the caller's signature for a team")
        .description("Stored sanitized: the answer shows what was kept.")
        .body::<SignatureBody>()
        .answers::<mailing::domain::Signature>(200, "The signature as stored.");
}
