//! Campaigns: `/api/artists/{artistId}/campaigns[/{campaignId}]`.

use lambda_http::Request;
use mailing::campaigns::{
    self, CampaignChanges, DEFAULT_PAGE, ListRequest, MAX_PAGE, NAME_MAX, NewCampaign,
};
use mailing::domain::{
    ArtistId, BestTimeWindow, Campaign, CampaignContent, CampaignId, CampaignStatus, Condition,
    ConditionOp, ContactId, ContactRole, EmailAddress, Recipients, Sender, Tags, TemplateId,
    VariantIndex,
};
use mailing::templates::{CONTENT_MAX, SUBJECT_MAX, TEXT_MAX};
use mailing::tracking::recipients;
use mailing::{ApiError, App, sending};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ab_tests::AbTestBody;
use crate::http::{self, Fields, HttpResult};

/// Campaign bodies carry whole HTML documents: the campaign's and up to five variants'.
pub(crate) const CAMPAIGN_BODY_LIMIT: usize = 6 * (CONTENT_MAX + TEXT_MAX);

/// What inbox lists show of a preheader is a line; longer is cut there anyway.
pub(crate) const PREHEADER_MAX: usize = 250;

/// `GET /api/artists/{artistId}/campaigns?contact_role=&status=&limit=&cursor=`
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let contact_role = http::query_param(&request, "contact_role", |raw| {
        raw.parse::<ContactRole>().map_err(|e| e.to_string())
    })?;
    let status = http::query_param(&request, "status", |raw| {
        serde_json::from_value::<CampaignStatus>(Value::String(raw.to_owned())).map_err(|_| {
            "is not a campaign status; expected one of draft, scheduled, sending, sent, completed, paused, cancelled".into()
        })
    })?;
    let limit = http::query_limit(&request, DEFAULT_PAGE, MAX_PAGE)?;
    let cursor = http::query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    let page = campaigns::list(
        app,
        &caller,
        ListRequest {
            artist,
            contact_role,
            status,
            limit,
            cursor,
        },
    )
    .await?;
    http::json(200, &page)
}

/// `POST /api/artists/{artistId}/campaigns`
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let new = http::json_body::<CreateBody>(&request, CAMPAIGN_BODY_LIMIT)?.parse(artist)?;
    http::json(201, &campaigns::create(app, &caller, new).await?)
}

/// `GET /api/artists/{artistId}/campaigns/{campaignId}`
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let mut campaign = campaigns::get(app, &caller, artist, id).await?;
    let engagement = mailing::tracking::engagement::of(app, &mut campaign).await?;
    http::json(
        200,
        &WithEngagement {
            campaign,
            engagement,
        },
    )
}

/// A campaign as `GET` answers it: with how its recipients engaged.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CampaignWithEngagement"))]
struct WithEngagement {
    #[serde(flatten)]
    campaign: Campaign,
    engagement: mailing::tracking::engagement::CampaignEngagement,
}

/// `GET /api/artists/{artistId}/campaigns/{campaignId}/sends?limit=&cursor=`
pub async fn sends(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let limit = http::query_limit(&request, recipients::DEFAULT_PAGE, recipients::MAX_PAGE)?;
    let cursor = http::query_param(&request, "cursor", |raw| Ok(raw.to_owned()))?;
    let page = recipients::of_campaign(app, &caller, artist, id, cursor.as_deref(), limit).await?;
    http::json(200, &page)
}

/// `PUT /api/artists/{artistId}/campaigns/{campaignId}`: drafts and scheduled campaigns only;
/// fields present are changed, `null` clears an optional one.
pub async fn update(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let changes = http::json_body::<UpdateBody>(&request, CAMPAIGN_BODY_LIMIT)?.parse()?;
    http::json(
        200,
        &campaigns::update(app, &caller, artist, id, changes).await?,
    )
}

/// `DELETE /api/artists/{artistId}/campaigns/{campaignId}`
pub async fn delete(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    campaigns::delete(app, &caller, artist, id).await?;
    http::empty(204)
}

#[derive(Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "RecipientFilter"))]
#[serde(deny_unknown_fields)]
struct RecipientsBody {
    #[serde(default)]
    tags_any: Vec<String>,
    #[serde(default)]
    tags_all: Vec<String>,
    #[serde(default)]
    conditions: Vec<ConditionBody>,
    #[serde(default)]
    min_score: Option<u64>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "ConditionInput"))]
#[serde(deny_unknown_fields)]
struct ConditionBody {
    field: String,
    op: ConditionOp,
    #[serde(default)]
    value: Value,
}

impl RecipientsBody {
    fn parse(self, f: &mut Fields) -> Recipients {
        let tags = |f: &mut Fields, field: &str, raw: Vec<String>| {
            f.check(field, Tags::parse(&raw))
                .map(|tags| tags.as_slice().to_vec())
                .unwrap_or_default()
        };
        if self.conditions.len() > Recipients::MAX_CONDITIONS {
            f.push(
                "recipients.conditions",
                format!("at most {} conditions", Recipients::MAX_CONDITIONS),
            );
        }
        let conditions = self
            .conditions
            .into_iter()
            .enumerate()
            .filter_map(|(i, c)| {
                f.check(
                    &format!("recipients.conditions[{i}]"),
                    Condition::parse(&c.field, c.op, c.value),
                )
            })
            .collect();
        let min_score = self.min_score.and_then(|score| {
            f.check(
                "recipients.min_score",
                u8::try_from(score)
                    .ok()
                    .filter(|s| *s <= 100)
                    .ok_or("must be a score from 0 to 100"),
            )
        });
        Recipients {
            tags_any: tags(f, "recipients.tags_any", self.tags_any),
            tags_all: tags(f, "recipients.tags_all", self.tags_all),
            conditions,
            min_score,
        }
    }
}

/// A message's content as a campaign or an individual email takes it: a template, its own
/// subject and HTML (and text), or a template with its own subject.
pub(crate) fn content(
    f: &mut Fields,
    template_id: Option<String>,
    subject: Option<String>,
    content: Option<String>,
    text_content: Option<String>,
    preheader: Option<String>,
) -> CampaignContent {
    CampaignContent {
        template_id: template_id.and_then(|raw| f.check("template_id", raw.parse::<TemplateId>())),
        subject: optional_source(f, "subject", subject, SUBJECT_MAX, true),
        content: optional_source(f, "content", content, CONTENT_MAX, false),
        text_content: optional_source(f, "text_content", text_content, TEXT_MAX, false),
        preheader: optional_source(f, "preheader", preheader, PREHEADER_MAX, true),
    }
}

pub(crate) fn sender(
    f: &mut Fields,
    from_name: &str,
    from_email: &str,
    forward: Option<&str>,
) -> Option<Sender> {
    let name = f.text("from_name", Some(from_name), 100);
    if name.is_none() && from_name.trim().is_empty() {
        f.push("from_name", "must not be empty");
    }
    let email = f.check("from_email", EmailAddress::parse(from_email));
    let forward = forward.and_then(|raw| f.check("forward_replies_to", EmailAddress::parse(raw)));
    Some(Sender {
        from_name: name?,
        from_email: email?,
        forward_replies_to: forward,
    })
}

pub(crate) fn optional_source(
    f: &mut Fields,
    field: &str,
    value: Option<String>,
    max: usize,
    single_line: bool,
) -> Option<String> {
    value.and_then(|v| f.source(field, v, max, single_line))
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "NewCampaign"))]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[cfg_attr(feature = "openapi", schemars(with = "ContactRole"))]
    contact_role: String,
    name: String,
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    text_content: Option<String>,
    #[serde(default)]
    preheader: Option<String>,
    #[serde(default)]
    recipients: RecipientsBody,
    from_name: String,
    from_email: String,
    #[serde(default)]
    forward_replies_to: Option<String>,
    #[serde(default)]
    track_opens: Option<bool>,
    #[serde(default)]
    track_clicks: Option<bool>,
    #[serde(default)]
    utm_campaign: Option<String>,
    #[serde(default)]
    ab_test: Option<AbTestBody>,
    #[serde(default)]
    cost: Option<CostBody>,
    #[serde(default)]
    send_at_best_time: Option<BestTimeBody>,
}

/// `{ "window_hours": 1–168 }`: each recipient at their best hour within that many hours of
/// the start.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "BestTimeInput"))]
#[serde(deny_unknown_fields)]
struct BestTimeBody {
    window_hours: u64,
}

impl BestTimeBody {
    fn parse(self, f: &mut Fields) -> Option<BestTimeWindow> {
        f.check(
            "send_at_best_time.window_hours",
            BestTimeWindow::parse(self.window_hours),
        )
    }
}

/// What a campaign cost: `{ "amount": 1500 | "1500.00", "currency": "EUR" }`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CostInput"))]
#[serde(deny_unknown_fields)]
struct CostBody {
    amount: Value,
    currency: String,
}

impl CostBody {
    fn parse(self, f: &mut Fields) -> Option<mailing::domain::Money> {
        crate::conversions::money(
            f,
            ("cost.amount", &self.amount),
            ("cost.currency", &self.currency),
        )
    }
}

impl CreateBody {
    fn parse(self, artist: ArtistId) -> Result<NewCampaign, ApiError> {
        let mut f = Fields::default();
        let contact_role = f.check("contact_role", self.contact_role.parse::<ContactRole>());
        let name = f.text("name", Some(&self.name), NAME_MAX);
        if name.is_none() && self.name.trim().is_empty() {
            f.push("name", "must not be empty");
        }
        let content = content(
            &mut f,
            self.template_id,
            self.subject,
            self.content,
            self.text_content,
            self.preheader,
        );
        let recipients = self.recipients.parse(&mut f);
        let ab_test = self.ab_test.and_then(|body| body.parse(&mut f));
        let cost = self.cost.and_then(|body| body.parse(&mut f));
        let send_at_best_time = self.send_at_best_time.and_then(|body| body.parse(&mut f));
        let sender = sender(
            &mut f,
            &self.from_name,
            &self.from_email,
            self.forward_replies_to.as_deref(),
        );
        let utm_campaign = f.text("utm_campaign", self.utm_campaign.as_deref(), 100);
        f.finish(|| NewCampaign {
            artist,
            contact_role: contact_role.expect("checked"),
            name: name.expect("checked"),
            content,
            recipients,
            sender: sender.expect("checked"),
            track_opens: self.track_opens.unwrap_or(true),
            track_clicks: self.track_clicks.unwrap_or(true),
            utm_campaign,
            ab_test,
            cost,
            send_at_best_time,
        })
    }
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CampaignChanges"))]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "http::nullable")]
    template_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    content: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    text_content: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    preheader: Option<Option<String>>,
    #[serde(default)]
    recipients: Option<RecipientsBody>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    from_email: Option<String>,
    #[serde(default, deserialize_with = "http::nullable")]
    forward_replies_to: Option<Option<String>>,
    #[serde(default)]
    track_opens: Option<bool>,
    #[serde(default)]
    track_clicks: Option<bool>,
    #[serde(default, deserialize_with = "http::nullable")]
    utm_campaign: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    ab_test: Option<Option<AbTestBody>>,
    #[serde(default, deserialize_with = "http::nullable")]
    cost: Option<Option<CostBody>>,
    #[serde(default, deserialize_with = "http::nullable")]
    send_at_best_time: Option<Option<BestTimeBody>>,
    /// Not settable: named so that sending one says how to move a campaign instead.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(skip))]
    status: Option<Value>,
}

impl UpdateBody {
    fn parse(self) -> Result<CampaignChanges, ApiError> {
        let mut f = Fields::default();
        if self.status.is_some() {
            f.push(
                "status",
                "is changed by send, schedule, pause, resume and cancel, not by editing",
            );
        }
        let name = self.name.map(|name| {
            let checked = f.text("name", Some(&name), NAME_MAX);
            if checked.is_none() && name.trim().is_empty() {
                f.push("name", "must not be empty");
            }
            checked.unwrap_or_default()
        });
        let template_id = self
            .template_id
            .map(|raw| raw.and_then(|raw| f.check("template_id", raw.parse::<TemplateId>())));
        let subject = self
            .subject
            .map(|v| optional_source(&mut f, "subject", v, SUBJECT_MAX, true));
        let content = self
            .content
            .map(|v| optional_source(&mut f, "content", v, CONTENT_MAX, false));
        let text_content = self
            .text_content
            .map(|v| optional_source(&mut f, "text_content", v, TEXT_MAX, false));
        let preheader = self
            .preheader
            .map(|v| optional_source(&mut f, "preheader", v, PREHEADER_MAX, true));
        let recipients = self.recipients.map(|r| r.parse(&mut f));
        let ab_test = self
            .ab_test
            .map(|body| body.and_then(|body| body.parse(&mut f)));
        let cost = self
            .cost
            .map(|body| body.and_then(|body| body.parse(&mut f)));
        let send_at_best_time = self
            .send_at_best_time
            .map(|body| body.and_then(|body| body.parse(&mut f)));
        // The sender is one value: changing one of its fields needs the others, so a partial
        // change names what is missing.
        let sender = match (self.from_name, self.from_email) {
            (None, None) if self.forward_replies_to.is_none() => None,
            (Some(name), Some(email)) => sender(
                &mut f,
                &name,
                &email,
                self.forward_replies_to.flatten().as_deref(),
            ),
            _ => {
                f.push(
                    "from_email",
                    "from_name, from_email (and forward_replies_to) change together",
                );
                None
            }
        };
        let utm_campaign = self
            .utm_campaign
            .map(|v| f.text("utm_campaign", v.as_deref(), 100));
        f.finish(|| CampaignChanges {
            name,
            template_id,
            subject,
            content,
            text_content,
            preheader,
            recipients,
            sender,
            track_opens: self.track_opens,
            track_clicks: self.track_clicks,
            utm_campaign,
            ab_test,
            cost,
            send_at_best_time,
        })
    }
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/send`: checks the campaign (content,
/// sender domain, recipients) and starts sending; 202 with the campaign, now `sending`.
pub async fn send(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    http::json(202, &sending::start(app, &caller, artist, id).await?)
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/schedule` with `{ "at": "<RFC 3339 with
/// offset>" }`: checked now, sent then (within a minute). Scheduling again moves the time.
pub async fn schedule(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let body = http::json_body::<ScheduleBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    let at = f
        .check(
            "at",
            chrono::DateTime::parse_from_rfc3339(&body.at).map_err(
                |_| "must be an RFC 3339 time with its offset, like 2027-03-14T09:30:00+01:00",
            ),
        )
        .map(|at| at.with_timezone(&chrono::Utc));
    let now = chrono::Utc::now();
    if let Some(at) = at {
        if at <= now {
            f.push("at", "must be in the future");
        } else if at > now + chrono::Duration::days(365) {
            f.push("at", "must be within a year");
        }
    }
    let at = f.finish(|| at.expect("checked"))?;
    http::json(200, &sending::schedule(app, &caller, artist, id, at).await?)
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "Schedule"))]
#[serde(deny_unknown_fields)]
struct ScheduleBody {
    at: String,
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/pause`
pub async fn pause(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    http::json(200, &sending::pause(app, &caller, artist, id).await?)
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/resume`
pub async fn resume(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    http::json(202, &sending::resume(app, &caller, artist, id).await?)
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/cancel`: answers the campaign and
/// `unsent`, how many of its recipients will not be sent to.
pub async fn cancel(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let (campaign, unsent) = sending::cancel(app, &caller, artist, id).await?;
    http::json(200, &Cancelled { campaign, unsent })
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "CancelledCampaign"))]
struct Cancelled {
    #[serde(flatten)]
    campaign: Campaign,
    /// How many recipients will not be sent to.
    unsent: u64,
}

/// `POST /api/artists/{artistId}/campaigns/{campaignId}/test` with `{ "to": [addresses],
/// "contact_id"?: id, "variant"?: "A"–"E" }`: the campaign (or one variant) as that contact (or its first recipient) would get it,
/// to up to five addresses, marked as a test. Answers one result per address.
pub async fn test(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: CampaignId = http::path_id(&request, "campaignId", "campaign")?;
    let body = http::json_body::<TestBody>(&request, http::JSON_LIMIT)?;
    let mut f = Fields::default();
    let mut to: Vec<EmailAddress> = Vec::new();
    if body.to.is_empty() || body.to.len() > sending::MAX_TEST_RECIPIENTS {
        f.push(
            "to",
            format!("give from 1 to {} addresses", sending::MAX_TEST_RECIPIENTS),
        );
    }
    for (i, raw) in body.to.iter().enumerate() {
        if let Some(address) = f.check(&format!("to[{i}]"), EmailAddress::parse(raw)) {
            if to
                .iter()
                .any(|seen| seen.normalized() == address.normalized())
            {
                f.push(&format!("to[{i}]"), "repeats an earlier address");
            } else {
                to.push(address);
            }
        }
    }
    let contact = body
        .contact_id
        .and_then(|raw| f.check("contact_id", raw.parse::<ContactId>()));
    let variant = body
        .variant
        .and_then(|raw| f.check("variant", VariantIndex::parse(&raw)));
    let request = f.finish(|| sending::TestRequest {
        to,
        contact,
        variant,
    })?;
    let items = sending::send_test(app, &caller, artist, id, request).await?;
    http::json(200, &Tested { items })
}

/// One result per address of a test send.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "TestSendResults"))]
struct Tested {
    items: Vec<sending::TestResult>,
}

#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "TestSend"))]
#[serde(deny_unknown_fields)]
struct TestBody {
    to: Vec<String>,
    #[serde(default)]
    contact_id: Option<String>,
    /// The A/B variant to send (the first when absent).
    #[serde(default)]
    variant: Option<String>,
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    let list = "/api/artists/{artistId}/campaigns";
    let one = "/api/artists/{artistId}/campaigns/{campaignId}";
    api.operation("GET", list)
        .summary("The team's campaigns, newest first")
        .query::<ContactRole>(
            "contact_role",
            "One team; every team of the caller's grant when absent.",
        )
        .query::<CampaignStatus>("status", "Only campaigns in this state.")
        .paged(MAX_PAGE)
        .answers::<mailing::cursor::Page<Campaign>>(200, "A page of campaigns.");
    api.operation("POST", list)
        .summary("Create a draft campaign")
        .description("A template or the campaign's own subject and HTML, recipients by tags, conditions and engagement score, a sender on a verified domain, optional A/B variants, cost and best-time window. Checked at once; nothing is sent until `send` or `schedule`.")
        .body::<CreateBody>()
        .answers::<Campaign>(201, "The draft.")
        .errors(&[404]);
    api.operation("GET", one)
        .summary("A campaign, with how its recipients engaged")
        .answers::<WithEngagement>(200, "The campaign.");
    api.operation("PUT", one)
        .summary("Edit a draft or scheduled campaign")
        .description("Fields present are changed, `null` clears an optional one, absent fields stay. The status moves only through send, schedule, pause, resume and cancel.")
        .body::<UpdateBody>()
        .answers::<Campaign>(200, "The campaign as changed.")
        .errors(&[409]);
    api.operation("DELETE", one)
        .summary("Delete a draft campaign")
        .empty(204, "Deleted.")
        .errors(&[409]);
    api.operation(
        "GET",
        "/api/artists/{artistId}/campaigns/{campaignId}/sends",
    )
    .summary("Each recipient of a campaign and what became of their message")
    .paged(recipients::MAX_PAGE)
    .answers::<mailing::cursor::Page<recipients::Recipient>>(200, "A page of recipients.");
    fn action<'a>(
        api: &'a mut crate::contract::Api,
        verb: &str,
        summary: &str,
    ) -> crate::contract::Describe<'a> {
        let path = format!("/api/artists/{{artistId}}/campaigns/{{campaignId}}/{verb}");
        api.operation("POST", &path)
            .summary(summary)
            .errors(&[409, 422])
    }
    action(api, "send", "Check the campaign and start sending now")
        .description("The readiness gate checks content, sender domain, consent and recipients; a refusal names every reason. The content is frozen as it goes.")
        .answers::<Campaign>(202, "The campaign, now sending.");
    action(api, "schedule", "Check the campaign and send it at a time")
        .body::<ScheduleBody>()
        .answers::<Campaign>(200, "The campaign, scheduled.");
    action(api, "pause", "Stop sending; what is queued waits")
        .answers::<Campaign>(200, "The campaign, paused.");
    action(api, "resume", "Go on sending a paused campaign")
        .answers::<Campaign>(202, "The campaign, sending again.");
    action(api, "cancel", "Stop a campaign for good").answers::<Cancelled>(
        200,
        "The campaign, cancelled, and how many recipients will not get it.",
    );
    action(
        api,
        "test",
        "Send the campaign (or one variant) to up to five addresses, marked as a test",
    )
    .body::<TestBody>()
    .answers::<Tested>(200, "One result per address.");
}
