//! Google's People API, Microsoft Graph's contacts delta and Mailchimp's audience members, as
//! the local stack and the tests reach them: one address book per provider that a test (or
//! `infra/dev up`'s seed) fills and changes, answered in each API's documented shapes with its
//! pagination (at most [`PAGE`] entries a page, whatever was asked, so every sync reads several
//! pages), incremental tokens, and errors: a wrong credential (401), an expired cursor
//! (Google's 400 "Sync token is expired", Graph's 410 Gone), and failures queued on purpose
//! (429 with Retry-After, 5xx).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use chrono::{DateTime, Utc};
use mailing::domain::SyncProvider;
use serde_json::{Value, json};

pub const GOOGLE_TOKEN: &str = "ya29.local-google-token";
pub const GRAPH_TOKEN: &str = "EwBlocal-graph-token";
pub const MAILCHIMP_KEY: &str = "0123456789abcdef0123456789abcdef-us1";
pub const MAILCHIMP_LIST: &str = "a1b2c3d4e5";
/// The most entries a fake page holds.
pub const PAGE: usize = 3;

/// A person in a fake address book.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub position: String,
    pub phone: String,
    /// Google contact groups, Outlook categories, Mailchimp tags.
    pub groups: Vec<String>,
    /// The member's status in Mailchimp.
    pub mailchimp_status: &'static str,
}

impl Person {
    pub fn new(email: &str, first_name: &str, last_name: &str) -> Self {
        Self {
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            company: String::new(),
            position: String::new(),
            phone: String::new(),
            groups: Vec::new(),
            mailchimp_status: "subscribed",
        }
    }
}

/// A failure the next call answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub status: u16,
    pub retry_after: Option<u64>,
}

struct Entry {
    id: String,
    /// `None`: deleted.
    person: Option<Person>,
    /// The book's clock when it last changed.
    changed: u64,
    changed_at: DateTime<Utc>,
}

#[derive(Default)]
struct Book {
    entries: Vec<Entry>,
    clock: u64,
    /// Tokens older than this are expired.
    expired_below: u64,
    failures: VecDeque<Failure>,
    calls: u64,
    /// Reads of Google's contact groups.
    group_reads: u64,
}

impl Book {
    /// The entries a read sees: every live one, or what changed after `since` (deletions too).
    fn read(&self, since: Option<u64>) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|entry| match since {
                Some(since) => entry.changed > since,
                None => entry.person.is_some(),
            })
            .collect()
    }
}

#[derive(Clone, Default)]
pub struct FakeSources {
    books: Arc<Mutex<HashMap<SyncProvider, Book>>>,
}

impl FakeSources {
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> axum::Router<S> {
        axum::Router::new()
            .route("/v1/contactGroups", get(google_groups))
            .route("/v1/people/me/connections", get(google_connections))
            .route("/me/contacts/delta", get(graph_delta))
            .route("/lists/{list}/members", get(mailchimp_members))
            .with_state(self.clone())
    }

    fn book<T>(&self, provider: SyncProvider, f: impl FnOnce(&mut Book) -> T) -> T {
        f(self
            .books
            .lock()
            .expect("not poisoned")
            .entry(provider)
            .or_default())
    }

    /// Adds the person under `id`, or changes them.
    pub fn put(&self, provider: SyncProvider, id: &str, person: Person) {
        self.change(provider, id, Some(person));
    }

    pub fn delete(&self, provider: SyncProvider, id: &str) {
        self.change(provider, id, None);
    }

    fn change(&self, provider: SyncProvider, id: &str, person: Option<Person>) {
        self.book(provider, |book| {
            book.clock += 1;
            let changed = book.clock;
            let changed_at = Utc::now();
            match book.entries.iter_mut().find(|entry| entry.id == id) {
                Some(entry) => {
                    entry.person = person;
                    entry.changed = changed;
                    entry.changed_at = changed_at;
                }
                None => book.entries.push(Entry {
                    id: id.to_owned(),
                    person,
                    changed,
                    changed_at,
                }),
            }
        });
    }

    /// Every cursor handed out so far expires (Google's sync tokens after a week, Graph's
    /// delta links whenever Graph decides).
    pub fn expire_cursors(&self, provider: SyncProvider) {
        self.book(provider, |book| book.expired_below = book.clock + 1);
    }

    /// The next `times` calls answer `failure`.
    pub fn fail_next(&self, provider: SyncProvider, failure: Failure, times: usize) {
        self.book(provider, |book| {
            book.failures.extend(std::iter::repeat_n(failure, times))
        });
    }

    /// Calls answered so far (failures included).
    pub fn calls(&self, provider: SyncProvider) -> u64 {
        self.book(provider, |book| book.calls)
    }

    /// How many times Google's contact groups were read.
    pub fn group_reads(&self) -> u64 {
        self.book(SyncProvider::Gmail, |book| book.group_reads)
    }

    /// What `infra/dev up` starts with: a few people in each book.
    pub fn seed(&self) {
        let people = [
            (
                "zoe.martin",
                "Zoé",
                "Martin",
                "Radio Nova",
                "Programmer",
                "Radio",
            ),
            (
                "lea.roux",
                "Léa",
                "Roux",
                "Les Inrocks",
                "Journalist",
                "Press",
            ),
            (
                "hugo.bernard",
                "Hugo",
                "Bernard",
                "Télérama",
                "Critic",
                "Press",
            ),
            ("ines.petit", "Inès", "Petit", "FIP", "Producer", "Radio"),
            (
                "malik.diallo",
                "Malik",
                "Diallo",
                "Mediapart",
                "Editor",
                "Press",
            ),
        ];
        for (provider, domain) in [
            (SyncProvider::Gmail, "gmail-contacts.example"),
            (SyncProvider::Outlook, "outlook-contacts.example"),
            (SyncProvider::Mailchimp, "mailchimp-audience.example"),
        ] {
            for (at, (local, first, last, company, position, group)) in people.iter().enumerate() {
                let mut person = Person::new(&format!("{local}@{domain}"), first, last);
                person.company = (*company).to_owned();
                person.position = (*position).to_owned();
                person.groups = vec![(*group).to_owned()];
                if provider == SyncProvider::Mailchimp && at == 4 {
                    person.mailchimp_status = "unsubscribed";
                }
                self.put(provider, &format!("seed{at}"), person);
            }
        }
    }

    /// Counts the call; the failure queued for it, if any.
    fn answer_failure(&self, provider: SyncProvider) -> Option<Response> {
        let failure = self.book(provider, |book| {
            book.calls += 1;
            book.failures.pop_front()
        })?;
        let status = StatusCode::from_u16(failure.status).expect("a valid status");
        let mut response = (status, json_body(json!({ "error": "injected" }))).into_response();
        if let Some(after) = failure.retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().expect("digits"));
        }
        Some(response)
    }
}

fn json_body(value: Value) -> ([(&'static str, &'static str); 1], String) {
    ([("content-type", "application/json")], value.to_string())
}

fn answer(status: StatusCode, value: Value) -> Response {
    (status, json_body(value)).into_response()
}

fn bearer(headers: &HeaderMap) -> &str {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
}

fn group_id(name: &str) -> String {
    format!("contactGroups/{}", name.to_lowercase().replace(' ', "-"))
}

async fn google_groups(State(fake): State<FakeSources>, headers: HeaderMap) -> Response {
    if bearer(&headers) != GOOGLE_TOKEN {
        return google_unauthenticated();
    }
    let names: std::collections::BTreeSet<String> = fake.book(SyncProvider::Gmail, |book| {
        book.group_reads += 1;
        book.entries
            .iter()
            .filter_map(|e| e.person.as_ref())
            .flat_map(|p| p.groups.clone())
            .collect()
    });
    let mut groups = vec![json!({
        "resourceName": "contactGroups/myContacts", "groupType": "SYSTEM_CONTACT_GROUP",
        "name": "myContacts", "formattedName": "My Contacts"
    })];
    groups.extend(names.iter().map(|name| {
        json!({ "resourceName": group_id(name), "groupType": "USER_CONTACT_GROUP",
                "name": name, "formattedName": name })
    }));
    answer(
        StatusCode::OK,
        json!({ "contactGroups": groups, "totalItems": groups.len() }),
    )
}

fn google_unauthenticated() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({ "error": { "code": 401, "status": "UNAUTHENTICATED",
            "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential." } }),
    )
}

/// `s{clock}` for sync tokens, `o{offset}` for page tokens.
fn token_number(token: Option<&String>, prefix: char) -> Option<u64> {
    token?.strip_prefix(prefix)?.parse().ok()
}

async fn google_connections(
    State(fake): State<FakeSources>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(failure) = fake.answer_failure(SyncProvider::Gmail) {
        return failure;
    }
    if bearer(&headers) != GOOGLE_TOKEN {
        return google_unauthenticated();
    }
    let since = token_number(query.get("syncToken"), 's');
    let offset = token_number(query.get("pageToken"), 'o').unwrap_or(0) as usize;
    fake.book(SyncProvider::Gmail, |book| {
        if since.is_some_and(|since| since < book.expired_below) {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({ "error": { "code": 400, "status": "FAILED_PRECONDITION",
                    "message": "Sync token is expired. Clear local cache and retry call without the sync token.",
                    "details": [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "EXPIRED_SYNC_TOKEN" }] } }),
            );
        }
        let entries = book.read(since);
        let connections: Vec<Value> = entries
            .iter()
            .skip(offset)
            .take(PAGE)
            .map(|entry| match &entry.person {
                None => json!({ "resourceName": entry.id, "metadata": { "deleted": true } }),
                Some(p) => json!({
                    "resourceName": entry.id,
                    "etag": format!("%E{}", entry.changed),
                    "names": [{ "givenName": p.first_name, "familyName": p.last_name,
                                "displayName": format!("{} {}", p.first_name, p.last_name),
                                "metadata": { "primary": true } }],
                    "emailAddresses": [{ "value": p.email, "metadata": { "primary": true } }],
                    "organizations": [{ "name": p.company, "title": p.position }],
                    "phoneNumbers": if p.phone.is_empty() { json!([]) } else { json!([{ "value": p.phone }]) },
                    "memberships": p.groups.iter()
                        .map(|g| json!({ "contactGroupMembership": { "contactGroupResourceName": group_id(g) } }))
                        .chain([json!({ "contactGroupMembership": { "contactGroupResourceName": "contactGroups/myContacts" } })])
                        .collect::<Vec<_>>(),
                }),
            })
            .collect();
        let mut body = json!({ "connections": connections, "totalPeople": entries.len(), "totalItems": entries.len() });
        if offset + PAGE < entries.len() {
            body["nextPageToken"] = json!(format!("o{}", offset + PAGE));
        } else if query.get("requestSyncToken").map(String::as_str) == Some("true") {
            body["nextSyncToken"] = json!(format!("s{}", book.clock));
        }
        answer(StatusCode::OK, body)
    })
}

async fn graph_delta(
    State(fake): State<FakeSources>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(failure) = fake.answer_failure(SyncProvider::Outlook) {
        return failure;
    }
    if bearer(&headers) != GRAPH_TOKEN {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "error": { "code": "InvalidAuthenticationToken", "message": "Lifetime validation failed, the token is expired." } }),
        );
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let link = |query: String| format!("http://{host}/me/contacts/delta?{query}");
    // `$skiptoken` carries the round's start and the offset: `{since}_{offset}`.
    let (since, offset) = match (query.get("$skiptoken"), query.get("$deltatoken")) {
        (Some(skip), _) => {
            let (since, offset) = skip.split_once('_').unwrap_or(("", "0"));
            (since.parse().ok(), offset.parse().unwrap_or(0))
        }
        (None, Some(delta)) => (Some(delta.parse().unwrap_or(0)), 0),
        (None, None) => (None, 0),
    };
    fake.book(SyncProvider::Outlook, |book| {
        if since.is_some_and(|since: u64| since < book.expired_below) {
            return answer(
                StatusCode::GONE,
                json!({ "error": { "code": "SyncStateNotFound", "message": "The sync state generation is not found." } }),
            );
        }
        let entries = book.read(since);
        let value: Vec<Value> = entries
            .iter()
            .skip(offset)
            .take(PAGE)
            .map(|entry| match &entry.person {
                None => json!({ "@odata.type": "#microsoft.graph.contact", "id": entry.id,
                                "@removed": { "reason": "deleted" } }),
                Some(p) => json!({
                    "@odata.type": "#microsoft.graph.contact",
                    "id": entry.id,
                    "givenName": p.first_name,
                    "surname": p.last_name,
                    "emailAddresses": [{ "name": format!("{} {}", p.first_name, p.last_name), "address": p.email }],
                    "companyName": p.company,
                    "jobTitle": p.position,
                    "mobilePhone": if p.phone.is_empty() { Value::Null } else { json!(p.phone) },
                    "businessPhones": [],
                    "homePhones": [],
                    "categories": p.groups,
                }),
            })
            .collect();
        let mut body = json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(contact)",
            "value": value,
        });
        let round = since.map_or(String::new(), |s| s.to_string());
        if offset + PAGE < entries.len() {
            body["@odata.nextLink"] =
                json!(link(format!("$skiptoken={round}_{}", offset + PAGE)));
        } else {
            body["@odata.deltaLink"] = json!(link(format!("$deltatoken={}", book.clock)));
        }
        answer(StatusCode::OK, body)
    })
}

async fn mailchimp_members(
    State(fake): State<FakeSources>,
    headers: HeaderMap,
    Path(list): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(failure) = fake.answer_failure(SyncProvider::Mailchimp) {
        return failure;
    }
    let password = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.split_once(':').map(|(_, key)| key.to_owned()));
    if password.as_deref() != Some(MAILCHIMP_KEY) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({ "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": "API Key Invalid",
                    "status": 401, "detail": "Your API key may be invalid, or you've attempted to access the wrong datacenter.", "instance": "" }),
        );
    }
    if list != MAILCHIMP_LIST {
        return answer(
            StatusCode::NOT_FOUND,
            json!({ "title": "Resource Not Found", "status": 404,
                    "detail": "The requested resource could not be found.", "instance": "" }),
        );
    }
    let count: usize = query
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(10);
    let offset: usize = query
        .get("offset")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let since: Option<DateTime<Utc>> = query
        .get("since_last_changed")
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|s| s.with_timezone(&Utc));
    fake.book(SyncProvider::Mailchimp, |book| {
        // An audience keeps the members it lost, archived.
        let entries: Vec<&Entry> = book
            .entries
            .iter()
            .filter(|entry| since.is_none_or(|since| entry.changed_at > since))
            .collect();
        let members: Vec<Value> = entries
            .iter()
            .skip(offset)
            .take(count.min(PAGE))
            .map(|entry| {
                let (status, p) = match &entry.person {
                    Some(p) => (p.mailchimp_status, p.clone()),
                    None => ("archived", Person::new(&format!("{}@archived.example", entry.id), "", "")),
                };
                json!({
                    "id": entry.id,
                    "email_address": p.email,
                    "status": status,
                    "merge_fields": { "FNAME": p.first_name, "LNAME": p.last_name, "PHONE": p.phone,
                                      "COMPANY": p.company, "ADDRESS": "" },
                    "tags": p.groups.iter().enumerate().map(|(i, g)| json!({ "id": i + 1, "name": g })).collect::<Vec<_>>(),
                    "timestamp_signup": "2025-03-01T09:00:00+00:00",
                    "ip_signup": "",
                    "timestamp_opt": "2025-03-01T09:05:12+00:00",
                    "ip_opt": "198.51.100.7",
                    "last_changed": entry.changed_at.to_rfc3339(),
                })
            })
            .collect();
        answer(
            StatusCode::OK,
            json!({ "members": members, "list_id": list, "total_items": entries.len() }),
        )
    })
}
