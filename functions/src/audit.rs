//! The audit trail: `GET /api/artists/{artistId}/audit?actor=&action=&target=&from=&to=&limit=&cursor=`.

use lambda_http::Request;
use mailing::App;
use mailing::audit_trail::{self, DEFAULT_PAGE, MAX_PAGE, TrailRequest};
use mailing::domain::{ArtistId, AuditAction, UserId};
use serde_json::Value;

use crate::http::{self, HttpResult};

fn time(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&chrono::Utc))
        .map_err(|_| "must be an RFC 3339 time with its offset, like 2026-12-01T09:00:00Z".into())
}

pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let actor = http::query_param(&request, "actor", |raw| Ok(UserId::new(raw)))?;
    let action = http::query_param(&request, "action", |raw| {
        serde_json::from_value::<AuditAction>(Value::String(raw.to_owned()))
            .map_err(|_| "is not an audit action, like contact.updated or campaign.sent".into())
    })?;
    let target = http::query_param(&request, "target", |raw| Ok(raw.to_owned()))?;
    let from = http::query_param(&request, "from", time)?;
    let to = http::query_param(&request, "to", time)?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(mailing::ApiError::invalid_fields(vec![
            mailing::FieldError::new("from", "must not be after to"),
        ]));
    }
    let limit = http::query_limit(&request, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = http::query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    let page = audit_trail::list(
        app,
        &caller,
        TrailRequest {
            artist,
            actor,
            action,
            target,
            from,
            to,
            limit,
            cursor,
        },
    )
    .await?;
    http::json(200, &page)
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::schema;
    api.operation("GET", "/api/artists/{artistId}/audit")
        .summary("The artist's audit trail, newest first")
        .description("Who changed what and when, with the request id and each changed field's value before and after (personal data left out). For a grant on the whole artist.")
        .query_schema("actor", "Only this user (the token's `sub`).", schema::text())
        .query::<AuditAction>("action", "Only this action.")
        .query_schema("target", "Only this target id.", schema::text())
        .query_schema("from", "Not before this time (RFC 3339).", schema::date_time())
        .query_schema("to", "Not after this time (RFC 3339).", schema::date_time())
        .paged(MAX_PAGE)
        .answers::<mailing::cursor::Page<mailing::domain::AuditRecord>>(200, "A page of records.")
        .errors(&[422]);
}
