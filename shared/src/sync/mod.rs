//! Contacts from the systems teams already keep them in: Google Contacts (People API),
//! Outlook (Microsoft Graph) and Mailchimp audiences. Each provider module turns one page of
//! its API into [`SourceContact`]s, the ids it reports deleted, and where to read next; the
//! sync job (`crate::sync_jobs`) applies each page whole through the import's own rules.
//!
//! Every provider is called at a configurable base URL (the local stack's fakes), and a link a
//! provider hands back is followed only when it stays under that base: the credential is never
//! sent anywhere else.

pub mod gmail;
pub mod mailchimp;
pub mod outlook;
mod seal;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::domain::{SyncPosition, SyncProvider, SyncState};
use crate::https::Answered;
use crate::import::{Batch, ImportedContact, RowError, Standing, Target};

pub use seal::{open, seal};

/// Where each provider's API answers; the real ones unless the environment says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncApis {
    pub google_people: String,
    pub microsoft_graph: String,
    /// Mailchimp's URL names the key's data center; set, it replaces that (the local fakes).
    pub mailchimp: Option<String>,
}

impl Default for SyncApis {
    fn default() -> Self {
        Self {
            google_people: "https://people.googleapis.com".to_owned(),
            microsoft_graph: "https://graph.microsoft.com/v1.0".to_owned(),
            mailchimp: None,
        }
    }
}

/// The credential the CRM passes for one sync. Used for that sync only: sealed into its
/// continuation messages (`seal`), never stored, never logged.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// A Google OAuth or Microsoft Graph access token.
    AccessToken(String),
    /// A Mailchimp API key (`…-us21`: the suffix names its data center).
    ApiKey(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(…)")
    }
}

impl Credential {
    fn secret(&self) -> &str {
        match self {
            Self::AccessToken(token) | Self::ApiKey(token) => token,
        }
    }
}

/// One contact as a provider holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceContact {
    /// The provider's id: kept in the contact's metadata, reported when deleted there.
    pub id: String,
    /// Every address the provider lists, the primary one first.
    pub emails: Vec<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub standing: Standing,
    /// Consent evidence the provider holds (Mailchimp's opt-in times and addresses).
    pub proof: Option<serde_json::Value>,
}

/// One page read.
#[derive(Debug, PartialEq)]
pub struct Page {
    pub contacts: Vec<SourceContact>,
    /// Ids deleted (or archived) at the provider.
    pub removed: Vec<String>,
    pub next: Next,
}

/// One entry of a provider's answer.
// Entries live for one pass over a page and are never stored: boxing the contact would only
// add an allocation for each.
#[allow(clippy::large_enum_variant)]
pub enum Entry {
    Contact(SourceContact),
    /// The id of a contact deleted (or archived) there.
    Removed(String),
}

impl Page {
    /// The page of `entries`, which goes on to `next`.
    fn of(entries: impl IntoIterator<Item = Entry>, next: Next) -> Self {
        let (mut contacts, mut removed) = (Vec::new(), Vec::new());
        for entry in entries {
            match entry {
                Entry::Contact(contact) => contacts.push(contact),
                Entry::Removed(id) => removed.push(id),
            }
        }
        Self {
            contacts,
            removed,
            next,
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// More pages: read from there.
    Page(SyncPosition),
    /// The last page: the cursor the next sync starts from.
    Done { cursor: String },
}

/// Why a page could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The token or key is expired, revoked or wrong: only a new one helps.
    #[error("{0}")]
    CredentialRejected(String),
    /// The incremental cursor is too old for the provider: read everything again.
    #[error("the sync cursor expired")]
    CursorExpired,
    #[error("rate limited for {0:?}")]
    RateLimited(Duration),
    /// A 5xx, a timeout, no answer: worth retrying.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else the provider refuses (an unknown list, a malformed answer).
    #[error("{0}")]
    Refused(String),
}

/// How long one provider call may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// A page of 1,000 contacts with every field is well under this.
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Without a Retry-After, a 429 waits this long.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What one run of a sync reads with: the credential, and what a provider answers the same
/// for every page of the run (Google's contact group names), read at most once.
pub struct Reader {
    credential: Credential,
    gmail_groups: Option<gmail::Groups>,
}

impl Reader {
    pub fn new(credential: Credential) -> Self {
        Self {
            credential,
            gmail_groups: None,
        }
    }

    /// Reads the page `state` stands at.
    pub async fn fetch(&mut self, app: &App, state: &SyncState) -> Result<Page, FetchError> {
        let apis = &app.config.sync_apis;
        let credential = &self.credential;
        match state.summary.provider {
            SyncProvider::Gmail => {
                let base = &apis.google_people;
                let groups = match &self.gmail_groups {
                    Some(groups) => groups,
                    None => self
                        .gmail_groups
                        .insert(gmail::groups(app, base, credential).await?),
                };
                gmail::fetch(app, base, state, credential, groups).await
            }
            SyncProvider::Outlook => {
                outlook::fetch(app, &apis.microsoft_graph, state, credential).await
            }
            SyncProvider::Mailchimp => mailchimp::fetch(app, apis, state, credential).await,
        }
    }
}

/// A GET with the credential as the provider wants it.
fn get(url: &str, authorization: String, extra: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut request = http::Request::get(url)
        .header(http::header::AUTHORIZATION, authorization)
        .header(http::header::ACCEPT, "application/json");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request
        .body(Full::new(Bytes::new()))
        .expect("a GET with valid headers")
}

async fn call(app: &App, request: http::Request<Full<Bytes>>) -> Result<Answered, FetchError> {
    app.http
        .call(request, TIMEOUT, MAX_PAGE_BYTES)
        .await
        .map_err(|error| FetchError::Unavailable(format!("no answer: {error:#}")))
}

/// The classes every provider's statuses share; `Ok` for a success.
fn classify(provider: SyncProvider, answered: &Answered) -> Result<(), FetchError> {
    let status = answered.status.as_u16();
    let said = || {
        format!(
            "{} answered {status}: {}",
            provider.title(),
            crate::mailers::excerpt(&answered.body)
        )
    };
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(FetchError::CredentialRejected(format!(
            "{} refused the credential (expired, revoked or without access): sync again with a new one",
            provider.title()
        ))),
        429 => Err(FetchError::RateLimited(
            answered
                .headers
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map_or(DEFAULT_RETRY_AFTER, Duration::from_secs),
        )),
        408 | 500..=599 => Err(FetchError::Unavailable(said())),
        _ => Err(FetchError::Refused(said())),
    }
}

fn json<T: serde::de::DeserializeOwned>(
    provider: SyncProvider,
    answered: &Answered,
) -> Result<T, FetchError> {
    serde_json::from_slice(&answered.body).map_err(|error| {
        FetchError::Refused(format!(
            "{} answered something unreadable: {error}",
            provider.title()
        ))
    })
}

/// A link the provider handed back, if it stays under `base` (where the credential may go).
fn within(base: &str, link: &str) -> Result<String, FetchError> {
    let base = base.trim_end_matches('/');
    let inside = link
        .strip_prefix(base)
        .is_some_and(|rest| rest.starts_with(['/', '?']));
    if inside {
        Ok(link.to_owned())
    } else {
        Err(FetchError::Refused(
            "the provider's next link leaves its API; the sync stops there".to_owned(),
        ))
    }
}

/// The metadata key holding a contact's id at `provider`.
pub fn id_key(provider: SyncProvider) -> String {
    format!("{}_id", provider.as_str())
}

/// A page's contacts as an import batch: each checked as a file's row is (numbered from
/// `first_row`), the addresses repeated within the page counted as duplicates.
pub fn batch(provider: SyncProvider, contacts: &[SourceContact], first_row: u64) -> Batch {
    let key = id_key(provider);
    let mut seen = std::collections::HashSet::new();
    let mut batch = Batch {
        contacts: Vec::new(),
        fresh: 0,
        errors: Vec::new(),
        records_read: first_row - 1 + contacts.len() as u64,
        rows: contacts.len() as u64,
        valid: 0,
        invalid: 0,
        duplicates: 0,
    };
    for (at, contact) in contacts.iter().enumerate() {
        match row(&key, contact, first_row + at as u64) {
            Err(error) => {
                batch.invalid += 1;
                batch.errors.push(error);
            }
            Ok(row) => {
                batch.valid += 1;
                if seen.insert(row.email.normalized().to_owned()) {
                    batch.fresh += 1;
                    batch.contacts.push(row);
                } else {
                    batch.duplicates += 1;
                }
            }
        }
    }
    batch
}

fn row(id_key: &str, contact: &SourceContact, row: u64) -> Result<ImportedContact, RowError> {
    let emails = contact.emails.join(";");
    let tags = contact.tags.join(";");
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let (first, last, company, position, phone) = (
        text(&contact.first_name),
        text(&contact.last_name),
        text(&contact.company),
        text(&contact.position),
        text(&contact.phone),
    );
    let cells = [
        ("email", Target::Email, emails.as_str()),
        ("first_name", Target::FirstName, &first),
        ("last_name", Target::LastName, &last),
        ("company", Target::Company, &company),
        ("position", Target::Position, &position),
        ("phone", Target::Phone, &phone),
        ("tags", Target::Tags, &tags),
        (id_key, Target::Metadata, &contact.id),
    ];
    let mut imported = crate::import::from_cells(row, &cells)?;
    imported.standing = contact.standing;
    imported.proof.clone_from(&contact.proof);
    Ok(imported)
}

/// A provider's answer, as the tests of each provider's page reader build it.
#[cfg(test)]
pub(crate) fn answered(status: u16, body: serde_json::Value) -> Answered {
    Answered {
        status: http::StatusCode::from_u16(status).expect("a valid status"),
        headers: http::HeaderMap::new(),
        body: body.to_string().into(),
    }
}
