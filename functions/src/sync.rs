//! `POST /api/artists/{artistId}/contacts/sync/{provider}`: brings a team's contacts in from
//! Google Contacts (`gmail`), Outlook (`outlook`) or a Mailchimp audience (`mailchimp`) as an
//! import job, read with `GET …/contacts/imports/{importId}`.

use lambda_http::Request;
use mailing::domain::{ArtistId, ContactRole, SyncProvider};
use mailing::import_jobs::ImportView;
use mailing::sync::Credential;
use mailing::sync_jobs::{self, NewSync};
use mailing::{ApiError, App};
use serde::Deserialize;

use crate::http::{self, ConsentBody, Fields, HttpResult};

pub async fn start(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let provider: SyncProvider = http::path_text(&request, "provider")
        .parse()
        .map_err(|_| ApiError::not_found("sync provider"))?;
    let new = http::json_body::<SyncBody>(&request, http::JSON_LIMIT)?.parse(provider)?;
    let job = sync_jobs::start(app, &caller, artist, provider, new).await?;
    http::json(202, &ImportView::of(&job, None))
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "NewSync")
)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    #[cfg_attr(feature = "openapi", schemars(with = "ContactRole"))]
    contact_role: String,
    consent: ConsentBody,
    /// Gmail and Outlook: the user's OAuth access token (People API `contacts.readonly`,
    /// Graph `Contacts.Read`). Used for this sync only, never stored.
    #[serde(default)]
    access_token: Option<String>,
    /// Mailchimp: an API key (`…-us21`). Used for this sync only, never stored.
    #[serde(default)]
    api_key: Option<String>,
    /// Mailchimp: the audience's id.
    #[serde(default)]
    list_id: Option<String>,
}

/// A credential is printable ASCII without spaces, and not a novel.
fn credential_shape(value: &str) -> bool {
    (1..=4096).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

impl SyncBody {
    fn parse(self, provider: SyncProvider) -> Result<NewSync, ApiError> {
        let mut f = Fields::default();
        let role = f.check("contact_role", self.contact_role.parse::<ContactRole>());
        let consent = self.consent.parse(&mut f);
        let mut credential = None;
        let mut list_id = None;
        let unexpected = |f: &mut Fields, field: &str, value: &Option<String>| {
            if value.is_some() {
                f.push(field, format!("is not used by a {} sync", provider.title()));
            }
        };
        match provider {
            SyncProvider::Gmail | SyncProvider::Outlook => {
                unexpected(&mut f, "api_key", &self.api_key);
                unexpected(&mut f, "list_id", &self.list_id);
                match self.access_token {
                    Some(token) if credential_shape(&token) => {
                        credential = Some(Credential::AccessToken(token))
                    }
                    Some(_) => f.push("access_token", "must be an OAuth access token"),
                    None => f.push("access_token", "is required"),
                }
            }
            SyncProvider::Mailchimp => {
                unexpected(&mut f, "access_token", &self.access_token);
                match self.api_key {
                    Some(key)
                        if credential_shape(&key)
                            && mailing::sync::mailchimp::base_url(&key).is_ok() =>
                    {
                        credential = Some(Credential::ApiKey(key))
                    }
                    Some(_) => f.push(
                        "api_key",
                        "must be a Mailchimp API key, ending with its data center (…-us21)",
                    ),
                    None => f.push("api_key", "is required"),
                }
                match self.list_id {
                    Some(list)
                        if (1..=50).contains(&list.len())
                            && list.bytes().all(|b| b.is_ascii_alphanumeric()) =>
                    {
                        list_id = Some(list)
                    }
                    Some(_) => f.push("list_id", "must be a Mailchimp audience id"),
                    None => f.push("list_id", "is required"),
                }
            }
        }
        f.finish(|| NewSync {
            contact_role: role.expect("checked"),
            consent,
            credential: credential.expect("checked"),
            list_id,
        })
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    api.operation("POST", "/api/artists/{artistId}/contacts/sync/{provider}")
        .summary("Sync a team's contacts from Gmail, Outlook or Mailchimp")
        .description(
            "`provider` is `gmail` (Google People API), `outlook` (Microsoft Graph) or \
             `mailchimp` (one audience). Runs as an import job: follow it with \
             `GET /api/artists/{artistId}/contacts/imports/{importId}`. The first sync of a \
             team from a provider reads everything; the next ones read only what changed. \
             Contacts get the same checks as a file's rows; Mailchimp's unsubscribed members \
             arrive unsubscribed, cleaned ones bounced, pending ones without consent. Contacts \
             deleted at the provider are counted in `report.removed_at_source`, never deleted \
             here. The credential is used for this sync only: an expired or revoked one ends \
             the job as `credential_rejected`.",
        )
        .body::<SyncBody>()
        .answers::<ImportView>(202, "The job, started.");
}
