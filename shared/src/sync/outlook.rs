//! Outlook contacts through Microsoft Graph's delta query on `/me/contacts`: the first round
//! reads every contact and ends with an `@odata.deltaLink`, the next sync follows that link and
//! reads only what changed, deletions arriving as `@removed`. Pages follow `@odata.nextLink`.
//! An expired delta link answers 410 Gone: then everything is read again.

use serde::Deserialize;

use super::{
    Credential, Entry, FetchError, Next, Page, SourceContact, call, classify, get, json, within,
};
use crate::App;
use crate::domain::{SyncPosition, SyncProvider, SyncState};
use crate::https::Answered;

const SELECT: &str = "givenName,surname,emailAddresses,companyName,jobTitle,mobilePhone,businessPhones,homePhones,categories";

pub async fn fetch(
    app: &App,
    base: &str,
    state: &SyncState,
    credential: &Credential,
) -> Result<Page, FetchError> {
    let url = url(base, &state.position)?;
    let request = get(
        &url,
        format!("Bearer {}", credential.secret()),
        &[("Prefer", "odata.maxpagesize=500")],
    );
    let answered = call(app, request).await?;
    page(base, &state.position, &answered)
}

/// Where the page `position` stands at is read: the next link, else the last sync's delta
/// link, else the start of a full round. Links are followed only inside `base`.
pub fn url(base: &str, position: &SyncPosition) -> Result<String, FetchError> {
    match position.page.as_ref().or(position.cursor.as_ref()) {
        Some(link) => within(base, link),
        None => Ok(format!(
            "{}/me/contacts/delta?$select={SELECT}",
            base.trim_end_matches('/')
        )),
    }
}

pub fn page(base: &str, position: &SyncPosition, answered: &Answered) -> Result<Page, FetchError> {
    if answered.status == http::StatusCode::GONE {
        return Err(FetchError::CursorExpired);
    }
    classify(SyncProvider::Outlook, answered)?;
    let answer: Delta = json(SyncProvider::Outlook, answered)?;
    let next = match (answer.next_link, answer.delta_link) {
        (Some(link), _) => Next::Page(SyncPosition {
            page: Some(within(base, &link)?),
            ..position.clone()
        }),
        (None, Some(link)) => Next::Done {
            cursor: within(base, &link)?,
        },
        (None, None) => {
            return Err(FetchError::Refused(
                "Microsoft Graph gave neither a next link nor a delta link".to_owned(),
            ));
        }
    };
    let entries = answer.value.into_iter().map(|contact| {
        if contact.removed.is_some() {
            Entry::Removed(contact.id)
        } else {
            Entry::Contact(contact.into_contact())
        }
    });
    Ok(Page::of(entries, next))
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    value: Vec<Contact>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Contact {
    id: String,
    #[serde(rename = "@removed")]
    removed: Option<serde_json::Value>,
    given_name: Option<String>,
    surname: Option<String>,
    #[serde(default)]
    email_addresses: Vec<Address>,
    company_name: Option<String>,
    job_title: Option<String>,
    mobile_phone: Option<String>,
    #[serde(default)]
    business_phones: Vec<String>,
    #[serde(default)]
    home_phones: Vec<String>,
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Deserialize)]
struct Address {
    address: Option<String>,
}

impl Contact {
    fn into_contact(self) -> SourceContact {
        let phone = self
            .mobile_phone
            .into_iter()
            .chain(self.business_phones)
            .chain(self.home_phones)
            .find(|phone| !phone.trim().is_empty());
        SourceContact {
            id: self.id,
            emails: self
                .email_addresses
                .into_iter()
                .filter_map(|a| a.address)
                .collect(),
            first_name: self.given_name,
            last_name: self.surname,
            company: self.company_name,
            position: self.job_title,
            phone,
            tags: self.categories,
            ..SourceContact::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::answered;

    const BASE: &str = "https://graph.microsoft.com/v1.0";

    #[test]
    fn a_delta_page_gives_contacts_removals_and_the_next_link() {
        let body = serde_json::json!({
            "value": [{
                "id": "AAMk1",
                "givenName": "Léa",
                "surname": "Roux",
                "emailAddresses": [{"name": "Léa", "address": "lea@example.com"}],
                "companyName": "Les Inrocks",
                "jobTitle": "Journalist",
                "mobilePhone": null,
                "businessPhones": ["+33 1 23 45 67 89"],
                "categories": ["Press", "Paris"]
            }, {
                "id": "AAMk2",
                "@removed": {"reason": "deleted"}
            }],
            "@odata.nextLink": format!("{BASE}/me/contacts/delta?$skiptoken=abc")
        });
        let page = page(BASE, &SyncPosition::default(), &answered(200, body)).unwrap();
        let lea = &page.contacts[0];
        assert_eq!(lea.emails, ["lea@example.com"]);
        assert_eq!(lea.phone.as_deref(), Some("+33 1 23 45 67 89"));
        assert_eq!(lea.tags, ["Press", "Paris"]);
        assert_eq!(page.removed, ["AAMk2"]);
        assert!(
            matches!(page.next, Next::Page(SyncPosition { page: Some(ref link), .. }) if link.ends_with("skiptoken=abc"))
        );
    }

    #[test]
    fn the_delta_link_ends_the_round_and_starts_the_next() {
        let link = format!("{BASE}/me/contacts/delta?$deltatoken=d1");
        let body = serde_json::json!({"value": [], "@odata.deltaLink": link});
        let page = page(BASE, &SyncPosition::default(), &answered(200, body)).unwrap();
        assert_eq!(
            page.next,
            Next::Done {
                cursor: link.clone()
            }
        );
        let next = SyncPosition {
            cursor: Some(link.clone()),
            ..SyncPosition::default()
        };
        assert_eq!(url(BASE, &next).unwrap(), link);
    }

    #[test]
    fn links_outside_graph_are_never_followed_with_the_token() {
        for link in [
            "https://evil.example/me/contacts/delta",
            "https://graph.microsoft.com/v1.0.evil.example/x",
            "http://graph.microsoft.com/v1.0/me/contacts/delta",
        ] {
            let body = serde_json::json!({"value": [], "@odata.nextLink": link});
            assert!(
                matches!(
                    page(BASE, &SyncPosition::default(), &answered(200, body)),
                    Err(FetchError::Refused(_))
                ),
                "{link}"
            );
        }
    }

    #[test]
    fn an_expired_delta_link_asks_for_a_full_sync() {
        assert_eq!(
            page(
                BASE,
                &SyncPosition::default(),
                &answered(410, serde_json::json!({}))
            ),
            Err(FetchError::CursorExpired)
        );
    }
}
