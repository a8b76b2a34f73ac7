//! Replies: `GET /api/artists/{artistId}/email/replies`, `PUT …/email/replies/{replyId}`,
//! `GET /api/email/replies/unassigned`, and the `email-inbound` consumer of the inbound queue.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_http::Request;
use lambda_runtime::LambdaEvent;
use mailing::App;
use mailing::domain::{ArtistId, CampaignId, ContactRole, ReplyId, ReplyKind, UserId};
use mailing::replies::api::{self, Change, DEFAULT_PAGE, ListRequest, MAX_PAGE, NOTE_MAX};
use serde::Deserialize;

use crate::http::{self, Fields, HttpResult};

fn yes_no(raw: &str) -> Result<bool, String> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

/// `GET /api/artists/{artistId}/email/replies?processed=&contact_role=&campaign_id=&assigned_to=&kind=&limit=&cursor=`
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let processed = http::query_param(&request, "processed", yes_no)?;
    let contact_role = http::query_param(&request, "contact_role", |raw| {
        raw.parse::<ContactRole>().map_err(|e| e.to_string())
    })?;
    let campaign_id = http::query_param(&request, "campaign_id", |raw| {
        raw.parse::<CampaignId>().map_err(|e| e.to_string())
    })?;
    let assigned_to = http::query_param(&request, "assigned_to", |raw| {
        Some(raw.trim())
            .filter(|user| !user.is_empty() && user.len() <= 256)
            .map(UserId::new)
            .ok_or_else(|| "must be a user id".to_owned())
    })?;
    let kind = http::query_param(&request, "kind", |raw| match raw {
        "human" => Ok(ReplyKind::Human),
        "auto" => Ok(ReplyKind::Auto),
        _ => Err("must be human or auto".into()),
    })?;
    let limit = http::query_limit(&request, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = http::query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    let page = api::list(
        app,
        &caller,
        artist,
        ListRequest {
            processed,
            contact_role,
            campaign_id,
            assigned_to,
            kind,
            limit,
            cursor,
        },
    )
    .await?;
    http::json(200, &page)
}

/// `GET /api/email/replies/unassigned?limit=&cursor=` (administrators)
pub async fn unassigned(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let limit = http::query_limit(&request, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = http::query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    http::json(
        200,
        &api::unassigned(app, &caller, limit, cursor.as_deref()).await?,
    )
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ReplyChanges")
)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    processed: Option<bool>,
    #[serde(default, deserialize_with = "http::nullable")]
    assigned_to: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    note: Option<Option<String>>,
}

impl UpdateBody {
    fn parse(self) -> Result<Change, mailing::ApiError> {
        let mut f = Fields::default();
        let assigned_to = self.assigned_to.map(|user| {
            user.and_then(|user| {
                let user = user.trim().to_owned();
                if user.is_empty() || user.len() > 256 {
                    f.push("assigned_to", "must be a user id of at most 256 characters");
                    None
                } else {
                    Some(UserId::new(user))
                }
            })
        });
        let note = self
            .note
            .map(|note| note.and_then(|note| f.text("note", Some(&note), NOTE_MAX)));
        f.finish(|| Change {
            processed: self.processed,
            assigned_to,
            note,
        })
    }
}

/// `PUT /api/artists/{artistId}/email/replies/{replyId}`: `processed`, `assigned_to`, `note`.
pub async fn update(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ReplyId = http::path_id(&request, "replyId", "reply")?;
    let change = http::json_body::<UpdateBody>(&request, http::JSON_LIMIT)?.parse()?;
    http::json(200, &api::update(app, &caller, artist, id, change).await?)
}

/// `email-inbound` (InboundQueue): each message SES stored, received once.
pub async fn inbound(
    app: &App,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let messages = crate::runtime::bodies(event);
    Ok(crate::runtime::failures(
        mailing::replies::consume(app, &messages).await,
    ))
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::schema;
    api.operation("GET", "/api/artists/{artistId}/email/replies")
        .summary("Replies to the artist's messages, newest first")
        .query_schema(
            "processed",
            "Only replies handled (`true`) or not (`false`).",
            schema::boolean(),
        )
        .query::<ContactRole>(
            "contact_role",
            "One team; every team of the caller's grant when absent.",
        )
        .query_schema(
            "campaign_id",
            "Only replies to this campaign.",
            schema::uuid(),
        )
        .query_schema(
            "assigned_to",
            "Only replies assigned to this user.",
            schema::text(),
        )
        .query_schema(
            "kind",
            "Only replies of this kind.",
            schema::one_of(&["human", "auto"]),
        )
        .paged(MAX_PAGE)
        .answers::<mailing::cursor::Page<api::ReplyView>>(200, "A page of replies.");
    api.operation("GET", "/api/email/replies/unassigned")
        .summary("Replies no artist could be found for (administrators)")
        .paged(MAX_PAGE)
        .answers::<mailing::cursor::Page<api::ReplyView>>(200, "A page of replies.");
    api.operation("PUT", "/api/artists/{artistId}/email/replies/{replyId}")
        .summary("Mark a reply processed, assign it, note it")
        .body::<UpdateBody>()
        .answers::<api::ReplyView>(200, "The reply as changed.");
}
