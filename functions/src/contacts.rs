//! Contacts: `/api/artists/{artistId}/contacts[/{contactId}]`.

use lambda_http::Request;
use mailing::ApiError;
use mailing::App;
use mailing::contacts::{self, ContactChanges, ListRequest, NewContact};
use mailing::domain::{
    ArtistId, ContactFields, ContactId, ContactRole, ContactSource, ContactStatus, EmailAddress,
    Tags,
};
use mailing::send_time;
use mailing::tracking::engagement;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::http::{self, ConsentBody, ContactFieldsBody, Fields, HttpResult};

/// The listing the query asks for: `contact_role`, `status`, `tag`, `limit`, `cursor`.
pub(crate) fn list_request(request: &Request) -> Result<ListRequest, ApiError> {
    let artist: ArtistId = http::path_id(request, "artistId", "artist")?;
    let contact_role = http::query_param(request, "contact_role", |raw| {
        raw.parse::<ContactRole>().map_err(|e| e.to_string())
    })?;
    let status = http::query_param(request, "status", |raw| {
        ContactStatus::parse(raw).ok_or_else(|| {
            "is not a status; expected one of active, unsubscribed, bounced, invalid".into()
        })
    })?;
    let tag = http::query_param(request, "tag", |raw| {
        let tags = Tags::parse(&[raw])?;
        tags.as_slice()
            .first()
            .cloned()
            .ok_or_else(|| "must not be blank".into())
    })?;
    let limit = http::query_limit(request, contacts::DEFAULT_PAGE, contacts::MAX_PAGE)?;
    let cursor = http::query_param(request, "cursor", |raw| Ok(raw.to_owned()))?;
    Ok(ListRequest {
        artist,
        contact_role,
        status,
        tag,
        limit,
        cursor,
    })
}

/// `GET /api/artists/{artistId}/contacts?contact_role=&status=&tag=&min_score=&limit=&cursor=`
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let listing = list_request(&request)?;
    let min_score = http::query_param(&request, "min_score", |raw| {
        raw.parse::<u8>()
            .ok()
            .filter(|score| *score <= 100)
            .ok_or_else(|| "must be a score from 0 to 100".into())
    })?;
    let mut page = contacts::list(app, &caller, listing).await?;
    engagement::of_contacts(app, &mut page.items).await?;
    // Scores live beside the contacts, not in them: a page is filtered once read, and may come
    // out shorter than `limit` with a cursor to go on.
    if let Some(min) = min_score {
        page.items.retain(|contact| contact.engagement.score >= min);
    }
    http::json(200, &page)
}

/// `POST /api/artists/{artistId}/contacts`
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let new = http::json_body::<CreateBody>(&request, http::JSON_LIMIT)?.parse()?;
    let contact = contacts::create(app, &caller, artist, new).await?;
    http::json(201, &contact)
}

/// `GET /api/artists/{artistId}/contacts/{contactId}`
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ContactId = http::path_id(&request, "contactId", "contact")?;
    let mut contact = contacts::get(app, &caller, artist, id).await?;
    let counters = engagement::of_contacts(app, std::slice::from_mut(&mut contact)).await?;
    let best_send_time = match counters.first() {
        Some(counters) => {
            Some(send_time::of_contact(app, &contact, counters, chrono::Utc::now()).await?)
        }
        None => None,
    };
    http::json(
        200,
        &WithBestTime {
            contact,
            best_send_time,
        },
    )
}

/// A contact as `GET` answers it: with the hour to send it mail.
#[derive(serde::Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ContactWithBestTime")
)]
struct WithBestTime {
    #[serde(flatten)]
    contact: mailing::domain::Contact,
    best_send_time: Option<send_time::BestSendTime>,
}

/// `PUT /api/artists/{artistId}/contacts/{contactId}`: fields present are changed, `null`
/// clears an optional field, absent fields stay as they are.
pub async fn update(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ContactId = http::path_id(&request, "contactId", "contact")?;
    let changes = http::json_body::<UpdateBody>(&request, http::JSON_LIMIT)?.parse()?;
    let mut contact = contacts::update(app, &caller, artist, id, changes).await?;
    engagement::of_contacts(app, std::slice::from_mut(&mut contact)).await?;
    http::json(200, &contact)
}

/// `DELETE /api/artists/{artistId}/contacts/{contactId}`
pub async fn delete(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let id: ContactId = http::path_id(&request, "contactId", "contact")?;
    contacts::delete(app, &caller, artist, id).await?;
    http::empty(204)
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewContact")
)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: String,
    #[cfg_attr(feature = "openapi", schemars(with = "ContactRole"))]
    contact_role: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
    #[serde(default)]
    source: Option<ContactSource>,
    #[serde(default)]
    consent: Option<ConsentBody>,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ContactChanges")
)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(with = "Option<ContactRole>"))]
    contact_role: Option<String>,
    #[serde(default, deserialize_with = "http::nullable")]
    first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    company: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    position: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "http::nullable")]
    tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "http::nullable")]
    metadata: Option<Option<Map<String, Value>>>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    consent: Option<ConsentBody>,
}

impl CreateBody {
    fn parse(self) -> Result<NewContact, ApiError> {
        let mut f = Fields::default();
        let email = f.check("email", EmailAddress::parse(&self.email));
        let contact_role = f.check("contact_role", self.contact_role.parse::<ContactRole>());
        let fields = ContactFieldsBody {
            first_name: self.first_name,
            last_name: self.last_name,
            company: self.company,
            position: self.position,
            phone: self.phone,
            tags: self.tags,
            metadata: self.metadata,
        }
        .parse(&mut f, "");
        let source = self.source.unwrap_or_default();
        if source == ContactSource::Imported {
            f.push("source", "imported is set by imports; use manual or api");
        }
        let consent = self.consent.map(|consent| consent.parse(&mut f));
        f.finish(|| NewContact {
            contact_role: contact_role.expect("checked"),
            email: email.expect("checked"),
            fields,
            source,
            consent,
        })
    }
}

impl UpdateBody {
    fn parse(self) -> Result<ContactChanges, ApiError> {
        let mut f = Fields::default();
        let email = self
            .email
            .and_then(|raw| f.check("email", EmailAddress::parse(&raw)));
        let contact_role = self
            .contact_role
            .and_then(|raw| f.check("contact_role", raw.parse::<ContactRole>()));
        let status = self.status.and_then(|raw| {
            f.check(
                "status",
                ContactStatus::parse(&raw).ok_or(
                    "is not a status; expected one of active, unsubscribed, bounced, invalid",
                ),
            )
        });
        let text = |f: &mut Fields, field: &str, value: Option<Option<String>>, max: usize| {
            value.map(|value| f.text(field, value.as_deref(), max))
        };
        let changes = ContactChanges {
            email,
            contact_role,
            first_name: text(
                &mut f,
                "first_name",
                self.first_name,
                ContactFields::NAME_MAX,
            ),
            last_name: text(&mut f, "last_name", self.last_name, ContactFields::NAME_MAX),
            company: text(
                &mut f,
                "company",
                self.company,
                ContactFields::ORGANIZATION_MAX,
            ),
            position: text(
                &mut f,
                "position",
                self.position,
                ContactFields::ORGANIZATION_MAX,
            ),
            phone: text(&mut f, "phone", self.phone, ContactFields::PHONE_MAX),
            tags: self.tags.map(|tags| {
                f.check("tags", Tags::parse(&tags.unwrap_or_default()))
                    .unwrap_or_default()
            }),
            metadata: self.metadata.map(|metadata| {
                f.check(
                    "metadata",
                    ContactFields::metadata(metadata.unwrap_or_default()),
                )
                .unwrap_or_default()
            }),
            status,
            consent: self.consent.map(|consent| consent.parse(&mut f)),
        };
        f.finish(|| changes)
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::schema;
    let list = "/api/artists/{artistId}/contacts";
    let one = "/api/artists/{artistId}/contacts/{contactId}";
    api.operation("GET", list)
        .summary("The team's contacts")
        .query::<ContactRole>(
            "contact_role",
            "One team; every team of the caller's grant when absent.",
        )
        .query::<ContactStatus>("status", "Only contacts in this state.")
        .query_schema("tag", "Only contacts with this tag.", schema::text())
        .query_schema(
            "min_score",
            "Only contacts whose engagement score is at least this.",
            serde_json::json!({ "type": "integer", "minimum": 0, "maximum": 100 }),
        )
        .paged(contacts::MAX_PAGE)
        .answers::<mailing::cursor::Page<mailing::domain::Contact>>(
            200,
            "A page of contacts, each with its engagement.",
        );
    api.operation("POST", list)
        .summary("Create a contact")
        .description("The address is checked and normalized; a person who unsubscribed, bounced or was erased stays out (suppression is by address across the artist). Consent, when given, starts the contact's consent ledger.")
        .body::<CreateBody>()
        .answers::<mailing::domain::Contact>(201, "The contact.")
        .errors(&[409]);
    api.operation("GET", one)
        .summary("A contact, with its engagement and best send time")
        .answers::<WithBestTime>(200, "The contact.");
    api.operation("PUT", one)
        .summary("Edit a contact")
        .description("Fields present are changed, `null` clears an optional field, absent fields stay. `status: unsubscribed` records the person's withdrawal; nobody can resubscribe them.")
        .body::<UpdateBody>()
        .answers::<mailing::domain::Contact>(200, "The contact as changed.")
        .errors(&[409]);
    api.operation("DELETE", one)
        .summary("Delete a contact (its suppression stays)")
        .empty(204, "Deleted.");
}
