//! Google Contacts through the People API: `people/me/connections` with the fields we keep,
//! 1,000 a page, and a sync token asked on the first full read so the next sync reads only
//! what changed. An expired sync token (HTTP 400, "Sync token is expired") means reading
//! everything again; deleted people come back as `metadata.deleted`. Contact groups the
//! person made become tags (their names read from `contactGroups`); system groups do not.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Credential, Entry, FetchError, Next, Page, SourceContact, call, classify, get, json};
use crate::App;
use crate::domain::{SyncPosition, SyncProvider, SyncState};
use crate::https::Answered;

const PERSON_FIELDS: &str = "names,emailAddresses,organizations,phoneNumbers,memberships";

/// The names of the groups the person made, by resource name.
pub type Groups = HashMap<String, String>;

/// The person's contact groups: read once per run, they name every page's tags.
pub async fn groups(app: &App, base: &str, credential: &Credential) -> Result<Groups, FetchError> {
    let url = format!(
        "{}/v1/contactGroups?pageSize=1000",
        base.trim_end_matches('/')
    );
    let answered = call(app, get(&url, authorization(credential), &[])).await?;
    classify(SyncProvider::Gmail, &answered)?;
    Ok(group_names(&json(SyncProvider::Gmail, &answered)?))
}

pub async fn fetch(
    app: &App,
    base: &str,
    state: &SyncState,
    credential: &Credential,
    groups: &Groups,
) -> Result<Page, FetchError> {
    let url = url(base.trim_end_matches('/'), &state.position);
    let answered = call(app, get(&url, authorization(credential), &[])).await?;
    page(&state.position, &answered, groups)
}

fn authorization(credential: &Credential) -> String {
    format!("Bearer {}", credential.secret())
}

/// The connections URL for the page `position` stands at.
pub fn url(base: &str, position: &SyncPosition) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("personFields", PERSON_FIELDS)
        .append_pair("pageSize", "1000")
        .append_pair("requestSyncToken", "true");
    if let Some(token) = &position.cursor {
        query.append_pair("syncToken", token);
    }
    if let Some(token) = &position.page {
        query.append_pair("pageToken", token);
    }
    format!("{base}/v1/people/me/connections?{}", query.finish())
}

/// One answer of `connections` read as a page.
pub fn page(
    position: &SyncPosition,
    answered: &Answered,
    groups: &Groups,
) -> Result<Page, FetchError> {
    if answered.status == http::StatusCode::BAD_REQUEST
        && position.cursor.is_some()
        && is_expired_token(&answered.body)
    {
        return Err(FetchError::CursorExpired);
    }
    classify(SyncProvider::Gmail, answered)?;
    let answer: Connections = json(SyncProvider::Gmail, answered)?;
    let next = match (answer.next_page_token, answer.next_sync_token) {
        (Some(token), _) => Next::Page(SyncPosition {
            page: Some(token),
            ..position.clone()
        }),
        (None, Some(cursor)) => Next::Done { cursor },
        (None, None) => {
            return Err(FetchError::Refused(
                "Google gave neither a next page nor a sync token".to_owned(),
            ));
        }
    };
    let entries = answer.connections.into_iter().map(|person| {
        if person.metadata.deleted {
            Entry::Removed(person.resource_name)
        } else {
            Entry::Contact(person.into_contact(groups))
        }
    });
    Ok(Page::of(entries, next))
}

fn is_expired_token(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.contains("EXPIRED_SYNC_TOKEN") || text.contains("Sync token is expired")
}

fn group_names(answer: &ContactGroups) -> Groups {
    answer
        .contact_groups
        .iter()
        .filter(|group| group.group_type == "USER_CONTACT_GROUP")
        .filter_map(|group| {
            let name = group.formatted_name.as_ref().or(group.name.as_ref())?;
            Some((group.resource_name.clone(), name.clone()))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactGroups {
    #[serde(default)]
    contact_groups: Vec<ContactGroup>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactGroup {
    resource_name: String,
    #[serde(default)]
    group_type: String,
    name: Option<String>,
    formatted_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connections {
    #[serde(default)]
    connections: Vec<Person>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Person {
    resource_name: String,
    #[serde(default)]
    metadata: PersonMetadata,
    #[serde(default)]
    names: Vec<Name>,
    #[serde(default)]
    email_addresses: Vec<Valued>,
    #[serde(default)]
    organizations: Vec<Organization>,
    #[serde(default)]
    phone_numbers: Vec<Valued>,
    #[serde(default)]
    memberships: Vec<Membership>,
}

#[derive(Deserialize, Default)]
struct PersonMetadata {
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize, Default)]
struct FieldMetadata {
    #[serde(default)]
    primary: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Name {
    given_name: Option<String>,
    family_name: Option<String>,
    #[serde(default)]
    metadata: FieldMetadata,
}

#[derive(Deserialize)]
struct Valued {
    value: Option<String>,
    #[serde(default)]
    metadata: FieldMetadata,
}

#[derive(Deserialize)]
struct Organization {
    name: Option<String>,
    title: Option<String>,
    #[serde(default)]
    metadata: FieldMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Membership {
    contact_group_membership: Option<GroupMembership>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupMembership {
    contact_group_resource_name: Option<String>,
}

/// The primary entry if one is marked, else the first.
fn primary<T>(entries: &[T], is_primary: impl Fn(&T) -> bool) -> Option<&T> {
    entries
        .iter()
        .find(|entry| is_primary(entry))
        .or(entries.first())
}

impl Person {
    fn into_contact(self, groups: &HashMap<String, String>) -> SourceContact {
        let name = primary(&self.names, |n| n.metadata.primary);
        let organization = primary(&self.organizations, |o| o.metadata.primary);
        let mut emails: Vec<&Valued> = self.email_addresses.iter().collect();
        emails.sort_by_key(|email| !email.metadata.primary);
        SourceContact {
            id: self.resource_name.clone(),
            emails: emails.iter().filter_map(|e| e.value.clone()).collect(),
            first_name: name.and_then(|n| n.given_name.clone()),
            last_name: name.and_then(|n| n.family_name.clone()),
            company: organization.and_then(|o| o.name.clone()),
            position: organization.and_then(|o| o.title.clone()),
            phone: primary(&self.phone_numbers, |p| p.metadata.primary)
                .and_then(|p| p.value.clone()),
            tags: self
                .memberships
                .iter()
                .filter_map(|m| m.contact_group_membership.as_ref())
                .filter_map(|m| groups.get(m.contact_group_resource_name.as_ref()?))
                .cloned()
                .collect(),
            ..SourceContact::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::answered;

    #[test]
    fn a_person_becomes_a_contact_with_primary_values_and_named_groups() {
        let groups = HashMap::from([("contactGroups/7a".to_owned(), "Press".to_owned())]);
        let body = serde_json::json!({
            "connections": [{
                "resourceName": "people/c1",
                "names": [{"givenName": "Zoé", "familyName": "Martin", "metadata": {"primary": true}}],
                "emailAddresses": [
                    {"value": "old@example.com"},
                    {"value": "zoe@example.com", "metadata": {"primary": true}}
                ],
                "organizations": [{"name": "Radio Nova", "title": "Programmer"}],
                "phoneNumbers": [{"value": "+33 6 12 34 56 78"}],
                "memberships": [
                    {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/myContacts"}},
                    {"contactGroupMembership": {"contactGroupResourceName": "contactGroups/7a"}}
                ]
            }, {
                "resourceName": "people/c2",
                "metadata": {"deleted": true}
            }],
            "nextPageToken": "p2"
        });
        let page = page(&SyncPosition::default(), &answered(200, body), &groups).unwrap();
        let zoe = &page.contacts[0];
        assert_eq!(zoe.id, "people/c1");
        assert_eq!(zoe.emails, ["zoe@example.com", "old@example.com"]);
        assert_eq!(zoe.first_name.as_deref(), Some("Zoé"));
        assert_eq!(zoe.company.as_deref(), Some("Radio Nova"));
        assert_eq!(zoe.position.as_deref(), Some("Programmer"));
        assert_eq!(zoe.tags, ["Press"]);
        assert_eq!(page.removed, ["people/c2"]);
        assert_eq!(
            page.next,
            Next::Page(SyncPosition {
                page: Some("p2".into()),
                ..SyncPosition::default()
            })
        );
    }

    #[test]
    fn the_last_page_hands_over_the_sync_token() {
        let body = serde_json::json!({"connections": [], "nextSyncToken": "s1"});
        let page = page(
            &SyncPosition::default(),
            &answered(200, body),
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(
            page.next,
            Next::Done {
                cursor: "s1".into()
            }
        );
    }

    #[test]
    fn an_expired_sync_token_asks_for_a_full_sync_and_other_errors_keep_their_class() {
        let expired = serde_json::json!({"error": {"code": 400, "message": "Sync token is expired. Clear local cache and retry call without the sync token.", "status": "FAILED_PRECONDITION"}});
        let incremental = SyncPosition {
            cursor: Some("s1".into()),
            ..SyncPosition::default()
        };
        let no_groups = HashMap::new();
        assert_eq!(
            page(&incremental, &answered(400, expired.clone()), &no_groups),
            Err(FetchError::CursorExpired)
        );
        // Without a token sent, the same answer is a refusal, not a loop of full syncs.
        assert!(matches!(
            page(
                &SyncPosition::default(),
                &answered(400, expired),
                &no_groups
            ),
            Err(FetchError::Refused(_))
        ));
        assert!(matches!(
            page(
                &incremental,
                &answered(401, serde_json::json!({})),
                &no_groups
            ),
            Err(FetchError::CredentialRejected(_))
        ));
        assert!(matches!(
            page(
                &incremental,
                &answered(503, serde_json::json!({})),
                &no_groups
            ),
            Err(FetchError::Unavailable(_))
        ));
    }

    #[test]
    fn the_url_carries_the_sync_token_and_the_page_token() {
        let url = url(
            "https://people.googleapis.com",
            &SyncPosition {
                cursor: Some("s 1".into()),
                page: Some("p2".into()),
                offset: 0,
            },
        );
        assert!(url.starts_with("https://people.googleapis.com/v1/people/me/connections?personFields=names%2CemailAddresses"));
        assert!(url.contains("&requestSyncToken=true&syncToken=s+1&pageToken=p2"));
    }
}
