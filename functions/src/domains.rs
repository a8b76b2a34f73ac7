//! Sending domains: `/api/email/domains`.

use lambda_http::Request;
use mailing::domain::{ArtistId, DomainName, SendingProvider};
use mailing::{App, sender_domains};
use serde::Deserialize;

use crate::http::{self, Fields, HttpResult};

/// `GET /api/email/domains?artist_id=`: the artist's sending domains and their state at SES.
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist = http::query_param(&request, "artist_id", |raw| {
        raw.parse::<ArtistId>().map_err(|e| e.to_string())
    })?
    .ok_or_else(|| mailing::ApiError::bad_request("invalid_query", "artist_id is required"))?;
    http::json(
        200,
        &http::Items {
            items: sender_domains::list(app, &caller, artist).await?,
        },
    )
}

/// `POST /api/email/domains` with `{ "artist_id", "domain" }`: registers the domain with SES
/// (Easy DKIM) and answers the DNS records to publish.
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let body = http::json_body::<CreateBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    let artist = f.check("artist_id", body.artist_id.parse::<ArtistId>());
    let domain = f.check("domain", DomainName::parse(&body.domain));
    let (artist, domain) = f.finish(|| (artist.expect("checked"), domain.expect("checked")))?;
    http::json(
        201,
        &sender_domains::register(app, &caller, artist, domain, body.provider).await?,
    )
}

/// `POST /api/email/domains/{domain}/verify` with `{ "artist_id", "approve"? }`: looks the
/// artist's ownership proof up in DNS; `approve: true` (mailing:admin only) approves without it.
pub async fn verify(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let body = http::json_body::<VerifyBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    let artist = f.check("artist_id", body.artist_id.parse::<ArtistId>());
    let domain = f.check(
        "domain",
        DomainName::parse(http::path_text(&request, "domain")),
    );
    let (artist, domain) = f.finish(|| (artist.expect("checked"), domain.expect("checked")))?;
    http::json(
        200,
        &sender_domains::verify(app, &caller, artist, domain, body.approve).await?,
    )
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "DomainVerification")
)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    artist_id: String,
    #[serde(default)]
    approve: bool,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewDomain")
)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    artist_id: String,
    domain: String,
    /// Who carries the artist's messages from the domain (`ses` by default).
    #[serde(default)]
    provider: SendingProvider,
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("GET", "/api/email/domains")
        .summary("An artist's sending domains and their state at SES")
        .required_query_schema("artist_id", "The artist.", crate::contract::schema::uuid())
        .answers::<http::Items<sender_domains::SenderDomain>>(200, "The domains.");
    api.operation("POST", "/api/email/domains")
        .summary("Claim a sending domain for an artist")
        .description("Registers the domain with SES (Easy DKIM) and answers the DNS records to publish, with the TXT record that proves the artist owns it. A domain claimed by another artist is refused.")
        .body::<CreateBody>()
        .answers::<sender_domains::SenderDomain>(201, "The domain and its DNS records.")
        .errors(&[409]);
    api.operation("POST", "/api/email/domains/{domain}/verify")
        .summary("Check a domain's ownership proof in DNS")
        .description("`approve: true` (the `mailing:admin` scope only) approves without the proof.")
        .body::<VerifyBody>()
        .answers::<sender_domains::SenderDomain>(200, "The domain and its state.")
        .errors(&[409]);
}
