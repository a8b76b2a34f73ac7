//! Individual emails: one message to one contact, on the campaign pipeline.

use lambda_http::Request;
use mailing::domain::{ArtistId, ContactId};
use mailing::{ApiError, App, sending};
use serde::Deserialize;

use crate::campaigns::{content, sender};
use crate::http::{self, Fields, HttpResult};

/// `POST /api/artists/{artistId}/contacts/{contactId}/emails`: a template (`template_id`) or
/// own `subject` and `content`, personalized for the contact, tracked, from `from_email` on a
/// verified domain. 202 with the email's record (`kind` `individual`), readable as a campaign.
pub async fn send(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let contact: ContactId = http::path_id(&request, "contactId", "contact")?;
    let body = http::json_body::<EmailBody>(&request, crate::campaigns::CAMPAIGN_BODY_LIMIT)?;
    let new = body.parse(artist, contact)?;
    http::json(202, &sending::send_email(app, &caller, new).await?)
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewEmail")
)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    /// What it is about: `{{ campaign.name }}` in its template.
    #[serde(default)]
    name: Option<String>,
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
    from_name: String,
    from_email: String,
    #[serde(default)]
    forward_replies_to: Option<String>,
    #[serde(default)]
    track_opens: Option<bool>,
    #[serde(default)]
    track_clicks: Option<bool>,
}

impl EmailBody {
    fn parse(self, artist: ArtistId, contact: ContactId) -> Result<sending::NewEmail, ApiError> {
        let mut f = Fields::default();
        let name = f.text("name", self.name.as_deref(), mailing::campaigns::NAME_MAX);
        let content = content(
            &mut f,
            self.template_id,
            self.subject,
            self.content,
            self.text_content,
            self.preheader,
        );
        let sender = sender(
            &mut f,
            &self.from_name,
            &self.from_email,
            self.forward_replies_to.as_deref(),
        );
        f.finish(|| sending::NewEmail {
            artist,
            contact,
            name,
            content,
            sender: sender.expect("checked"),
            track_opens: self.track_opens.unwrap_or(true),
            track_clicks: self.track_clicks.unwrap_or(true),
        })
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("POST", "/api/artists/{artistId}/contacts/{contactId}/emails")
        .summary("Send one email to a contact")
        .description("A template or its own subject and HTML, personalized for the contact, tracked, from a verified domain of the artist; through the same checks and queues as a campaign.")
        .body::<EmailBody>()
        .answers::<mailing::domain::Campaign>(202, "The email's record (`kind: individual`), readable as a campaign.")
        .errors(&[409]);
}
