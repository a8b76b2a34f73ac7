//! Email templates: `/api/templates/email[/{templateId}[/preview]]`.

use std::collections::HashMap;

use lambda_http::Request;
use lambda_runtime::LambdaEvent;
use mailing::domain::{ArtistId, ContactId, ContactRole, EmailAddress, Language, TemplateId};
use mailing::render::{ArtistVars, CampaignVars, SenderVars, Shared};
use mailing::templates::{
    self, CONTENT_MAX, ListRequest, NAME_MAX, NewTemplate, PreviewContact, PreviewRequest,
    SUBJECT_MAX, TEXT_MAX, TemplateChanges,
};
use mailing::{ApiError, App};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::custom_resource;
use crate::http::{self, ContactFieldsBody, Fields, HttpResult};

/// Template bodies carry whole HTML documents: room for the largest sources plus JSON escaping.
const TEMPLATE_BODY_LIMIT: usize = 2 * (CONTENT_MAX + TEXT_MAX);

/// `GET /api/templates/email?artist_id=&contact_role=&language=`
pub async fn list(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist = http::query_param(&request, "artist_id", |raw| {
        raw.parse::<ArtistId>().map_err(|e| e.to_string())
    })?;
    let contact_role = http::query_param(&request, "contact_role", |raw| {
        raw.parse::<ContactRole>().map_err(|e| e.to_string())
    })?;
    let language = http::query_param(&request, "language", |raw| raw.parse::<Language>())?;
    let items = templates::list(
        app,
        &caller,
        ListRequest {
            artist,
            contact_role,
            language,
        },
    )
    .await?;
    http::json(200, &http::Items { items })
}

/// `POST /api/templates/email`
pub async fn create(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let new = http::json_body::<CreateBody>(&request, TEMPLATE_BODY_LIMIT)?.parse()?;
    http::json(201, &templates::create(app, &caller, new).await?)
}

/// `GET /api/templates/email/{templateId}`
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let id: TemplateId = http::path_id(&request, "templateId", "template")?;
    http::json(200, &templates::get(app, &caller, id).await?)
}

/// `PUT /api/templates/email/{templateId}`: fields present are changed; `text_template: null`
/// goes back to the text derived from the HTML.
pub async fn update(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let id: TemplateId = http::path_id(&request, "templateId", "template")?;
    let changes = http::json_body::<UpdateBody>(&request, TEMPLATE_BODY_LIMIT)?.parse()?;
    http::json(200, &templates::update(app, &caller, id, changes).await?)
}

/// `DELETE /api/templates/email/{templateId}`
pub async fn delete(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let id: TemplateId = http::path_id(&request, "templateId", "template")?;
    templates::delete(app, &caller, id).await?;
    http::empty(204)
}

/// `POST /api/templates/email/{templateId}/preview`
pub async fn preview(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let id: TemplateId = http::path_id(&request, "templateId", "template")?;
    let preview_request = http::json_body::<PreviewBody>(&request, http::JSON_LIMIT)?.parse()?;
    http::json(
        200,
        &templates::preview(app, &caller, id, preview_request).await?,
    )
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewTemplate")
)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    artist_id: String,
    #[cfg_attr(feature = "openapi", schemars(with = "ContactRole"))]
    contact_role: String,
    name: String,
    #[cfg_attr(feature = "openapi", schemars(with = "Language"))]
    language: String,
    subject_template: String,
    content_template: String,
    #[serde(default)]
    text_template: Option<String>,
    #[serde(default)]
    append_signature: Option<bool>,
    #[serde(default)]
    is_default: bool,
    #[serde(default)]
    based_on: Option<String>,
}

impl CreateBody {
    fn parse(self) -> Result<NewTemplate, ApiError> {
        let mut f = Fields::default();
        let artist = f.check("artist_id", self.artist_id.parse::<ArtistId>());
        let contact_role = f.check("contact_role", self.contact_role.parse::<ContactRole>());
        let language = f.check("language", self.language.parse::<Language>());
        let name = f.text("name", Some(&self.name), NAME_MAX);
        if name.is_none() && self.name.trim().is_empty() {
            f.push("name", "must not be empty");
        }
        let subject = f.source("subject_template", self.subject_template, SUBJECT_MAX, true);
        let content = f.source(
            "content_template",
            self.content_template,
            CONTENT_MAX,
            false,
        );
        let text = self
            .text_template
            .and_then(|text| f.source("text_template", text, TEXT_MAX, false));
        let based_on = self
            .based_on
            .and_then(|raw| f.check("based_on", raw.parse::<TemplateId>()));
        f.finish(|| NewTemplate {
            artist: artist.expect("checked"),
            contact_role: contact_role.expect("checked"),
            name: name.expect("checked"),
            language: language.expect("checked"),
            subject_template: subject.expect("checked"),
            content_template: content.expect("checked"),
            text_template: text,
            append_signature: self.append_signature.unwrap_or(true),
            is_default: self.is_default,
            based_on,
        })
    }
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "TemplateChanges")
)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subject_template: Option<String>,
    #[serde(default)]
    content_template: Option<String>,
    #[serde(default, deserialize_with = "http::nullable")]
    text_template: Option<Option<String>>,
    #[serde(default)]
    append_signature: Option<bool>,
    #[serde(default)]
    is_default: Option<bool>,
}

impl UpdateBody {
    fn parse(self) -> Result<TemplateChanges, ApiError> {
        let mut f = Fields::default();
        let name = self.name.map(|name| {
            let checked = f.text("name", Some(&name), NAME_MAX);
            if checked.is_none() && name.trim().is_empty() {
                f.push("name", "must not be empty");
            }
            checked.unwrap_or_default()
        });
        let subject_template = self.subject_template.map(|s| {
            f.source("subject_template", s, SUBJECT_MAX, true)
                .unwrap_or_default()
        });
        let content_template = self.content_template.map(|c| {
            f.source("content_template", c, CONTENT_MAX, false)
                .unwrap_or_default()
        });
        let text_template = self
            .text_template
            .map(|text| text.and_then(|text| f.source("text_template", text, TEXT_MAX, false)));
        f.finish(|| TemplateChanges {
            name,
            subject_template,
            content_template,
            text_template,
            append_signature: self.append_signature,
            is_default: self.is_default,
        })
    }
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PreviewRequest")
)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    artist_id: String,
    /// A sample: `email` and any contact fields.
    #[serde(default)]
    contact: Option<Map<String, Value>>,
    /// Or one of the artist's contacts.
    #[serde(default)]
    contact_id: Option<String>,
    #[serde(default)]
    artist: Option<NameAndAddress>,
    #[serde(default)]
    campaign: Option<CampaignBody>,
    #[serde(default)]
    sender: Option<SenderBody>,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PreviewArtist")
)]
#[serde(deny_unknown_fields)]
struct NameAndAddress {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    postal_address: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PreviewCampaign")
)]
#[serde(deny_unknown_fields)]
struct CampaignBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PreviewSender")
)]
#[serde(deny_unknown_fields)]
struct SenderBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl PreviewBody {
    fn parse(self) -> Result<PreviewRequest, ApiError> {
        let mut f = Fields::default();
        let artist = f.check("artist_id", self.artist_id.parse::<ArtistId>());
        let contact = match (self.contact, self.contact_id) {
            (Some(mut sample), None) => {
                let email = match sample.remove("email") {
                    Some(Value::String(raw)) => f.check("contact.email", EmailAddress::parse(&raw)),
                    Some(_) => f.check("contact.email", Err("must be a string")),
                    None => f.check("contact.email", Err("is required")),
                };
                let fields = f
                    .check_field(http::nested::<ContactFieldsBody>(
                        "contact",
                        Value::Object(sample),
                    ))
                    .map(|body| body.parse(&mut f, "contact."));
                email
                    .zip(fields)
                    .map(|(email, fields)| PreviewContact::Sample {
                        email,
                        fields: Box::new(fields),
                    })
            }
            (None, Some(raw)) => f
                .check("contact_id", raw.parse::<ContactId>())
                .map(PreviewContact::Existing),
            _ => {
                f.push("contact", "give either contact (a sample) or contact_id");
                None
            }
        };
        let artist_vars = self
            .artist
            .map_or_else(ArtistVars::default, |a| ArtistVars {
                name: f.text("artist.name", a.name.as_deref(), 200),
                postal_address: f.text("artist.postal_address", a.postal_address.as_deref(), 500),
            });
        let campaign = self
            .campaign
            .map_or_else(CampaignVars::default, |c| CampaignVars {
                name: f.text("campaign.name", c.name.as_deref(), 200),
                subject: f.text("campaign.subject", c.subject.as_deref(), SUBJECT_MAX),
            });
        let sender = self
            .sender
            .map_or_else(SenderVars::default, |s| SenderVars {
                name: f.text("sender.name", s.name.as_deref(), 200),
                email: s
                    .email
                    .and_then(|raw| f.check("sender.email", EmailAddress::parse(&raw)))
                    .map(|email| email.ascii().to_owned()),
            });
        f.finish(|| PreviewRequest {
            artist: artist.expect("checked"),
            contact: contact.expect("checked"),
            shared: Shared {
                artist: artist_vars,
                campaign,
                sender,
            },
        })
    }
}

/// What CloudFormation knows the built-ins by: one resource, never replaced.
const BUILT_INS_RESOURCE: &str = "artisthub-built-in-templates";

/// `templates-install`, the `BuiltInTemplates` custom resource: installs the built-in defaults
/// on every create and update of the stack (idempotently), and leaves them on delete (the table
/// is retained, and they are harmless without it).
pub async fn install(
    app: &App,
    event: LambdaEvent<custom_resource::Request>,
) -> Result<(), lambda_runtime::Error> {
    let request = event.payload;
    let outcome = if custom_resource::is_delete(&request) {
        Ok(HashMap::new())
    } else {
        templates::install_builtins(app)
            .await
            .map(|report| {
                HashMap::from([
                    ("Written".to_owned(), report.written.to_string()),
                    ("Unchanged".to_owned(), report.unchanged.to_string()),
                    ("Removed".to_owned(), report.removed.to_string()),
                ])
            })
            .map_err(|error| {
                tracing::error!(error = ?error, "installing the built-in templates failed");
                "installing the built-in templates failed; see the function's logs".to_owned()
            })
    };
    custom_resource::answer(&request, BUILT_INS_RESOURCE, outcome).await?;
    Ok(())
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    use crate::contract::schema;
    let list = "/api/templates/email";
    let one = "/api/templates/email/{templateId}";
    api.operation("GET", list)
        .summary("Templates: the built-ins and an artist's own")
        .description("Each team's default first (an artist's own default replacing the built-in one of its language), then by name.")
        .query_schema("artist_id", "The artist whose templates to add to the built-ins.", schema::uuid())
        .query::<ContactRole>("contact_role", "Only this team's.")
        .query::<Language>("language", "Only this language's.")
        .answers::<http::Items<mailing::domain::TemplateSummary>>(200, "The templates.");
    api.operation("POST", list)
        .summary("Create a template for an artist's team")
        .description("MiniJinja subject, HTML and text; compiled and checked (unknown variables, unsafe markup, a missing unsubscribe link) before it is saved.")
        .body::<CreateBody>()
        .answers::<mailing::domain::EmailTemplate>(201, "The template.")
        .errors(&[409]);
    api.operation("GET", one)
        .summary("A template")
        .answers::<mailing::domain::EmailTemplate>(200, "The template.");
    api.operation("PUT", one)
        .summary("Edit an artist's template")
        .body::<UpdateBody>()
        .answers::<mailing::domain::EmailTemplate>(200, "The template as changed.")
        .errors(&[409]);
    api.operation("DELETE", one)
        .summary("Delete an artist's template")
        .empty(204, "Deleted.")
        .errors(&[409]);
    api.operation("POST", "/api/templates/email/{templateId}/preview")
        .summary("Render a template for a sample or one of the artist's contacts")
        .body::<PreviewBody>()
        .answers::<mailing::render::Preview>(
            200,
            "The subject, HTML and text as the contact would get them, and what the checks found.",
        );
}
