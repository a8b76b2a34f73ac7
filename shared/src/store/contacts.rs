//! Contacts and their email guards in the contacts table (layout in the module docs of `store`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::cursor::Position;
use crate::domain::{ArtistId, Contact, ContactId, ContactRole, ContactStatus, EmailAddress};
use crate::{ApiError, App};

use super::page::Page;
use super::team_list;
pub use super::team_list::Teams;
use super::team_list::{TeamQuery, artist_pk, key, role_pk};

#[derive(Serialize, Deserialize)]
struct ContactItem {
    pk: String,
    sk: String,
    role_pk: String,
    role_sk: String,
    email_normalized: String,
    #[serde(flatten)]
    contact: Contact,
}

#[derive(Serialize, Deserialize)]
struct EmailGuard {
    pk: String,
    sk: String,
    contact_id: ContactId,
}

fn contact_sk(id: ContactId) -> String {
    format!("CONTACT#{id}")
}

fn guard_sk(role: ContactRole, email: &EmailAddress) -> String {
    format!("EMAIL#{role}#{}", email.normalized())
}

fn to_item(contact: &Contact) -> ContactItem {
    ContactItem {
        pk: artist_pk(contact.artist_id),
        sk: contact_sk(contact.id),
        role_pk: role_pk(contact.artist_id, contact.contact_role),
        role_sk: contact.id.to_string(),
        email_normalized: contact.email.normalized().to_owned(),
        contact: contact.clone(),
    }
}

/// Strongly consistent read by id.
pub async fn get(app: &App, artist: ArtistId, id: ContactId) -> Result<Option<Contact>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist_pk(artist), contact_sk(id))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, ContactItem>(item)?.contact,
        )),
        None => Ok(None),
    }
}

/// The id of the contact holding (artist, role, address), if any: one GetItem.
pub async fn find_by_email(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    email: &EmailAddress,
) -> Result<Option<ContactId>, ApiError> {
    let output = app
        .aws
        .dynamodb
        .get_item()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist_pk(artist), guard_sk(role, email))))
        .consistent_read(true)
        .send()
        .await?;
    match output.item {
        Some(item) => Ok(Some(
            serde_dynamo::from_item::<_, EmailGuard>(item)?.contact_id,
        )),
        None => Ok(None),
    }
}

/// The contact ids holding these addresses in (artist, role), by normalized address: one
/// BatchGetItem per 100 addresses.
pub async fn find_many_by_email(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    emails: &[&EmailAddress],
) -> Result<HashMap<String, ContactId>, ApiError> {
    let keys = emails
        .iter()
        .map(|email| key(artist_pk(artist), guard_sk(role, email)))
        .collect();
    let guards: Vec<EmailGuard> = batch_get(app, keys).await?;
    Ok(guards
        .into_iter()
        .filter_map(|guard| {
            let email = guard.sk.splitn(3, '#').nth(2)?.to_owned();
            Some((email, guard.contact_id))
        })
        .collect())
}

/// Contacts by id, strongly consistent: one BatchGetItem per 100 ids.
pub async fn get_many(
    app: &App,
    artist: ArtistId,
    ids: &[ContactId],
) -> Result<Vec<Contact>, ApiError> {
    let keys = ids
        .iter()
        .map(|id| key(artist_pk(artist), contact_sk(*id)))
        .collect();
    let items: Vec<ContactItem> = batch_get(app, keys).await?;
    Ok(items.into_iter().map(|item| item.contact).collect())
}

async fn batch_get<T: serde::de::DeserializeOwned>(
    app: &App,
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<Vec<T>, ApiError> {
    let items = super::batch::get_many(app, &app.config.contacts_table, keys).await?;
    Ok(serde_dynamo::from_items(items)?)
}

/// Writes a new contact: the contact must not exist (index 0) and its address must be free in
/// its team (index 1).
pub fn put_new(app: &App, contact: &Contact) -> Result<[TransactWriteItem; 2], ApiError> {
    Ok([
        put(
            app,
            serde_dynamo::to_item(to_item(contact))?,
            "attribute_not_exists(pk)",
            None,
        )?,
        claim_email(app, contact)?,
    ])
}

/// Replaces a contact if nobody wrote it since `expected_version` was read.
pub fn put_existing(
    app: &App,
    contact: &Contact,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    put(
        app,
        serde_dynamo::to_item(to_item(contact))?,
        "version = :expected",
        Some(AttributeValue::N(expected_version.to_string())),
    )
}

/// Takes the address for this contact in its team; fails if another contact holds it.
pub fn claim_email(app: &App, contact: &Contact) -> Result<TransactWriteItem, ApiError> {
    let guard = EmailGuard {
        pk: artist_pk(contact.artist_id),
        sk: guard_sk(contact.contact_role, &contact.email),
        contact_id: contact.id,
    };
    put(
        app,
        serde_dynamo::to_item(guard)?,
        "attribute_not_exists(pk)",
        None,
    )
}

/// Frees the address `email` held by `contact`.
pub fn release_email(
    app: &App,
    contact: &Contact,
    email: &EmailAddress,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(
            artist_pk(contact.artist_id),
            guard_sk(contact.contact_role, email),
        )))
        .condition_expression("contact_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(contact.id.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Deletes a contact if nobody wrote it since `expected_version` was read.
pub fn delete(
    app: &App,
    contact: &Contact,
    expected_version: u64,
) -> Result<TransactWriteItem, ApiError> {
    let delete = Delete::builder()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(
            artist_pk(contact.artist_id),
            contact_sk(contact.id),
        )))
        .condition_expression("version = :expected")
        .expression_attribute_values(":expected", AttributeValue::N(expected_version.to_string()))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

/// Moves a contact to `to` if its status is one of `from`, without reading it first (delivery
/// events and unsubscribes). The version moves on, so a team member's edit based on the old
/// status fails its version check instead of undoing this.
pub fn set_status(
    app: &App,
    artist: ArtistId,
    contact: ContactId,
    from: &[ContactStatus],
    to: ContactStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<TransactWriteItem, ApiError> {
    let allowed: Vec<String> = (0..from.len()).map(|i| format!(":from{i}")).collect();
    let mut update = Update::builder()
        .table_name(&app.config.contacts_table)
        .set_key(Some(key(artist_pk(artist), contact_sk(contact))))
        .update_expression("SET #status = :to, updated_at = :at ADD version :one")
        .condition_expression(format!(
            "attribute_exists(pk) AND #status IN ({})",
            allowed.join(", ")
        ))
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":to", AttributeValue::S(to.as_str().to_owned()))
        .expression_attribute_values(":at", AttributeValue::S(at.to_rfc3339()))
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()));
    for (name, status) in allowed.iter().zip(from) {
        update =
            update.expression_attribute_values(name, AttributeValue::S(status.as_str().to_owned()));
    }
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(ApiError::internal)?)
        .build())
}

/// The contacts of `artist` with `email`, one per team that has one: one BatchGetItem on the
/// guards.
pub async fn ids_in_every_team(
    app: &App,
    artist: ArtistId,
    email: &EmailAddress,
) -> Result<Vec<ContactId>, ApiError> {
    let keys = ContactRole::ALL
        .iter()
        .map(|role| key(artist_pk(artist), guard_sk(*role, email)))
        .collect();
    let items = super::batch::get_many(app, &app.config.contacts_table, keys).await?;
    let guards: Vec<EmailGuard> = serde_dynamo::from_items(items)?;
    Ok(guards.into_iter().map(|guard| guard.contact_id).collect())
}

/// A conditional put into the contacts table (which also holds import jobs), for a transaction.
pub(super) fn put(
    app: &App,
    item: HashMap<String, AttributeValue>,
    condition: &str,
    expected: Option<AttributeValue>,
) -> Result<TransactWriteItem, ApiError> {
    let put = Put::builder()
        .table_name(&app.config.contacts_table)
        .set_item(Some(item))
        .condition_expression(condition)
        .set_expression_attribute_values(
            expected.map(|v| HashMap::from([(":expected".to_owned(), v)])),
        )
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub artist: ArtistId,
    pub teams: Teams,
    pub status: Option<ContactStatus>,
    pub tag: Option<String>,
    pub limit: usize,
    pub after: Option<Position>,
}

/// A team's contacts, newest first (see `team_list`).
pub async fn list(app: &App, query: &ListQuery) -> Result<Page<Contact>, ApiError> {
    team_list::list(
        app,
        &TeamQuery {
            table: &app.config.contacts_table,
            sk_prefix: "CONTACT#",
            artist: query.artist,
            teams: query.teams.clone(),
            equals: query
                .status
                .map(|status| ("status", status.as_str().to_owned()))
                .into_iter()
                .collect(),
            contains: query
                .tag
                .clone()
                .map(|tag| ("tags", tag))
                .into_iter()
                .collect(),
            limit: query.limit,
            after: query.after.clone(),
        },
    )
    .await
}

/// One page of a team's active contacts: whom a campaign may reach (its dispatch, the sample
/// its start is checked on).
pub async fn active_of_team(
    app: &App,
    artist: ArtistId,
    role: ContactRole,
    limit: usize,
    after: Option<Position>,
) -> Result<Page<Contact>, ApiError> {
    list(
        app,
        &ListQuery {
            artist,
            teams: Teams::One(role),
            status: Some(ContactStatus::Active),
            tag: None,
            limit,
            after,
        },
    )
    .await
}
