//! One Mailchimp audience: `/lists/{id}/members`, 1,000 a page by offset, oldest change first,
//! and from the second sync on only the members changed since the last one began
//! (`since_last_changed`). A member's status is the person's word: `subscribed` is consent,
//! with Mailchimp's opt-in times and addresses as its proof; `unsubscribed` arrives (or
//! becomes) unsubscribed; `cleaned` arrives bounced; `pending` and `transactional` are no
//! consent; `archived` members left the audience and are reported as removed, not imported.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{
    Credential, Entry, FetchError, Next, Page, SourceContact, SyncApis, call, classify, get, json,
};
use crate::App;
use crate::domain::{SyncPosition, SyncProvider, SyncState};
use crate::https::Answered;
use crate::import::Standing;

pub const PAGE_SIZE: u64 = 1000;

const FIELDS: &str = "members.id,members.email_address,members.status,members.merge_fields,members.tags,members.timestamp_opt,members.ip_opt,members.timestamp_signup,members.ip_signup,total_items";

pub async fn fetch(
    app: &App,
    apis: &SyncApis,
    state: &SyncState,
    credential: &Credential,
) -> Result<Page, FetchError> {
    let key = credential.secret();
    let base = match &apis.mailchimp {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => base_url(key)?,
    };
    let list = state.summary.list_id.as_deref().unwrap_or_default();
    let authorization = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("artisthub:{key}"))
    );
    let answered = call(
        app,
        get(&url(&base, list, &state.position), authorization, &[]),
    )
    .await?;
    page(state, &answered)
}

/// The API of the data center the key names (`…-us21`), which must be a plain label: a key is
/// the caller's input, and must not choose where it is sent.
pub fn base_url(key: &str) -> Result<String, FetchError> {
    let dc = key.rsplit_once('-').map(|(_, dc)| dc).unwrap_or_default();
    let plain = !dc.is_empty()
        && dc.len() <= 10
        && dc
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !plain {
        return Err(FetchError::CredentialRejected(
            "a Mailchimp API key ends with its data center (…-us21)".to_owned(),
        ));
    }
    Ok(format!("https://{dc}.api.mailchimp.com/3.0"))
}

pub fn url(base: &str, list: &str, position: &SyncPosition) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("count", &PAGE_SIZE.to_string())
        .append_pair("offset", &position.offset.to_string())
        .append_pair("sort_field", "last_changed")
        .append_pair("sort_dir", "ASC")
        .append_pair("fields", FIELDS);
    if let Some(since) = &position.cursor {
        query.append_pair("since_last_changed", since);
    }
    format!("{base}/lists/{list}/members?{}", query.finish())
}

pub fn page(state: &SyncState, answered: &Answered) -> Result<Page, FetchError> {
    classify(SyncProvider::Mailchimp, answered)?;
    let answer: Members = json(SyncProvider::Mailchimp, answered)?;
    let list = state.summary.list_id.as_deref().unwrap_or_default();
    let read = answer.members.len() as u64;
    let offset = state.position.offset + read;
    let next = if read > 0 && offset < answer.total_items {
        Next::Page(SyncPosition {
            offset,
            ..state.position.clone()
        })
    } else {
        // The next sync reads what changed since this one began: changes made while it ran
        // are read again rather than missed.
        Next::Done {
            cursor: state
                .started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }
    };
    let entries = answer.members.into_iter().map(|member| {
        if member.status == "archived" {
            Entry::Removed(member.id)
        } else {
            Entry::Contact(member.into_contact(list))
        }
    });
    Ok(Page::of(entries, next))
}

#[derive(Deserialize)]
struct Members {
    #[serde(default)]
    members: Vec<Member>,
    #[serde(default)]
    total_items: u64,
}

#[derive(Deserialize)]
struct Member {
    id: String,
    email_address: String,
    status: String,
    #[serde(default)]
    merge_fields: Map<String, Value>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    timestamp_opt: String,
    #[serde(default)]
    ip_opt: String,
    #[serde(default)]
    timestamp_signup: String,
    #[serde(default)]
    ip_signup: String,
}

#[derive(Deserialize)]
struct Tag {
    name: String,
}

impl Member {
    fn into_contact(self, list: &str) -> SourceContact {
        let merge = |name: &str| {
            self.merge_fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let standing = match self.status.as_str() {
            "subscribed" => Standing::Consents,
            "unsubscribed" => Standing::OptedOut,
            "cleaned" => Standing::Bounced,
            _ => Standing::NoConsent,
        };
        let mut proof = Map::new();
        for (name, value) in [
            ("timestamp_signup", &self.timestamp_signup),
            ("ip_signup", &self.ip_signup),
            ("timestamp_opt", &self.timestamp_opt),
            ("ip_opt", &self.ip_opt),
        ] {
            if !value.is_empty() {
                proof.insert(name.to_owned(), Value::String(value.clone()));
            }
        }
        let proof = (standing == Standing::Consents && !proof.is_empty()).then(|| {
            proof.insert("mailchimp_list".to_owned(), Value::String(list.to_owned()));
            Value::Object(proof)
        });
        SourceContact {
            first_name: merge("FNAME"),
            last_name: merge("LNAME"),
            company: merge("COMPANY"),
            phone: merge("PHONE"),
            id: self.id,
            emails: vec![self.email_address],
            position: None,
            tags: self.tags.into_iter().map(|tag| tag.name).collect(),
            standing,
            proof,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SyncMode, SyncSummary};
    use crate::sync::answered;

    fn state(offset: u64) -> SyncState {
        SyncState {
            summary: SyncSummary {
                provider: SyncProvider::Mailchimp,
                list_id: Some("a1b2c3".into()),
                mode: SyncMode::Full,
                fell_back_to_full: false,
                pages: 0,
            },
            position: SyncPosition {
                offset,
                ..SyncPosition::default()
            },
            started_at: "2026-12-01T10:00:00Z".parse().unwrap(),
        }
    }

    fn member(id: &str, status: &str) -> serde_json::Value {
        serde_json::json!({
            "id": id,
            "email_address": format!("{id}@example.com"),
            "status": status,
            "merge_fields": {"FNAME": "Ana", "LNAME": "Silva", "PHONE": "", "ADDRESS": {"city": "Lyon"}},
            "tags": [{"id": 1, "name": "VIP"}],
            "timestamp_signup": "2025-03-01T09:00:00+00:00",
            "ip_signup": "",
            "timestamp_opt": "2025-03-01T09:05:00+00:00",
            "ip_opt": "198.51.100.7"
        })
    }

    #[test]
    fn each_status_says_what_the_person_wants() {
        let body = serde_json::json!({
            "members": [
                member("s", "subscribed"),
                member("u", "unsubscribed"),
                member("c", "cleaned"),
                member("p", "pending"),
                member("a", "archived")
            ],
            "total_items": 5
        });
        let page = page(&state(0), &answered(200, body)).unwrap();
        let standings: Vec<_> = page
            .contacts
            .iter()
            .map(|c| (c.id.as_str(), c.standing))
            .collect();
        assert_eq!(
            standings,
            [
                ("s", Standing::Consents),
                ("u", Standing::OptedOut),
                ("c", Standing::Bounced),
                ("p", Standing::NoConsent)
            ]
        );
        assert_eq!(page.removed, ["a"]);
        let subscribed = &page.contacts[0];
        assert_eq!(subscribed.first_name.as_deref(), Some("Ana"));
        assert_eq!(subscribed.phone, None);
        assert_eq!(subscribed.tags, ["VIP"]);
        assert_eq!(
            subscribed.proof,
            Some(serde_json::json!({
                "timestamp_signup": "2025-03-01T09:00:00+00:00",
                "timestamp_opt": "2025-03-01T09:05:00+00:00",
                "ip_opt": "198.51.100.7",
                "mailchimp_list": "a1b2c3"
            }))
        );
        assert_eq!(page.contacts[3].proof, None, "pending is no consent");
        assert_eq!(
            page.next,
            Next::Done {
                cursor: "2026-12-01T10:00:00.000Z".into()
            }
        );
    }

    #[test]
    fn offsets_advance_until_every_member_is_read() {
        let body = serde_json::json!({"members": [member("s", "subscribed")], "total_items": 3});
        let page = page(&state(1), &answered(200, body)).unwrap();
        assert!(matches!(
            page.next,
            Next::Page(SyncPosition { offset: 2, .. })
        ));
    }

    #[test]
    fn the_key_names_its_data_center_and_nothing_else() {
        assert_eq!(
            base_url("0123456789abcdef-us21").unwrap(),
            "https://us21.api.mailchimp.com/3.0"
        );
        for key in [
            "nodash",
            "abc-",
            "abc-evil.example/",
            "abc-US21",
            "abc-us21#",
        ] {
            assert!(base_url(key).is_err(), "{key}");
        }
    }
}
